/// Graphite plaintext (`path value timestamp`). `statsd` naming writes what a stock statsd writes to
/// Graphite (`stats.counters.<name>.count` and `.rate`, `stats.gauges.<name>`, `stats.timers.<name>.*`
/// for timers and histograms, see ``Distribution/statsdTimerFigures(flushSeconds:)``), so backfilled
/// and live series line up; `plain` writes `<name>`, and `<name>.count`, `.sum`, `.min`, `.max` for a
/// timer or histogram.
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
        for d in bucket.distributions where !d.values.isEmpty {
            let name = statsd.fullName(d.name)
            switch naming {
            case .statsd:
                for (figure, value) in d.statsdTimerFigures(flushSeconds: bucketSeconds) {
                    out.append("stats.timers.\(name).\(figure) \(formatRate(value)) \(bucket.time)")
                }
            case .plain:
                out.append("\(name).count \(d.count) \(bucket.time)")
                out.append("\(name).sum \(d.sum) \(bucket.time)")
                out.append("\(name).min \(d.min!) \(bucket.time)")
                out.append("\(name).max \(d.max!) \(bucket.time)")
            }
        }
        return out
    }

    /// A number as Graphite gets it: whole numbers without a fraction.
    func formatRate(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

/// DogStatsD with timestamps: `name:value|c|T<unix>`, `name:value|g|T<unix>`, and one
/// `name:value|ms|T<unix>` (or `|h`) per value of a timer (histogram).
public struct DogStatsdEncoder: Sendable {
    public let prefix: String
    public init(prefix: String) { self.prefix = prefix }

    public func lines(_ bucket: Bucket) -> [String] {
        let statsd = StatsdEncoder(prefix: prefix, tags: .dogstatsd)
        return bucket.samples.map { "\(statsd.line($0))|T\(bucket.time)" }
            + bucket.distributions.flatMap { statsd.lines($0).map { "\($0)|T\(bucket.time)" } }
    }
}

/// InfluxDB line protocol: `<name>,kind=counter value=<n>i <unix ns>`, and for a timer or histogram
/// one point per bucket, `<name>,kind=timer count=<n>i,sum=<s>i,min=<a>i,max=<b>i <unix ns>` (points of
/// one series and time replace each other in InfluxDB, so values are not written one by one).
public struct InfluxEncoder: Sendable {
    public let prefix: String
    public init(prefix: String) { self.prefix = prefix }

    public func lines(_ bucket: Bucket) -> [String] {
        // Tags as InfluxDB tags: the tagged form is `measurement,tag=value`.
        let statsd = StatsdEncoder(prefix: prefix, tags: .influx)
        return bucket.samples.map { "\(statsd.key($0.name, tagged: $0.tagged)),kind=\($0.kind.rawValue) value=\($0.kind == .gauge ? max(0, $0.value) : $0.value)i \(bucket.time)000000000" }
            + bucket.distributions.filter { !$0.values.isEmpty }.map {
                "\(statsd.key($0.name, tagged: $0.tagged)),kind=\($0.kind.rawValue) count=\($0.count)i,sum=\($0.sum)i,min=\($0.min!)i,max=\($0.max!)i \(bucket.time)000000000"
            }
    }
}
