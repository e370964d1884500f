import Testing
@testable import RealmMetricsCore

@Suite("Timers, histograms and stated gauges")
struct DistributionTests {
    static let rules = """
        rules:
          - name: started
            match: '^started'
            actions: [{worker: start}]
          - name: ping
            match: '^C(?<c>\\d+) ping (?<rtt>\\d+)'
            actions: [{timer: ping.rtt, by: rtt, skip_first: '{c}'}]
          - name: upload
            match: '^upload (?<n>\\d+) (?<ms>\\d+|x)'
            actions: [{histogram: upload.count, by: n}, {timer: upload.ms, by: ms}]
          - name: pending
            match: '^pending (?<y>\\d+)'
            actions: [{set: pending.bytes, by: y}]
        """

    func pipeline() throws -> LinePipeline { LinePipeline(patterns: try patternSet(["main.yaml": Self.rules])) }

    @Test("a timer records one value per line; skip_first leaves out the first of each key in a worker life")
    func timerValues() throws {
        let p = try pipeline()
        feed(p, ["C1 ping 0", "C1 ping 40", "C2 ping 9", "C1 ping 30", "C2 ping 12"])
        #expect(p.store.takeDistributions().filter { !$0.values.isEmpty } == [Distribution(name: "ping.rtt", kind: .timer, values: [40, 30, 12])])
        // Each value is handed out once; every declared one is listed, empty when nothing was recorded.
        #expect(p.store.takeDistributions() == [Distribution(name: "ping.rtt", kind: .timer, values: []),
                                                Distribution(name: "upload.count", kind: .histogram, values: []),
                                                Distribution(name: "upload.ms", kind: .timer, values: [])])
        // A new life: the first PING of connection 1 is left out again.
        feed(p, ["started", "C1 ping 5", "C1 ping 6"])
        #expect(p.store.takeDistributions().first?.values == [6])
    }

    @Test("histograms and timers of one line; a capture that is not a number is skipped and counted")
    func histogramAndBadNumber() throws {
        let p = try pipeline()
        feed(p, ["upload 3 7", "upload 1 x"])
        #expect(p.store.takeDistributions().filter { !$0.values.isEmpty } == [Distribution(name: "upload.count", kind: .histogram, values: [3, 1]),
                                                Distribution(name: "upload.ms", kind: .timer, values: [7])])
        #expect(p.stats.badNumbers == 1)
    }

    @Test("set: the worker's part of a gauge is what the line states; the host sums the workers")
    func setGauge() throws {
        let p = try pipeline()
        feed(p, ["pending 2048", "pending 1024"], worker: "a")
        feed(p, ["pending 10"], worker: "b")
        #expect(p.store.gaugeValue(p.store.gaugeID("pending.bytes")) == 1034)
        feed(p, ["started"], worker: "a")
        #expect(p.store.gaugeValue(p.store.gaugeID("pending.bytes")) == 10)
    }

    @Test("effects as explain and pattern examples show them")
    func effects() throws {
        let p = try pipeline()
        let recorder = EffectRecorder()
        let w = p.store.workerID("w")
        for line in ["C1 ping 0", "C1 ping 40", "pending 7", "upload 2 3"] {
            Array(line.utf8).withUnsafeBufferPointer { _ = p.process($0.baseAddress!, $0.count, worker: w, recorder: recorder) }
        }
        #expect(recorder.effects.map(\.description) == ["timer ping.rtt 0 (first of 1: left out)", "timer ping.rtt 40", "set pending.bytes 7",
                                                          "histogram upload.count 2", "timer upload.ms 3"])
    }

    @Test("the pattern loader refuses a timer without a number, and skip_first on other actions")
    func loaderRefusals() {
        #expect(throws: PatternFileError.self) {
            try patternSet(["main.yaml": "rules:\n  - name: t\n    match: '^x'\n    actions: [{timer: t}]\n"])
        }
        #expect(throws: PatternFileError.self) {
            try patternSet(["main.yaml": "rules:\n  - name: t\n    match: '^x (?<k>\\\\d+)'\n    actions: [{count: c, skip_first: '{k}'}]\n"])
        }
    }

    @Test("statsd lines per value; Graphite as a stock statsd writes timers; DogStatsD and Influx per bucket")
    func encoders() {
        let d = Distribution(name: "ping.rtt", kind: .timer, values: [10, 20, 30, 40])
        #expect(StatsdEncoder(prefix: "p").lines(d) == ["p.ping.rtt:10|ms", "p.ping.rtt:20|ms", "p.ping.rtt:30|ms", "p.ping.rtt:40|ms"])
        #expect(StatsdEncoder(prefix: "p").lines(Distribution(name: "h", kind: .histogram, values: [3])) == ["p.h:3|h"])
        let figures = Dictionary(uniqueKeysWithValues: d.statsdTimerFigures(flushSeconds: 10))
        #expect(figures["count"] == 4 && figures["sum"] == 100 && figures["lower"] == 10 && figures["upper"] == 40)
        #expect(figures["mean"] == 25 && figures["median"] == 25)
        // statsd keeps round(90% of 4) = 4 values for the 90th percentile.
        #expect(figures["upper_90"] == 40 && figures["count_90"] == 4 && figures["count_ps"] == 0.4)
        let bucket = Bucket(time: 1_000, samples: [], distributions: [d, Distribution(name: "none", kind: .timer, values: [])])
        let graphite = GraphiteEncoder(prefix: "p", naming: .statsd, bucketSeconds: 10).lines(bucket)
        #expect(graphite.first == "stats.timers.p.ping.rtt.count 4 1000")
        #expect(graphite.contains("stats.timers.p.ping.rtt.upper_90 40 1000") && graphite.contains("stats.timers.p.ping.rtt.mean 25 1000"))
        // statsd's flush of a known timer without values.
        #expect(graphite.filter { $0.contains("none") } == ["stats.timers.p.none.count 0 1000", "stats.timers.p.none.count_ps 0 1000"])
        #expect(GraphiteEncoder(prefix: "p", naming: .plain, bucketSeconds: 10).lines(bucket) == [
            "p.ping.rtt.count 4 1000", "p.ping.rtt.sum 100 1000", "p.ping.rtt.min 10 1000", "p.ping.rtt.max 40 1000"])
        #expect(DogStatsdEncoder(prefix: "p").lines(bucket).first == "p.ping.rtt:10|ms|T1000")
        #expect(GraphiteEncoder(prefix: "p", naming: .statsdLegacy, bucketSeconds: 10).lines(bucket) == graphite, "legacyNamespace does not change timer names")
        #expect(InfluxEncoder(prefix: "p").lines(bucket) == ["p.ping.rtt,metric_type=timing count=4i,sum=100i,lower=10i,upper=40i,mean=25.0 1000000000000"])
    }

    @Test("the summary lists every timer and histogram with count, sum, min and max")
    func summary() {
        var some = Distribution.Totals()
        some.add(Distribution(name: "a", kind: .timer, values: [5, 1]))
        let json = SummaryEncoder.json([], distributions: [("a", .timer, some), ("b", .histogram, Distribution.Totals())], prefix: "p")
        #expect(json.contains("\"timers\": {\n    \"p.a\": {\"count\": 2, \"sum\": 6, \"min\": 1, \"max\": 5}\n  }"))
        #expect(json.contains("\"histograms\": {\n    \"p.b\": {\"count\": 0, \"sum\": 0}\n  }"))
    }
}

@Suite("Spans: a timer from a start line to an end line of the same key")
struct SpanTests {
    static let rules = """
        envelope:
          match: '^(?:(?<time>\\d\\d\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d) )?(?<message>.*)'
          time_format: '%Y-%m-%dT%H:%M:%S.%f'
          timezone: utc
        rules:
          - name: started
            match: '^started'
            actions: [{worker: start}]
          - name: begin
            match: '^begin (?<p>\\S+)'
            actions: [{timer_start: work.time, key: '{p}'}]
          - name: end
            match: '^end (?<p>\\S+)'
            actions: [{timer_stop: work.time, key: '{p}'}]
        """

    @Test("the ms between the two lines of a key; an end without its start, or a line without a time, records nothing")
    func spans() throws {
        let p = LinePipeline(patterns: try patternSet(["main.yaml": Self.rules]))
        feed(p, ["2020-05-05T12:00:00.000 begin a", "2020-05-05T12:00:00.010 begin b", "2020-05-05T12:00:00.250 end a",
                 "2020-05-05T12:00:01.010 end b", "2020-05-05T12:00:02.000 end c", "begin d", "2020-05-05T12:00:03.000 end d"])
        #expect(p.store.takeDistributions() == [Distribution(name: "work.time", kind: .timer, values: [250, 1000])])
        // A new life forgets the spans begun in the one before.
        feed(p, ["2020-05-05T12:00:04.000 begin e", "started", "2020-05-05T12:00:05.000 end e"])
        #expect(p.store.takeDistributions().first?.values == [])
        let recorder = EffectRecorder()
        let w = p.store.workerID("w")
        for line in ["2020-05-05T12:00:06.000 begin f", "2020-05-05T12:00:06.007 end f", "end g"] {
            Array(line.utf8).withUnsafeBufferPointer { _ = p.process($0.baseAddress!, $0.count, worker: w, recorder: recorder) }
        }
        #expect(recorder.effects.map(\.description) == ["timer_start work.time f", "timer work.time 7",
                                                          "skipped: the line has no time: timer_stop work.time g left out"])
    }
}
