import Foundation
@testable import RealmMetricsIO
import RealmMetricsCore

/// What the in-process tests of the driver and the jobs share: one small pattern file with UTC times,
/// lines stamped with it, and sinks and writers that record what they are given.
enum JobFixture {
    /// 2020-05-05T12:00:00Z, the time of ``line(_:_:)`` 0.
    static let base: Int64 = 1_588_680_000

    /// `hits` counts `hit` lines, `bytes` adds `bytes N`, `online` holds the keys of `open K` until
    /// `close K`; a line is `<UTC time> <message>`.
    static let patterns = """
        format: timed
        envelope:
          match: '^(?<time>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d) (?<message>.*)'
          time_format: '%Y-%m-%dT%H:%M:%S'
          timezone: utc
        rules:
          - name: hit
            match: '^hit$'
            actions: [{count: hits}]
          - name: bytes
            match: '^bytes (?<n>\\d+)$'
            actions: [{count: bytes, by: n}]
          - name: open
            match: '^open (?<k>\\w+)$'
            actions: [{open: online, key: '{k}'}]
          - name: close
            match: '^close (?<k>\\w+)$'
            actions: [{close: online, key: '{k}'}]
        """

    /// ``patterns`` as the pattern file `timed` (made anew each time: a provider is not Sendable).
    static var provider: InMemoryPatternFiles { InMemoryPatternFiles(["timed.yaml": patterns]) }

    static func engine() throws -> PipelineChain {
        PipelineChain(patternSets: try loadPatternSets(["timed"], provider: provider))
    }

    /// `message` stamped `seconds` after ``base``.
    static func line(_ seconds: Int, _ message: String) -> String {
        var t = time_t(base + Int64(seconds))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) \(message)"
    }

    /// Milliseconds since the epoch of ``line(_:_:)`` `seconds`.
    static func millis(_ seconds: Int) -> Int64 { (base + Int64(seconds)) * 1000 }

    /// Hands `lines` to `driver` as lines of worker `key`, untimed.
    static func feed(_ driver: Driver, _ lines: [String], worker key: String = "w") {
        let worker = driver.worker(key)
        for line in lines {
            Array(line.utf8).withUnsafeBufferPointer { _ = driver.process($0.baseAddress!, $0.count, worker: worker) }
        }
    }
}

/// A sink that keeps what it would report: each write's deltas (its own ``DeltaTracker``, as every
/// sink owns one), baselines and finishes.
final class RecordingSink: MetricSink {
    struct Write: Equatable {
        var time: Int64?
        var samples: [MetricSample]
    }

    private var tracker = DeltaTracker()
    private(set) var writes: [Write] = []
    private(set) var baselines = 0
    private(set) var finishes = 0

    func baseline(_ reading: [MetricSample]) {
        baselines += 1
        tracker.baseline(reading)
    }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        writes.append(Write(time: time, samples: tracker.deltas(reading)))
    }

    func finish() throws(RealmMetricsError) { finishes += 1 }
}

/// A bucket writer that keeps the buckets, and throws `failure` for bucket number `failAt` (counting
/// from 1) and every one after it, or at its finish with `failAtFinish`.
final class RecordingWriter: BucketWriter {
    private(set) var buckets: [Bucket] = []
    private(set) var finished = false
    var failAt: Int?
    var failAtFinish = false
    let failure = RealmMetricsError(.output, "recorder: cannot write: No space left on device; the output is incomplete")

    init(failAt: Int? = nil, failAtFinish: Bool = false) {
        self.failAt = failAt
        self.failAtFinish = failAtFinish
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        if let failAt, buckets.count + 1 >= failAt { throw failure }
        buckets.append(bucket)
    }

    func finish() throws(RealmMetricsError) {
        if failAtFinish { throw failure }
        finished = true
    }
}

extension Array where Element == MetricSample {
    /// name → value, for comparing readings and deltas.
    var byName: [String: Int64] { Dictionary(map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }) }
}

extension MetricSample {
    static func counter(_ name: String, _ value: Int64) -> MetricSample { MetricSample(name: name, kind: .counter, value: value) }
    static func gauge(_ name: String, _ value: Int64) -> MetricSample { MetricSample(name: name, kind: .gauge, value: value) }
}

/// The error `body` throws, nil when it returns.
func thrownError(_ body: () throws(RealmMetricsError) -> Void) -> RealmMetricsError? {
    do throws(RealmMetricsError) {
        try body()
        return nil
    } catch {
        return error
    }
}

/// A writer on `path`, created or emptied (closed by the caller through ``closeWriter(_:)``).
func fileWriter(_ path: String) -> FDWriter {
    FDWriter(fd: open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644))
}

func closeWriter(_ writer: FDWriter) {
    writer.flush()
    close(writer.fd)
}

func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
