/// Graphite plaintext (`path value timestamp`). The namings are those of a stock statsd's Graphite
/// backend, so backfilled and live series line up; pick the one of the operator's statsd config
/// (`legacyNamespace` in its config.js):
/// - `statsd` (`legacyNamespace: false`): `stats.counters.<name>.count` and `.rate`,
///   `stats.gauges.<name>`, `stats.timers.<name>.*`;
/// - `statsd-legacy` (`legacyNamespace: true`, statsd's default): `stats_counts.<name>` (the count),
///   `stats.<name>` (the rate), `stats.gauges.<name>`, `stats.timers.<name>.*`;
/// - `plain`: `<name>`, and `<name>.count`, `.sum`, `.min`, `.max` for a timer or histogram (a gauge
///   sharing a counter's name gets `<name>.gauge` from the sink, ``Swift/Array/separatingKinds()``).
///
/// Timer figures are ``Distribution/statsdTimerFigures(flushSeconds:)``. As statsd flushes a known
/// counter that did not move as 0, the statsd namings write every counter of the bucket (the sink
/// hands them all) and, for a timer or histogram without values in it, what statsd writes for an idle
/// timer: `stats.timers.<name>.count 0` and `.count_ps 0`; `plain` writes nothing for it.
public struct GraphiteEncoder: Sendable {
    public enum Naming: String, Sendable, CaseIterable {
        case statsd
        case statsdLegacy = "statsd-legacy"
        case plain
    }
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
            case (.statsdLegacy, .counter):
                out.append("stats_counts.\(name) \(s.value) \(bucket.time)")
                out.append("stats.\(name) \(formatRate(Double(s.value) / Double(bucketSeconds))) \(bucket.time)")
            case (.statsd, .gauge), (.statsdLegacy, .gauge):
                out.append("stats.gauges.\(name) \(max(0, s.value)) \(bucket.time)")
            case (.plain, _):
                out.append("\(name) \(s.kind == .gauge ? max(0, s.value) : s.value) \(bucket.time)")
            }
        }
        for d in bucket.distributions {
            let name = statsd.fullName(d.name)
            switch naming {
            case .statsd, .statsdLegacy:
                if d.values.isEmpty {
                    out.append("stats.timers.\(name).count 0 \(bucket.time)")
                    out.append("stats.timers.\(name).count_ps 0 \(bucket.time)")
                    continue
                }
                for (figure, value) in d.statsdTimerFigures(flushSeconds: bucketSeconds) {
                    out.append("stats.timers.\(name).\(figure) \(formatRate(value)) \(bucket.time)")
                }
            case .plain where d.values.isEmpty:
                break
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

/// The unit of InfluxDB line-protocol timestamps (`--influx-precision`), named as InfluxDB 1.x's
/// `/write?precision=` takes it (`us` is written `u` there). Bucket times are whole seconds, so every
/// unit stores the same instant; the default is nanoseconds, InfluxDB's own default when no precision
/// is given (a wrong precision is refused as "time outside range" rather than stored in 1970).
public enum InfluxPrecision: String, Sendable, CaseIterable {
    case s, ms, us, ns

    /// The `precision=` value of InfluxDB 1.x's `/write`.
    public var writeParameter: String { self == .us ? "u" : rawValue }

    /// What a time in whole seconds is written with: the digits to append (`""`, `"000"`, ...).
    var zeros: String {
        switch self {
        case .s: ""
        case .ms: "000"
        case .us: "000000"
        case .ns: "000000000"
        }
    }
}

/// InfluxDB line protocol, the way Telegraf's statsd input writes what statsd clients send it (field
/// `value`, tag `metric_type`, the host a tag):
///
///     realm.session.started,host=web1,metric_type=counter value=3i 1588680000000000000
///     realm.session.online,host=web1,metric_type=gauge value=2i 1588680000000000000
///     realm.upload.ms,host=web1,metric_type=timing count=4i,sum=90i,lower=10i,upper=40i,mean=22.5 …
///
/// Names: the prefix's last part is the host (the `<hostname>` of the default `realm.<hostname>`), the
/// parts before it start the measurement, then the metric's own name: prefix `realm.web1` and metric
/// `session.online` give measurement `realm.session.online` and tag `host=web1`; a one-part prefix
/// (`realm`) starts the measurement and gives no host tag; an empty prefix gives the name alone. A
/// counter and a gauge of one name share the measurement and are told apart by `metric_type`
/// (`counter`, `gauge`, `timing`, `histogram`), so they are separate series. A rule's tags are tags
/// (`protocol.used,version=24` → measurement `realm.protocol.used`, tag `version=24`; a rule tag named
/// `host` or `metric_type` replaces this one). Tags are sorted by key. Measurements, tag keys and values
/// are escaped per the line protocol (`,` and space in a measurement, also `=` in tags, each after a
/// `\`). Timestamps are the bucket's start in `precision`. A timer or histogram is one point per
/// bucket with values (points of one series and time replace each other in InfluxDB).
public struct InfluxEncoder: Sendable {
    public let prefix: String
    public let precision: InfluxPrecision
    /// The first parts of every measurement (the prefix without its last part, or the prefix when it
    /// has one part).
    public let measurementPrefix: String
    /// The host tag's value (the prefix's last part), nil for a prefix of one part or none.
    public let host: String?

    public init(prefix: String, precision: InfluxPrecision = .ns) {
        self.prefix = prefix
        self.precision = precision
        (measurementPrefix, host) = MetricName.splitHost(prefix: prefix)
    }

    public func lines(_ bucket: Bucket) -> [String] {
        let time = " \(bucket.time)\(precision.zeros)"
        var out: [String] = []
        out.reserveCapacity(bucket.samples.count + bucket.distributions.count)
        for s in bucket.samples {
            let type = s.kind == .counter ? "counter" : "gauge"
            out.append(series(s.name, tagged: s.tagged, type: type) + " value=\(s.kind == .gauge ? max(0, s.value) : s.value)i" + time)
        }
        for d in bucket.distributions where !d.values.isEmpty {
            let type = d.kind == .timer ? "timing" : "histogram"
            let mean = Double(d.sum) / Double(d.count)
            out.append(series(d.name, tagged: d.tagged, type: type)
                       + " count=\(d.count)i,sum=\(d.sum)i,lower=\(d.min!)i,upper=\(d.max!)i,mean=\(mean)" + time)
        }
        return out
    }

    /// `measurement,tag=value,…` of metric `name` (tagged form `tagged`, nil without rule tags).
    func series(_ name: String, tagged: String?, type: String) -> String {
        let (base, written) = MetricName.tagParts(name, tagged: tagged)
        var tags = written
        if let host, !tags.contains(where: { $0.0 == "host" }) { tags.append(("host", host)) }
        if !tags.contains(where: { $0.0 == "metric_type" }) { tags.append(("metric_type", type)) }
        tags.sort { $0.0 < $1.0 }
        var out = InfluxEncoder.escape(measurementPrefix.isEmpty ? String(base) : "\(measurementPrefix).\(base)", tag: false)
        for (key, value) in tags {
            out += "," + InfluxEncoder.escape(key, tag: true) + "=" + InfluxEncoder.escape(value, tag: true)
        }
        return out
    }

    /// `text` escaped for a measurement (`,` and space) or a tag key or value (also `=`).
    public static func escape(_ text: String, tag: Bool) -> String {
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x20 || (tag && $0 == 0x3D) }) else { return text }
        var out = ""
        for c in text {
            if c == "," || c == " " || (tag && c == "=") { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
