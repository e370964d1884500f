#!/usr/bin/env bash
# Starts a journald for the tests when none runs (PID 1 here is not systemd). Lifts the rate limit so
# bursts from tests are all stored, and waits until it accepts entries.
set -euo pipefail
if systemd-cat -t realm-metrics-probe true 2>/dev/null; then exit 0; fi
mkdir -p /run/systemd/journald.conf.d
printf '[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n' > /run/systemd/journald.conf.d/90-tests.conf
# Only stdin/stdout/stderr are redirected by hand: close every other inherited descriptor too, or a
# caller that waits for its pipes or for a descriptor to close (Foundation's Process does) waits forever.
(
  for fd in /proc/self/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  exec setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1
) &
for _ in $(seq 1 250); do
  systemd-cat -t realm-metrics-probe true 2>/dev/null && exit 0
  sleep 0.02
done
echo "journald did not start" >&2
exit 1
