#!/usr/bin/env bash
# Measures `replay --journal` (backfill) from one journal file of N entries (default 1,000,000) made with
# systemd-journal-remote from the generated worker log: entries/s to graphite-style output discarded.
#   bench/journal-replay.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BIN=${REALM_METRICS_BIN:-.build/release/realm-metrics}
mkdir -p bench/out
dir=bench/out/journal-$N   # journal-remote rotates large outputs: read the whole directory
journal=$dir/worker.journal
if [ ! -f "$journal" ]; then
  mkdir -p "$dir"
  python3 bench/gen-worker-log.py "$N" | python3 -c '
import sys
t = 1709251200 * 1000000
out = sys.stdout.buffer
for i, line in enumerate(sys.stdin.buffer):
    t += 1000
    out.write(b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n" % (t, t))
    out.write(b"_SYSTEMD_UNIT=realm-sync.service\nSYSLOG_IDENTIFIER=realm-sync\n_PID=4242\nPRIORITY=6\nMESSAGE=" + line.rstrip(b"\n") + b"\n\n")
' > bench/out/worker-$N.export
  /lib/systemd/systemd-journal-remote --output="$journal" bench/out/worker-$N.export 2>/dev/null
  rm -f bench/out/worker-$N.export
fi
start=$(date +%s.%N)
"$BIN" replay -q --journal --journal-directory "$dir" --unit realm-sync.service --prefix realm.bench --to influx:/dev/null
end=$(date +%s.%N)
entries=$(journalctl --directory "$dir" -o cat | wc -l)
python3 -c "n=$entries; s=$end-$start; print(f'journal replay: {n} entries in {s:.2f} s = {n/s:,.0f} entries/s')"
