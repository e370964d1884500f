#!/usr/bin/env bash
# Starts the private journald inside scripts/private-journald.sh (and starts it again after a test
# killed it), then waits until it accepts entries. Refuses to run anywhere else: the host's journald is
# never started, signalled or replaced by the tests.
set -euo pipefail
if [ "${PRIVATE_JOURNALD:-}" != inside ]; then
  echo "start-journald.sh: only inside scripts/private-journald.sh (it starts a journald of its own)" >&2
  exit 1
fi
# Only stdin/stdout/stderr are redirected by hand: close every other inherited descriptor too, or a
# caller that waits for its pipes or for a descriptor to close (Foundation's Process does) waits forever.
(
  for fd in /proc/self/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  # NO arguments: journald takes its first argument as a journal namespace name.
  exec setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1
) &
echo $! > /run/systemd/private-journald/pid
for _ in $(seq 1 250); do
  systemd-cat -t realm-metrics-probe true 2>/dev/null && exit 0
  sleep 0.02
done
echo "journald did not start" >&2
exit 1
