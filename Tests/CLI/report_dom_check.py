#!/usr/bin/env python3
"""report_dom_check.py DOM NETLOG STDERR PAGE_URL [BUCKET]: checks a report page as Chromium rendered it.

DOM is `chromium --dump-dom` of the page (the DOM after its scripts ran), NETLOG Chromium's
--log-net-log file of that run, STDERR its --enable-logging=stderr output. Checks that the script
ran (no uncaught error), that every chart (svg.chart) has an x and a y axis with labels, at least one
series with a path, and a legend with one entry per series, that the charts are those the data
section asks for, that the page holds its own two script elements only, that BUCKET (given as
#bucket=N in the URL) is shown in the details table, and that the page made no network request.
Exit 0 when all hold; else 1, each failure on a line of its own. Standard library only.
"""
import html.parser
import json
import sys


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # open elements: (tag, attrs)
        self.charts = []         # per svg.chart: dict of findings
        self.scripts = []        # attrs of every <script>
        self.body = {}
        self.data_text = None
        self.in_data = False
        self.details_rows = []
        self.in_details = 0
        self.cell = None
        self.tags = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "body":
            self.body = a
        if tag == "script":
            self.scripts.append(a)
            self.in_data = a.get("id") == "report-data"
            if self.in_data:
                self.data_text = ""
        if tag == "svg" and "chart" in classes:
            self.charts.append({"kind": a.get("data-kind"), "metric": a.get("data-metric"), "x": 0, "y": 0,
                                "xlabels": 0, "ylabels": 0, "series": [], "legend": 0, "cursor": 0})
        chart = self.charts[-1] if self.charts and any(t == "svg" for t, _ in self.stack) else None
        inside = {c for _, s in self.stack for c in s}
        if chart is not None:
            if tag == "g" and "axis" in classes:
                chart["x" if "x" in classes else "y"] += 1
            if tag == "text" and "axis" in inside:
                chart["xlabels" if "x" in inside else "ylabels"] += 1
            if tag == "path" and "series" in classes and a.get("d"):
                chart["series"].append(a.get("data-series"))
            if tag == "g" and "legend-item" in classes:
                chart["legend"] += 1
            if tag == "line" and "cursor" in classes:
                chart["cursor"] += 1
        if tag == "table" and a.get("id") == "details-table":
            self.in_details += 1
        if self.in_details and tag == "tr":
            self.details_rows.append([])
        if self.in_details and tag == "td":
            self.cell = ""
        if tag not in ("br", "meta", "link", "img", "input", "hr", "rect", "line", "path"):
            self.stack.append((tag, classes | ({"x"} if "x" in classes else set())))

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_data = False
        if tag == "td" and self.cell is not None and self.details_rows:
            self.details_rows[-1].append(self.cell)
            self.cell = None
        if tag == "table" and self.in_details:
            self.in_details -= 1
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.in_data:
            self.data_text += data
        if self.cell is not None:
            self.cell += data


def main():
    dom, netlog, stderr, page_url = sys.argv[1:5]
    bucket = int(sys.argv[5]) if len(sys.argv) > 5 else None
    problems = []
    page = Page()
    page.feed(open(dom, encoding="utf-8").read())
    if page.body.get("data-script-ran") != "1":
        problems.append("the page's script did not run to its end (body has no data-script-ran)")
    uncaught = [l.strip() for l in open(stderr, encoding="utf-8", errors="replace") if "INFO:CONSOLE" in l and '"Uncaught' in l]
    problems += ["script error: " + l for l in uncaught]
    if len(page.scripts) != 2:
        problems.append("%d script elements, expected the page's own 2: %r" % (len(page.scripts), page.scripts))
    if page.tags.get("img"):
        problems.append("the page has %d img elements" % page.tags["img"])
    data = json.loads(page.data_text or "null")
    t = data and data.get("timeline")
    if not t:
        problems.append("the data section has no time line")
    else:
        want = [("gauge", g) for g, v in t["gauges"].items() if any(x for x in v["host"])]
        want += [("counter", c) for c in t["counters"]]
        want += [("distribution", d) for d in t["distributions"]]
        got = [(c["kind"], c["metric"]) for c in page.charts]
        if sorted(got) != sorted(want):
            problems.append("charts %r, the data asks for %r" % (sorted(got), sorted(want)))
        if not any(k == "distribution" for k, _ in got):
            problems.append("no timer or histogram chart")
    for c in page.charts:
        name = "%s chart %s" % (c["kind"], c["metric"])
        if c["x"] != 1 or c["y"] != 1:
            problems.append("%s: %d x and %d y axes" % (name, c["x"], c["y"]))
        if c["xlabels"] < 3 or c["ylabels"] < 2:
            problems.append("%s: %d x labels, %d y labels" % (name, c["xlabels"], c["ylabels"]))
        if not c["series"]:
            problems.append("%s: no series" % name)
        if c["legend"] != len(c["series"]):
            problems.append("%s: %d legend entries for %d series" % (name, c["legend"], len(c["series"])))
        if c["cursor"] != 1:
            problems.append("%s: no cursor line" % name)
    if bucket is not None and t:
        rows = page.details_rows
        when = None
        if rows and rows[0] and rows[0][0] == "bucket":
            when = rows[0][1]
        want_when = __import__("datetime").datetime.fromtimestamp(t["start"] + bucket * t["bucketSeconds"], __import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if when != want_when:
            problems.append("details table shows bucket %r, expected %s (#bucket=%d)" % (when, want_when, bucket))
        gauges = {r[1]: r[2] for r in rows if len(r) == 3 and r[0] == "gauge"}
        for g, v in t["gauges"].items():
            if gauges.get(g) != str(v["host"][bucket]):
                problems.append("details table: gauge %s is %r, the data says %r" % (g, gauges.get(g), v["host"][bucket]))
    # The requests the page made (browser-internal ones have the initiator "not an origin").
    d = json.load(open(netlog))
    start = d["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    reqs = [e["params"] for e in d["events"] if e["type"] == start and "url" in e.get("params", {})]
    page_reqs = [p["url"] for p in reqs if p.get("initiator") != "not an origin" and p["url"].split("#")[0] != page_url]
    problems += ["page request: " + u for u in page_reqs]
    for p in problems:
        print(p)
    print("%d charts checked, %d requests in the net log, %d from the page" % (len(page.charts), len(reqs), len(page_reqs)))
    sys.exit(1 if problems else 0)


main()
