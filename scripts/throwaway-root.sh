#!/usr/bin/env bash
# throwaway-root.sh CMD [ARGS...]: runs CMD as root, chrooted into an overlay of / whose writes all go
# to a tmpfs that is thrown away at the end (private mount and PID namespaces). The real dpkg, the
# host's dpkg database for dependencies, real maintainer scripts and conffile handling, and nothing of
# the host's / changes. The current directory is the same inside, read-only; /tmp and /run are fresh. The exit status is CMD's.
set -eu
if [ "${THROWAWAY_ROOT:-}" != inside ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "throwaway-root.sh: needs root (mount and PID namespaces)" >&2; exit 1; fi
  dir=$(mktemp -d /tmp/throwaway-root.XXXXXX)
  set +e
  THROWAWAY_ROOT=inside THROWAWAY_DIR=$dir THROWAWAY_CWD=$PWD unshare --mount --propagation private --pid --fork --kill-child "$0" "$@"
  rc=$?
  rmdir "$dir/merged" "$dir/rw" "$dir" 2>/dev/null
  exit $rc
fi
d=$THROWAWAY_DIR
mkdir -p "$d/merged" "$d/rw"
mount -t tmpfs tmpfs "$d/rw"
mkdir -p "$d/rw/upper" "$d/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$d/rw/upper,workdir=$d/rw/work" "$d/merged"
mount -t proc proc "$d/merged/proc"
mount --rbind /dev "$d/merged/dev"
mount --rbind /sys "$d/merged/sys"
mount -t tmpfs tmpfs "$d/merged/run"
mount -t tmpfs tmpfs "$d/merged/tmp"
# The current directory, read-only at the same path: it may be under /tmp or on another file system
# than / (which the overlay does not show).
mkdir -p "$d/merged$THROWAWAY_CWD"
mount --bind "$THROWAWAY_CWD" "$d/merged$THROWAWAY_CWD"
mount -o remount,bind,ro "$d/merged$THROWAWAY_CWD"
exec chroot "$d/merged" /bin/sh -c 'cd "$THROWAWAY_CWD" && exec "$@"' sh "$@"
