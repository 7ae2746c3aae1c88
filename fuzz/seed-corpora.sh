#!/bin/sh
# Seeds the corpora of the fuzz targets from the fixtures (fixtures/*.zip),
# into fuzz/corpus/<target>/, which git ignores. Run it from anywhere before
# the first `cargo fuzz run`; running it again adds nothing new.
#
# The targets that take structured input (restore_entries, http_input) start
# from an empty corpus: their input is not a file format a seed could be.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"

for target in verify inspect restore; do
    mkdir -p "$here/corpus/$target"
    cp "$fixtures"/*.zip "$here/corpus/$target/"
done

# The file list is the format `sha256sum` writes: lists of the fixtures
# themselves, one with the escaped form of a name holding a backslash and a
# newline, and one with the binary marker and upper-case hex.
list="$here/corpus/file_list"
mkdir -p "$list"
(cd "$fixtures" && sha256sum -- *.zip) >"$list/fixtures.sha256"
(cd "$fixtures" && sha256sum -b -- valid-*.zip | sed 's/^[0-9a-f]*/\U&/') >"$list/binary-upper.sha256"
odd=$(mktemp -d)
printf 'x' >"$odd/back\\slash
newline"
(cd "$odd" && sha256sum -- *) >"$list/escaped.sha256"
rm -r "$odd"
printf '' >"$list/empty.sha256"

# The small inflater's input is two bytes of declared size (little-endian)
# and then a raw deflate stream: every deflated entry of the fixtures of at
# most 4 KiB compressed, as stored in its archive.
small="$here/corpus/small_inflate"
mkdir -p "$small"
python3 - "$fixtures" "$small" <<'PY'
import pathlib, struct, sys, zipfile

fixtures, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in sorted(fixtures.glob("*.zip")):
    data = path.read_bytes()
    try:
        infos = zipfile.ZipFile(path).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        continue
    for number, info in enumerate(infos):
        if info.compress_type != zipfile.ZIP_DEFLATED or info.compress_size > 4096:
            continue
        at = info.header_offset
        if data[at:at + 4] != b"PK\x03\x04":
            continue
        name_length, extra_length = struct.unpack_from("<HH", data, at + 26)
        start = at + 30 + name_length + extra_length
        stream = data[start:start + info.compress_size]
        size = struct.pack("<H", min(info.file_size, 0xFFFF))
        (out / f"{path.stem}-{number}").write_bytes(size + stream)
PY
