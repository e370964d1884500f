#!/usr/bin/env bash
# journal-untouched.sh CMD [ARGS...]: runs CMD and fails when the host's journald or journal changed in
# a way tests must never cause: a journald started, killed or restarted, journal files rotated
# (archived files added) or vacuumed (files removed). Entries the host's services write meanwhile only
# grow the active files, which is not a change here. The exit status is CMD's, or 1 when the host changed.
set -u
snapshot() {
  local own_pid_ns; own_pid_ns=$(readlink /proc/self/ns/pid)
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = systemd-journal ] || continue
    # The host's journald shares this PID namespace; private ones (of this run or another) do not.
    [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$own_pid_ns" ] || continue
    # pid and start time: a restarted journald has another
    echo "journald $(basename "$p") $(cut -d' ' -f22 "$p/stat" 2>/dev/null)"
  done
  find /run/log/journal /var/log/journal -xdev -type f -printf 'file %i %p\n' 2>/dev/null
} 
before=$(snapshot | sort)
"$@"
rc=$?
after=$(snapshot | sort)
if [ "$before" != "$after" ]; then
  echo "FAIL  the host's journald or journal changed during the tests:" >&2
  diff <(echo "$before") <(echo "$after") >&2
  exit 1
fi
echo "ok    the host's journald and journal files are untouched"
exit $rc
