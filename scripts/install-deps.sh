#!/usr/bin/env bash
# Installs the system packages realm-metrics needs, only those that are missing.
#   install-deps.sh          build: pkg-config, libpcre2-dev, libsystemd-dev
#   install-deps.sh --test   also what the tests use: systemd (journald), systemd-journal-remote,
#                            collectd-core (a real statsd server), logrotate, graphite-carbon and
#                            python3-whisper (a real Graphite), python3, prometheus (server and
#                            promtool), influxdb (a real InfluxDB 1.x), curl, chromium and
#                            fonts-dejavu-core (the report in a real browser)
# libsystemd-dev is pinned to the installed libsystemd0 when that version is available, so the
# install does not upgrade systemd itself.
set -euo pipefail
want=(pkg-config libpcre2-dev libsystemd-dev binutils)
if [ "${1:-}" = "--test" ]; then want+=(systemd systemd-journal-remote collectd-core python3 graphite-carbon python3-whisper logrotate prometheus influxdb curl chromium fonts-dejavu-core); fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
pkgs=()
v=$(dpkg-query -W -f='${Version}' libsystemd0 2>/dev/null || true)
for p in "${missing[@]}"; do
  if { [ "$p" = libsystemd-dev ] || [ "$p" = systemd-journal-remote ]; } && [ -n "$v" ] && apt-cache madison "$p" | grep -qF " $v "; then
    pkgs+=("$p=$v")
  else
    pkgs+=("$p")
  fi
done
apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
