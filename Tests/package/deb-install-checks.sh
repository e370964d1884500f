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

version=$(sed -n 's/.*realmMetricsVersion = "\(.*\)".*/\1/p' Sources/RealmMetricsIO/Version.swift)
unit=realm-metrics.service
# A realm-metrics already installed on the host shows in the view: start from a clean one.
if dpkg -s realm-metrics >/dev/null 2>&1; then dpkg -P realm-metrics >/dev/null; fi

# A service manager for the maintainer scripts to talk to. /run is this root's own tmpfs, so
# /run/systemd/system (how they tell that systemd runs) exists only when made here; systemctl is a
# recording stand-in in /usr/local/sbin (first on PATH) that answers is-enabled and is-active from
# /tmp/unit-enabled and /tmp/unit-active. The real deb-systemd-invoke and deb-systemd-helper run
# (deb-systemd-invoke calls this systemctl); without_helpers hides them, as on a host without
# init-system-helpers.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /usr/local/sbin /run/systemd/system
cat > /usr/local/sbin/systemctl <<'SYSTEMCTL'
#!/bin/sh
echo "$*" >> /tmp/systemctl.calls
case " $* " in
  *" is-enabled "*) if [ -e /tmp/unit-enabled ]; then echo enabled; else echo disabled; exit 1; fi ;;
  *" is-active "*) [ -e /tmp/unit-active ] || exit 3 ;;
esac
exit 0
SYSTEMCTL
chmod 0755 /usr/local/sbin/systemctl
helpers=$(command -v deb-systemd-invoke deb-systemd-helper)
# policy-rc.d (container images often have one that refuses every start) is the test's to set:
# deny_starts makes one that refuses (exit 101), allow_starts removes it.
if [ -e /usr/sbin/policy-rc.d ]; then mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.hidden; fi
deny_starts() { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; }
allow_starts() { rm -f /usr/sbin/policy-rc.d; }
without_helpers() { for h in $helpers; do mv "$h" "$h.hidden"; done; }
with_helpers() { for h in $helpers; do mv "$h.hidden" "$h"; done; }
# service STATE...: what the stand-in says of the unit (enabled, active); forgets the calls so far.
service() { rm -f /tmp/unit-enabled /tmp/unit-active /tmp/systemctl.calls; for s in "$@"; do touch "/tmp/unit-$s"; done; }
# Newer versions of the same package, for upgrades.
dpkg-deb -R "$deb" /tmp/repack
for n in 1 2 3; do
  sed -i "s/^Version: .*/Version: $version+upgrade$n/" /tmp/repack/DEBIAN/control
  dpkg-deb -Znone --build --root-owner-group /tmp/repack "/tmp/upgrade$n.deb" >/dev/null
done

service
check "dpkg -i installs it" dpkg -i "$deb"
check "a first install reloads systemd and neither enables nor starts the service" bash -c 'c=$(cat /tmp/systemctl.calls); echo "$c" | grep -qx -- "--system daemon-reload" && ! echo "$c" | grep -Eq "(start|restart|enable) " && ! test -e /etc/systemd/system/multi-user.target.wants/'$unit' || { echo "calls: $c"; exit 1; }'
check "realm-metrics --version runs from /usr/bin" bash -c "/usr/bin/realm-metrics --version | grep -qx '$version'"
check "check passes on the installed pattern files" bash -c "/usr/bin/realm-metrics check -q /usr/share/realm-metrics/patterns/*.yaml /usr/share/realm-metrics/patterns/examples/*.yaml | grep -q ', 0 failed'"
check "the installed alert rules pass their own promtool tests" bash -c "cd /usr/share/realm-metrics/prometheus && promtool test rules realm-alerts.test.yml >/dev/null"
check "built-in names resolve to the installed patterns" bash -c "cd / && /usr/bin/realm-metrics explain 'Sync Connection[1]: Session[1]: Session initiated' | grep -q '^patterns: realm-sync-worker (/usr/share/realm-metrics/patterns/realm-sync-worker.yaml)'"
# A binary of the source tree looks in the tree's patterns/ first, the installed one in /usr/share.
tree=$(pwd -P)
for bin in .build/debug/realm-metrics .build-static/release/realm-metrics; do
  check "with the package installed, the tree's $bin names the tree's patterns/" bash -c "cd / && '$tree/$bin' explain 'Sync Connection[1]: Session[1]: Session initiated' | grep -qx 'patterns: realm-sync-worker ($tree/patterns/realm-sync-worker.yaml)'"
done
check "the installed config parses (run refuses only for the missing journal units or statsd)" bash -c "/usr/bin/realm-metrics run --config /etc/realm-metrics/config.yaml --journal-directory /nonexistent 2>&1 | grep -q 'error \[source\]'"
# verify exits 0 on unknown keys and only warns: any line about our unit is a failure here (warnings
# about other installed units are not ours to fix).
check "systemd-analyze verify accepts the unit without a warning" bash -c 'out=$(systemd-analyze verify /lib/systemd/system/realm-metrics.service 2>&1 | grep realm-metrics); [ -z "$out" ] || { echo "$out"; exit 1; }'
check "the unit runs run --config as a dynamic user in systemd-journal" bash -c "grep -q '^ExecStart=/usr/bin/realm-metrics run --config /etc/realm-metrics/config.yaml' /lib/systemd/system/realm-metrics.service && grep -q '^DynamicUser=yes' /lib/systemd/system/realm-metrics.service && grep -q '^SupplementaryGroups=systemd-journal' /lib/systemd/system/realm-metrics.service"
# A machine without a journal (what make run meets there): nothing under /run/log/journal (this root's
# /run is fresh) and an empty tmpfs over /var/log/journal. run on its defaults says so, points at
# --file and exits 1 instead of following nothing.
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
check "run on its defaults without journal files says so, points at --file and exits 1" bash -c 'cd / && out=$(timeout -s KILL 20 /usr/bin/realm-metrics run 2>&1); rc=$?; [ $rc -eq 1 ] && echo "$out" | grep -q "error \[source\]: cannot read the journal: no journal files under /run/log/journal or /var/log/journal" && echo "$out" | grep -q "to follow log files instead, use --file GLOB" || { echo "exit $rc: $out"; exit 1; }'
if mountpoint -q /var/log/journal; then umount /var/log/journal; fi
check "the unit is Type=notify with a watchdog and restarts on failure" bash -c "grep -qx 'Type=notify' /lib/systemd/system/$unit && grep -Eqx 'WatchdogSec=[0-9]+s?' /lib/systemd/system/$unit && grep -qx 'Restart=on-failure' /lib/systemd/system/$unit"
# A mistake in the configuration must not restart the service every RestartSec: the exit status each
# mistake gives (the installed configuration with one thing wrong) is one RestartPreventExitStatus= lists.
prevent=" $(sed -n 's/^RestartPreventExitStatus=//p' /lib/systemd/system/$unit) "
mistake() {
  local name=$1 edit=$2; shift 2
  sed "$edit" /etc/realm-metrics/config.yaml > /tmp/mistake.yaml
  check "a configuration mistake ($name) exits with a status RestartPreventExitStatus= lists" bash -c 'cd / && out=$(timeout -s KILL 20 /usr/bin/realm-metrics run --config /tmp/mistake.yaml --state-dir /tmp/mistake-state "${@:2}" 2>&1); rc=$?; [ $rc -ne 0 ] && [ $rc -ne 137 ] && case "$1" in *" $rc "*) true ;; *) false ;; esac || { echo "exit $rc, RestartPreventExitStatus=$1: $out"; exit 1; }' _ "$prevent" "$@"
}
mistake "an unknown key" 's/^flush_interval: 10$/flush_intervl: 10/'
mistake "a flush interval out of range" 's/^flush_interval: 10$/flush_interval: 0/'
mistake "a statsd address with a scheme" 's/^statsd: localhost:8125$/statsd: udp:\/\/localhost:8125/'
mistake "a misspelt pattern name" 's/^patterns: \[realm-sync-worker\]$/patterns: [realm-sync-wroker]/'
mistake "a prefix that is no metric name" 's/^# prefix: realm.web1$/prefix: "realm|web1"/'
mistake "a command-line option that is not a number" '' --max-line-bytes lots
check "the man page is installed" bash -c "zcat /usr/share/man/man1/realm-metrics.1.gz | grep -q '^.SH COMMAND: RUN'"
check "the copyright file is installed" bash -c "grep -qx 'License: MIT' /usr/share/doc/realm-metrics/copyright"
# Upgrades: the sidecar keeps running while dpkg unpacks (prerm stops it only on remove) and the new
# postinst restarts it, when it is enabled or running, only where systemd runs.
service enabled active
check "an upgrade restarts an enabled sidecar (deb-systemd-invoke restart) and does not stop it first" bash -c 'dpkg -i /tmp/upgrade1.deb >/dev/null && c=$(cat /tmp/systemctl.calls) && echo "$c" | grep -qx -- "--quiet --system restart '$unit'" && ! echo "$c" | grep -q "stop" || { echo "calls: $c"; exit 1; }'
without_helpers
service active
check "without deb-systemd-invoke, an upgrade restarts a running sidecar with systemctl" bash -c 'dpkg -i /tmp/upgrade2.deb >/dev/null && c=$(cat /tmp/systemctl.calls) && echo "$c" | grep -qx "restart '$unit'" || { echo "calls: $c"; exit 1; }'
service
check "without deb-systemd-invoke, an upgrade leaves a disabled, stopped sidecar stopped" bash -c 'dpkg -i /tmp/upgrade3.deb >/dev/null && c=$(cat /tmp/systemctl.calls) && echo "$c" | grep -qx -- "--system daemon-reload" && ! echo "$c" | grep -Eq "^(start|restart|try-restart) " || { echo "calls: $c"; exit 1; }'
with_helpers
deny_starts
service enabled active
check "a policy-rc.d that refuses (101) keeps an upgrade from restarting the sidecar" bash -c 'dpkg -i /tmp/upgrade2.deb >/dev/null 2>&1 && c=$(cat /tmp/systemctl.calls) && ! echo "$c" | grep -q "restart" || { echo "calls: $c"; exit 1; }'
without_helpers
service enabled active
check "without deb-systemd-invoke, a policy-rc.d that refuses (101) keeps an upgrade from restarting it" bash -c 'dpkg -i /tmp/upgrade3.deb >/dev/null 2>&1 && c=$(cat /tmp/systemctl.calls) && ! echo "$c" | grep -q "restart" || { echo "calls: $c"; exit 1; }'
with_helpers
allow_starts
rmdir /run/systemd/system
service enabled active
check "where systemd does not run, an upgrade calls no systemctl" bash -c 'dpkg -i /tmp/upgrade3.deb >/dev/null || exit 1; c=$(cat /tmp/systemctl.calls 2>/dev/null); [ -z "$c" ] || { echo "calls: $c"; exit 1; }'
mkdir -p /run/systemd/system

echo "# edited by the operator" >> /etc/realm-metrics/config.yaml
mkdir -p /var/lib/realm-metrics && echo '{}' > /var/lib/realm-metrics/state.json
service enabled active
check "dpkg -r stops the service (deb-systemd-invoke stop)" bash -c 'dpkg -r realm-metrics >/dev/null && c=$(cat /tmp/systemctl.calls) && echo "$c" | grep -qx "stop '$unit'" && echo "$c" | grep -qx -- "--system daemon-reload" || { echo "calls: $c"; exit 1; }'
check "dpkg -r removes the program and keeps the edited conffile and the state" bash -c "! test -e /usr/bin/realm-metrics && ! test -e /usr/share/realm-metrics && grep -q 'edited by the operator' /etc/realm-metrics/config.yaml && test -f /var/lib/realm-metrics/state.json"
# As systemctl enable would have left it.
mkdir -p /etc/systemd/system/multi-user.target.wants && ln -sf /lib/systemd/system/$unit /etc/systemd/system/multi-user.target.wants/$unit
check "dpkg -P purges the conffile and the state" bash -c "dpkg -P realm-metrics >/dev/null && ! test -e /etc/realm-metrics/config.yaml && ! test -e /var/lib/realm-metrics && ! dpkg -s realm-metrics >/dev/null 2>&1"
check "dpkg -P leaves no enablement link, mask or deb-systemd-helper state of the unit" bash -c "! test -L /etc/systemd/system/multi-user.target.wants/$unit && ! test -L /etc/systemd/system/$unit && ! find /var/lib/systemd/deb-systemd-helper-* -name \"*$unit*\" 2>/dev/null | grep -q ."

# The same without init-system-helpers.
dpkg -i "$deb" >/dev/null
without_helpers
deny_starts
service enabled active
check "without deb-systemd-invoke, a policy-rc.d that refuses (101) keeps dpkg -r from stopping it" bash -c 'dpkg -r realm-metrics >/dev/null && c=$(cat /tmp/systemctl.calls) && ! echo "$c" | grep -q "stop" || { echo "calls: $c"; exit 1; }'
allow_starts
dpkg -i "$deb" >/dev/null
mkdir -p /var/lib/realm-metrics && echo '{}' > /var/lib/realm-metrics/state.json
service enabled active
check "without deb-systemd-invoke, dpkg -r stops the service with systemctl and keeps the state" bash -c 'dpkg -r realm-metrics >/dev/null && c=$(cat /tmp/systemctl.calls) && echo "$c" | grep -qx "stop '$unit'" && test -f /var/lib/realm-metrics/state.json && test -f /etc/realm-metrics/config.yaml || { echo "calls: $c"; exit 1; }'
ln -sf /lib/systemd/system/$unit /etc/systemd/system/multi-user.target.wants/$unit
check "without deb-systemd-helper, dpkg -P removes the conffile, the state and the enablement link" bash -c "dpkg -P realm-metrics >/dev/null && ! test -e /etc/realm-metrics/config.yaml && ! test -e /var/lib/realm-metrics && ! test -L /etc/systemd/system/multi-user.target.wants/$unit"
with_helpers
[ "$fail" -eq 0 ]
