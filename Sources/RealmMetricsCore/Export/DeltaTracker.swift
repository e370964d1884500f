/// What one exporter has already sent of each counter, so that it can send deltas: each sink owns one
/// (as a swift-metrics backend owns its state), and two sinks never fight over it. The store keeps only
/// totals (``MetricStore/totals()``); a tracker turns a reading of them into what is new since its
/// last one.
public struct DeltaTracker: Sendable, Equatable {
    /// The total of each counter as last taken, by name (names without the sink's prefix).
    public private(set) var sent: [String: Int64]

    /// A tracker that has sent `sent` already (empty: nothing, so the first deltas are the totals).
    public init(sent: [String: Int64] = [:]) {
        self.sent = sent
    }

    /// The counter deltas since the last call (non-zero ones only, unless `includeZero`) followed by
    /// every gauge as it is, in the order of `reading`; counters are then taken as sent. `reading` is
    /// counter totals and gauge values (``MetricStore/totals()``).
    public mutating func deltas(_ reading: [MetricSample], includeZero: Bool = false) -> [MetricSample] {
        var out: [MetricSample] = []
        out.reserveCapacity(reading.count)
        for sample in reading {
            switch sample.kind {
            case .counter:
                let delta = sample.value &- (sent[sample.name] ?? 0)
                if delta != 0 || includeZero { out.append(MetricSample(name: sample.name, kind: .counter, value: delta, tagged: sample.tagged)) }
                sent[sample.name] = sample.value
            case .gauge:
                out.append(sample)
            }
        }
        return out
    }

    /// Takes every counter of `reading` as sent: the next deltas report only what follows (after state
    /// rebuilt from history that must not be reported, or at the start of a backfill window).
    public mutating func baseline(_ reading: [MetricSample]) {
        for sample in reading where sample.kind == .counter { sent[sample.name] = sample.value }
    }
}
