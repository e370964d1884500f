#!/usr/bin/env bash
# Command-line tests: run the built binary the way an operator would and check exit codes and output.
set -u
BIN=${REALM_METRICS_BIN:-.build/debug/realm-metrics}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()   { pass=$((pass+1)); echo "ok    $1"; }
bad()  { fail=$((fail+1)); echo "FAIL  $1"; [ -n "${2:-}" ] && printf '      %s\n' "$2"; }
# expect NAME EXPECTED_EXIT GREP_PATTERN -- COMMAND...
expect() {
  local name=$1 code=$2 pattern=$3; shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -ne "$code" ]; then bad "$name" "exit $rc, expected $code: $(head -c 400 "$tmp/err")"; return; fi
  if [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/out" "$tmp/err"; then bad "$name" "no match for /$pattern/ in: $(head -c 400 "$tmp/out") $(head -c 400 "$tmp/err")"; return; fi
  ok "$name"
}

expect "--version prints the version" 0 '^[0-9]+\.[0-9]+\.[0-9]+' -- "$BIN" --version
expect "--help lists the commands" 0 'replay.*' -- "$BIN" --help
expect "replay --help explains --summary" 0 'summary' -- "$BIN" replay --help
expect "check passes on every shipped pattern file" 0 ', 0 failed$' -- "$BIN" check patterns/realm-messages.yaml patterns/realm-sync-worker.yaml patterns/ros1.yaml patterns/ros2.yaml patterns/examples/syslog-realm-sync-worker.yaml
expect "check accepts built-in names" 0 'format ros1' -- "$BIN" check ros1

printf 'rules:\n  - name: a\n    match: x\n    actionz: []\n' > "$tmp/broken.yaml"
expect "check refuses a broken file with file:line:column" 1 'broken.yaml:4:5: rule: unknown key .actionz.' -- "$BIN" check "$tmp/broken.yaml"
expect "replay refuses to start with a broken pattern file" 1 'error \[pattern-file\]: .*broken.yaml:4:5:' -- "$BIN" replay --patterns "$tmp/broken.yaml" patterns/ros2.sample.log

printf 'rules:\n  - name: a\n    match: "^x"\n    actions: [{count: c}]\n    examples: ["y"]\n' > "$tmp/failing.yaml"
expect "check fails on an example that does not match" 1 'FAIL  rule a' -- "$BIN" check "$tmp/failing.yaml"

for f in realm-sync-worker ros1 ros2; do
  expect "replay --summary of $f equals the golden file" 0 '' -- bash -c "\"$BIN\" replay -q --patterns $f --prefix realm.test --summary patterns/$f.sample.log | diff -u patterns/$f.expected.json -"
  expect "replay statsd output of $f equals the golden file" 0 '' -- bash -c "\"$BIN\" replay -q --patterns $f --prefix realm.test patterns/$f.sample.log | diff -u patterns/$f.expected.statsd -"
done
for n in 1 2 5; do
  expect "replay --threads $n gives the golden statsd output" 0 '' -- bash -c "\"$BIN\" replay -q --threads $n --prefix realm.test patterns/realm-sync-worker.sample.log | diff -u patterns/realm-sync-worker.expected.statsd -"
done
expect "replay refuses a line limit it cannot buffer" 64 'max-line-bytes must be between 64 and 16777216' -- "$BIN" replay --max-line-bytes 1073741824 patterns/ros2.sample.log
expect "replay refuses --threads 0" 64 'threads must be between 1 and 64' -- "$BIN" replay --threads 0 patterns/ros2.sample.log
expect "replay reads standard input" 0 'realm.test.session.started:12\|c' -- bash -c "\"$BIN\" replay -q --prefix realm.test - < patterns/realm-sync-worker.sample.log"
expect "replay --tags dogstatsd writes DogStatsD tags" 0 'realm\.test\.protocol\.used:2\|c\|#version:24' -- "$BIN" replay -q --tags dogstatsd --prefix realm.test patterns/realm-sync-worker.sample.log
expect "replay --tags influx writes the 2020 server's tagged names" 0 'realm\.test\.protocol\.used,version=24:2\|c' -- "$BIN" replay -q --tags influx --prefix realm.test patterns/realm-sync-worker.sample.log
expect "replay shows timers as |ms lines" 0 'realm\.test\.ping\.rtt:41\|ms' -- "$BIN" replay -q --prefix realm.test patterns/realm-sync-worker.sample.log
expect "run refuses --prometheus-listen without a port" 64 'prometheus-listen .*give HOST:PORT' -- "$BIN" run --prometheus-listen 127.0.0.1 --file /nonexistent
printf 'prometheus_listen: "localhost"\n' > "$tmp/prom.yaml"
expect "check --config refuses prometheus_listen without a port, at its place" 1 'prom.yaml:1:20: .prometheus_listen.: .*give HOST:PORT' -- "$BIN" check --config "$tmp/prom.yaml"
printf 'prometheus_listen: "127.0.0.1:9469"\nfile: [/var/log/w.log]\n' > "$tmp/prom-ok.yaml"
expect "check --config names the Prometheus endpoint" 0 'Prometheus on http://127\.0\.0\.1:9469/metrics; state in' -- "$BIN" check --config "$tmp/prom-ok.yaml"
expect "replay --to openmetrics writes promtool's format" 0 'realm_session_started_total\{host="test"\} 12 1588680300' -- bash -c "\"$BIN\" replay -q --prefix realm.test --timezone UTC --bucket 300 --to openmetrics:- patterns/realm-sync-worker.sample.log | grep -v '^#'"
expect "run refuses an unknown --tags style" 64 'none, influx, dogstatsd|none.*influx.*dogstatsd' -- "$BIN" run --tags yes --file /nonexistent
expect "check --literals names each rule's metrics with their kinds" 0 'metrics: histogram workunit\.uploaded\.changesets, histogram workunit\.uploaded\.bytes, timer upload\.processing' -- "$BIN" check --literals patterns/realm-messages.yaml
expect "replay reports line counts on stderr" 0 '117 lines .* 110 matched, 0 ignored, 7 unmatched' -- "$BIN" replay --prefix realm.test patterns/realm-sync-worker.sample.log
expect "replay of a missing file is a clear error" 1 'error \[input\]: /nonexistent.log: cannot open: No such file' -- "$BIN" replay /nonexistent.log
expect "replay refuses an unknown target" 64 'unknown target' -- "$BIN" replay --to carrier-pigeon patterns/ros2.sample.log
expect "replay refuses a bad prefix" 2 'prefix' -- "$BIN" replay --prefix 'a|b' patterns/ros2.sample.log
expect "default prefix is realm.<hostname>" 0 "^realm\\.$(hostname | tr -c 'A-Za-z0-9_\n-' '_')\\.session\\.started:12\\|c" -- "$BIN" replay -q patterns/realm-sync-worker.sample.log

expect "explain shows rule, captures and effects" 0 'counter realm.test.connection.started \+1' -- "$BIN" explain --prefix realm.test 'HTTP Connection[4]: Connection from 127.0.0.1:40070'
expect "explain: the second Token expired line counts nothing" 0 "rule: token-expired-repeat" -- "$BIN" explain --prefix realm.test "Sync Connection[2]: Session[1]: Token expired (message_type='bind', signed_user_token='x')."
expect "explain: ros1 client lines are ignored" 0 "ignored by 'own-sync-client'" -- "$BIN" explain --patterns ros1 '2017-02-07T17:07:46.042Z - info: client: Connection[5]: Session[1]: Session terminated (session_ident=1).'
expect "explain: envelope time is shown in UTC" 0 'time: 2018-01-13T20:09:36.227Z  \(= 2018-01-13T20:09:36.227Z\)' -- "$BIN" explain --patterns ros1 '2018-01-13T20:09:36.227Z - info: sync: HTTP Connection[4]: Connection from 127.0.0.1:40070'
expect "explain: a header continuation line matches nothing" 0 'outcome: matched no rule' -- "$BIN" explain 'Authorization: Bearer abc.def.ghi'

# replay --report: the HTML report (its data section is checked by make golden-check, the page in a
# browser by report-browser.sh).
expect "replay --help documents --report" 0 '--report <file>' -- "$BIN" replay --help
for f in realm-sync-worker ros1 ros2; do
  expect "replay --report of $f: the page's data section equals the golden file" 0 '' -- bash -c "TZ=UTC \"$BIN\" replay -q --patterns $f --prefix realm.test --report '$tmp/$f.html' patterns/$f.sample.log && sed -n '/^<script type=\"application\\/json\" id=\"report-data\">\$/,/^<\\/script>\$/{//!p}' '$tmp/$f.html' | diff -u patterns/$f.expected.report.json -"
done
expect "replay --report alone prints nothing on standard output" 0 '' -- bash -c "[ -z \"\$(\"$BIN\" replay -q --patterns ros1 --report '$tmp/alone.html' patterns/ros1.sample.log)\" ] && [ -s '$tmp/alone.html' ]"
expect "replay --report with --summary prints the summary too" 0 '"counters"' -- "$BIN" replay -q --patterns ros1 --prefix realm.test --report "$tmp/s.html" --summary patterns/ros1.sample.log
expect "replay --report to a directory that does not exist is an error naming it" 1 'error \[output\]: --report /nonexistent-dir/r.html: cannot create the file: No such file or directory' -- "$BIN" replay -q --patterns ros1 --report /nonexistent-dir/r.html patterns/ros1.sample.log
expect "replay --report to a full disk is an error" 1 'error \[output\]: --report /dev/full: cannot write: No space left on device; the output is incomplete' -- "$BIN" replay -q --patterns ros1 --report /dev/full patterns/ros1.sample.log
expect "replay --report - is refused" 64 '--report needs a file name' -- "$BIN" replay --report - patterns/ros1.sample.log
expect "replay --report loads nothing: its only sources are inline" 0 '' -- bash -c "! grep -Eiq '<(link|img|iframe|object|embed)[ >]|src=|href=.[^#]|url\\(|@import' '$tmp/realm-sync-worker.html' && grep -q \"default-src 'none'\" '$tmp/realm-sync-worker.html'"
expect "the report in headless Chromium: axes, series, legends, read-out, no request (report-browser.sh)" 0 'report-browser: [0-9]+ passed, 0 failed' -- env REALM_METRICS_BIN="$BIN" bash Tests/CLI/report-browser.sh

# run --config: the file's values are used, options on the command line win.
printf 'prefix: from.config\nfile: ["%s/none-*.log"]\nflush_interval: 0.5\nstate_dir: %s/state\nstatsd: 127.0.0.1:9\n' "$tmp" "$tmp" > "$tmp/config.yaml"
expect "run --config uses the file's values" 0 "following files $tmp/none-\*.log; sending statsd to 127.0.0.1:9 every 0.5 s as from.config" -- bash -c "timeout -s TERM 1 \"$BIN\" run --config $tmp/config.yaml; true"
expect "run: command-line options override the configuration file" 0 "every 0.5 s as cli.prefix" -- bash -c "timeout -s TERM 1 \"$BIN\" run --config $tmp/config.yaml --prefix cli.prefix; true"
printf 'statsd: a:1\nflush_intervl: 3\n' > "$tmp/bad-config.yaml"
expect "run refuses an unknown configuration key, naming it" 1 "error \\[config\\]: .*bad-config.yaml:2:1: configuration: unknown key 'flush_intervl'" -- "$BIN" run --config "$tmp/bad-config.yaml"
expect "run refuses a statsd address with a scheme" 64 "without a scheme" -- timeout -s KILL 5 "$BIN" run --file "$tmp/none.log" --state-dir "$tmp/s3" --statsd udp://127.0.0.1:8125
expect "run takes a statsd host without a port as port 8125" 0 "sending statsd to localhost:8125 every" -- bash -c "timeout -s TERM 1 \"$BIN\" run --file '$tmp/none.log' --state-dir '$tmp/s3' --statsd localhost; true"
expect "run takes [v6]:PORT" 0 "sending statsd to \[::1\]:9125 every" -- bash -c "timeout -s TERM 1 \"$BIN\" run --file '$tmp/none.log' --state-dir '$tmp/s4' --statsd '[::1]:9125'; true"
printf 'flush_interval: 5\nstatsd: udp://127.0.0.1:8125\n' > "$tmp/scheme-config.yaml"
expect "a statsd address with a scheme in the configuration file names file, line and column" 1 "scheme-config.yaml:2:9: 'statsd': .*without a scheme" -- timeout -s KILL 5 "$BIN" run --config "$tmp/scheme-config.yaml"
expect "replay --since takes a relative time that begins with '-'" 0 "" -- "$BIN" replay -q --since -2h --until -1h --to influx:/dev/null patterns/realm-sync-worker.sample.log
expect "run without any journal names the problem" 1 'cannot read the journal' -- "$BIN" run --journal-directory "$tmp/no-journal-here" --state-dir "$tmp/s2"
# One range per option and configuration key: the command line names the option, the file its place.
for bad in "flush-interval 0 0.1 and 3600 seconds" "max-packet-size 63 64 and 65000" "max-line-bytes 63 64 and 16777216" \
           "rotate-wait 3601 0 and 3600 seconds" "fault-reminder 0.5 1 and 86400 seconds"; do
  read -r option value range <<< "$bad"
  expect "run --$option $value is refused naming the option" 64 "^Error: --$option must be between $range\$" -- timeout -s KILL 5 "$BIN" run --file "$tmp/none.log" --state-dir "$tmp/s5" "--$option" "$value"
done
printf 'file: none.log\nflush_interval: 4000\n' > "$tmp/range-config.yaml"
expect "run --config refuses a value out of range with file, line and column" 1 "error \\[config\\]: .*range-config.yaml:2:17: 'flush_interval' must be a number of seconds from 0.1 to 3600, not '4000'" -- timeout -s KILL 5 "$BIN" run --config "$tmp/range-config.yaml"
expect "replay refuses an --output-timeout it cannot wait for" 64 "^Error: --output-timeout must be between 0.1 and 3600 seconds$" -- timeout -s KILL 5 "$BIN" replay -q --since @0 --output-timeout 1e12 --to graphite://127.0.0.1:9 patterns/realm-sync-worker.sample.log
# The journal options: one declaration for run and replay, the same help and the same refusals.
journal_help() { "$BIN" "$1" --help | awk '/^  --/ { on = $1 ~ /^--(unit|identifier|journal-directory|journal-file)$/ } on'; }
journal_help run > "$tmp/journal-help-run"; journal_help replay > "$tmp/journal-help-replay"
expect "run and replay describe the journal options alike" 0 '' -- diff "$tmp/journal-help-run" "$tmp/journal-help-replay"
[ "$(grep -c -- '^  --' "$tmp/journal-help-run")" -eq 4 ] && ok "the help of run lists the four journal options" || bad "the help of run lists the four journal options" "$(cat "$tmp/journal-help-run")"
expect "run refuses a journal directory with journal files as replay does" 64 "^Error: give --journal-directory or --journal-file, not both$" -- timeout -s KILL 5 "$BIN" run --journal-directory "$tmp" --journal-file "$tmp/x.journal" --state-dir "$tmp/s5"
expect "replay refuses a journal directory with journal files" 64 "^Error: give --journal-directory or --journal-file, not both$" -- "$BIN" replay --journal --journal-directory "$tmp" --journal-file "$tmp/x.journal"
printf 'journal_file: /x.journal\n' > "$tmp/jf-config.yaml"
expect "run refuses --journal-directory over a configuration file's journal_file" 64 "give a journal directory or journal files, not both" -- timeout -s KILL 5 "$BIN" run --config "$tmp/jf-config.yaml" --journal-directory "$tmp" --state-dir "$tmp/s5"

# Backfill progress: a line rewritten in place on a terminal (script gives the command one), nothing off it.
python3 bench/gen-worker-log.py 100000 > "$tmp/big.log"
expect "backfill shows progress on a terminal" 0 'replay: [0-9]+ lines \[#*\.*\] [0-9]+%, [0-9]+:[0-9]+ left, at 2020-05-05T' -- script -qec "\"$BIN\" replay --since @0 --to influx:/dev/null \"$tmp/big.log\"" /dev/null
expect "backfill ends with its counts after the progress line" 0 '100000 lines: [0-9]+ matched' -- script -qec "\"$BIN\" replay --since @0 --to influx:/dev/null \"$tmp/big.log\"" /dev/null
"$BIN" replay --since @0 --to influx:/dev/null "$tmp/big.log" 2>"$tmp/offterm" >/dev/null
if grep -q '\[#' "$tmp/offterm" || ! grep -q '100000 lines' "$tmp/offterm"; then bad "backfill prints no progress off a terminal" "$(head -c 300 "$tmp/offterm")"; else ok "backfill prints no progress off a terminal"; fi

# Output that cannot be written is an error with a non-zero exit, never "done".
expect "replay to a full disk is an error" 1 "standard output: cannot write: No space left on device" -- bash -c "\"$BIN\" replay -q patterns/realm-sync-worker.sample.log > /dev/full"
expect "backfill to influx:/dev/full is an error" 1 "influx: /dev/full: cannot write: No space left on device" -- "$BIN" replay -q --since @0 --to influx:/dev/full "$tmp/big.log"
# Backfill reports what plain replay reports: lines outside the envelope, lines cut to the limit.
{ cat patterns/ros1.sample.log; echo "not a ros1 line"; printf '2018-01-13T20:09:36.227Z - info: sync: %0300d\n' 0; } > "$tmp/mixed.log"
plain=$("$BIN" replay --patterns ros1 --max-line-bytes 100 "$tmp/mixed.log" 2>&1 >/dev/null | grep -oE '[0-9]+ outside the envelope, [0-9]+ cut to the line limit')
expect "backfill reports lines outside the envelope and lines cut, as replay does ($plain)" 0 "${plain:-no counts from plain replay}" -- "$BIN" replay --patterns ros1 --since @0 --max-line-bytes 100 --to influx:/dev/null "$tmp/mixed.log"
# A Graphite that accepts the connection and never reads: the backfill stops with an error after
# --output-timeout instead of hanging (the kill after 60 s fails the check).
TZ=UTC python3 -c '
import sys, time
t = 1588680000
for i in range(40000):
    print(time.strftime("%Y-%m-%dT%H:%M:%S.000: ", time.gmtime(t + i)) + "HTTP Connection[%d]: Connection from 10.0.0.1:1" % i)
' > "$tmp/long.log"
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
time.sleep(90)
' > "$tmp/stalled-port" &
stalled=$!
for _ in $(seq 50); do [ -s "$tmp/stalled-port" ] && break; sleep 0.1; done
expect "a Graphite that takes no data stops the backfill with an error after --output-timeout" 1 "took no data for 1 s \(--output-timeout\)" -- env TZ=UTC timeout -s KILL 60 "$BIN" replay -q --since @0 --bucket 1 --output-timeout 1 --to "graphite://127.0.0.1:$(cat "$tmp/stalled-port")" "$tmp/long.log"
kill "$stalled" 2>/dev/null; wait "$stalled" 2>/dev/null
python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
end = time.time() + 90
while time.time() < end and c.recv(65536):
    pass
' > "$tmp/mute-port" &
mute=$!
for _ in $(seq 50); do [ -s "$tmp/mute-port" ] && break; sleep 0.1; done
expect "an InfluxDB that takes the write but never answers stops the backfill after --output-timeout" 1 "influxdb: 127.0.0.1:[0-9]+ did not answer a write within 1 s \(--output-timeout\)" -- timeout -s KILL 60 "$BIN" replay -q --output-timeout 1 --to "influxdb://127.0.0.1:$(cat "$tmp/mute-port")/realm" patterns/realm-sync-worker.sample.log
kill "$mute" 2>/dev/null; wait "$mute" 2>/dev/null
refused=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect "a Graphite that refuses the connection stops the backfill naming the address" 1 "error \[output\]: graphite: cannot connect to 127.0.0.1:$refused: Connection refused" -- "$BIN" replay -q --since @0 --to "graphite://127.0.0.1:$refused" patterns/realm-sync-worker.sample.log
expect "an InfluxDB that refuses the connection stops the backfill naming the address" 1 "error \[output\]: influxdb: cannot connect to 127.0.0.1:$refused: Connection refused" -- "$BIN" replay -q --to "influxdb://127.0.0.1:$refused/realm" patterns/realm-sync-worker.sample.log
expect "replay refuses influxdb:// without a database" 64 "--to: unknown target 'influxdb://127.0.0.1:8086/'" -- "$BIN" replay -q --to "influxdb://127.0.0.1:8086/" patterns/realm-sync-worker.sample.log
expect "replay refuses an unknown --influx-precision" 64 "^Error: --influx-precision must be s, ms, us or ns$" -- "$BIN" replay -q --influx-precision m --to influx:- patterns/realm-sync-worker.sample.log
expect "replay refuses an unknown --graphite-naming" 64 "^Error: --graphite-naming must be statsd, statsd-legacy or plain$" -- "$BIN" replay -q --graphite-naming legacy --to influx:- patterns/realm-sync-worker.sample.log
expect "replay --influx-precision ms writes milliseconds" 0 '^realm\.session\.online,host=t,metric_type=gauge value=[0-9]+i 1588680000000$' -- "$BIN" replay -q --prefix realm.t --influx-precision ms --to influx:- patterns/realm-sync-worker.sample.log
printf '%s\n' '2024-03-01T10:00:01.000: HTTP Connection[1]: Connection from 127.0.0.1:1' '2024-03-03T10:00:01.000: HTTP Connection[2]: Connection from 127.0.0.1:2' > "$tmp/gap.log"
expect "a gap of two days between two lines gets 8,640 empty buckets, the rest is counted" 0 '; 8642 buckets, [0-9]+ points written, 8639 empty buckets not written \(gaps longer than 8640 buckets\)$' -- env TZ=UTC "$BIN" replay --since @0 --to influx:/dev/null "$tmp/gap.log"
expect "a Graphite name that does not resolve is named" 1 "error \[output\]: graphite: cannot resolve nonexistent.invalid: " -- "$BIN" replay -q --since @0 --to "graphite://nonexistent.invalid:2003" patterns/realm-sync-worker.sample.log
expect "backfill into a closed pipe is an error" 1 "cannot write: Broken pipe \(the reading end was closed\)" -- bash -c "set -o pipefail; TZ=UTC \"$BIN\" replay -q --since @0 --bucket 1 --to influx:- \"$tmp/long.log\" | head -c 10 >/dev/null"
# replay --timezone: local-time layouts backfilled in a given zone.
influx_times() { awk '{print $NF / 1000000000}' | sort -un; }
"$BIN" replay -q --since @0 --bucket 60 --timezone UTC --to influx:- patterns/realm-sync-worker.sample.log | influx_times > "$tmp/tz-utc" 2>"$tmp/tz-err"
"$BIN" replay -q --since @0 --bucket 60 --timezone Asia/Tokyo --to influx:- patterns/realm-sync-worker.sample.log | influx_times > "$tmp/tz-tokyo" 2>>"$tmp/tz-err"
if [ -s "$tmp/tz-utc" ] && [ "$(wc -l < "$tmp/tz-utc")" -eq "$(wc -l < "$tmp/tz-tokyo")" ] \
   && paste "$tmp/tz-utc" "$tmp/tz-tokyo" | awk '$1 - $2 != 32400 { bad = 1 } END { exit bad }'; then
  ok "replay --timezone UTC and Asia/Tokyo: the same log's bucket times are 9 hours apart"
else bad "replay --timezone UTC and Asia/Tokyo: the same log's bucket times are 9 hours apart" "$(paste "$tmp/tz-utc" "$tmp/tz-tokyo" | head -5) $(cat "$tmp/tz-err")"; fi
expect "replay --timezone Asia/Tokyo gives what the machine's zone (TZ=Asia/Tokyo, mktime) gives" 0 '' -- bash -c "diff <(\"$BIN\" replay -q --since @0 --timezone Asia/Tokyo --to influx:- patterns/realm-sync-worker.sample.log) <(TZ=Asia/Tokyo \"$BIN\" replay -q --since @0 --to influx:- patterns/realm-sync-worker.sample.log)"
expect "replay --timezone UTC reads the sample's first minute as 12:00Z" 0 '^1588680000$' -- head -1 "$tmp/tz-utc"
expect "replay --timezone refuses a zone it does not know" 64 "--timezone: unknown time zone 'Mars/Olympus'" -- "$BIN" replay --since @0 --timezone Mars/Olympus --to influx:- patterns/realm-sync-worker.sample.log
expect "replay --timezone refuses a layout whose times carry their zone" 2 "--timezone: the times of the pattern files \(ros1\) are UTC or carry their offset" -- "$BIN" replay --patterns ros1 --since @0 --timezone Europe/Berlin --to influx:- patterns/ros1.sample.log
expect "replay --timezone is refused with --journal" 64 "--timezone applies to the times in log lines" -- "$BIN" replay --journal --timezone UTC --since @0 --to influx:-
expect "replay --timezone is refused without a timed backfill" 64 "--timezone places lines in time" -- "$BIN" replay --timezone UTC patterns/realm-sync-worker.sample.log
expect "replay --timezone is refused with --to stdout and no window" 64 "--timezone places lines in time" -- "$BIN" replay --timezone UTC --to stdout patterns/realm-sync-worker.sample.log
expect "replay --timezone is taken with --to stdout and a window (a backfill)" 0 '' -- "$BIN" replay -q --timezone UTC --to stdout --since @0 patterns/realm-sync-worker.sample.log
# Europe/Berlin, 2024: clocks forward at 01:00Z (02:00 CET -> 03:00 CEST), back at 01:00Z (03:00 CEST -> 02:00 CET).
printf '%s\n' '2024-03-31T01:59:30.000: HTTP Connection[1]: Connection from 127.0.0.1:1' '2024-03-31T03:00:30.000: HTTP Connection[2]: Connection from 127.0.0.1:2' \
  '2024-10-27T02:59:30.000: HTTP Connection[3]: Connection from 127.0.0.1:3' '2024-10-27T02:00:30.000: HTTP Connection[4]: Connection from 127.0.0.1:4' \
  '2024-10-27T03:00:30.000: HTTP Connection[5]: Connection from 127.0.0.1:5' > "$tmp/dst.log"
"$BIN" replay -q --prefix realm.t --since @0 --bucket 60 --timezone Europe/Berlin --to influx:- "$tmp/dst.log" | grep '^realm.connection.started,host=t,' | grep -v ' value=0i ' | influx_times | tr '\n' ' ' > "$tmp/dst-times"
# 00:59Z and 01:00Z on both days; 02:00Z after the autumn change (the buckets where the counter moved:
# the others, the empty ones of the gaps too, are 0).
expect "replay --timezone Europe/Berlin: the right UTC instants on both sides of both changes" 0 '^1711846740 1711846800 1729990740 1729990800 1729994400 $' -- cat "$tmp/dst-times"

# Without --timezone the machine's zone is read from a per-hour table too: the same bucket times as
# mktime(3) gives for the same rules written as a POSIX TZ string (which only mktime reads).
printf '%s\n' '2024-03-31T01:59:30.000: HTTP Connection[1]: Connection from 127.0.0.1:1' '2024-03-31T02:30:30.000: HTTP Connection[2]: Connection from 127.0.0.1:2' \
  '2024-03-31T03:00:30.000: HTTP Connection[3]: Connection from 127.0.0.1:3' '2024-07-01T12:00:00.000: HTTP Connection[4]: Connection from 127.0.0.1:4' \
  '2024-10-27T04:00:30.000: HTTP Connection[5]: Connection from 127.0.0.1:5' > "$tmp/spring.log"
expect "backfill in the machine's zone (TZ=Europe/Berlin, a per-hour table) gives what mktime gives for Berlin's rules" 0 '' -- bash -c "diff <(TZ=Europe/Berlin \"$BIN\" replay -q --since @0 --bucket 60 --to influx:- \"$tmp/spring.log\") <(TZ='CET-1CEST,M3.5.0,M10.5.0/3' \"$BIN\" replay -q --since @0 --bucket 60 --to influx:- \"$tmp/spring.log\")"

# check --config: a run configuration validated without running it.
expect "check --config passes the packaged configuration with a one-line summary" 0 '^packaging/config.yaml: ok: following the local journal, units realm-object-server.service or realm-sync.service; patterns realm-sync-worker \([0-9]+ rules, [0-9]+ examples pass\); statsd localhost:8125 every 10 s; state in /var/lib/realm-metrics$' -- "$BIN" check --config packaging/config.yaml
[ "$(wc -l < "$tmp/out")" -eq 1 ] && ok "check --config prints one line when all is well" || bad "check --config prints one line when all is well" "$(cat "$tmp/out")"
printf 'patterns: [ros1]\nstatsd: udp://127.0.0.1:8125\n' > "$tmp/cc-scheme.yaml"
expect "check --config refuses a statsd address with a scheme, naming file, line and column" 1 "^$tmp/cc-scheme.yaml:2:9: 'statsd': 'udp://127.0.0.1:8125': give HOST or HOST:PORT without a scheme" -- "$BIN" check --config "$tmp/cc-scheme.yaml"
printf 'flush_interval: 5\npatterns:\n  - ros1\n  - %s/no-such-patterns.yaml\n' "$tmp" > "$tmp/cc-missing.yaml"
expect "check --config names the configuration's line and column of a pattern file that is missing" 1 "^$tmp/cc-missing.yaml:4:5: 'patterns': no pattern file '$tmp/no-such-patterns.yaml' \(not a built-in name, and no such file\)" -- "$BIN" check --config "$tmp/cc-missing.yaml"
printf 'max_line_bytes: 1073741824\n' > "$tmp/cc-range.yaml"
expect "check --config refuses an out-of-range number" 1 "^$tmp/cc-range.yaml:1:17: 'max_line_bytes' must be a whole number from 64 to 16777216, not '1073741824'" -- "$BIN" check --config "$tmp/cc-range.yaml"
printf 'flush_intervl: 5\nmax_packet_size: 10\nunit: [realm-sync, "realm-*"]\nprefix: "a b"\nstatsd: "host:0"\njournal_directory: /j\njournal_file: /j/x.journal\npatterns: %s/broken.yaml\n' "$tmp" > "$tmp/cc-many.yaml"
expect "check --config reports every error, each with file:line:column" 1 "^$tmp/cc-many.yaml: 7 errors$" -- "$BIN" check --config "$tmp/cc-many.yaml"
for line in "^$tmp/cc-many.yaml:1:1: configuration: unknown key 'flush_intervl'" "^$tmp/cc-many.yaml:2:18: 'max_packet_size' must be a whole number from 64 to 65000" \
            "^$tmp/cc-many.yaml:3:20: 'unit': 'realm-\\*': globs are not supported" "^$tmp/cc-many.yaml:4:9: 'prefix': 'a b' must be dot-separated parts of letters, digits, _ and -" \
            "^$tmp/cc-many.yaml:5:9: 'statsd': 'host:0': the port '0' is not a number from 1 to 65535" "^$tmp/cc-many.yaml:7:1: 'journal_file': give journal_directory or journal_file, not both" \
            "^$tmp/broken.yaml:4:5: rule: unknown key 'actionz'.* \(named at $tmp/cc-many.yaml:8:11\)"; do
  grep -qE -- "$line" "$tmp/out" && ok "check --config: $(printf '%s' "$line" | sed "s|^\^$tmp/||" | cut -c1-60)" || bad "check --config: $line" "$(cat "$tmp/out")"
done
printf 'patterns: %s/failing.yaml\n' "$tmp" > "$tmp/cc-examples.yaml"
expect "check --config runs the examples of the pattern files it names" 1 "^$tmp/failing.yaml:5:16: .*instead of this rule: 'y'" -- "$BIN" check --config "$tmp/cc-examples.yaml"
expect "check --config of a file that cannot be read" 1 "^$tmp/none.yaml:1:1: cannot read the configuration file: No such file or directory" -- "$BIN" check --config "$tmp/none.yaml"

# status: health, exit status and --json against a running sidecar.
started_pids=()
stop_started() { local p; for p in "${started_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; started_pids=(); }
trap 'stop_started; rm -rf "$tmp"' EXIT
# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listen_udp() { python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(65536)' "$1" & started_pids+=($!); }
status_is() { "$BIN" status --state-dir "$1" >/dev/null 2>&1; [ $? -eq "$2" ]; }
mkdir -p "$tmp/st"
cp patterns/realm-sync-worker.yaml patterns/realm-messages.yaml "$tmp/st/"
head -5 patterns/realm-sync-worker.sample.log > "$tmp/st/w.log"
port=$(free_udp_port)
"$BIN" run --patterns "$tmp/st/realm-sync-worker.yaml" --file "$tmp/st/w.log" --statsd "127.0.0.1:$port" --flush-interval 0.2 --state-dir "$tmp/st/state" --prefix realm.t 2>"$tmp/st/err" &
sidecar=$!; started_pids+=($sidecar)
# Nothing listens yet: the kernel refuses the flushes.
if wait_for 10 status_is "$tmp/st/state" 2; then ok "status: a sidecar whose flushes are refused exits 2"; else bad "status: a sidecar whose flushes are refused exits 2" "$("$BIN" status --state-dir "$tmp/st/state" 2>&1 | head -c 600)"; fi
expect "status names the failing flush as a health problem" 2 '^health: failing: the last flush did not reach statsd \(send to 127.0.0.1:'"$port"': Connection refused\)' -- "$BIN" status --state-dir "$tmp/st/state"
expect "status gives the last error's time and says it is current" 2 '^last error: send to 127.0.0.1:'"$port"': Connection refused \(at 20[0-9-]+T[0-9:.]+Z, [0-9]+ s ago; still current at the last flush\)' -- "$BIN" status --state-dir "$tmp/st/state"
listen_udp "$port"
if wait_for 10 status_is "$tmp/st/state" 0; then ok "status: once statsd takes the flushes the sidecar is healthy again: exit 0"; else bad "status: once statsd takes the flushes the sidecar is healthy again: exit 0" "$("$BIN" status --state-dir "$tmp/st/state" 2>&1 | head -c 600)"; fi
expect "status: a running, delivering sidecar is healthy" 0 '^health: ok$' -- "$BIN" status --state-dir "$tmp/st/state"
expect "status: the last error is over once flushes arrive" 0 '^last error: send to 127.0.0.1:'"$port"': Connection refused \(at .*; over by the last flush\)' -- "$BIN" status --state-dir "$tmp/st/state"
expect "status --json parses (python3 -m json.tool)" 0 '"healthy": true' -- bash -c "set -o pipefail; \"$BIN\" status --json --state-dir '$tmp/st/state' | python3 -m json.tool"
expect "status --json carries the fields scripts read" 0 '^ok$' -- bash -c "\"$BIN\" status --json --state-dir '$tmp/st/state' | python3 -c 'import json, sys
o = json.load(sys.stdin)
assert o[\"healthy\"] is True and o[\"problems\"] == [] and o[\"last_flush_failed\"] is False, o
assert o[\"flush_interval_seconds\"] == 0.2 and o[\"stale_after_seconds\"] == 30 and 0 <= o[\"age_seconds\"] <= 30, o
assert o[\"last_error\"][\"current\"] is False and o[\"last_error\"][\"at\"].endswith(\"Z\"), o
assert o[\"counts\"][\"lines_read\"] == 5 and o[\"workers\"][0][\"key\"] == \"file:$tmp/st/w.log\", o
print(\"ok\")'"
# A refused reload: the pattern file broken, then SIGHUP.
printf 'rules:\n  - name: a\n    match: x\n    actionz: []\n' > "$tmp/st/realm-sync-worker.yaml"
kill -HUP "$sidecar"
if wait_for 10 bash -c "\"$BIN\" status --state-dir '$tmp/st/state' | grep -q '^last reload refused: at '"; then ok "status shows a refused reload"; else bad "status shows a refused reload" "$("$BIN" status --state-dir "$tmp/st/state" 2>&1 | tail -c 600)"; fi
expect "a refused reload names the file, line and column, and the exit status stays 0" 0 "^last reload refused: at 20[0-9-]+T[0-9:.]+Z \([0-9]+ s ago\): $tmp/st/realm-sync-worker.yaml:4:5: rule: unknown key 'actionz'.*; the configuration loaded before is still in use$" -- "$BIN" status --state-dir "$tmp/st/state"
expect "status --json has the refused reload" 0 '"last_reload_error" ?: \{' -- "$BIN" status --json --state-dir "$tmp/st/state"
stop_started

# A stale state: saved long ago.
python3 -c 'import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["savedAtMillis"] -= 3600 * 1000
json.dump(s, open(p, "w"))' "$tmp/st/state/state.json"
expect "status: a state older than three flush intervals exits 2 and says it is stale" 2 '^health: stale: the last flush was 36[0-9][0-9] s ago, more than 30 s' -- "$BIN" status --state-dir "$tmp/st/state"
expect "status --json: a stale state is not healthy" 2 '"stale: the last flush was' -- "$BIN" status --json --state-dir "$tmp/st/state"
expect "status without a state exits 1" 1 'no state: the sidecar has not run with this --state-dir yet' -- "$BIN" status --state-dir "$tmp/st/nothing-here"
expect "status --json without a state is still JSON" 1 '"healthy": false' -- bash -c "set -o pipefail; \"$BIN\" status --json --state-dir '$tmp/st/nothing-here' | python3 -m json.tool"

# Permissions: a state directory this user may not enter is "permission denied", not "no state".
chmod 755 "$tmp" "$tmp/st"
chmod 700 "$tmp/st/state"
if [ "$(id -u)" -eq 0 ]; then as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups); else as_nobody=(); chmod 000 "$tmp/st/state"; fi
expect "status on a state directory it may not read says permission denied (exit 1)" 1 "error \[state\]: $tmp/st/state/state.json: permission denied: this user \(uid [0-9]+\) may not read" -- "${as_nobody[@]}" "$BIN" status --state-dir "$tmp/st/state"
if grep -q 'has not run' "$tmp/err"; then bad "status on an unreadable state directory does not say it has not run" "$(cat "$tmp/err")"; else ok "status on an unreadable state directory does not say it has not run"; fi
chmod 755 "$tmp/st/state"; chmod 600 "$tmp/st/state/state.json"
[ "$(id -u)" -eq 0 ] || chmod 000 "$tmp/st/state/state.json"
expect "status on a state file it may not read says permission denied (exit 1)" 1 "$tmp/st/state/state.json: permission denied" -- "${as_nobody[@]}" "$BIN" status --state-dir "$tmp/st/state"
chmod -R u+rwX "$tmp/st"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
