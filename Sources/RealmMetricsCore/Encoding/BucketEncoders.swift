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
