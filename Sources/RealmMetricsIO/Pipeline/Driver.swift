#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// The one pipeline of every job (`run`, `replay`, `backfill`):
///
///     source ──(line, worker key, time)──▶ worker identity ──▶ engine: classify, apply ──▶ store
///     at each tick of the job's flush policy: the store's reading ──▶ each sink (its own deltas)
///
/// A ``LineSource`` hands lines to ``process(_:_:worker:)`` (or, placed in time first,
/// ``processTimed(_:_:worker:fallbackYear:zone:)`` and ``place(timeMillis:)``). The flush policy is the
/// job's: the end of the input (``finish()``), time buckets the lines' times cross (a ``BucketClock``
/// given at creation: each closed bucket is exported with its time), or every flush interval (`run`
/// hands the store's reading to its statsd sink itself, with the checkpoint prepared between the
/// reading and the send, see ``LiveRunner/flush()``; the driver gives that sink its baselines). One
/// owner: everything runs on the calling thread; the threaded classifier of bounded input
/// (``ParallelReplay``) applies through the same engine.
final class Driver {
    /// The one "each pattern set in turn" rule over the store (replaced by a reload of `run`).
    private(set) var engine: PipelineChain
    var store: MetricStore { engine.store }
    var sinks: [MetricSink]
    /// The time-bucket policy's clock; nil for the other policies.
    private(set) var clock: BucketClock?
    /// Buckets exported so far (time-bucket policy), the empty ones of gaps included.
    private(set) var buckets = 0
    /// The most empty buckets exported for one gap between two lines (time-bucket policy):
    /// ``maxGapBuckets``.
    var maxGapBuckets = Driver.maxGapBuckets
    /// 8,640: a day of 10 s buckets.
    static let maxGapBuckets: Int64 = 8640
    /// Empty buckets of gaps longer than ``maxGapBuckets`` that were not exported.
    private(set) var skippedGapBuckets: Int64 = 0
    /// Lines placed in time that carried no time of their own (they belong with the line before).
    private(set) var untimedLines: Int64 = 0
    /// Sees every line with its worker and outcome after it was applied (the layout probe of `run`).
    var observer: ((UnsafePointer<UInt8>, Int, Int, LineOutcome) -> Void)?
    /// Sees every line that no rule matched (outcome `.unmatched` or `.envelopeMismatch`) after it
    /// was counted, with the hash of its shape (``LineShape/hash(_:)``; the report's shapes); the
    /// threaded reader of files hands these lines on too (``ParallelReplay/unmatchedObserver``).
    var unmatchedObserver: ((UnsafePointer<UInt8>, Int, LineOutcome, UInt64) -> Void)?
    /// The worker id of the last key asked for: consecutive lines nearly always share it.
    private var lastWorker: (key: String, id: Int) = ("", -1)

    init(engine: PipelineChain, sinks: [MetricSink], clock: BucketClock? = nil) {
        self.engine = engine
        self.sinks = sinks
        self.clock = clock
        Driver.setLineClock(engine)
    }

    /// Spans (`timer_start` / `timer_stop`) read line times with this year for layouts without one
    /// and local times in the machine's zone (a backfill sets its own, see ``BackfillJob``).
    static func setLineClock(_ engine: PipelineChain) {
        guard engine.hasSpans else { return }
        engine.setLineClock(fallbackYear: currentUTCYear(), zone: engine.hasLocalTimes ? WallClockZone.machine() : nil)
    }

    /// The worker slot of `key` (a file path's `file:…`, a journal life's `unit:…/pid`, `replay`).
    @inline(__always)
    func worker(_ key: String) -> Int {
        store.workerID(key, remembering: &lastWorker)
    }

    /// After workers were removed from the store: ids asked for before are stale.
    func forgetWorkers() { lastWorker = ("", -1) }

    /// Classifies and applies one line of `worker`.
    @inline(__always) @discardableResult
    func process(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int) -> LineOutcome {
        let outcome = engine.process(start, length, worker: worker)
        observe(start, length, worker, outcome)
        return outcome
    }

    /// Hands an applied line to the observers that are set.
    @inline(__always)
    private func observe(_ start: UnsafePointer<UInt8>, _ length: Int, _ worker: Int, _ outcome: LineOutcome) {
        if let observer { observer(start, length, worker, outcome) }
        if let unmatchedObserver, outcome.isUnmatched { unmatchedObserver(start, length, outcome, LineShape.hash(UnsafeBufferPointer(start: start, count: length))) }
    }

    /// Moves the time-bucket clock to `timeMillis` (nil: a line without a time), exporting the bucket
    /// this closes and setting the sinks' baseline when the window starts; false once the time is past
    /// the window (nothing at or after it may touch the state).
    @inline(__always)
    func place(timeMillis: Int64?) throws(RealmMetricsError) -> Bool {
        guard var clock else { return true }
        let (position, transition) = clock.advance(toMillis: timeMillis)
        self.clock = clock
        switch transition {
        case .entered: baseline()
        case let .closed(time):
            try exportBucket(time)
            try exportGap(after: time, before: clock.current.map { $0 / 1000 } ?? time)
        case nil: break
        }
        if position == .after { return false }
        if timeMillis == nil { untimedLines += 1 }
        return true
    }

    /// A line whose time is in its envelope: placed in time, then processed, with one envelope split
    /// for both; false once past the window.
    @inline(__always)
    func processTimed(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, fallbackYear: Int, zone: WallClockZone?) throws(RealmMetricsError) -> Bool {
        let outcome = try engine.processTimed(start, length, worker: worker, fallbackYear: fallbackYear, zone: zone) { (t: Int64?) throws(RealmMetricsError) -> Bool in
            try place(timeMillis: t)
        }
        guard let outcome else { return false }
        observe(start, length, worker, outcome)
        return true
    }

    /// Everything counted so far is history for every sink (`run`'s silent catch-up, a backfill
    /// window's start).
    func baseline() {
        let reading = store.totals()
        _ = store.takeDistributions()
        for sink in sinks { sink.baseline(reading) }
    }

    /// Hands the store's reading, and the timer and histogram values recorded since the last export,
    /// to every sink: a flush (`time` nil) or the bucket starting at `time`.
    func export(time: Int64?) throws(RealmMetricsError) {
        try write(store.totals(), store.takeDistributions(), time: time)
    }

    private func write(_ reading: [MetricSample], _ distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        for sink in sinks { try sink.write(reading, distributions: distributions, time: time) }
    }

    private func exportBucket(_ time: Int64) throws(RealmMetricsError) {
        buckets += 1
        try export(time: time)
    }

    /// The buckets between the closed one at `closed` and the one a line just opened at `next`
    /// (seconds), which no line fell into: statsd flushes every interval, so each is exported as it
    /// stands (counters 0, gauges unchanged), at most ``maxGapBuckets`` of them right after `closed`;
    /// the rest of a longer gap gets no point (counted in ``skippedGapBuckets``).
    private func exportGap(after closed: Int64, before next: Int64) throws(RealmMetricsError) {
        guard let width = clock?.seconds, next - closed > width else { return }
        let empty = (next - closed) / width - 1
        let written = min(empty, maxGapBuckets)
        skippedGapBuckets += empty - written
        // Nothing changes in a gap: one reading (and the timers' empty lists) serves all its buckets.
        let reading = store.totals()
        let idle = store.takeDistributions()
        var time = closed
        for _ in 0..<written {
            time += width
            buckets += 1
            try write(reading, idle, time: time)
        }
    }

    /// The end of the input: the last bucket (time-bucket policy) or the one reading of the input
    /// (end-of-input policy), then each sink's end. A window no line reached has no bucket: everything
    /// read is history (each sink's baseline), so the sinks that report at the end report zero counts
    /// and the gauges as the lines before the window left them.
    func finish() throws(RealmMetricsError) {
        if var clock {
            if let last = clock.finish() { try exportBucket(last) } else { baseline() }
            self.clock = clock
        } else {
            try export(time: nil)
        }
        for sink in sinks { try sink.finish() }
    }

    /// Another engine over the same store (a reload of `run`); returns the one it replaces.
    @discardableResult
    func replaceEngine(_ next: PipelineChain) -> PipelineChain {
        precondition(next.store === store, "a new engine must work on the same store")
        Driver.setLineClock(next)
        defer { engine = next }
        return engine
    }
}

extension LineOutcome {
    /// No rule matched the line: its envelope fits and no rule does, or no envelope fits.
    var isUnmatched: Bool {
        switch self {
        case .unmatched, .envelopeMismatch: true
        default: false
        }
    }
}

/// Checks that `prefix` can start metric names (`what` names it in the error: `prefix`, `own metrics
/// prefix`); every job checks its prefixes with it.
func checkPrefix(_ prefix: String, _ what: String = "prefix", code: RealmMetricsError.Code = .usage) throws(RealmMetricsError) {
    guard MetricName.isValidPath(prefix) else {
        throw RealmMetricsError(code, "\(what) '\(prefix)' must be dot-separated parts of letters, digits, _ and -")
    }
}
