/// How a distribution is sent: a statsd timer (`|ms`) or histogram (`|h`). Both are a sample per line;
/// statsd computes count, sum, percentiles and so on per flush.
public enum DistributionKind: String, Sendable, Codable {
    case timer, histogram

    /// The statsd type of one sample.
    public var statsdType: String {
        switch self {
        case .timer: "ms"
        case .histogram: "h"
        }
    }
}

/// The values a timer or histogram recorded since they were last taken (``MetricStore/takeDistributions()``),
/// in the order of the lines, with the figures every output derives from them.
public struct Distribution: Sendable, Equatable {
    public let name: String
    public let kind: DistributionKind
    public var values: [Int64]
    /// The name with its tags, when the rule gives them.
    public var tagged: String? = nil

    public init(name: String, kind: DistributionKind, values: [Int64]) {
        self.name = name
        self.kind = kind
        self.values = values
    }

    public var count: Int { values.count }
    public var sum: Int64 { values.reduce(0, &+) }
    public var min: Int64? { values.min() }
    public var max: Int64? { values.max() }

    /// The values of `other` (of the same name and kind) after these.
    public mutating func append(_ other: Distribution) {
        values += other.values
    }

    /// Count, sum, min and max together (for summaries that span many flushes).
    public struct Totals: Sendable, Equatable {
        public var count: Int64 = 0
        public var sum: Int64 = 0
        public var min: Int64? = nil
        public var max: Int64? = nil

        public init() {}

        public mutating func add(_ d: Distribution) {
            count += Int64(d.count)
            sum &+= d.sum
            if let m = d.min { min = Swift.min(min ?? m, m) }
            if let m = d.max { max = Swift.max(max ?? m, m) }
        }
    }

    /// What stock statsd writes to Graphite for a timer per flush: `count`, `sum`, `lower`, `upper`,
    /// `mean`, `median`, `upper_90`, `mean_90`, `sum_90`, `count_90`, `std` (population), and
    /// `count_ps` (per second of a flush of `seconds`), in that order. Empty for no values.
    public func statsdTimerFigures(flushSeconds seconds: Int64) -> [(String, Double)] {
        guard !values.isEmpty else { return [] }
        let sorted = values.sorted().map(Double.init)
        let n = sorted.count
        let total = sorted.reduce(0, +)
        let mean = total / Double(n)
        let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        // statsd's percentile: the values up to round(90% of n), at least one.
        let kept = Swift.max(1, Int((Double(n) * 0.9).rounded()))
        let head = sorted.prefix(kept)
        let sum90 = head.reduce(0, +)
        let variance = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        return [("count", Double(n)), ("sum", total), ("lower", sorted[0]), ("upper", sorted[n - 1]), ("mean", mean), ("median", median),
                ("upper_90", head.last!), ("mean_90", sum90 / Double(kept)), ("sum_90", sum90), ("count_90", Double(kept)),
                ("std", variance.squareRoot()), ("count_ps", Double(n) / Double(Swift.max(1, seconds)))]
    }
}
