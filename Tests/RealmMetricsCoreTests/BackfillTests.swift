import Testing
@testable import RealmMetricsCore

@Suite("Backfill buckets, encoders and times")
struct BackfillTests {
    /// Feeds (time ms, line) pairs as a backfill does: the clock moves before each line is processed.
    func buckets(_ lines: [(Int64, String)], since: Int64? = nil, until: Int64? = nil) throws -> [Bucket] {
        let p = LinePipeline(patterns: try patternSet(["main.yaml": sessionPatterns]))
        var clock = BucketClock(seconds: 10, sinceMillis: since, untilMillis: until)
        var tracker = DeltaTracker()
        var out: [Bucket] = []
        let w = p.store.workerID("w")
        for (t, line) in lines {
            let (position, transition) = clock.advance(toMillis: t)
            switch transition {
            case .entered: tracker.baseline(p.store.totals())
            case let .closed(time): out.append(Bucket(time: time, samples: tracker.deltas(p.store.totals())))
            case nil: break
            }
            if position == .after { break }
            Array(line.utf8).withUnsafeBufferPointer { _ = p.process($0.baseAddress!, $0.count, worker: w) }
        }
        if let last = clock.finish() { out.append(Bucket(time: last, samples: tracker.deltas(p.store.totals()))) }
        return out
    }

    @Test("counter deltas and gauge values per 10 s bucket, stamped with the bucket start")
    func perBucket() throws {
        let b = try buckets([(1_000_001_000, "C1 open"), (1_000_002_000, "C2 open"), (1_000_015_000, "C1 close"), (1_000_039_999, "C3 open")])
        #expect(b.map(\.time) == [1_000_000, 1_000_010, 1_000_030])
        #expect(b[0].samples.contains(MetricSample(name: "connection.started", kind: .counter, value: 2)))
        #expect(b[0].samples.contains(MetricSample(name: "connection.online", kind: .gauge, value: 2)))
        #expect(b[1].samples.contains(MetricSample(name: "connection.terminated", kind: .counter, value: 1)))
        #expect(!b[1].samples.contains { $0.name == "connection.started" })
        #expect(b[1].samples.contains(MetricSample(name: "connection.online", kind: .gauge, value: 1)))
        #expect(b[2].samples.contains(MetricSample(name: "connection.online", kind: .gauge, value: 2)))
    }

    @Test("a window that cuts through a worker life: earlier lines build the gauges but are not counted")
    func window() throws {
        let b = try buckets([(1_000_000_000, "started"), (1_000_001_000, "C1 open"), (1_000_002_000, "C2 open"),
                             (1_000_020_000, "C3 open"), (1_000_031_000, "C4 open"), (1_000_045_000, "C5 open")],
                            since: 1_000_010_000, until: 1_000_040_000)
        #expect(b.map(\.time) == [1_000_020, 1_000_030])
        #expect(b[0].samples.contains(MetricSample(name: "connection.started", kind: .counter, value: 1)))
        #expect(b[0].samples.contains(MetricSample(name: "connection.online", kind: .gauge, value: 3)))
        #expect(b[1].samples.contains(MetricSample(name: "connection.online", kind: .gauge, value: 4)))
    }

    @Test("graphite names as a stock statsd writes them, dogstatsd and influx with timestamps")
    func encoders() {
        let bucket = Bucket(time: 1_709_251_200, samples: [MetricSample(name: "a.b", kind: .counter, value: 25),
                                                           MetricSample(name: "g", kind: .gauge, value: 3)])
        #expect(GraphiteEncoder(prefix: "realm.h", naming: .statsd, bucketSeconds: 10).lines(bucket) == [
            "stats.counters.realm.h.a.b.count 25 1709251200", "stats.counters.realm.h.a.b.rate 2.5 1709251200",
            "stats.gauges.realm.h.g 3 1709251200"])
        #expect(GraphiteEncoder(prefix: "realm.h", naming: .plain, bucketSeconds: 10).lines(bucket) == [
            "realm.h.a.b 25 1709251200", "realm.h.g 3 1709251200"])
        #expect(DogStatsdEncoder(prefix: "p").lines(bucket) == ["p.a.b:25|c|T1709251200", "p.g:3|g|T1709251200"])
        #expect(GraphiteEncoder(prefix: "realm.h", naming: .statsdLegacy, bucketSeconds: 10).lines(bucket) == [
            "stats_counts.realm.h.a.b 25 1709251200", "stats.realm.h.a.b 2.5 1709251200",
            "stats.gauges.realm.h.g 3 1709251200"])
        #expect(InfluxEncoder(prefix: "p").lines(bucket) == ["p.a.b,metric_type=counter value=25i 1709251200000000000",
                                                            "p.g,metric_type=gauge value=3i 1709251200000000000"])
    }

    @Test("--since/--until times: ISO 8601 and journalctl-style relative forms")
    func times() {
        let now: Int64 = 1_709_294_400_000  // 2024-03-01T12:00:00Z
        #expect(TimeExpression.parse("2024-03-01T10:00:00Z", nowMillis: now) == 1_709_287_200_000)
        #expect(TimeExpression.parse("2024-03-01T11:00:00+01:00", nowMillis: now) == 1_709_287_200_000)
        #expect(TimeExpression.parse("2024-03-01 10:00:00", nowMillis: now) == 1_709_287_200_000)
        #expect(TimeExpression.parse("2024-03-01", nowMillis: now) == 1_709_251_200_000)
        #expect(TimeExpression.parse("-2h", nowMillis: now) == now - 7_200_000)
        #expect(TimeExpression.parse("-1d 30min", nowMillis: now) == now - 86_400_000 - 1_800_000)
        #expect(TimeExpression.parse("yesterday", nowMillis: now) == 1_709_164_800_000)
        #expect(TimeExpression.parse("today", nowMillis: now) == 1_709_251_200_000)
        #expect(TimeExpression.parse("@1709251200", nowMillis: now) == 1_709_251_200_000)
        #expect(TimeExpression.parse("2024-03-01T10:00:00Zjunk", nowMillis: now) == nil)
        #expect(TimeExpression.parse("-2 fortnights", nowMillis: now) == nil)
    }
}
