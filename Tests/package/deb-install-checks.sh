#!/usr/bin/env bash
# The install checks of deb-test.sh, run inside scripts/throwaway-root.sh only (it refuses elsewhere):
#   deb-install-checks.sh PATH.deb
set -u
[ "${THROWAWAY_ROOT:-}" = inside ] || { echo "deb-install-checks.sh: only inside scripts/throwaway-root.sh" >&2; exit 2; }
deb=$1
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok    $1"; }
bad() { fail=$((fail+1)); echo "FAIL  $1"; [ -n "${2:-}" ] && printf '      %s\n' "$2"; }
check() { local name=$1; shift; local out; if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(echo "$out" | tail -5)"; fi; }

# A realm-metrics already installed on the host shows in the view: start from a clean one.
if dpkg -s realm-metrics >/dev/null 2>&1; then dpkg -P realm-metrics >/dev/null; fi
check "dpkg -i installs it" dpkg -i "$deb"
check "realm-metrics --version runs from /usr/bin" bash -c "/usr/bin/realm-metrics --version | grep -qx '$(sed -n 's/.*realmMetricsVersion = "\(.*\)".*/\1/p' Sources/RealmMetricsIO/Version.swift)'"
check "check passes on the installed pattern files" bash -c "/usr/bin/realm-metrics check -q /usr/share/realm-metrics/patterns/*.yaml /usr/share/realm-metrics/patterns/examples/*.yaml | grep -q ', 0 failed'"
check "built-in names resolve to the installed patterns" bash -c "cd / && /usr/bin/realm-metrics explain 'Sync Connection[1]: Session[1]: Session initiated' | grep -q '^patterns: realm-sync-worker (/usr/share/realm-metrics/patterns/realm-sync-worker.yaml)'"
check "the installed config parses (run refuses only for the missing journal units or statsd)" bash -c "/usr/bin/realm-metrics run --config /etc/realm-metrics/config.yaml --journal-directory /nonexistent 2>&1 | grep -q 'error \[source\]'"
# verify exits 0 on unknown keys and only warns: any line about our unit is a failure here (warnings
# about other installed units are not ours to fix).
check "systemd-analyze verify accepts the unit without a warning" bash -c 'out=$(systemd-analyze verify /lib/systemd/system/realm-metrics.service 2>&1 | grep realm-metrics); [ -z "$out" ] || { echo "$out"; exit 1; }'
check "the unit runs run --config as a dynamic user in systemd-journal" bash -c "grep -q '^ExecStart=/usr/bin/realm-metrics run --config /etc/realm-metrics/config.yaml' /lib/systemd/system/realm-metrics.service && grep -q '^DynamicUser=yes' /lib/systemd/system/realm-metrics.service && grep -q '^SupplementaryGroups=systemd-journal' /lib/systemd/system/realm-metrics.service"
check "the man page is installed" bash -c "zcat /usr/share/man/man1/realm-metrics.1.gz | grep -q '^.SH COMMAND: RUN'"
check "the copyright file is installed" bash -c "grep -qx 'License: MIT' /usr/share/doc/realm-metrics/copyright"
echo "# edited by the operator" >> /etc/realm-metrics/config.yaml
mkdir -p /var/lib/realm-metrics && echo '{}' > /var/lib/realm-metrics/state.json
check "dpkg -r removes the program and keeps the edited conffile and the state" bash -c "dpkg -r realm-metrics >/dev/null && ! test -e /usr/bin/realm-metrics && ! test -e /usr/share/realm-metrics && grep -q 'edited by the operator' /etc/realm-metrics/config.yaml && test -f /var/lib/realm-metrics/state.json"
check "dpkg -P purges the conffile and the state" bash -c "dpkg -P realm-metrics >/dev/null && ! test -e /etc/realm-metrics/config.yaml && ! test -e /var/lib/realm-metrics && ! dpkg -s realm-metrics >/dev/null 2>&1"
[ "$fail" -eq 0 ]
