/// Prometheus names for the dotted metric names, and the text formats Prometheus reads: the text
/// exposition format 0.0.4 that `run --prometheus-listen` serves at `/metrics`, and OpenMetrics with
/// timestamps for `promtool tsdb create-blocks-from openmetrics` (backfill).
///
/// The name rule: the prefix `realm.<host>` (more generally: a prefix of two or more components) gives
/// the namespace (every component but the last, joined by `_`) and the label `host` (the last);
/// a one-component prefix is the namespace alone. The metric name follows with its dots as `_`, any
/// character outside `[A-Za-z0-9_]` as `_`, and counters end in `_total`:
/// `realm.web1.session.online` → `realm_session_online{host="web1"}`,
/// `realm.web1.connection.started` → `realm_connection_started_total{host="web1"}`. A metric whose rule
/// gives tags is its tagged form's base name with the tags as labels (values percent-decoded):
/// `protocol.used,version=24` → `realm_protocol_used_total{host="web1",version="24"}`. A gauge whose
/// name would end in `_total` gets `_gauge` after it (`realm_connection_total_gauge`).
public struct PrometheusNames: Sendable, Equatable {
    /// The name every metric starts with (`realm`).
    public let namespace: String
    /// The `host` label's value, nil when the prefix has one component.
    public let host: String?

    public init(prefix: String) {
        let (rest, host) = MetricName.splitHost(prefix: prefix)
        namespace = rest.split(separator: ".").map { PrometheusNames.sanitize(String($0)) }.joined(separator: "_")
        self.host = host
    }

    /// A series: its family's name (the metric name without `_total`, `_bucket`, ...) and its labels
    /// (`host` first, then the tags in the order the rule gives them).
    public struct Series: Sendable, Hashable, Comparable {
        public let family: String
        public let labels: [Label]

        public static func < (a: Series, b: Series) -> Bool {
            a.family != b.family ? a.family < b.family : a.labels.lexicographicallyPrecedes(b.labels)
        }
    }

    public struct Label: Sendable, Hashable, Comparable {
        public let name: String
        public let value: String
        public static func < (a: Label, b: Label) -> Bool { (a.name, a.value) < (b.name, b.value) }
    }

    /// The series of metric `name` (its tagged form `tagged` when the rule gives tags); `within` is a
    /// sub-namespace (`sidecar` for the sidecar's own metrics).
    public func series(_ name: String, tagged: String? = nil, within: String? = nil) -> Series {
        let (base, written) = MetricName.tagParts(name, tagged: tagged)
        let tags = written.map { Label(name: PrometheusNames.labelName($0.key), value: PrometheusNames.percentDecoded($0.value)) }
        let components = [namespace, within ?? ""].filter { !$0.isEmpty } + [PrometheusNames.sanitize(base)]
        var labels: [Label] = []
        if let host { labels.append(Label(name: "host", value: host)) }
        labels += tags.filter { $0.name != "host" }
        return Series(family: components.joined(separator: "_"), labels: labels)
    }

    /// A gauge's series: a name ending in `_total` (`connection.total`), which Prometheus reserves for
    /// counters, gets `_gauge` after it (`realm_connection_total_gauge`).
    public static func gaugeSeries(_ series: Series) -> Series {
        series.family.hasSuffix("_total") ? Series(family: series.family + "_gauge", labels: series.labels) : series
    }

    /// `[A-Za-z0-9_]` kept, everything else (dots included) as `_`; a leading digit gets a `_` before it.
    public static func sanitize(_ text: String) -> String {
        var out = ""
        for u in text.unicodeScalars {
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "_"
            out.unicodeScalars.append(ok ? u : "_")
        }
        if let first = out.unicodeScalars.first, first >= "0" && first <= "9" { out = "_" + out }
        return out
    }

    static func labelName(_ text: String) -> String {
        let s = sanitize(text)
        return s.hasPrefix("__") ? "tag" + s : s
    }

    /// `%XX` sequences as bytes (tag values are percent-encoded in the tagged form), read as UTF-8.
    public static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count, let h = hex(utf8[i + 1]), let l = hex(utf8[i + 2]) {
                bytes.append(h << 4 | l)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The buckets of a Prometheus histogram (upper bounds, `le`; `+Inf` is implicit), fixed per kind:
/// timers (milliseconds) 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000;
/// histograms (counts and byte sizes) the powers of ten from 1 to 10⁹.
public enum PrometheusBuckets {
    public static let timer: [Int64] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000]
    public static let histogram: [Int64] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]

    public static func bounds(_ kind: DistributionKind) -> [Int64] {
        switch kind {
        case .timer: timer
        case .histogram: histogram
        }
    }
}

/// A cumulative Prometheus histogram of one timer or histogram: the count per bucket (not cumulative
/// here; the encoders add them up), the count and the sum of every value ever recorded. Kept by the
/// Prometheus outputs (and in the state file, so that `_count` and `_sum` never go back).
public struct PrometheusHistogram: Codable, Sendable, Equatable {
    public var kind: DistributionKind
    /// One count per bound of ``PrometheusBuckets/bounds(_:)``, then the values above the last.
    public var buckets: [Int64]
    public var count: Int64 = 0
    public var sum: Int64 = 0

    public init(kind: DistributionKind) {
        self.kind = kind
        buckets = Array(repeating: 0, count: PrometheusBuckets.bounds(kind).count + 1)
    }

    public mutating func add(_ values: [Int64]) {
        let bounds = PrometheusBuckets.bounds(kind)
        if buckets.count != bounds.count + 1 { buckets = Array(repeating: 0, count: bounds.count + 1) }
        for v in values {
            var i = 0
            while i < bounds.count && v > bounds[i] { i += 1 }
            buckets[i] += 1
            count += 1
            sum &+= v
        }
    }

    /// (`le` text, cumulative count) per bucket, `+Inf` last.
    public var cumulative: [(String, Int64)] {
        var running: Int64 = 0
        var out: [(String, Int64)] = []
        for (i, bound) in PrometheusBuckets.bounds(kind).enumerated() {
            running += buckets[i]
            out.append((String(bound), running))
        }
        out.append(("+Inf", count))
        return out
    }
}

/// Writes series in the Prometheus text exposition format (0.0.4) or in OpenMetrics: a family's
/// `# HELP` and `# TYPE` once, then its samples.
public struct PrometheusText {
    public enum Format: Sendable { case exposition, openMetrics }
    public let format: Format
    public private(set) var text = ""
    private var lastFamily: String? = nil

    public init(format: Format) { self.format = format }

    /// Starts family `family` of `type` (`counter`, `gauge`, `histogram`) unless it is the one written last.
    public mutating func family(_ family: String, type: String, help: String) {
        guard lastFamily != family else { return }
        lastFamily = family
        text += "# HELP \(family) \(PrometheusText.escapeHelp(help))\n# TYPE \(family) \(type)\n"
    }

    /// One sample: `name{labels} value [timestamp]` (`extra` labels after the series' own, as `le`).
    public mutating func sample(_ name: String, _ labels: [PrometheusNames.Label], extra: [PrometheusNames.Label] = [], value: Int64, time: Int64? = nil) {
        text += name
        let all = labels + extra
        if !all.isEmpty {
            text += "{" + all.map { "\($0.name)=\"\(PrometheusText.escapeLabel($0.value))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)"
        if let time { text += " \(time)" }
        text += "\n"
    }

    /// The samples of a histogram: `_bucket` per bound, `_count`, `_sum`.
    public mutating func histogram(_ series: PrometheusNames.Series, _ h: PrometheusHistogram, time: Int64? = nil) {
        for (le, count) in h.cumulative {
            sample(series.family + "_bucket", series.labels, extra: [PrometheusNames.Label(name: "le", value: le)], value: count, time: time)
        }
        sample(series.family + "_count", series.labels, value: h.count, time: time)
        sample(series.family + "_sum", series.labels, value: h.sum, time: time)
    }

    /// The text, ended as the format requires (OpenMetrics: `# EOF`).
    public func finished() -> String { format == .openMetrics ? text + "# EOF\n" : text }

    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeLabel(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// What `GET /metrics` shows: every counter of the store as `<family>_total` (its total since the
/// state began: it continues across restarts and reloads), every gauge, every timer and histogram as a
/// Prometheus histogram, and the sidecar's own metrics (`<namespace>_sidecar_*`). Sorted by family,
/// so the page is the same for the same state.
public struct PrometheusExposition {
    public let names: PrometheusNames
    /// The help of a metric by its (base) name; nil: a generic text naming the metric.
    public let help: (String) -> String?

    public init(names: PrometheusNames, help: @escaping (String) -> String?) {
        self.names = names
        self.help = help
    }

    public struct Own: Sendable {
        public let name: String
        public let kind: MetricKind
        public let help: String
        public let value: Int64
        public init(name: String, kind: MetricKind, help: String, value: Int64) {
            self.name = name
            self.kind = kind
            self.help = help
            self.value = value
        }
    }

    /// `distributions`: the histogram of each timer and histogram, by name and tagged form.
    public func render(_ samples: [MetricSample], distributions: [(name: String, tagged: String?, histogram: PrometheusHistogram)], own: [Own]) -> String {
        enum Entry {
            case sample(MetricSample)
            case histogram(PrometheusHistogram)
            case own(Own)
        }
        var entries: [(series: PrometheusNames.Series, type: String, base: String, entry: Entry)] = []
        for s in samples {
            let series = names.series(s.name, tagged: s.tagged)
            let base = MetricName.tagParts(s.name, tagged: s.tagged).base
            switch s.kind {
            case .counter: entries.append((PrometheusNames.Series(family: series.family + "_total", labels: series.labels), "counter", base, .sample(s)))
            case .gauge: entries.append((PrometheusNames.gaugeSeries(series), "gauge", base, .sample(s)))
            }
        }
        for d in distributions {
            let base = MetricName.tagParts(d.name, tagged: d.tagged).base
            entries.append((names.series(d.name, tagged: d.tagged), "histogram", base, .histogram(d.histogram)))
        }
        for o in own {
            let series = names.series(o.name, within: "sidecar")
            let family = o.kind == .counter ? series.family + "_total" : series.family
            entries.append((PrometheusNames.Series(family: family, labels: series.labels), o.kind == .counter ? "counter" : "gauge", o.name, .own(o)))
        }
        entries.sort { $0.series < $1.series }
        var out = PrometheusText(format: .exposition)
        var written = Set<PrometheusNames.Series>()
        // In the text format (0.0.4) a counter's family is its name with `_total`.
        for e in entries where written.insert(e.series).inserted {
            switch e.entry {
            case let .sample(s):
                out.family(e.series.family, type: e.type, help: help(e.base) ?? "\(e.base) (\(e.type))")
                out.sample(e.series.family, e.series.labels, value: s.kind == .gauge ? max(0, s.value) : s.value)
            case let .histogram(h):
                out.family(e.series.family, type: "histogram", help: help(e.base) ?? "\(e.base) (\(h.kind.rawValue))")
                out.histogram(e.series, h)
            case let .own(o):
                out.family(e.series.family, type: e.type, help: "realm-metrics: \(o.help)")
                out.sample(e.series.family, e.series.labels, value: o.value)
            }
        }
        return out.finished()
    }
}

/// A backfill in OpenMetrics for `promtool tsdb create-blocks-from openmetrics`: one sample per
/// bucket for every series seen so far, stamped with the bucket's time in seconds. Counters are
/// cumulative from 0 at the window's start (the buckets' deltas added up: `increase()` and `rate()`
/// read them as a scrape would); gauges are their value at the bucket's end; timers and histograms
/// are cumulative Prometheus histograms (``PrometheusBuckets``). OpenMetrics wants each family's
/// samples together and in time order, so the samples are kept until ``text()``.
public struct OpenMetricsBackfill {
    public let names: PrometheusNames
    public let help: (String) -> String?
    private var counters: [PrometheusNames.Series: (base: String, value: Int64)] = [:]
    private var gauges: [PrometheusNames.Series: (base: String, value: Int64)] = [:]
    private var histograms: [PrometheusNames.Series: (base: String, histogram: PrometheusHistogram)] = [:]
    /// Per series: (time, value) in bucket order; a histogram's are its cumulative states.
    private var points: [PrometheusNames.Series: [(Int64, Int64)]] = [:]
    private var histogramPoints: [PrometheusNames.Series: [(Int64, PrometheusHistogram)]] = [:]
    /// Samples taken so far.
    public private(set) var samples = 0

    public init(names: PrometheusNames, help: @escaping (String) -> String?) {
        self.names = names
        self.help = help
    }

    /// Takes one bucket (counter deltas, gauge values, the bucket's timer and histogram values).
    public mutating func add(_ bucket: Bucket) {
        for s in bucket.samples {
            let base = MetricName.tagParts(s.name, tagged: s.tagged).base
            let series = names.series(s.name, tagged: s.tagged)
            switch s.kind {
            case .counter: counters[series, default: (base, 0)].value &+= s.value
            case .gauge: gauges[PrometheusNames.gaugeSeries(series), default: (base, 0)].value = max(0, s.value)
            }
        }
        for d in bucket.distributions {
            let base = MetricName.tagParts(d.name, tagged: d.tagged).base
            histograms[names.series(d.name, tagged: d.tagged), default: (base, PrometheusHistogram(kind: d.kind))].histogram.add(d.values)
        }
        for (series, c) in counters { points[series, default: []].append((bucket.time, c.value)) }
        for (series, g) in gauges { points[series, default: []].append((bucket.time, g.value)) }
        for (series, h) in histograms { histogramPoints[series, default: []].append((bucket.time, h.histogram)) }
        samples += counters.count + gauges.count + histograms.count
    }

    /// The whole file: families sorted by name, each with `# HELP` and `# TYPE`, then `# EOF`.
    public func text() -> String {
        var out = PrometheusText(format: .openMetrics)
        var families: [(family: String, type: String, series: PrometheusNames.Series, base: String)] = []
        for (series, c) in counters { families.append((series.family, "counter", series, c.base)) }
        for (series, g) in gauges { families.append((series.family, "gauge", series, g.base)) }
        for (series, h) in histograms { families.append((series.family, "histogram", series, h.base)) }
        families.sort { ($0.family, $0.series) < ($1.family, $1.series) }
        var seen = Set<PrometheusNames.Series>()
        for f in families where seen.insert(f.series).inserted {
            switch f.type {
            case "counter":
                out.family(f.family, type: "counter", help: help(f.base) ?? "\(f.base) (counter)")
                for (t, v) in points[f.series] ?? [] { out.sample(f.family + "_total", f.series.labels, value: v, time: t) }
            case "gauge":
                out.family(f.family, type: "gauge", help: help(f.base) ?? "\(f.base) (gauge)")
                for (t, v) in points[f.series] ?? [] { out.sample(f.family, f.series.labels, value: v, time: t) }
            default:
                out.family(f.family, type: "histogram", help: help(f.base) ?? "\(f.base) (histogram)")
                for (t, h) in histogramPoints[f.series] ?? [] { out.histogram(f.series, h, time: t) }
            }
        }
        return out.finished()
    }
}
