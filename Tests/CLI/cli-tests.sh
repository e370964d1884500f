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
expect "replay reads standard input" 0 'realm.test.session.started:7\|c' -- bash -c "\"$BIN\" replay -q --prefix realm.test - < patterns/realm-sync-worker.sample.log"
expect "replay reports line counts on stderr" 0 '62 lines .* 55 matched, 0 ignored, 7 unmatched' -- "$BIN" replay --prefix realm.test patterns/realm-sync-worker.sample.log
expect "replay of a missing file is a clear error" 1 'error \[input\]: /nonexistent.log: cannot open: No such file' -- "$BIN" replay /nonexistent.log
expect "replay refuses an unknown target" 64 'unknown target' -- "$BIN" replay --to carrier-pigeon patterns/ros2.sample.log
expect "replay refuses a bad prefix" 2 'prefix' -- "$BIN" replay --prefix 'a|b' patterns/ros2.sample.log
expect "default prefix is realm.<hostname>" 0 "^realm\\.$(hostname | tr -c 'A-Za-z0-9_\n-' '_')\\.session\\.started:7\\|c" -- "$BIN" replay -q patterns/realm-sync-worker.sample.log

expect "explain shows rule, captures and effects" 0 'counter realm.test.connection.started \+1' -- "$BIN" explain --prefix realm.test 'HTTP Connection[4]: Connection from 127.0.0.1:40070'
expect "explain: the second Token expired line counts nothing" 0 "rule: token-expired-repeat" -- "$BIN" explain --prefix realm.test "Sync Connection[2]: Session[1]: Token expired (message_type='bind', signed_user_token='x')."
expect "explain: ros1 client lines are ignored" 0 "ignored by 'own-sync-client'" -- "$BIN" explain --patterns ros1 '2017-02-07T17:07:46.042Z - info: client: Connection[5]: Session[1]: Session terminated (session_ident=1).'
expect "explain: envelope time is shown in UTC" 0 'time: 2018-01-13T20:09:36.227Z  \(= 2018-01-13T20:09:36.227Z\)' -- "$BIN" explain --patterns ros1 '2018-01-13T20:09:36.227Z - info: sync: HTTP Connection[4]: Connection from 127.0.0.1:40070'
expect "explain: a header continuation line matches nothing" 0 'outcome: matched no rule' -- "$BIN" explain 'Authorization: Bearer abc.def.ghi'

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
expect "backfill into a closed pipe is an error" 1 "cannot write: Broken pipe \(the reading end was closed\)" -- bash -c "set -o pipefail; TZ=UTC \"$BIN\" replay -q --since @0 --bucket 1 --to influx:- \"$tmp/long.log\" | head -c 10 >/dev/null"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
