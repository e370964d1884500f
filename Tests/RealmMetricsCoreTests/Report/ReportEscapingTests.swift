import Testing
@testable import RealmMetricsCore

@Suite("Report escaping")
struct ReportEscapingTests {
    static let hostile = "x</script><script>alert(\"1\")</script> & 'q' <img src=x onerror=alert(1)> \u{2028}"

    func data(_ line: String) -> ReportData {
        var shapes = LineShapeTally()
        shapes.add(line, outcome: "unmatched")
        var r = ReportRecorder(bucketSeconds: 10)
        r.add(time: 100, counterDeltas: [("c", 1)], gauges: [("g", 1)], events: [(.start, "<w>")])
        var stats = PipelineStats()
        stats.linesRead = 1
        stats.unmatched = 1
        return ReportData(prefix: "realm.test", timeline: r.timeline(maxBuckets: 100), totals: [MetricSample(name: "c", kind: .counter, value: 1)],
                          distributionTotals: [], workers: [.init(key: "file:<b>&\"", lives: 1, logLevel: "info", unfed: ["counter c"])],
                          lines: stats, untimedLines: 0, shapes: shapes)
    }

    @Test("JSON strings escape what could end a script element or start markup")
    func json() {
        let s = JSONText.string(Self.hostile)
        #expect(!s.contains("<") && !s.contains(">") && !s.contains("&") && !s.contains("'") && !s.contains("\u{2028}"))
        #expect(s.hasPrefix("\"x\\u003c/script\\u003e\\u003cscript\\u003ealert(\\\"1\\\")"))
        #expect(JSONText.string("a\u{1}b\n") == "\"a\\u0001b\\n\"")
    }

    @Test("HTML text escapes the five special characters")
    func html() {
        #expect(ReportPage.html("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
    }

    @Test("an unmatched line with <script>, quotes and & cannot add markup or script to the page")
    func page() {
        let page = ReportPage.render(data(Self.hostile), title: "in<put>.log")
        // Exactly the page's own two script elements (the data and the read-outs) and one closing each.
        #expect(page.components(separatedBy: "<script").count - 1 == 2)
        #expect(page.components(separatedBy: "</script>").count - 1 == 2)
        #expect(!page.contains("<img"))
        #expect(page.contains("x&lt;/script&gt;&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt; &amp; &#39;q&#39;"))
        #expect(page.contains("in&lt;put&gt;.log"))
        #expect(page.contains("file:&lt;b&gt;&amp;&quot;"))
        #expect(!page.contains("file:<b>"))
        // The data section holds the line escaped for JSON and parses back to it.
        let start = page.range(of: "<script type=\"application/json\" id=\"report-data\">\n")!.upperBound
        let end = page.range(of: "</script>", range: start..<page.endIndex)!.lowerBound
        let json = String(page[start..<end])
        #expect(json == data(Self.hostile).json)
        #expect(json.contains("\\u003c/script\\u003e"))
    }
}
