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
