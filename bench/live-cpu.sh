#!/usr/bin/env bash
# Measures `realm-metrics run` following a real journald fed at RATE lines/s for SECONDS seconds:
# CPU % of one core (user+system time of the sidecar process over wall time) and peak RSS.
#   bench/live-cpu.sh [RATE] [SECONDS]
# Runs against a private journald (scripts/private-journald.sh), never the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${PRIVATE_JOURNALD:-}" = inside ] || exec scripts/private-journald.sh "$0" "$@"
RATE=${1:-10000}; SECONDS_=${2:-60}
BIN=${REALM_METRICS_BIN:-.build/release/realm-metrics}
systemd-cat -t realm-metrics-probe true || scripts/start-journald.sh
mkdir -p bench/out
[ -f bench/out/worker-200k.log ] || python3 bench/gen-worker-log.py 200000 > bench/out/worker-200k.log
id="rm-bench-$$"; state=$(mktemp -d)
"$BIN" run --identifier "$id" --statsd 127.0.0.1:9 --state-dir "$state" --prefix realm.bench 2>"$state/err" &
pid=$!
sleep 1
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14+$15}' /proc/$pid/stat); w0=$(date +%s.%N)
sent=$(python3 bench/feed-journal.py "$id" "$RATE" "$SECONDS_" bench/out/worker-200k.log)
sleep 2
t1=$(awk '{print $14+$15}' /proc/$pid/stat); w1=$(date +%s.%N)
rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
read_lines=$(python3 -c "import json;print(json.load(open('$state/state.json'))['counts']['lines_read'])")
python3 - "$t0" "$t1" "$w0" "$w1" "$hz" "$sent" "$read_lines" "$rss" "$RATE" <<'PY'
import sys
t0, t1, w0, w1, hz, sent, read, rss, rate = sys.argv[1:]
cpu = (float(t1) - float(t0)) / float(hz) / (float(w1) - float(w0)) * 100
print(f"live: {sent} lines fed at {rate}/s, {read} read; CPU {cpu:.2f} % of one core; peak RSS {int(rss)/1024:.1f} MB")
PY
rm -rf "$state"
