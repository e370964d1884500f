import Testing
@testable import RealmMetricsCore

@Suite("Encodings and time layouts")
struct EncodingTests {
    @Test("datagrams hold whole lines up to the size limit")
    func packing() {
        let encoder = StatsdEncoder(prefix: "p")
        let samples = (0..<100).map { MetricSample(name: "metric\($0)", kind: .counter, value: Int64($0)) }
        let datagrams = encoder.datagrams(samples, maxBytes: 100)
        #expect(datagrams.allSatisfy { $0.count <= 100 })
        let lines = datagrams.flatMap { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) }
        #expect(lines == samples.map(encoder.line))
        #expect(datagrams.count > 1)
    }

    @Test("gauges are never written negative")
    func noNegativeGauges() {
        #expect(StatsdEncoder(prefix: "").line(MetricSample(name: "g", kind: .gauge, value: -3)) == "g:0|g")
    }

    @Test("summary JSON escapes names")
    func summary() {
        let json = SummaryEncoder.json([MetricSample(name: "a", kind: .counter, value: 2)], prefix: "x\"y")
        #expect(json == "{\n  \"counters\": {\n    \"x\\\"y.a\": 2\n  },\n  \"gauges\": {}\n}\n")
    }

    @Test("time layouts parse UTC, offsets and fractions")
    func time() throws {
        func parse(_ layout: String, _ text: String, utc: Bool = true) throws -> Int64? {
            let l = try TimeLayout(layout, utc: utc)
            return Array(text.utf8).withUnsafeBufferPointer { l.parse($0, fallbackYear: 2024) }
        }
        #expect(try parse("%Y-%m-%dT%H:%M:%S.%fZ", "2018-01-13T20:09:36.227Z") == 1_515_874_176_227)
        #expect(try parse("%Y-%m-%dT%H:%M:%S%z", "2018-01-13T21:09:36+01:00") == 1_515_874_176_000)
        #expect(try parse("%b %e %H:%M:%S", "Mar  1 10:00:00") == 1_709_287_200_000)
        #expect(try parse("%Y-%m-%d", "2018-13-01") == nil)
        #expect(formatUTC(1_515_874_176_227) == "2018-01-13T20:09:36.227Z")
        #expect(throws: TimeLayout.LayoutError.self) { try TimeLayout("%Q", utc: true) }
    }

    @Test("influx names: the prefix's last part is the host tag, the parts before it start the measurement")
    func influxNames() {
        #expect(MetricName.splitHost(prefix: "realm.web1") == ("realm", "web1"))
        #expect(MetricName.splitHost(prefix: "realm.eu.web1") == ("realm.eu", "web1"))
        #expect(MetricName.splitHost(prefix: "realm") == ("realm", nil))
        #expect(MetricName.splitHost(prefix: "") == ("", nil))
        let bucket = Bucket(time: 1_588_680_000, samples: [MetricSample(name: "session.online", kind: .gauge, value: 2),
                                                           MetricSample(name: "session.online", kind: .counter, value: 5)])
        #expect(InfluxEncoder(prefix: "realm.web1", precision: .s).lines(bucket) == [
            "realm.session.online,host=web1,metric_type=gauge value=2i 1588680000",
            "realm.session.online,host=web1,metric_type=counter value=5i 1588680000"])
        #expect(InfluxEncoder(prefix: "realm").lines(bucket)[0] == "realm.session.online,metric_type=gauge value=2i 1588680000000000000")
        #expect(InfluxEncoder(prefix: "").lines(bucket)[0] == "session.online,metric_type=gauge value=2i 1588680000000000000")
    }

    @Test("influx timestamps in each precision name the same instant; the write parameter of us is u")
    func influxPrecision() {
        let bucket = Bucket(time: 1_796_000_000, samples: [MetricSample(name: "a", kind: .counter, value: 1)])
        let stamps = InfluxPrecision.allCases.map { InfluxEncoder(prefix: "p.h", precision: $0).lines(bucket)[0].split(separator: " ").last! }
        #expect(stamps == ["1796000000", "1796000000000", "1796000000000000", "1796000000000000000"])
        #expect(InfluxPrecision.allCases.map(\.writeParameter) == ["s", "ms", "u", "ns"])
    }

    @Test("influx tags: a rule's tags are tags, sorted by key and escaped; a rule tag named host replaces the prefix's")
    func influxTags() {
        let bucket = Bucket(time: 1, samples: [MetricSample(name: "protocol.24.used", kind: .counter, value: 2, tagged: "protocol.used,version=24,client=a b=c"),
                                               MetricSample(name: "x.h", kind: .gauge, value: -1, tagged: "x,host=other")])
        #expect(InfluxEncoder(prefix: "realm.web1", precision: .s).lines(bucket) == [
            "realm.protocol.used,client=a\\ b\\=c,host=web1,metric_type=counter,version=24 value=2i 1",
            "realm.x,host=other,metric_type=gauge value=0i 1"])
        #expect(InfluxEncoder.escape("a,b c=d", tag: false) == "a\\,b\\ c=d")
        #expect(InfluxEncoder.escape("a,b c=d", tag: true) == "a\\,b\\ c\\=d")
    }

    @Test("histograms in influx are metric_type=histogram; no point for a distribution without values")
    func influxHistogram() {
        let bucket = Bucket(time: 2, samples: [], distributions: [Distribution(name: "size", kind: .histogram, values: [1, 2]),
                                                                  Distribution(name: "idle", kind: .timer, values: [])])
        #expect(InfluxEncoder(prefix: "r.h", precision: .s).lines(bucket) == ["r.size,host=h,metric_type=histogram count=2i,sum=3i,lower=1i,upper=2i,mean=1.5 2"])
    }

    @Test("graphite statsd-legacy: stats_counts.<name> for the count, stats.<name> for the rate, gauges as with statsd")
    func graphiteLegacy() {
        let bucket = Bucket(time: 100, samples: [MetricSample(name: "c", kind: .counter, value: 0), MetricSample(name: "c", kind: .gauge, value: 4)])
        #expect(GraphiteEncoder(prefix: "realm.h", naming: .statsdLegacy, bucketSeconds: 10).lines(bucket) == [
            "stats_counts.realm.h.c 0 100", "stats.realm.h.c 0 100", "stats.gauges.realm.h.c 4 100"])
        #expect(GraphiteEncoder.Naming(rawValue: "statsd-legacy") == .statsdLegacy)
    }
}
