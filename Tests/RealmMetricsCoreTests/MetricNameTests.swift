import Testing
@testable import RealmMetricsCore

@Suite("Metric names")
struct MetricNameTests {
    @Test("a capture cannot inject statsd syntax or a second metric")
    func injection() throws {
        let p = LinePipeline(patterns: try patternSet(["main.yaml": sessionPatterns]))
        feed(p, ["version 1|c\nx:9|c", "version a.b@c#d:e"])
        let encoder = StatsdEncoder(prefix: "realm.h")
        var tracker = DeltaTracker()
        let lines = tracker.deltas(p.store.totals()).filter { $0.kind == .counter }.map(encoder.line)
        #expect(lines == ["realm.h.version.1_c_x_9_c.used:1|c", "realm.h.version.a_b_c_d_e.used:1|c"])
        for line in lines {
            #expect(line.split(separator: ":").count == 2)
            #expect(line.split(separator: "|").count == 2)
            #expect(!line.contains("\n"))
        }
    }

    @Test("sanitising keeps [A-Za-z0-9_-], cuts long values and names empty ones")
    func sanitise() {
        func s(_ text: String) -> String {
            Array(text.utf8).withUnsafeBufferPointer { MetricName.sanitizedTemplateValue($0) }
        }
        #expect(s("v1.2-rc_3") == "v1_2-rc_3")
        #expect(s("") == "empty")
        #expect(s("é") == "__")
        #expect(s(String(repeating: "x", count: 500)).count == MetricName.maxTemplateValueBytes)
    }

    @Test("each template admits a capped number of distinct values, then 'other'")
    func cardinality() throws {
        let p = LinePipeline(patterns: try patternSet(["main.yaml": sessionPatterns]))
        feed(p, (1...10).map { "version \($0)" } + ["version 2"])
        let names = Set(p.store.counterNames.filter { $0.hasPrefix("version.") })
        #expect(names == ["version.1.used", "version.2.used", "version.3.used", "version.other.used"])
        #expect(counter(p.store, "version.other.used") == 7)
        #expect(counter(p.store, "version.2.used") == 2)
        #expect(p.stats.cardinalityOverflows == 7)
    }

    @Test("default prefix keeps the host name as one path level")
    func prefix() {
        #expect(MetricName.defaultPrefix(hostname: "web-1.example.com") == "realm.web-1_example_com")
        #expect(MetricName.isValidPath("realm.host"))
        #expect(!MetricName.isValidPath("realm..host"))
        #expect(!MetricName.isValidPath("realm.h|c"))
    }
}
