import Testing
import Foundation
import RealmMetricsTestSupport
@testable import RealmMetricsIO
import RealmMetricsCore

/// `backfill` of files in process: the job's own sinks and one handed to its driver see the same
/// buckets; an output that cannot be written stops it with an output error.
@Suite("Backfill job")
struct BackfillJobTests {
    typealias F = JobFixture

    func configuration(_ files: [String], target: BackfillTarget) -> BackfillConfiguration {
        var configuration = BackfillConfiguration(prefix: "realm.b")
        configuration.patterns = ["timed"]
        configuration.files = files
        configuration.target = target
        configuration.bucketSeconds = 10
        return configuration
    }

    @Test("influx:PATH gets each bucket's counter deltas (every declared counter, 0 when it did not move) and gauge values stamped with its start, an empty bucket between two lines too; a sink on the driver gets the same buckets")
    func influxBuckets() throws {
        let dir = TemporaryDirectory("rm-backfill")
        let log = dir.append("w.log", lines: [
            F.line(0, "hit"), F.line(1, "open a"), F.line(3, "bytes 10"),
            F.line(12, "hit"), F.line(13, "hit"), F.line(14, "open b"),
            // nothing from 20 to 29: a bucket all the same (statsd flushes every interval)
            F.line(35, "close a"), F.line(36, "bytes 5"),
        ])
        let influxPath = dir.file("out.influx")
        let stdout = dir.file("stdout")
        let output = fileWriter(stdout)
        defer { closeWriter(output) }
        let job = try BackfillJob(configuration: configuration([log], target: .influx(path: influxPath)), provider: F.provider, output: output)
        let recorder = RecordingSink()
        job.driver.sinks.append(recorder)
        let stats = try job.run()
        #expect(stats.linesRead == 8)
        #expect(stats.matched == 8)
        let want: [RecordingSink.Write] = [
            .init(time: F.base, samples: [.counter("bytes", 10), .counter("hits", 1), .gauge("online", 1)]),
            .init(time: F.base + 10, samples: [.counter("hits", 2), .gauge("online", 2)]),
            .init(time: F.base + 20, samples: [.gauge("online", 2)]),
            .init(time: F.base + 30, samples: [.counter("bytes", 5), .gauge("online", 1)]),
        ]
        // The recorder keeps the counters that moved; the job's sink writes every one.
        #expect(recorder.writes == want)
        #expect(recorder.finishes == 1)
        #expect(job.buckets == 4)
        #expect(job.points == 12)
        #expect(job.untimedLines == 0)
        #expect(job.skippedGapBuckets == 0)
        let written: [(Int64, Int64, Int64, Int64)] = [(F.base, 10, 1, 1), (F.base + 10, 0, 2, 2), (F.base + 20, 0, 0, 2), (F.base + 30, 5, 0, 1)]
        #expect(contents(influxPath) == influxText(written))
        #expect(contents(stdout).isEmpty, "influx to a file writes nothing to standard output")
    }

    /// The Influx file of buckets (time, bytes, hits, online) of the fixture's metrics under `realm.b`.
    func influxText(_ written: [(Int64, Int64, Int64, Int64)]) -> String {
        written.flatMap { time, bytes, hits, online in [
            "realm.bytes,host=b,metric_type=counter value=\(bytes)i \(time)000000000",
            "realm.hits,host=b,metric_type=counter value=\(hits)i \(time)000000000",
            "realm.online,host=b,metric_type=gauge value=\(online)i \(time)000000000",
        ] }.map { $0 + "\n" }.joined()
    }

    @Test("a gap between two lines gets its empty buckets (counters 0, gauges as they were) up to the job's most per gap; the rest are counted, not written")
    func gapBuckets() throws {
        let dir = TemporaryDirectory("rm-backfill")
        // Buckets 0 and 70: six empty buckets between them, of which 2 are written.
        let log = dir.append("w.log", lines: [F.line(0, "hit"), F.line(1, "open a"), F.line(75, "bytes 3")])
        let influxPath = dir.file("out.influx")
        let output = fileWriter(dir.file("stdout"))
        defer { closeWriter(output) }
        let job = try BackfillJob(configuration: configuration([log], target: .influx(path: influxPath)), provider: F.provider, output: output)
        job.driver.maxGapBuckets = 2
        _ = try job.run()
        #expect(job.buckets == 4)
        #expect(job.skippedGapBuckets == 4)
        #expect(job.points == 12)
        let written: [(Int64, Int64, Int64, Int64)] = [(F.base, 0, 1, 1), (F.base + 10, 0, 0, 1), (F.base + 20, 0, 0, 1), (F.base + 70, 3, 0, 1)]
        #expect(contents(influxPath) == influxText(written))
    }

    @Test("a window (since, until): the lines before it build state only, the buckets start at its start")
    func window() throws {
        let dir = TemporaryDirectory("rm-backfill")
        let log = dir.append("w.log", lines: [F.line(0, "hit"), F.line(1, "open a"), F.line(21, "hit"), F.line(22, "open b"), F.line(31, "hit"), F.line(45, "hit")])
        var configuration = configuration([log], target: .influx(path: dir.file("out.influx")))
        configuration.sinceMillis = F.millis(20)
        configuration.untilMillis = F.millis(40)
        let output = fileWriter(dir.file("stdout"))
        defer { closeWriter(output) }
        let job = try BackfillJob(configuration: configuration, provider: F.provider, output: output)
        let recorder = RecordingSink()
        job.driver.sinks.append(recorder)
        _ = try job.run()
        #expect(recorder.writes == [
            .init(time: F.base + 20, samples: [.counter("hits", 1), .gauge("online", 2)]),
            .init(time: F.base + 30, samples: [.counter("hits", 1), .gauge("online", 2)]),
        ])
    }

    @Test("influx to /dev/full is an output error, whether it shows at the end (a small output) or in the middle (the job stops there)", arguments: [3, 3000])
    func fullDevice(buckets: Int) throws {
        let dir = TemporaryDirectory("rm-backfill")
        let log = dir.append("w.log", lines: (0..<buckets).flatMap { [F.line($0 * 10, "hit"), F.line($0 * 10 + 1, "bytes \($0)")] })
        let output = fileWriter(dir.file("stdout"))
        defer { closeWriter(output) }
        let job = try BackfillJob(configuration: configuration([log], target: .influx(path: "/dev/full")), provider: F.provider, output: output)
        let error = thrownError { () throws(RealmMetricsError) in _ = try job.run() }
        #expect(error?.code == .output)
        #expect(error?.message == "influx: /dev/full: cannot write: No space left on device; the output is incomplete", "\(String(describing: error))")
        if buckets > 1000 {
            // 64 KiB of line protocol fill the writer's buffer long before the end of the input.
            #expect(job.buckets < buckets / 2, "\(job.buckets) buckets")
            #expect(job.driver.engine.stats.linesRead < Int64(buckets), "\(job.driver.engine.stats.linesRead) lines")
        }
    }
}
