/// statsd text: `name:value|c` for counter deltas, `name:value|g` for absolute gauges.
///
/// Gauges are never negative (a leading `-` would make statsd read a relative change), and names are
/// built only from validated parts, so one sample is always exactly one statsd line.
public struct StatsdEncoder: Sendable {
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    public func fullName(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    public func line(_ sample: MetricSample) -> String {
        switch sample.kind {
        case .counter: "\(fullName(sample.name)):\(sample.value)|c"
        case .gauge: "\(fullName(sample.name)):\(max(0, sample.value))|g"
        }
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

/// The `--summary` JSON object: `{"counters": {...}, "gauges": {...}}`, full names, sorted keys.
public enum SummaryEncoder {
    public static func json(_ totals: [MetricSample], prefix: String) -> String {
        let encoder = StatsdEncoder(prefix: prefix)
        func section(_ kind: MetricKind) -> String {
            let entries = totals.filter { $0.kind == kind }
                .map { (encoder.fullName($0.name), $0.value) }
                .sorted { $0.0 < $1.0 }
                .map { "    \(jsonString($0.0)): \($0.1)" }
            return entries.isEmpty ? "{}" : "{\n" + entries.joined(separator: ",\n") + "\n  }"
        }
        return "{\n  \"counters\": \(section(.counter)),\n  \"gauges\": \(section(.gauge))\n}\n"
    }

    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
