#!/usr/bin/env bash
# Writes a man page (roff) for realm-metrics from the --help of the binary and of each command.
set -euo pipefail
bin=$1; version=$2
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
cat <<HEAD
.TH REALM-METRICS 1 "" "realm-metrics $version" "User Commands"
.SH NAME
realm-metrics \- statsd metrics from Realm sync worker logs
.SH SYNOPSIS
.B realm-metrics
.I command
[\fIoptions\fR]
.SH DESCRIPTION
.nf
HEAD
"$bin" --help | esc
for cmd in run replay check explain; do
  echo ".fi"
  echo ".SH COMMAND: ${cmd^^}"
  echo ".nf"
  "$bin" "$cmd" --help | esc
done
cat <<TAIL
.fi
.SH FILES
.TP
.I /etc/realm-metrics/config.yaml
configuration read by the systemd unit
.TP
.I /usr/share/realm-metrics/patterns
built-in pattern files of the package (see ENVIRONMENT for the order of the places searched)
.TP
.I /var/lib/realm-metrics/state.json
journal cursor, file positions, the sources followed and metric state
.TP
.I /var/lib/realm-metrics/lock
held by the running sidecar (its pid inside): one sidecar per state directory
.SH EXIT STATUS
.TP
.B 0
success; run: stopped by SIGTERM or SIGINT after a final flush and checkpoint
.TP
.B 1
the configuration file, a pattern file, an input, the state or the journal could not be used;
check: a file failed; run, at a stop: the final state could not be saved
.TP
.B 2
a usage error: a bad prefix, nothing to follow, the state directory in use by another sidecar
.TP
.B 64
an option or value the command line refuses
.PP
The systemd unit lists 1, 2 and 64 in RestartPreventExitStatus=: a refusal to start is not restarted.
.SH ENVIRONMENT
.TP
.B REALM_METRICS_PATTERNS_DIR
the first directory searched for built-in pattern names; then \fI../share/realm-metrics/patterns\fR
beside the binary, then the \fIpatterns/\fR of the source tree a binary under \fI<tree>/.build*/\fR was
built in (\fI<tree>\fR has \fIPackage.swift\fR and \fIpatterns/\fR), then
\fI/usr/share/realm-metrics/patterns\fR, then the \fIpatterns/\fR of the source tree it was compiled from
.TP
.BR NOTIFY_SOCKET ", " WATCHDOG_USEC ", " WATCHDOG_PID
set by systemd for the unit (Type=notify, WatchdogSec=): run sends READY=1 when its start-up is over,
WATCHDOG=1 every quarter of WATCHDOG_USEC and STOPPING=1 at SIGTERM; without NOTIFY_SOCKET it sends
nothing
.SH SEE ALSO
/usr/share/doc/realm-metrics/README.md
TAIL
