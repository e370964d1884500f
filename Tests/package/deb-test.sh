#!/usr/bin/env bash
# Builds the Debian package and checks it: its control data here, then installing, running, removing
# and purging it with the real dpkg inside a throwaway root (scripts/throwaway-root.sh: an overlay of /
# whose writes are discarded), so the host's / and dpkg database are never touched. Finally checks that
# the host's package state, configuration and state directory are what they were before.
set -u
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok    $1"; }
bad() { fail=$((fail+1)); echo "FAIL  $1"; [ -n "${2:-}" ] && printf '      %s\n' "$2"; }
check() { local name=$1; shift; local out; if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(echo "$out" | tail -5)"; fi; }

# What an installed and configured realm-metrics on this host looks like now (if there is one).
host_state() {
  dpkg-query -W -f='${Package} ${Version} ${Status}\n' realm-metrics 2>/dev/null || echo "realm-metrics not installed"
  for f in /usr/bin/realm-metrics /etc/realm-metrics/config.yaml /lib/systemd/system/realm-metrics.service; do
    if [ -e "$f" ]; then sha256sum "$f"; else echo "absent $f"; fi
  done
  find /var/lib/realm-metrics /var/lib/private/realm-metrics /usr/share/realm-metrics -printf '%p %s %T@\n' 2>/dev/null | sort
  sha256sum /var/lib/dpkg/status
}
before=$(host_state)

log=$(mktemp)
# The tree's debug binary too: the install checks compare its pattern lookup with the installed one's.
swift build --product realm-metrics >"$log" 2>&1 || { echo "FAIL  swift build: $(tail -5 "$log")"; rm -f "$log"; echo "package: 0 passed, 1 failed"; exit 1; }
deb=$(bash scripts/build-deb.sh 2>"$log") || { echo "FAIL  build-deb: $(tail -5 "$log")"; rm -f "$log"; echo "package: 0 passed, 1 failed"; exit 1; }
rm -f "$log"
deb=$(realpath "$deb")
check "the package builds with dpkg-deb" test -f "$deb"
check "control: Depends names libpcre2 and libsystemd" bash -c "dpkg-deb -f '$deb' Depends | grep -q libpcre2-8-0 && dpkg-deb -f '$deb' Depends | grep -q libsystemd0"
check "the example configuration is a conffile" bash -c "dpkg-deb -I '$deb' conffiles | grep -qx /etc/realm-metrics/config.yaml"
# The license: LICENSE in the tree (MIT), and the package's copyright file in Debian's machine-readable
# format naming it, with the license text as LICENSE has it.
check "LICENSE is the MIT license of the realm-metrics authors" bash -c "head -1 LICENSE | grep -qx 'MIT License' && grep -qx 'Copyright (c) 2026 The realm-metrics authors' LICENSE && grep -q '^Permission is hereby granted, free of charge' LICENSE"
copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/realm-metrics/copyright 2>/dev/null)
check "the package has usr/share/doc/realm-metrics/copyright in copyright format 1.0" bash -c 'echo "$1" | head -1 | grep -qx "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" && echo "$1" | grep -qx "Upstream-Name: realm-metrics" && echo "$1" | grep -qx "Files: \*" && echo "$1" | grep -qx "Copyright: 2026 The realm-metrics authors" && [ "$(echo "$1" | grep -c "^License: MIT$")" -eq 2 ]' _ "$copyright"
check "the copyright file holds LICENSE's license text" bash -c 'want=$(sed -n "/^Permission is hereby granted/,\$p" LICENSE | sed "s/^\$/./; s/^/ /"); got=$(echo "$1" | sed -n "/^License: MIT\$/,\$p" | sed -n "/^ Permission is hereby granted/,\$p"); [ -n "$want" ] && [ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got"); exit 1; }' _ "$copyright"

# Inside the throwaway root: the real dpkg on a copy-on-write view of this host.
inside=$(scripts/throwaway-root.sh bash Tests/package/deb-install-checks.sh "$deb" 2>&1)
rc=$?
echo "$inside" | grep -E '^(ok|FAIL|      )'
pass=$((pass + $(echo "$inside" | grep -c '^ok')))
fail=$((fail + $(echo "$inside" | grep -c '^FAIL')))
if [ $rc -ne 0 ] && ! echo "$inside" | grep -q '^FAIL'; then bad "the checks in the throwaway root ran" "$(echo "$inside" | tail -5)"; fi

after=$(host_state)
check "the host's realm-metrics files, state and dpkg database are untouched" bash -c "diff <(echo \"\$1\") <(echo \"\$2\")" _ "$before" "$after"
echo "package: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
