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
}
