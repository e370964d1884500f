import Foundation
import Testing
@testable import RealmMetricsIO
import RealmMetricsCore
import RealmMetricsTestSupport

/// A backfill of files classified on several threads gives exactly what one thread gives: the same
/// buckets, counts and stop at the window's end or at a failed output.
@Suite("Backfill on several threads")
struct BackfillThreadsTests {
    typealias F = JobFixture

    /// Local times (no offset in the line) for a zone with a repeated hour.
    static let localPatterns = """
        format: local
        envelope:
          match: '^(?<time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) (?<message>.*)'
          time_format: '%Y-%m-%d %H:%M:%S'
          timezone: local
        rules:
          - name: hit
            match: '^hit$'
            actions: [{count: hits}]
          - name: open
            match: '^open (?<k>\\w+)$'
            actions: [{open: online, key: '{k}'}]
          - name: close
            match: '^close (?<k>\\w+)$'
            actions: [{close: online, key: '{k}'}]
        """

    /// The buckets (as Influx lines) and line counts of a backfill of `log`.
    func backfill(_ log: String, threads: Int, chunkBytes: Int, patterns: [String: String], set: String, zone: String?,
                  since: Int64? = nil, until: Int64? = nil) throws -> (String, PipelineStats) {
        let dir = TemporaryDirectory("rm-threads")
        let out = dir.file("out.influx")
        let engine = PipelineChain(patternSets: try loadPatternSets([set], provider: InMemoryPatternFiles(patterns)))
        let driver = Driver(engine: engine, sinks: [BucketSink(try InfluxSink(path: out, encoder: InfluxEncoder(prefix: "p")))],
                            clock: BucketClock(seconds: 60, sinceMillis: since, untilMillis: until))
        let timing = LineTiming(fallbackYear: 2020, zone: zone.flatMap(WallClockZone.named), localTimes: engine.hasLocalTimes)
        let source = try FileLines(files: [log], workerPerFile: false, store: driver.store, maxLineBytes: 200, chunkBytes: chunkBytes,
                                   threads: threads, timing: timing)
        _ = try source.pump(driver, limit: .max)
        try driver.finish()
        return ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "", driver.engine.stats)
    }

    @Test("a random log through a repeated hour (Europe/Berlin, 2020-10-25), with a window: one thread and three agree line for line")
    func sameAsOneThread() throws {
        var random = SeededRandom(#function)
        let dir = TemporaryDirectory("rm-threads")
        // 01:00 to 04:00 local time, the hour 02:00-03:00 twice (the second pass after the first), lines
        // sometimes a few seconds out of order, some without a time, some cut.
        var lines: [String] = []
        var open: [String] = []
        func stamp(_ seconds: Int) -> String {
            let h = 1 + seconds / 3600, m = (seconds / 60) % 60, s = seconds % 60
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return "2020-10-25 \(two(h)):\(two(m)):\(two(s))"
        }
        var clock = 0
        for pass in 0..<2 {
            let end = pass == 0 ? 2 * 3600 : 3 * 3600
            if pass == 1 { clock = 3600 }  // back to 02:00 for the second pass
            while clock < end {
                clock += Int.random(in: 1...9, using: &random)
                let jitter = Int.random(in: 0...9, using: &random) == 0 ? -Int.random(in: 0...5, using: &random) : 0
                switch Int.random(in: 0...9, using: &random) {
                case 0...3: lines.append("\(stamp(clock + jitter)) hit")
                case 4...5:
                    let k = "k\(Int.random(in: 0...40, using: &random))"
                    open.append(k)
                    lines.append("\(stamp(clock + jitter)) open \(k)")
                case 6...7:
                    lines.append("\(stamp(clock + jitter)) close \(open.randomElement(using: &random) ?? "none")")
                case 8: lines.append("a line without a time")
                default: lines.append("\(stamp(clock + jitter)) " + String(repeating: "x", count: Int.random(in: 150...300, using: &random)))
                }
            }
        }
        let log = dir.append("local.log", lines: lines)
        let patterns = ["local.yaml": Self.localPatterns]
        let since = Int64(1_603_584_000 + 1800) * 1000, until = Int64(1_603_584_000 + 4 * 3600) * 1000  // 2020-10-25T00:30Z .. 04:00Z
        for windowed in [false, true] {
            let from: Int64? = windowed ? since : nil
            let to: Int64? = windowed ? until : nil
            let one = try backfill(log, threads: 1, chunkBytes: 4096, patterns: patterns, set: "local", zone: "Europe/Berlin", since: from, until: to)
            #expect(!one.0.isEmpty)
            for chunk in [512, 4096, 1 << 16] {
                let three = try backfill(log, threads: 3, chunkBytes: chunk, patterns: patterns, set: "local", zone: "Europe/Berlin", since: from, until: to)
                #expect(three.0 == one.0, "chunk \(chunk), windowed \(windowed)")
                #expect(three.1 == one.1, "chunk \(chunk)")
            }
        }
    }

    @Test("a window's end and a failed output stop the threaded backfill where one thread stops", arguments: [1, 3])
    func stops(threads: Int) throws {
        let dir = TemporaryDirectory("rm-threads")
        let log = dir.append("w.log", lines: (0..<3000).map { F.line($0, $0 % 7 == 0 ? "open k\($0 % 50)" : "hit") })
        let (_, stats) = try backfill(log, threads: threads, chunkBytes: 1024, patterns: ["timed.yaml": F.patterns], set: "timed", zone: nil,
                                      until: F.millis(1234))
        #expect(stats.linesRead == 1235, "lines up to the window's end (1234 s) and none after it")
        let failing = RecordingWriter(failAt: 3)
        let driver = Driver(engine: try F.engine(), sinks: [BucketSink(failing)], clock: BucketClock(seconds: 10, sinceMillis: nil, untilMillis: nil))
        let source = try FileLines(files: [log], workerPerFile: false, store: driver.store, maxLineBytes: 65536, chunkBytes: 1024, threads: threads,
                                   timing: LineTiming(fallbackYear: 2020, zone: nil))
        let error = thrownError { () throws(RealmMetricsError) in _ = try source.pump(driver, limit: .max) }
        #expect(error?.code == .output)
        #expect(driver.engine.stats.linesRead == 30, "the line that closed the bucket that failed and those after it are not applied")
    }
}
