/// A mark on the time line: a worker's life started (a start banner), ended (a stop line), or a new
/// worker appeared after the first bucket (a new process in the journal: a new `_PID`).
public struct WorkerLifeEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case start, stop, appeared }
    /// The start (seconds since the epoch) of the backfill bucket the event happened in.
    public var time: Int64
    public var worker: String
    public var kind: Kind

    public init(time: Int64, worker: String, kind: Kind) {
        self.time = time
        self.worker = worker
        self.kind = kind
    }
}

/// Everything a report keeps of the backfill buckets, compactly, until the end of the input: the
/// start of each bucket that had lines, and per metric only what changed (counter deltas that are not
/// zero, gauge values that differ from the bucket before), the timer and histogram values per bucket,
/// and the life events. Memory grows with what happened, not with the span of the log. At the end
/// ``timeline(maxBuckets:)`` merges the buckets into at most a given number.
public struct ReportRecorder: Sendable {
    public let bucketSeconds: Int64
    /// Starts (seconds since the epoch) of the buckets recorded, increasing.
    public private(set) var times: [Int64] = []
    private var counters: [String: [(Int32, Int64)]] = [:]
    /// Per series ("" the host, else a worker key), per gauge: its changes.
    private var gauges: [String: [String: [(Int32, Int64)]]] = [:]
    private var lastGauges: [String: [String: Int64]] = [:]
    private var distributions: [String: (kind: DistributionKind, values: [(Int32, [Int64])])] = [:]
    public private(set) var events: [WorkerLifeEvent] = []

    public init(bucketSeconds: Int64) { self.bucketSeconds = max(1, bucketSeconds) }

    /// Records the bucket starting at `time` (later than every bucket recorded before; an earlier or
    /// equal one is merged into the last): the counters' deltas, the host gauges, each worker's gauges
    /// (`workers`: worker key → gauge → value), the values of timers and histograms, and life events.
    public mutating func add(time: Int64, counterDeltas: [(String, Int64)], gauges host: [(String, Int64)],
                             workers: [(String, [(String, Int64)])] = [], distributions values: [Distribution] = [],
                             events newEvents: [(WorkerLifeEvent.Kind, String)] = []) {
        if times.isEmpty || time > times[times.count - 1] { times.append(time) }
        let b = Int32(times.count - 1)
        let at = times[Int(b)]
        for (name, delta) in counterDeltas where delta != 0 {
            if var list = counters[name], let last = list.last, last.0 == b {
                list[list.count - 1].1 += delta
                counters[name] = list
            } else {
                counters[name, default: []].append((b, delta))
            }
        }
        record(series: "", host, b)
        for (key, values) in workers { record(series: key, values, b) }
        for d in values where !d.values.isEmpty {
            var entry = distributions[d.name] ?? (d.kind, [])
            if let last = entry.values.last, last.0 == b {
                entry.values[entry.values.count - 1].1 += d.values
            } else {
                entry.values.append((b, d.values))
            }
            distributions[d.name] = entry
        }
        for (kind, worker) in newEvents { events.append(WorkerLifeEvent(time: at, worker: worker, kind: kind)) }
    }

    private mutating func record(series: String, _ values: [(String, Int64)], _ b: Int32) {
        for (name, value) in values {
            if let last = lastGauges[series]?[name], last == value { continue }
            lastGauges[series, default: [:]][name] = value
            if var list = gauges[series]?[name], let l = list.last, l.0 == b {
                list[list.count - 1].1 = value
                gauges[series]![name] = list
            } else {
                gauges[series, default: [:]][name, default: []].append((b, value))
            }
        }
    }

    /// The width the buckets are merged to: the smallest multiple of `base` seconds whose buckets
    /// (aligned to multiples of the width since the epoch, as backfill aligns its own) cover `first`
    /// to `last` (bucket starts, seconds) in at most `maxBuckets`.
    public static func mergedWidth(base: Int64, first: Int64, last: Int64, maxBuckets: Int) -> Int64 {
        let base = max(1, base), limit = Int64(max(1, maxBuckets))
        let slots = (last - first) / base + 1
        var k = max(1, (slots + limit - 1) / limit)
        while count(first: first, last: last, width: k * base) > limit { k += 1 }
        return k * base
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func count(first: Int64, last: Int64, width: Int64) -> Int64 {
        floorDiv(last, width) - floorDiv(first, width) + 1
    }

    /// The buckets merged to at most `maxBuckets` of one width (``mergedWidth(base:first:last:maxBuckets:)``),
    /// every series dense over them: a counter's deltas summed, a gauge's value at the merged bucket's
    /// end (carried over buckets without lines; a worker's gauge is nil before the worker's first
    /// bucket), a distribution's values pooled and summarised. Nil when no bucket was recorded.
    public func timeline(maxBuckets: Int) -> ReportTimeline? {
        guard let first = times.first, let last = times.last else { return nil }
        let width = ReportRecorder.mergedWidth(base: bucketSeconds, first: first, last: last, maxBuckets: maxBuckets)
        let start = ReportRecorder.floorDiv(first, width) * width
        let n = Int(ReportRecorder.count(first: first, last: last, width: width))
        let slot = times.map { Int(($0 - start) / width) }
        var counterSeries: [ReportTimeline.Series] = []
        for name in counters.keys.sorted() {
            var values = [Int64?](repeating: 0, count: n)
            for (b, delta) in counters[name]! { values[slot[Int(b)]]! += delta }
            counterSeries.append(.init(name: name, values: values))
        }
        func dense(_ changes: [(Int32, Int64)], startAtZero: Bool) -> [Int64?] {
            var values = [Int64?](repeating: nil, count: n)
            var current: Int64? = startAtZero ? 0 : nil
            var c = 0
            for i in 0..<n {
                while c < changes.count && slot[Int(changes[c].0)] <= i {
                    current = changes[c].1
                    c += 1
                }
                values[i] = current
            }
            return values
        }
        var gaugeSeries: [ReportTimeline.GaugeSeries] = []
        let host = gauges[""] ?? [:]
        let workerKeys = gauges.keys.filter { !$0.isEmpty }.sorted()
        for name in host.keys.sorted() {
            let workers = workerKeys.compactMap { key in gauges[key]?[name].map { ReportTimeline.Series(name: key, values: dense($0, startAtZero: false)) } }
            gaugeSeries.append(.init(name: name, host: dense(host[name]!, startAtZero: true), workers: workers))
        }
        var distributionSeries: [ReportTimeline.DistributionSeries] = []
        for name in distributions.keys.sorted() {
            let entry = distributions[name]!
            var pooled = [[Int64]](repeating: [], count: n)
            for (b, values) in entry.values { pooled[slot[Int(b)]] += values }
            distributionSeries.append(.init(name: name, kind: entry.kind, buckets: pooled.map(BucketStats.init)))
        }
        let marks = events.map { ReportTimeline.Mark(bucket: Int(($0.time - start) / width), event: $0) }
        return ReportTimeline(baseSeconds: bucketSeconds, bucketSeconds: width, start: start, count: n, recordedBuckets: times.count,
                              counters: counterSeries, gauges: gaugeSeries, distributions: distributionSeries, marks: marks)
    }
}

/// Count, minimum, median, 90th percentile and maximum of the values of one bucket (nearest rank:
/// the value at rank ⌈q·count⌉ of the sorted values); nil for a bucket without values.
public struct BucketStats: Sendable, Equatable {
    public var count: Int
    public var min: Int64
    public var p50: Int64
    public var p90: Int64
    public var max: Int64

    public init?(_ values: [Int64]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func rank(_ q: Double) -> Int64 { sorted[Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)] }
        count = sorted.count
        min = sorted[0]
        p50 = rank(0.5)
        p90 = rank(0.9)
        max = sorted[sorted.count - 1]
    }
}

/// The time line of a report: `count` buckets of `bucketSeconds` from `start` (seconds since the
/// epoch), every series with one value per bucket.
public struct ReportTimeline: Sendable, Equatable {
    public struct Series: Sendable, Equatable {
        public var name: String
        public var values: [Int64?]
    }
    public struct GaugeSeries: Sendable, Equatable {
        public var name: String
        public var host: [Int64?]
        /// Per worker key (sorted): its part of the gauge.
        public var workers: [Series]
    }
    public struct DistributionSeries: Sendable, Equatable {
        public var name: String
        public var kind: DistributionKind
        public var buckets: [BucketStats?]
    }
    public struct Mark: Sendable, Equatable {
        public var bucket: Int
        public var event: WorkerLifeEvent
    }

    /// The bucket the backfill used (`--bucket`), and the merged width.
    public var baseSeconds: Int64
    public var bucketSeconds: Int64
    public var start: Int64
    public var count: Int
    /// Buckets of `baseSeconds` that had lines.
    public var recordedBuckets: Int
    public var counters: [Series]
    public var gauges: [GaugeSeries]
    public var distributions: [DistributionSeries]
    public var marks: [Mark]
}
