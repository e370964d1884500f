import Testing
@testable import RealmMetricsCore

@Suite("statsd lines of tagged keys")
struct StatsdFormatTests {
    @Test("a DogStatsD key's tags go after the type; a key without tags is written as it is")
    func format() {
        #expect(StatsdEncoder.format(key: "p.protocol.used|#version:24", value: 2, type: "c") == "p.protocol.used:2|c|#version:24")
        #expect(StatsdEncoder.format(key: "p.a|b", value: 1, type: "g") == "p.a|b:1|g")
        #expect(StatsdEncoder.format(key: "p.x", value: 3, type: "ms") == "p.x:3|ms")
        #expect(StatsdEncoder.splitTags("a|") == nil)
        #expect(StatsdEncoder.splitTags("|#t").map { "\($0.0)/\($0.1)" } == "/t")
    }

    @Test("every value of a tagged timer gets the tags after its type")
    func timerValues() {
        var d = Distribution(name: "ping.rtt", kind: .timer, values: [5, 7])
        d.tagged = "ping.rtt,peer=a%2Db"
        #expect(StatsdEncoder(prefix: "p", tags: .dogstatsd).lines(d) == ["p.ping.rtt:5|ms|#peer:a%2Db", "p.ping.rtt:7|ms|#peer:a%2Db"])
        #expect(StatsdEncoder(prefix: "p", tags: .influx).lines(d) == ["p.ping.rtt,peer=a%2Db:5|ms", "p.ping.rtt,peer=a%2Db:7|ms"])
        #expect(StatsdEncoder(prefix: "p").lines(d) == ["p.ping.rtt:5|ms", "p.ping.rtt:7|ms"])
    }
}
