#!/bin/sh
# Compares puqbackup's create, verify and restore with Info-ZIP zip/unzip,
# 7-Zip and Python's zipfile on three corpora built from a fixed seed.
#
# Usage: bench/compare.sh [--quick] [--pairs N] [--only panel,stats,tiny]
#                         [--commands create,verify,restore] [--no-markdown]
#                         [--api]
#
#   --quick        corpora at a tenth of their size (the large one at 1/16)
#                  and 2 pairs: for trying things out; its figures are not
#                  the reference ones and it leaves BENCHMARKS.md alone
#   --pairs N      alternating pairs after the warm-up (default 5)
#   --only LIST    only these corpora
#   --commands L   only these commands
#   --no-markdown  do not write the table into BENCHMARKS.md
#   --api          also measure the backups API (listing 10,000 backups, a
#                  1 GiB download against nginx with sendfile)
#
# Corpora and scratch files go under $BENCH_DIR (default
# /var/tmp/puqbackup-bench), never into the repository; a corpus is built
# once per scale and seed and reused. Needs: cargo, python3, zip, unzip,
# 7-Zip (`7z`, `7zz` or `7za`), GNU time; for --api also nginx and curl.
set -eu

repository=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${BENCH_DIR:-/var/tmp/puqbackup-bench}
seed=20240301
pairs=5
only=panel,stats,tiny
commands=create,verify,restore
quick=no
markdown=yes
api=no

while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=yes ;;
        --pairs) pairs=$2; shift ;;
        --only) only=$2; shift ;;
        --commands) commands=$2; shift ;;
        --no-markdown) markdown=no ;;
        --api) api=yes ;;
        -h|--help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument \`$1\`" >&2; exit 2 ;;
    esac
    shift
done

missing=
for tool in python3 zip unzip cargo sync; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -x /usr/bin/time ] || missing="$missing time(/usr/bin/time)"
command -v 7z >/dev/null 2>&1 || command -v 7zz >/dev/null 2>&1 \
    || command -v 7za >/dev/null 2>&1 || missing="$missing 7-Zip"
if [ "$api" = yes ]; then
    for tool in nginx curl; do
        command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] \
            || missing="$missing $tool"
    done
fi
if [ -n "$missing" ]; then
    echo "compare.sh: missing:$missing" >&2
    echo "on Debian: apt-get install -y zip unzip 7zip python3 time nginx-light curl" >&2
    exit 2
fi

if [ "$quick" = yes ]; then
    scale=0.1
    stats_scale=0.0625
    [ "$pairs" = 5 ] && pairs=2
    full=
    markdown=no
else
    scale=1
    stats_scale=1
    full=--full
fi

echo "building the release binary"
(cd "$repository" && cargo build --release --quiet)
binary=$repository/target/release/puqbackup

corpora=$bench_dir/corpora-$seed-$scale
mkdir -p "$corpora"
for name in $(echo "$only" | tr ',' ' '); do
    if [ ! -d "$corpora/$name" ]; then
        corpus_scale=$scale
        [ "$name" = stats ] && corpus_scale=$stats_scale
        echo "building corpus $name (scale $corpus_scale, seed $seed)"
        python3 "$repository/bench/corpus.py" "$corpora/$name" "$name" \
            --scale "$corpus_scale" --seed "$seed"
    fi
done

markdown_argument=
[ "$markdown" = yes ] && markdown_argument="--markdown $repository/BENCHMARKS.md"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
python3 "$repository/bench/measure.py" --binary "$binary" --corpora "$corpora" \
    --work "$bench_dir/work" --pairs "$pairs" --only "$only" --commands "$commands" $full \
    --json "$bench_dir/results.json" $markdown_argument

if [ "$api" = yes ]; then
    # shellcheck disable=SC2086
    python3 "$repository/bench/api.py" --binary "$binary" --work "$bench_dir/api" \
        --size-mib "$([ "$quick" = yes ] && echo 64 || echo 1024)" $markdown_argument
fi
