#!/usr/bin/env bash
# The report in a real browser: headless Chromium loads `replay --report` pages from file:// URLs,
# takes a screenshot, dumps the DOM after the page's script ran and writes its net log; then
# report_dom_check.py checks every chart's axes, series and legend, the bucket read-out, the page's
# two own scripts (an unmatched line carrying <script>, quotes and & is in the log) and that the page
# made no network request. Everything is written in a temporary directory; every Chromium started is
# waited for (and killed after 60 s). REPORT_SCREENSHOT_TO=FILE copies the screenshot there
# (make report-screenshot refreshes docs/report.png).
# Prints "ok"/"FAIL" lines as cli-tests.sh does; exit 0 when all passed.
set -u
BIN=${REALM_METRICS_BIN:-.build/debug/realm-metrics}
cd "$(dirname "$0")/../.."
BIN=$(realpath "$BIN")
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 -- -"$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok    $1"; }
bad() { fail=$((fail+1)); echo "FAIL  $1"; [ -n "${2:-}" ] && printf '      %s\n' "$2"; }

if ! command -v chromium >/dev/null; then
  bad "report in a browser" "chromium is not installed (scripts/install-deps.sh --test installs it)"
  echo "report-browser: $pass passed, $fail failed"; exit 1
fi

# Every name fails inside the browser (it still tries Google's update and time services on its own).
CHR=(chromium --headless --no-sandbox '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'
     --disable-background-networking --disable-component-update --no-first-run --disable-sync --disable-default-apps
     --user-data-dir="$tmp/profile" --enable-logging=stderr)
# chromium ARGS...: runs it in its own process group, waits at most 60 s.
browse() {
  setsid "${CHR[@]}" "$@" </dev/null &
  local p=$!; pids+=("$p")
  local i=0
  while kill -0 "$p" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  if kill -0 "$p" 2>/dev/null; then kill -9 -- -"$p" 2>/dev/null; wait "$p" 2>/dev/null; return 124; fi
  wait "$p"
}

# A log that moves every chart: the bench generator (deterministic), plus lines no rule matches that
# carry markup, quotes and &.
python3 bench/gen-worker-log.py 150000 > "$tmp/worker.log"
cat >> "$tmp/worker.log" <<'LOG'
2020-05-05T12:03:45.000: </script><script>document.title="injected"</script> & "quoted" 'single' <img src=x onerror=alert(1)>
2020-05-05T12:03:45.001: Sync Connection[7]: odd line with <b>bold</b> & an id 5f2a9c77
LOG
page="$tmp/report.html"
if (cd "$tmp" && "$BIN" replay -q --timezone UTC --bucket 1 --report "$page" worker.log 2>"$tmp/replay.err"); then
  ok "replay --report writes the page ($(stat -c %s "$page") bytes)"
else
  bad "replay --report writes the page" "$(head -c 400 "$tmp/replay.err")"
fi

url="file://$page"
# The DOM after the script ran, with the details of bucket 30 asked for in the URL, and the net log.
if browse --log-net-log="$tmp/net.json" --virtual-time-budget=2000 --dump-dom "$url#bucket=30" >"$tmp/dom.html" 2>"$tmp/chromium.err"; then
  ok "chromium loads the report and dumps its DOM"
else
  bad "chromium loads the report and dumps its DOM" "exit $?: $(grep -v dbus "$tmp/chromium.err" | head -c 400)"
fi
if out=$(python3 Tests/CLI/report_dom_check.py "$tmp/dom.html" "$tmp/net.json" "$tmp/chromium.err" "$url" 30 2>&1); then
  ok "every chart has its axes, series and legend; bucket 30 is read out; two scripts only; no request ($(echo "$out" | tail -1))"
else
  bad "the rendered report passes the DOM checks" "$out"
fi
if grep -q 'injected' <(grep -o '<title>[^<]*</title>' "$tmp/dom.html" | head -1); then bad "an unmatched line cannot run script" "the title was changed"; else ok "an unmatched line cannot run script (title unchanged)"; fi
if grep -qF '&lt;/script&gt;&lt;script&gt;document.title="injected"&lt;/script&gt; &amp; "quoted" '\''single'\'' &lt;img' "$tmp/dom.html"; then
  ok "the unmatched line is shown as text"
else
  bad "the unmatched line is shown as text" "$(grep -o 'injected.\{0,80\}' "$tmp/dom.html" | head -3)"
fi

# A screenshot of the top of the page (gauges, the first counters).
if browse --window-size=1200,1500 --hide-scrollbars --screenshot="$tmp/report.png" "$url" >/dev/null 2>"$tmp/shot.err" && [ -s "$tmp/report.png" ]; then
  if [ "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$tmp/report.png")" = 1200x1500 ]; then
    ok "chromium takes a 1200x1500 screenshot of the report"
  else
    bad "chromium takes a 1200x1500 screenshot of the report" "unexpected size"
  fi
  [ -n "${REPORT_SCREENSHOT_TO:-}" ] && cp "$tmp/report.png" "$REPORT_SCREENSHOT_TO"
else
  bad "chromium takes a screenshot of the report" "$(grep -v dbus "$tmp/shot.err" | head -c 400)"
fi

# A page whose lines carry no time stamp (ros2) has no charts and still renders.
"$BIN" replay -q --patterns ros2 --report "$tmp/ros2.html" patterns/ros2.sample.log 2>"$tmp/ros2.err"
if browse --dump-dom "file://$tmp/ros2.html" >"$tmp/ros2.dom" 2>"$tmp/ros2.chromium" && grep -q 'data-script-ran\|no time stamp' "$tmp/ros2.dom" && ! grep -q 'class="chart"' "$tmp/ros2.dom"; then
  ok "a report without time line renders (totals and tables only)"
else
  bad "a report without time line renders" "$(head -c 300 "$tmp/ros2.err")"
fi

echo "report-browser: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
