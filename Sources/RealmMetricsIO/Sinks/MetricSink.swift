#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Where a job's metrics go. A sink gets readings of the store (every counter's total and every
/// gauge's value, ``MetricStore/totals()``) and owns what it has already sent of them (a
/// ``DeltaTracker``), so several sinks of one job never disturb each other.
protocol MetricSink: AnyObject {
    /// Everything counted up to `reading` is history: what the sink reports starts from it.
    func baseline(_ reading: [MetricSample])
    /// The store as it stands at the end of a time bucket that started at `time` (seconds since the
    /// epoch), or at a flush (nil), with the values timers and histograms recorded since the last
    /// export (each value is handed to every sink once; a sink that sends no timers ignores them).
    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError)
    /// The end of the input: writes what is left and throws what could not be written.
    func finish() throws(RealmMetricsError)
}

/// The values of timers and histograms gathered over several exports (for the outputs written at the
/// end), every declared one listed even when it recorded nothing.
struct DistributionLog {
    private(set) var all: [String: Distribution] = [:]

    mutating func add(_ distributions: [Distribution]) {
        for d in distributions { all[d.name, default: Distribution(name: d.name, kind: d.kind, values: [])].append(d) }
    }

    /// Forgets the values gathered (history before a baseline), keeping the names.
    mutating func clear() {
        for name in all.keys { all[name]!.values.removeAll() }
    }

    /// Sorted by name.
    var sorted: [Distribution] { all.keys.sorted().map { all[$0]! } }
}

/// Writes one time bucket (counter deltas and gauge values, stamped) somewhere: Graphite, DogStatsD,
/// Influx line protocol.
protocol BucketWriter: AnyObject {
    func write(_ bucket: Bucket) throws(RealmMetricsError)
    func finish() throws(RealmMetricsError)
}

/// A ``BucketWriter`` as a sink: turns each reading into the bucket's deltas with its own tracker,
/// every counter the reading has (every declared one) in every bucket, 0 when it did not move, as
/// statsd flushes a known counter (so backfilled and live series look alike); with `separateKinds`, for an output that keeps one kind per name, a gauge sharing a counter's name
/// is renamed (``Swift/Array/separatingKinds()``).
final class BucketSink: MetricSink {
    let writer: BucketWriter
    let separateKinds: Bool
    private var tracker = DeltaTracker()

    init(_ writer: BucketWriter, separateKinds: Bool = false) {
        self.writer = writer
        self.separateKinds = separateKinds
    }

    func baseline(_ reading: [MetricSample]) { tracker.baseline(reading) }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        precondition(time != nil, "a bucket writer takes time buckets only")
        try writer.write(Bucket(time: time ?? 0, samples: tracker.deltas(separateKinds ? reading.separatingKinds() : reading, includeZero: true), distributions: distributions))
    }

    func finish() throws(RealmMetricsError) { try writer.finish() }
}

/// What a sink that writes once, at the end of the input, keeps: the last reading (or the baseline
/// when none was written after it: a window no line reached), what was sent at the baseline, and the
/// timer and histogram values since it.
final class EndOfInputState {
    private(set) var tracker = DeltaTracker()
    private(set) var last: [MetricSample]? = nil
    private(set) var values = DistributionLog()

    func baseline(_ reading: [MetricSample]) {
        tracker.baseline(reading)
        last = reading
        values.clear()
    }

    func take(_ reading: [MetricSample], _ distributions: [Distribution]) {
        last = reading
        values.add(distributions)
    }

    /// The counters' deltas since the baseline (zeros too with `includeZero`) and every gauge, of
    /// `reading` (the last one when nil).
    func deltas(of reading: [MetricSample]? = nil, includeZero: Bool = false) -> [MetricSample] {
        var tracker = tracker
        return tracker.deltas(reading ?? last ?? [], includeZero: includeZero)
    }
}

/// statsd text at the end of the input: the counters' deltas since the baseline (those that are not
/// zero) and every gauge, one line each (`replay`, and `replay --since` to standard output), then each
/// timer and histogram value.
final class StatsdTextSink: MetricSink {
    let output: FDWriter
    let encoder: StatsdEncoder
    private let state = EndOfInputState()

    init(output: FDWriter, prefix: String, tags: TagStyle = .none) {
        self.output = output
        encoder = StatsdEncoder(prefix: prefix, tags: tags)
    }

    func baseline(_ reading: [MetricSample]) { state.baseline(reading) }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        state.take(reading, distributions)
    }

    /// The counters and gauges, then each value of the timers and histograms (`name:v|ms`), as statsd
    /// would have received them.
    func finish() throws(RealmMetricsError) {
        guard let last = state.last else { return }
        // With tags, the text is for a receiver that keeps one kind per name.
        for sample in state.deltas(of: encoder.tags == .none ? last : last.separatingKinds()) { output.write(encoder.line(sample) + "\n") }
        for d in state.values.sorted { for line in encoder.lines(d) { output.write(line + "\n") } }
        try output.finish(output.outputName)
    }
}

/// The JSON summary at the end of the input (`--summary`): every counter's delta since the baseline,
/// zeros included (every declared counter appears), every gauge, and each timer's and histogram's
/// count, sum, min and max.
final class SummarySink: MetricSink {
    let output: FDWriter
    let prefix: String
    private let state = EndOfInputState()

    init(output: FDWriter, prefix: String) {
        self.output = output
        self.prefix = prefix
    }

    func baseline(_ reading: [MetricSample]) { state.baseline(reading) }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        state.take(reading, distributions)
    }

    func finish() throws(RealmMetricsError) {
        let figures = state.values.sorted.map { d in
            var totals = Distribution.Totals()
            totals.add(d)
            return (name: d.name, kind: d.kind, totals: totals)
        }
        output.write(SummaryEncoder.json(state.deltas(includeZero: true), distributions: figures, prefix: prefix))
        try output.finish(output.outputName)
    }
}

extension FDWriter {
    /// What errors call this output.
    var outputName: String { fd == STDOUT_FILENO ? "standard output" : "output" }
}
