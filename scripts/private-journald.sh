#!/usr/bin/env bash
# private-journald.sh CMD [ARGS...]: runs CMD (as root) with a systemd-journald of its own, so tests and
# benchmarks may write to, signal, restart, rotate and vacuum "the" journald without touching the host's.
#
# CMD runs in a private mount namespace (tmpfs over /run/systemd, /run/log/journal and, if it exists,
# /var/log/journal; /dev/null over /dev/kmsg; a journald.conf of its own without rate limits) and a PID
# namespace: when CMD ends, the journald and every process CMD started are killed by the kernel and the
# journal's tmpfs is gone. The exit status is CMD's. Inside, PRIVATE_JOURNALD=inside is set and
# scripts/start-journald.sh (re)starts the private journald.
set -eu
if [ "${PRIVATE_JOURNALD:-}" != inside ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "private-journald.sh: needs root (mount and PID namespaces)" >&2; exit 1; fi
  command -v unshare >/dev/null || { echo "private-journald.sh: unshare (util-linux) is missing" >&2; exit 1; }
  [ -x /lib/systemd/systemd-journald ] || { echo "private-journald.sh: /lib/systemd/systemd-journald is missing (apt-get install systemd)" >&2; exit 1; }
  PRIVATE_JOURNALD=inside exec unshare --mount --propagation private --pid --fork --mount-proc --kill-child "$0" "$@"
fi
# Everything below happens inside the namespaces; nothing outside the new mounts is written.
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/systemd/private-journald
mkdir -p /run/log/journal 2>/dev/null || true   # exists on any host with systemd installed
mount -t tmpfs -o mode=0755 tmpfs /run/log/journal
# Never create /var/log/journal: on the host that would switch journald to persistent storage.
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi
mount --bind /dev/null /dev/kmsg
# Its own configuration: the host's journald.conf and drop-ins are hidden; no rate limit, so bursts
# from tests are all stored.
printf '[Journal]\n' > /run/systemd/private-journald/journald.conf
[ -f /etc/systemd/journald.conf ] && mount --bind /run/systemd/private-journald/journald.conf /etc/systemd/journald.conf
for d in /etc/systemd/journald.conf.d /usr/lib/systemd/journald.conf.d /lib/systemd/journald.conf.d; do
  if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
done
printf '[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n' > /run/systemd/journald.conf.d/90-tests.conf
"$(dirname "$0")/start-journald.sh"
exec "$@"
