import Testing
@testable import RealmMetricsCore

@Suite("Gauge reconciliation")
struct ReconciliationTests {
    func pipeline() throws -> LinePipeline {
        LinePipeline(patterns: try patternSet(["main.yaml": sessionPatterns]))
    }

    @Test("a close without an open changes nothing and is counted as an orphan")
    func orphanClose() throws {
        let p = try pipeline()
        feed(p, ["C1 close", "C1 S1 close"])
        #expect(gauge(p.store, "connection.online") == 0)
        #expect(gauge(p.store, "session.online") == 0)
        #expect(p.stats.orphanCloses == 2)
        // The event itself still counts.
        #expect(counter(p.store, "connection.terminated") == 1)
        feed(p, ["C2 open"])
        #expect(gauge(p.store, "connection.online") == 1)
    }

    @Test("a duplicate open is idempotent")
    func duplicateOpen() throws {
        let p = try pipeline()
        feed(p, ["C1 open", "C1 open", "C1 S1 open", "C1 S1 open"])
        #expect(gauge(p.store, "connection.online") == 1)
        #expect(gauge(p.store, "session.online") == 1)
        #expect(counter(p.store, "connection.started") == 2)
        #expect(p.stats.duplicateOpens == 2)
        feed(p, ["C1 S1 close"])
        #expect(gauge(p.store, "session.online") == 0)
    }

    @Test("session idents are reusable after the session ends")
    func identReuse() throws {
        let p = try pipeline()
        feed(p, ["C1 open", "C1 S1 open", "C1 S1 close", "C1 S1 open"])
        #expect(gauge(p.store, "session.online") == 1)
        feed(p, ["C1 S1 close", "C1 S1 close"])
        #expect(gauge(p.store, "session.online") == 0)
        #expect(p.stats.orphanCloses == 1)
    }

    @Test("closing a connection closes its remaining sessions, not others")
    func closePrefix() throws {
        let p = try pipeline()
        feed(p, ["C1 open", "C1 S1 open", "C1 S2 open", "C12 open", "C12 S1 open", "C1 close"])
        #expect(gauge(p.store, "session.online") == 1)  // 12/1 survives: prefix is "1/"
        #expect(gauge(p.store, "connection.online") == 1)
    }

    @Test("a new worker life starts every gauge of that worker from zero, counters keep counting")
    func workerLife() throws {
        let p = try pipeline()
        feed(p, ["started", "C1 open", "C1 S1 open", "bytes 100", "started", "C1 open"])
        #expect(gauge(p.store, "connection.online") == 1)
        #expect(gauge(p.store, "session.online") == 0)
        #expect(gauge(p.store, "bytes") == 0)
        #expect(counter(p.store, "bytes") == 100)
        #expect(counter(p.store, "connection.started") == 2)
        #expect(p.store.workers[p.store.workerID("w")].lives == 2)
        feed(p, ["stopped"])
        #expect(gauge(p.store, "connection.online") == 0)
    }

    @Test("host gauges are the sum over workers; one worker's restart leaves the others alone")
    func hostSum() throws {
        let p = try pipeline()
        feed(p, ["C1 open", "C2 open", "bytes 5"], worker: "a")
        feed(p, ["C1 open", "bytes 7"], worker: "b")
        #expect(gauge(p.store, "connection.online") == 3)
        #expect(gauge(p.store, "bytes") == 12)
        feed(p, ["started"], worker: "a")
        #expect(gauge(p.store, "connection.online") == 1)
        #expect(gauge(p.store, "bytes") == 7)
    }

    @Test("a captured amount that is not a whole number is skipped and counted")
    func badNumbers() throws {
        let p = try pipeline()
        feed(p, ["bytes 12x", "bytes -5", "bytes 99999999999999999999", "bytes 3"])
        #expect(counter(p.store, "bytes") == 3)
        #expect(gauge(p.store, "bytes") == 3)
        #expect(p.stats.badNumbers == 6)  // two actions per bad line
    }

    @Test("a sink's delta tracker gives counter deltas and absolute gauges; two trackers do not disturb each other")
    func flushDeltas() throws {
        let p = try pipeline()
        var tracker = DeltaTracker()
        var other = DeltaTracker()
        feed(p, ["C1 open", "C2 open"])
        let first = tracker.deltas(p.store.totals())
        #expect(first.contains(MetricSample(name: "connection.started", kind: .counter, value: 2)))
        #expect(first.contains(MetricSample(name: "connection.online", kind: .gauge, value: 2)))
        feed(p, ["C3 open", "C1 close"])
        let second = tracker.deltas(p.store.totals())
        #expect(second.contains(MetricSample(name: "connection.started", kind: .counter, value: 1)))
        #expect(second.contains(MetricSample(name: "connection.terminated", kind: .counter, value: 1)))
        #expect(second.contains(MetricSample(name: "connection.online", kind: .gauge, value: 2)))
        let third = tracker.deltas(p.store.totals())
        #expect(!third.contains { $0.kind == .counter })
        #expect(third.contains(MetricSample(name: "connection.online", kind: .gauge, value: 2)))
        // A second sink that took nothing yet gets the totals; one baselined gets nothing.
        #expect(other.deltas(p.store.totals()).contains(MetricSample(name: "connection.started", kind: .counter, value: 3)))
        var late = DeltaTracker()
        late.baseline(p.store.totals())
        #expect(!late.deltas(p.store.totals()).contains { $0.kind == .counter })
        #expect(late.deltas(p.store.totals(), includeZero: true).contains(MetricSample(name: "connection.started", kind: .counter, value: 0)))
    }
}

@Suite("Worker log level")
struct LogLevelWarningTests {
    @Test("a worker announcing a level that cannot feed some metrics gets one warning naming them")
    func warning() throws {
        let set = try PatternLoader(provider: InMemoryPatternFiles(["m.yaml": """
            rules:
              - name: level
                match: '^Log level: (?<l>\\w+)'
                actions: [{log_level: l}]
              - name: sess
                match: '^S(?<s>\\d+) open'
                level: detail
                actions: [{count: session.started}, {open: session.online, key: '{s}'}]
              - name: denied
                match: '^denied'
                level: error
                actions: [{count: permission.denied}]
            """])).load("m.yaml")
        let p = LinePipeline(patterns: set)
        feed(p, ["Log level: info", "Log level: info", "S1 open"])
        let warnings = p.takeWarnings()
        #expect(warnings == ["worker w logs at level info: it never writes the lines of these metrics, which stay at 0 (not a true zero): counter session.started, gauge session.online"])
        feed(p, ["Log level: detail"])
        #expect(p.takeWarnings().isEmpty)
        #expect(set.metricsUnfed(at: .trace).isEmpty)
    }
}
