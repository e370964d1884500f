import Testing
@testable import RealmMetricsCore

@Suite("Tags: folded names by default, influx and dogstatsd on request")
struct TagTests {
    static let rules = """
        rules:
          - name: login
            match: '^login (?<user>\\S+) v(?<v>\\d+)'
            actions:
              - count: 'logins.{user}'
                tags: 'logins,identity={user}'
                cardinality: 2
              - count: 'protocol.{v}.used'
                tags: 'protocol.used,version={v}'
              - timer: 'rtt.{v}'
                tags: 'rtt,version={v}'
                by: v
          - name: fixed
            match: '^fixed'
            actions: [{count: fixed.prod, tags: 'fixed,env=prod'}]
        """

    func totals(_ lines: [String]) throws -> (MetricStore, [MetricSample]) {
        let p = LinePipeline(patterns: try patternSet(["main.yaml": Self.rules]))
        feed(p, lines)
        return (p.store, p.store.totals().filter { $0.kind == .counter })
    }

    @Test("a tagged rule keeps the folded name and its tagged form, values percent-encoded as the 2020 server writes them")
    func taggedForm() throws {
        let (_, counters) = try totals(["login user-alice v24", "fixed"])
        let byName = Dictionary(uniqueKeysWithValues: counters.map { ($0.name, $0.tagged) })
        #expect(byName["logins.user-alice"] == "logins,identity=user%2Dalice")
        #expect(byName["protocol.24.used"] == "protocol.used,version=24")
        #expect(byName["fixed.prod"] == "fixed,env=prod")
    }

    @Test("over the cardinality cap both forms say other")
    func overflow() throws {
        let (_, counters) = try totals(["login a v1", "login b v1", "login c v1"])
        #expect(counters.contains(MetricSample(name: "logins.other", kind: .counter, value: 1, tagged: "logins,identity=other")))
    }

    @Test("statsd lines in the three styles; a metric without tags is the same in all")
    func styles() {
        let tagged = MetricSample(name: "protocol.24.used", kind: .counter, value: 2, tagged: "protocol.used,version=24")
        let plain = MetricSample(name: "session.online", kind: .gauge, value: 3)
        #expect(StatsdEncoder(prefix: "p").line(tagged) == "p.protocol.24.used:2|c")
        #expect(StatsdEncoder(prefix: "p", tags: .influx).line(tagged) == "p.protocol.used,version=24:2|c")
        #expect(StatsdEncoder(prefix: "p", tags: .dogstatsd).line(tagged) == "p.protocol.used:2|c|#version:24")
        for style in TagStyle.allCases { #expect(StatsdEncoder(prefix: "p", tags: style).line(plain) == "p.session.online:3|g") }
        var d = Distribution(name: "rtt.24", kind: .timer, values: [5])
        d.tagged = "rtt,version=24"
        #expect(StatsdEncoder(prefix: "p", tags: .dogstatsd).lines(d) == ["p.rtt:5|ms|#version:24"])
        let bucket = Bucket(time: 7, samples: [tagged])
        #expect(InfluxEncoder(prefix: "p").lines(bucket) == ["p.protocol.used,metric_type=counter,version=24 value=2i 7000000000"])
        #expect(DogStatsdEncoder(prefix: "p").lines(bucket) == ["p.protocol.used:2|c|#version:24|T7"])
    }

    @Test("the tagged forms survive a snapshot and restore")
    func snapshot() throws {
        let (store, _) = try totals(["login bob v3"])
        let restored = MetricStore()
        restored.restore(store.snapshot())
        #expect(restored.totals().filter { $0.kind == .counter } == store.totals().filter { $0.kind == .counter })
        _ = restored.distributionID("rtt.3", kind: .timer)
        #expect(restored.taggedDistributions["rtt.3"] == "rtt,version=3")
    }

    @Test("the loader refuses tags whose value is not in the name, and malformed tags")
    func refusals() {
        for actions in ["[{count: logins, tags: 'logins,identity={user}'}]",
                        "[{count: 'logins.{user}', tags: 'logins identity={user}'}]",
                        "[{count: 'logins.{user}', tags: 'logins,bad-key={user}'}]",
                        "[{worker: start, tags: 'x,a=b'}]"] {
            let text = "rules:\n  - name: r\n    match: '^login (?<user>\\S+)'\n    actions: \(actions)\n"
            #expect(throws: PatternFileError.self, "\(actions)") { try patternSet(["main.yaml": text]) }
        }
    }

    @Test("close of name.*: the gauge of the template that holds the key loses it, whichever value it was opened under")
    func familyClose() throws {
        let rules = """
            rules:
              - name: info
                match: '^info (?<s>\\d+) (?<user>\\S+)'
                actions: [{open: 'users.{user}', tags: 'users,identity={user}', key: '{s}'}]
              - name: end
                match: '^end (?<s>\\d+)'
                actions: [{close: 'users.*', key: '{s}'}]
              - name: gone
                match: '^gone'
                actions: [{close_prefix: 'users.*', key: ''}]
            """
        let p = LinePipeline(patterns: try patternSet(["main.yaml": rules]))
        feed(p, ["info 1 alice", "info 2 bob", "info 3 alice", "end 1", "end 9"])
        func gauge(_ name: String) -> Int64 { p.store.gaugeValue(p.store.gaugeID(name)) }
        #expect(gauge("users.alice") == 1 && gauge("users.bob") == 1)
        #expect(p.stats.orphanCloses == 0, "a session without a user is no orphan")
        feed(p, ["gone"])
        #expect(gauge("users.alice") == 0 && gauge("users.bob") == 0)
        #expect(throws: PatternFileError.self) {
            try patternSet(["main.yaml": "rules:\n  - name: r\n    match: '^x'\n    actions: [{open: 'users.*', key: 'k'}]\n"])
        }
    }

    @Test("percent-encoding: every byte other than A-Za-z0-9 as %XX, upper-case")
    func percent() {
        let bytes = Array("a-b.c é/Z9".utf8)
        #expect(bytes.withUnsafeBufferPointer { MetricName.percentEncoded($0) } == "a%2Db%2Ec%20%C3%A9%2FZ9")
    }
}

@Suite("A counter and a gauge of one name, for outputs that keep one kind per name")
struct KindSeparationTests {
    @Test("the gauge becomes <name>.gauge (tagged: <base>.gauge,<tags>); the counter and other gauges keep their names")
    func separated() {
        let reading = [MetricSample(name: "protocol.bytes.received", kind: .counter, value: 5),
                       MetricSample(name: "x.1", kind: .counter, value: 1, tagged: "x,v=1"),
                       MetricSample(name: "protocol.bytes.received", kind: .gauge, value: 9),
                       MetricSample(name: "x.1", kind: .gauge, value: 2, tagged: "x,v=1"),
                       MetricSample(name: "session.online", kind: .gauge, value: 3)]
        #expect(reading.separatingKinds() == [reading[0], reading[1],
                                              MetricSample(name: "protocol.bytes.received.gauge", kind: .gauge, value: 9),
                                              MetricSample(name: "x.1.gauge", kind: .gauge, value: 2, tagged: "x.gauge,v=1"),
                                              reading[4]])
        #expect(Array(reading.suffix(1)).separatingKinds() == Array(reading.suffix(1)))
    }
}
