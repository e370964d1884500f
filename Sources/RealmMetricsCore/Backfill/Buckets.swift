/// The metrics of one time bucket: counter deltas of the bucket and every gauge's value at its end,
/// stamped with the bucket's start (seconds since the epoch).
public struct Bucket: Sendable, Equatable {
    public var time: Int64
    public var samples: [MetricSample]
}

/// Cuts a time-ordered stream of lines into buckets of `seconds`, the way statsd flushes: call
/// ``advance(toMillis:)`` with each line's time *before* the line is processed; when the time enters a
/// new bucket the previous one is closed and returned. Lines before `sinceMillis` build state only:
/// nothing of them is reported, but the gauges they open are (a window that cuts through a worker life
/// starts with the sessions already open).
public final class BucketClock {
    public let seconds: Int64
    public let sinceMillis: Int64?
    public let untilMillis: Int64?
    let store: MetricStore
    /// Start (ms) of the bucket being filled; nil before the first reported line.
    public private(set) var current: Int64?
    /// The line is inside the window.
    public private(set) var inWindow = false

    public init(store: MetricStore, seconds: Int64, sinceMillis: Int64?, untilMillis: Int64?) {
        self.store = store
        self.seconds = max(1, seconds)
        self.sinceMillis = sinceMillis
        self.untilMillis = untilMillis
    }

    /// Where a line at `time` (ms) falls: before the window (state only), in it, or after it (stop).
    public enum Position { case before, inside, after }

    /// Moves the clock to a line at `time` (nil: a line without a time, which belongs with the line
    /// before it). Returns the buckets that this closes.
    public func advance(toMillis time: Int64?) -> (Position, Bucket?) {
        guard let time else { return (inWindow ? .inside : (current == nil ? .before : .inside), nil) }
        if let untilMillis, time > untilMillis { return (.after, nil) }
        if let sinceMillis, time < sinceMillis { return (.before, nil) }
        let width = seconds * 1000
        let start = time - ((time % width) + width) % width
        if !inWindow {
            // Entering the window: what came before was state only.
            inWindow = true
            store.markAllFlushed()
            current = start
            return (.inside, nil)
        }
        guard let current, start > current else { return (.inside, nil) }
        let closed = Bucket(time: current / 1000, samples: store.flush())
        self.current = start
        return (.inside, closed)
    }

    /// Closes the last bucket (at the end of the input).
    public func finish() -> Bucket? {
        guard inWindow, let current else { return nil }
        self.current = nil
        return Bucket(time: current / 1000, samples: store.flush())
    }
}

/// Graphite plaintext (`path value timestamp`). `statsd` naming writes what a stock statsd writes to
/// Graphite (`stats.counters.<name>.count` and `.rate`, `stats.gauges.<name>`), so backfilled and live
/// series line up; `plain` writes `<name>`.
public struct GraphiteEncoder: Sendable {
    public enum Naming: String, Sendable, CaseIterable { case statsd, plain }
    public let prefix: String
    public let naming: Naming
    public let bucketSeconds: Int64

    public init(prefix: String, naming: Naming, bucketSeconds: Int64) {
        self.prefix = prefix
        self.naming = naming
        self.bucketSeconds = bucketSeconds
    }

    public func lines(_ bucket: Bucket) -> [String] {
        let statsd = StatsdEncoder(prefix: prefix)
        var out: [String] = []
        for s in bucket.samples {
            let name = statsd.fullName(s.name)
            switch (naming, s.kind) {
            case (.statsd, .counter):
                out.append("stats.counters.\(name).count \(s.value) \(bucket.time)")
                out.append("stats.counters.\(name).rate \(formatRate(Double(s.value) / Double(bucketSeconds))) \(bucket.time)")
            case (.statsd, .gauge):
                out.append("stats.gauges.\(name) \(max(0, s.value)) \(bucket.time)")
            case (.plain, _):
                out.append("\(name) \(s.kind == .gauge ? max(0, s.value) : s.value) \(bucket.time)")
            }
        }
        return out
    }

    func formatRate(_ v: Double) -> String {
        v == v.rounded() ? String(Int64(v)) : String(v)
    }
}

/// DogStatsD with timestamps: `name:value|c|T<unix>` and `name:value|g|T<unix>`.
public struct DogStatsdEncoder: Sendable {
    public let prefix: String
    public init(prefix: String) { self.prefix = prefix }

    public func lines(_ bucket: Bucket) -> [String] {
        let statsd = StatsdEncoder(prefix: prefix)
        return bucket.samples.map { "\(statsd.line($0))|T\(bucket.time)" }
    }
}

/// InfluxDB line protocol: `<name>,kind=counter value=<n>i <unix ns>`.
public struct InfluxEncoder: Sendable {
    public let prefix: String
    public init(prefix: String) { self.prefix = prefix }

    public func lines(_ bucket: Bucket) -> [String] {
        let statsd = StatsdEncoder(prefix: prefix)
        return bucket.samples.map { "\(statsd.fullName($0.name)),kind=\($0.kind.rawValue) value=\($0.kind == .gauge ? max(0, $0.value) : $0.value)i \(bucket.time)000000000" }
    }
}
