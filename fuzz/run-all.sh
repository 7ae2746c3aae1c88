#!/bin/sh
# Runs every fuzz target in turn, one at a time, for SECONDS each (600 by
# default), from the corpora in fuzz/corpus/ (see seed-corpora.sh). Each
# target's output goes to fuzz/logs/<target>.log; its last lines give the
# executions and coverage (`cov`, `ft`). A crash stops that target and
# leaves its input in fuzz/artifacts/<target>/.
#
#     RUSTC_BOOTSTRAP=1 fuzz/run-all.sh 600
set -u

here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-600}
cd "$here"
mkdir -p logs
for target in file_list verify inspect restore restore_entries http_input small_inflate; do
    mkdir -p "corpus/$target"
    cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
        >"logs/$target.log" 2>&1
    echo "$target: exit $?"
    grep -E '^#[0-9]+ *DONE|^stat::number_of_executed_units|^Done [0-9]+ runs' "logs/$target.log"
done
