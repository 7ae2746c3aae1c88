#!/bin/bash
# A bounded load test of the backups API on loopback: SECONDS (default 60)
# of mixed list and download traffic from wrk at CONNECTIONS (default 64),
# while a backup is created every 3 seconds (with and without statistics,
# each verified as soon as it is made) and the backup settings change every
# 2 seconds (retention among them). Memory is sampled every second.
#
#     bench/load.sh [SECONDS] [CONNECTIONS]
#
# Needs wrk, curl and jq. Builds the release binary, runs the server from a
# temporary folder on a free port, and stops everything it started (by
# process id) when it ends, however it ends. Not part of `cargo test`.
# The figures are printed at the end; docs/RELIABILITY.md records a run.
set -euo pipefail

duration=${1:-60}
connections=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()

stop_all() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap stop_all EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
binary="$root/target/release/puqbackup"

# A configuration tree of 300 peers and 4 MB of statistics that do not
# compress, so that a backup with statistics is a download of some size.
data="$work/data"
mkdir -p "$data/config/wireguard/peers" "$data/statistics"
printf '[Interface]\nAddress = 10.8.0.1/16\nListenPort = 51820\n' >"$data/config/wireguard/wg0.conf"
for peer in $(seq 1 300); do
    printf '[Peer]\nAllowedIPs = 10.8.%d.%d/32\n' $((peer / 250)) $((peer % 250 + 2)) \
        >"$data/config/wireguard/peers/peer$peer.conf"
done
head -c 4000000 /dev/urandom >"$data/statistics/traffic.db"

port=$((20000 + RANDOM % 20000))
cat >"$work/server.toml" <<SETTINGS
listen = "127.0.0.1:$port"
data_dir = "$data"
host_name = "load.test"
time_zone = "UTC"
SETTINGS
: >"$work/server.out"
"$binary" serve --config "$work/server.toml" >"$work/server.out" 2>"$work/server.log" &
server=$!
pids+=("$server")

# The first start prints the access hash on its second line.
for _ in $(seq 1 100); do
    [ "$(wc -l <"$work/server.out")" -ge 2 ] && break
    sleep 0.1
done
hash=$(sed -n 2p "$work/server.out")
base="http://127.0.0.1:$port"
api() { curl -s -b "access_hash=$hash" "$@"; }
for _ in $(seq 1 100); do
    api -o /dev/null "$base/api/v1/system/status" && break
    sleep 0.1
done

# Retention at 5, and a backup far in the future that retention always
# keeps (it is the newest), for the downloads.
api -X PUT -d "number_backups=5" "$base/api/v1/backups/config" >/dev/null
first=$(api -X POST -d "statistics=1" "$base/api/v1/backups" | jq -r .msg.backup_name)
pinned="load.test_2099-01-01_00-00-00.zip"
api -o "$work/first.zip" "$base/api/v1/backups/$first"
api -X POST --data-binary "@$work/first.zip" -H "Content-Type: application/zip" \
    "$base/api/v1/backups/upload?backup_name=$pinned" | jq -e '.status == "success"' >/dev/null
pinned_bytes=$(stat -c %s "$work/first.zip")

deadline=$(($(date +%s) + duration))

# Memory, threads and the number of backups, every second.
(
    while [ "$(date +%s)" -lt "$deadline" ]; do
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
        threads=$(awk '/^Threads/ {print $2}' "/proc/$server/status")
        count=$(find "$data/backups" -maxdepth 1 -name 'load.test_*.zip' | wc -l)
        echo "$(date +%s) $rss $count $threads"
        sleep 1
    done
) >"$work/rss.log" &
pids+=("$!")

# A backup every 3 seconds, verified at once (retention only runs when the
# next one is made, so it is still there).
(
    made=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        made=$((made + 1))
        answer=$(api -w '\n%{http_code} %{time_total}' -X POST -d "statistics=$((made % 2))" \
            "$base/api/v1/backups")
        code_time=$(tail -n 1 <<<"$answer")
        name=$(head -n 1 <<<"$answer" | jq -r '.msg.backup_name // empty')
        verdict=none
        if [ -n "$name" ]; then
            if "$binary" verify "$data/backups/$name" >/dev/null 2>&1; then
                verdict=valid
            else
                verdict=INVALID
            fi
        fi
        echo "$code_time $verdict $name"
        sleep 3
    done
) >"$work/creates.log" &
pids+=("$!")

# The settings change every 2 seconds: the hourly minute, and retention
# between 4 and 6.
(
    change=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        change=$((change + 1))
        keep=$((4 + change % 3))
        api -o /dev/null -w '%{http_code} %{time_total}\n' -X PUT \
            -d "every_hour_minute=$((change % 60))&number_backups=$keep" \
            "$base/api/v1/backups/config"
        sleep 2
    done
) >"$work/config.log" &
pids+=("$!")

wrk -t2 -c"$connections" -d"${duration}s" --latency --timeout 10s \
    -s "$root/bench/load.lua" "$base" -- "$hash" "$pinned" >"$work/wrk.out" 2>&1 || true
wait "${pids[@]:1}" 2>/dev/null || true
pids=("$server")

# Retention back at 5, one more backup to apply it, then count.
api -X PUT -d "number_backups=5" "$base/api/v1/backups/config" >/dev/null
api -X POST -d "statistics=0" "$base/api/v1/backups" >/dev/null
listed=$(api "$base/api/v1/backups" | jq '.msg.backups | length')
invalid_left=0
for archive in "$data"/backups/load.test_*.zip; do
    "$binary" verify "$archive" >/dev/null 2>&1 || invalid_left=$((invalid_left + 1))
done
leftovers=$(find "$data/backups" -maxdepth 1 -name '.*' | wc -l)

echo "== wrk: $connections connections, $duration s, 3 lists : 1 download of $pinned_bytes bytes"
cat "$work/wrk.out"
echo "   answers other than 2xx: $(sed -n 's/.*Non-2xx or 3xx responses: *//p' "$work/wrk.out" | grep . || echo 0)"
echo "   socket errors: $(sed -n 's/.*Socket errors: *//p' "$work/wrk.out" | grep . || echo none)"
echo "== creates (code seconds verdict name)"
awk '{print $1}' "$work/creates.log" | sort | uniq -c | sed 's/^/   code /'
awk '{print $3}' "$work/creates.log" | sort | uniq -c | sed 's/^/   verify /'
awk 'BEGIN {max = 0} {if ($2 > max) max = $2; total += $2} END {printf "   %d made, %.2f s on average, %.2f s at most\n", NR, total / NR, max}' "$work/creates.log"
echo "== settings changes (code)"
awk '{print $1}' "$work/config.log" | sort | uniq -c | sed 's/^/   code /'
echo "== memory (RSS, KiB), threads and backups in the folder, every 10 s"
awk 'NR == 1 {start = $1} (NR - 1) % 10 == 0 {printf "   +%3d s  %7d KiB  %3d threads  %d backups\n", $1 - start, $2, $4, $3}' "$work/rss.log"
awk 'NR == 1 || $2 < min {min = $2} $2 > max {max = $2} END {printf "   min %d KiB, max %d KiB\n", min, max}' "$work/rss.log"
echo "== after the run"
echo "   listed: $listed (number_backups = 5, the pinned backup among them)"
echo "   archives that do not verify: $invalid_left; hidden leftovers: $leftovers"
echo "   server errors logged: $(grep -c ' ERROR ' "$work/server.log" || true)"
