import Testing
import Foundation
import RealmMetricsTestSupport
@testable import RealmMetricsIO
import RealmMetricsCore

/// The driver of every job: sinks that each own their deltas, the time-bucket policy with a window,
/// the end-of-input policy, and outputs that cannot be written.
@Suite("Driver")
struct DriverTests {
    typealias F = JobFixture

    @Test("two sinks get the same deltas and never disturb each other; one added later reports from its own point, one baselined from its baseline")
    func sinksOwnTheirDeltas() throws {
        let a = RecordingSink(), b = RecordingSink()
        let driver = Driver(engine: try F.engine(), sinks: [a, b])
        F.feed(driver, [F.line(0, "hit"), F.line(1, "hit"), F.line(2, "open x"), F.line(3, "bytes 7")])
        try driver.export(time: nil)
        let first: [MetricSample] = [.counter("bytes", 7), .counter("hits", 2), .gauge("online", 1)]
        #expect(a.writes == [RecordingSink.Write(time: nil, samples: first)])
        #expect(b.writes == a.writes)

        // c joins late taking what was counted as history; d joins late with nothing sent yet.
        let c = RecordingSink(), d = RecordingSink()
        c.baseline(driver.store.totals())
        driver.sinks += [c, d]
        F.feed(driver, [F.line(4, "hit"), F.line(5, "open y")])
        try driver.export(time: nil)
        let second: [MetricSample] = [.counter("hits", 1), .gauge("online", 2)]
        #expect(a.writes.last?.samples == second)
        #expect(b.writes.last?.samples == second)
        #expect(c.writes == [RecordingSink.Write(time: nil, samples: second)])
        #expect(d.writes == [RecordingSink.Write(time: nil, samples: [.counter("bytes", 7), .counter("hits", 3), .gauge("online", 2)])])

        // One sink's baseline leaves the others' deltas alone.
        F.feed(driver, [F.line(6, "hit"), F.line(7, "bytes 1")])
        b.baseline(driver.store.totals())
        try driver.export(time: nil)
        let third: [MetricSample] = [.counter("bytes", 1), .counter("hits", 1), .gauge("online", 2)]
        #expect(a.writes.last?.samples == third)
        #expect(b.writes.last?.samples == [.gauge("online", 2)])
        #expect(c.writes.last?.samples == third)
        #expect(d.writes.last?.samples == third)

        // The driver's baseline is every sink's.
        F.feed(driver, [F.line(8, "hit")])
        driver.baseline()
        try driver.export(time: nil)
        for sink in [a, b, c, d] { #expect(sink.writes.last?.samples == [.gauge("online", 2)]) }
    }

    @Test("time buckets over a window: the lines before it build state only (its gauges start with what they opened), nothing at or after its end touches the state")
    func windowedBuckets() throws {
        let dir = TemporaryDirectory("rm-driver")
        let log = dir.append("w.log", lines: [
            F.line(1, "hit"), F.line(2, "open a"), F.line(3, "bytes 100"),  // before the window
            F.line(10, "hit"), F.line(12, "open b"), F.line(15, "bytes 5"),  // bucket 10
            F.line(21, "hit"), F.line(22, "close a"), F.line(24, "hit"),  // bucket 20
            F.line(26, "hit"), F.line(27, "open c"), F.line(28, "bytes 9"),  // past the window's end (25)
        ])
        let first = RecordingWriter(), second = RecordingWriter()
        let influxPath = dir.file("out.influx")
        let influx = try InfluxSink(path: influxPath, encoder: InfluxEncoder(prefix: "realm.t"))
        let driver = Driver(engine: try F.engine(), sinks: [BucketSink(first), BucketSink(influx), BucketSink(second)],
                            clock: BucketClock(seconds: 10, sinceMillis: F.millis(10), untilMillis: F.millis(25)))
        let source = try FileLines(files: [log], workerPerFile: false, store: driver.store, maxLineBytes: 65536,
                                   timing: LineTiming(fallbackYear: 2020, zone: nil))
        #expect(try source.pump(driver, limit: .max) == 9)
        try driver.finish()
        let want = [
            Bucket(time: F.base + 10, samples: [.counter("bytes", 5), .counter("hits", 1), .gauge("online", 2)]),
            Bucket(time: F.base + 20, samples: [.counter("bytes", 0), .counter("hits", 2), .gauge("online", 1)]),
        ]
        #expect(first.buckets == want)
        #expect(second.buckets == want)
        #expect(first.finished && second.finished)
        #expect(driver.buckets == 2)
        #expect(driver.store.totals() == [.counter("bytes", 105), .counter("hits", 4), .gauge("online", 1)])
        #expect(contents(influxPath) == """
            realm.bytes,host=t,metric_type=counter value=5i \(F.base + 10)000000000
            realm.hits,host=t,metric_type=counter value=1i \(F.base + 10)000000000
            realm.online,host=t,metric_type=gauge value=2i \(F.base + 10)000000000
            realm.bytes,host=t,metric_type=counter value=0i \(F.base + 20)000000000
            realm.hits,host=t,metric_type=counter value=2i \(F.base + 20)000000000
            realm.online,host=t,metric_type=gauge value=1i \(F.base + 20)000000000

            """)
    }

    @Test("a window no line reaches: the summary lists every declared counter as zero and the statsd text the gauges the lines before it left; no bucket is written",
          arguments: ["lines before the window", "lines past its end"])
    func windowWithoutLines(where lines: String) throws {
        let before = lines == "lines before the window"
        let since: Int? = before ? 100 : nil, until: Int? = before ? nil : -10
        let dir = TemporaryDirectory("rm-driver")
        let log = dir.append("w.log", lines: [F.line(0, "hit"), F.line(1, "open a"), F.line(2, "bytes 5")])
        let summaryPath = dir.file("summary.json"), statsdPath = dir.file("out.statsd")
        let summaryOutput = fileWriter(summaryPath), statsdOutput = fileWriter(statsdPath)
        let writer = RecordingWriter()
        let driver = Driver(engine: try F.engine(),
                            sinks: [BucketSink(writer), SummarySink(output: summaryOutput, prefix: "realm.t"), StatsdTextSink(output: statsdOutput, prefix: "realm.t")],
                            clock: BucketClock(seconds: 10, sinceMillis: since.map(F.millis), untilMillis: until.map(F.millis)))
        let source = try FileLines(files: [log], workerPerFile: false, store: driver.store, maxLineBytes: 65536, timing: LineTiming(fallbackYear: 2020, zone: nil))
        _ = try source.pump(driver, limit: .max)
        try driver.finish()
        closeWriter(summaryOutput)
        closeWriter(statsdOutput)
        // Before the window the lines built state; past its end none was applied.
        let online: Int64 = before ? 1 : 0
        #expect(contents(summaryPath) == SummaryEncoder.json([.counter("bytes", 0), .counter("hits", 0), .gauge("online", online)], prefix: "realm.t"))
        #expect(contents(statsdPath) == "realm.t.online:\(online)|g\n")
        #expect(writer.buckets.isEmpty && writer.finished)
        #expect(driver.buckets == 0)
    }

    @Test("the end-of-input policy exports once, at the end, read in turn or on several threads", arguments: [1, 3])
    func endOfInputOnce(threads: Int) throws {
        let dir = TemporaryDirectory("rm-driver")
        let log = dir.append("w.log", lines: [F.line(0, "hit"), F.line(1, "open a"), F.line(2, "bytes 100"), F.line(3, "hit"), F.line(4, "open b"), F.line(5, "close a")])
        let recorder = RecordingSink()
        let outPath = dir.file("out.statsd")
        let output = fileWriter(outPath)
        let driver = Driver(engine: try F.engine(), sinks: [recorder, StatsdTextSink(output: output, prefix: "realm.t")])
        let source = try FileLines(files: [log], workerPerFile: false, store: driver.store, maxLineBytes: 65536, chunkBytes: 64, threads: threads)
        #expect(try source.pump(driver, limit: .max) == 6)
        #expect(recorder.writes.isEmpty, "nothing is exported before the end of the input")
        try driver.finish()
        closeWriter(output)
        #expect(recorder.writes == [RecordingSink.Write(time: nil, samples: [.counter("bytes", 100), .counter("hits", 2), .gauge("online", 1)])])
        #expect(recorder.finishes == 1)
        #expect(driver.buckets == 0)
        #expect(contents(outPath) == "realm.t.bytes:100|c\nrealm.t.hits:2|c\nrealm.t.online:1|g\n")
    }

    @Test("a sink whose write throws stops the job with that error: no line after the bucket that failed touches the state")
    func failingWriteStops() throws {
        let dir = TemporaryDirectory("rm-driver")
        let log = dir.append("w.log", lines: [F.line(0, "hit"), F.line(10, "hit"), F.line(11, "hit"), F.line(20, "hit"), F.line(21, "open a"), F.line(30, "hit")])
        let failing = RecordingWriter(failAt: 2)
        let driver = Driver(engine: try F.engine(), sinks: [BucketSink(failing), RecordingSink()], clock: BucketClock(seconds: 10, sinceMillis: nil, untilMillis: nil))
        let source = try FileLines(files: [log], workerPerFile: false, store: driver.store, maxLineBytes: 65536, timing: LineTiming(fallbackYear: 2020, zone: nil))
        let error = thrownError { () throws(RealmMetricsError) in _ = try source.pump(driver, limit: .max) }
        #expect(error?.code == .output)
        #expect(error?.message == failing.failure.message)
        #expect(failing.buckets == [Bucket(time: F.base, samples: [.counter("bytes", 0), .counter("hits", 1), .gauge("online", 0)])])
        #expect(driver.engine.stats.linesRead == 3, "the line that closed the bucket that failed and those after it are not applied")
        #expect(driver.store.totals() == [.counter("bytes", 0), .counter("hits", 3), .gauge("online", 0)])
    }

    @Test("an output that cannot be written at the end is the job's error, never done", arguments: ["statsd", "summary", "writer"])
    func failingEnd(sink kind: String) throws {
        let full = FDWriter(fd: open("/dev/full", O_WRONLY | O_CLOEXEC))
        defer { close(full.fd) }
        let writer = RecordingWriter(failAtFinish: true)
        let sink: MetricSink = switch kind {
        case "statsd": StatsdTextSink(output: full, prefix: "realm.t")
        case "summary": SummarySink(output: full, prefix: "realm.t")
        default: BucketSink(writer)
        }
        let after = RecordingSink()
        let driver = Driver(engine: try F.engine(), sinks: [sink, after], clock: kind == "writer" ? BucketClock(seconds: 10, sinceMillis: nil, untilMillis: nil) : nil)
        let worker = driver.worker("w")
        for line in [F.line(0, "hit"), F.line(1, "open a")] {
            _ = try Array(line.utf8).withUnsafeBufferPointer { (p) throws(RealmMetricsError) -> Bool in
                try driver.processTimed(p.baseAddress!, p.count, worker: worker, fallbackYear: 2020, zone: nil)
            }
        }
        let error = thrownError { () throws(RealmMetricsError) in try driver.finish() }
        #expect(error?.code == .output)
        #expect(error?.message.contains(kind == "writer" ? "recorder: cannot write" : "output: cannot write: No space left on device") == true, "\(String(describing: error))")
    }
}
