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
.SH ENVIRONMENT
.TP
.B REALM_METRICS_PATTERNS_DIR
the first directory searched for built-in pattern names; then \fI../share/realm-metrics/patterns\fR
beside the binary, then the \fIpatterns/\fR of the source tree a binary under \fI<tree>/.build*/\fR was
built in (\fI<tree>\fR has \fIPackage.swift\fR and \fIpatterns/\fR), then
\fI/usr/share/realm-metrics/patterns\fR, then the \fIpatterns/\fR of the source tree it was compiled from
.SH SEE ALSO
/usr/share/doc/realm-metrics/README.md
TAIL
