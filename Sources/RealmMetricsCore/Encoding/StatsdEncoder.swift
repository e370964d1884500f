/// How statsd output carries the tags of a metric whose rule gives them (`--tags`): folded into the
/// name where the Monitoring page puts them (`none`, `protocol.24.used`), InfluxDB/Telegraf style in
/// the name as the 2020 server writes them (`influx`, `protocol.used,version=24`), or DogStatsD tags
/// (`dogstatsd`, `protocol.used:1|c|#version:24`).
public enum TagStyle: String, Sendable, CaseIterable, Codable {
    case none, influx, dogstatsd
}

/// statsd text: `name:value|c` for counter deltas, `name:value|g` for absolute gauges.
///
/// Gauges are never negative (a leading `-` would make statsd read a relative change), and names are
/// built only from validated parts, so one sample is always exactly one statsd line.
public struct StatsdEncoder: Sendable {
    public let prefix: String
    /// How the tags of a metric whose rule gives them are written.
    public let tags: TagStyle

    public init(prefix: String, tags: TagStyle = .none) {
        self.prefix = prefix
        self.tags = tags
    }

    /// The name with the prefix (tags folded in, as the rule's name has them).
    public func fullName(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// What a line starts with for metric `name` whose tagged form is `tagged` (nil: no tags): the full
    /// name (``TagStyle/none``), the tagged form (`influx`: `p.protocol.used,version=24`), or the base
    /// name with the tags after a `|#` (`dogstatsd`; ``format(key:value:type:)`` puts them last).
    public func key(_ name: String, tagged: String?) -> String {
        guard let tagged, tags != .none else { return fullName(name) }
        switch tags {
        case .influx: return fullName(tagged)
        default:
            var parts = tagged.split(separator: ",", omittingEmptySubsequences: false)
            let base = String(parts.removeFirst())
            return fullName(base) + "|#" + parts.map { $0.replacingOccurrences(of: "=", with: ":") }.joined(separator: ",")
        }
    }

    /// One statsd line: `key:value|type`, a DogStatsD key's tags after the type (`name:1|c|#version:24`).
    public static func format(key: String, value: Int64, type: String) -> String {
        guard let (name, tags) = splitTags(key) else { return "\(key):\(value)|\(type)" }
        return "\(name):\(value)|\(type)|#\(tags)"
    }

    /// A DogStatsD key's name and tags (around its `|#`), nil for a key without tags. Searched in the
    /// UTF-8 bytes: once per value of every timer, it must not go through Foundation's string search.
    static func splitTags(_ key: String) -> (Substring, Substring)? {
        let utf8 = key.utf8
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let next = utf8.index(after: i)
            if utf8[i] == UInt8(ascii: "|"), next != utf8.endIndex, utf8[next] == UInt8(ascii: "#") {
                return (key[..<i], key[utf8.index(after: next)...])
            }
            i = next
        }
        return nil
    }

    public func line(_ sample: MetricSample) -> String {
        switch sample.kind {
        case .counter: StatsdEncoder.format(key: key(sample.name, tagged: sample.tagged), value: sample.value, type: "c")
        case .gauge: StatsdEncoder.format(key: key(sample.name, tagged: sample.tagged), value: max(0, sample.value), type: "g")
        }
    }

    /// One statsd line per value of a timer (`name:v|ms`) or histogram (`name:v|h`), in line order.
    public func lines(_ distribution: Distribution) -> [String] {
        let key = key(distribution.name, tagged: distribution.tagged)
        let type = distribution.kind.statsdType
        // The key is split once for all the values.
        if let (name, tags) = StatsdEncoder.splitTags(key) { return distribution.values.map { "\(name):\($0)|\(type)|#\(tags)" } }
        return distribution.values.map { "\(key):\($0)|\(type)" }
    }

    /// Packs samples into datagram payloads; see ``pack(_:maxBytes:)``.
    public func datagrams(_ samples: [MetricSample], maxBytes: Int) -> [[UInt8]] {
        StatsdEncoder.pack(samples.map(line), maxBytes: maxBytes)
    }

    /// Packs lines into datagram payloads of at most `maxBytes` bytes, joined by newlines. A single line
    /// longer than `maxBytes` travels alone.
    public static func pack(_ lines: [String], maxBytes: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        for line in lines {
            let bytes = Array(line.utf8)
            if !current.isEmpty && current.count + 1 + bytes.count > maxBytes {
                out.append(current)
                current = []
            }
            if !current.isEmpty { current.append(UInt8(ascii: "\n")) }
            current += bytes
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}

/// The `--summary` JSON object: `{"counters": {...}, "gauges": {...}}`, full names, sorted keys; with
/// timers or histograms also `"timers"` and `"histograms"`, each name with its `count`, `sum`, `min` and
/// `max` (every declared one, a count of 0 and no min or max when nothing was recorded).
public enum SummaryEncoder {
    public static func json(_ totals: [MetricSample], distributions: [(name: String, kind: DistributionKind, totals: Distribution.Totals)] = [], prefix: String) -> String {
        let encoder = StatsdEncoder(prefix: prefix)
        func section(_ kind: MetricKind) -> String {
            let entries = totals.filter { $0.kind == kind }
                .map { (encoder.fullName($0.name), $0.value) }
                .sorted { $0.0 < $1.0 }
                .map { "    \(jsonString($0.0)): \($0.1)" }
            return entries.isEmpty ? "{}" : "{\n" + entries.joined(separator: ",\n") + "\n  }"
        }
        func figures(_ kind: DistributionKind) -> String? {
            let entries = distributions.filter { $0.kind == kind }.map { (encoder.fullName($0.name), $0.totals) }.sorted { $0.0 < $1.0 }
            guard !entries.isEmpty else { return nil }
            return "{\n" + entries.map { name, t in
                var fields = ["\"count\": \(t.count)", "\"sum\": \(t.sum)"]
                if let min = t.min, let max = t.max { fields += ["\"min\": \(min)", "\"max\": \(max)"] }
                return "    \(jsonString(name)): {\(fields.joined(separator: ", "))}"
            }.joined(separator: ",\n") + "\n  }"
        }
        var out = "{\n  \"counters\": \(section(.counter)),\n  \"gauges\": \(section(.gauge))"
        if let timers = figures(.timer) { out += ",\n  \"timers\": \(timers)" }
        if let histograms = figures(.histogram) { out += ",\n  \"histograms\": \(histograms)" }
        return out + "\n}\n"
    }

    /// A JSON string (what JSON requires escaped: `"`, `\`, control characters), as ``JSONText/string(_:scriptSafe:)`` writes it.
    public static func jsonString(_ s: String) -> String { JSONText.string(s, scriptSafe: false) }
}
