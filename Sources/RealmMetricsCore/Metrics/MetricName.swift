/// Metric name rules shared by every output.
public enum MetricName {
    /// Longest value a capture may put into a metric name.
    public static let maxTemplateValueBytes = 64

    /// Reduces a captured value to `[A-Za-z0-9_-]`: every other byte becomes `_`, the result is cut to
    /// ``maxTemplateValueBytes``, and an empty value becomes `empty`. A capture can therefore never add a
    /// path level (`.`), a statsd separator (`:` `|` `@` `#`) or a line break to a name.
    public static func sanitizedTemplateValue(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.isEmpty { return "empty" }
        var out = [UInt8]()
        out.reserveCapacity(min(bytes.count, maxTemplateValueBytes))
        for b in bytes.prefix(maxTemplateValueBytes) {
            out.append(isNameByte(b) ? b : UInt8(ascii: "_"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
    }

    /// Whether `name` is a valid dotted metric path: non-empty segments of `[A-Za-z0-9_-]` joined by dots.
    public static func isValidPath(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        var segmentLength = 0
        for b in name.utf8 {
            if b == UInt8(ascii: ".") {
                if segmentLength == 0 { return false }
                segmentLength = 0
            } else if isNameByte(b) {
                segmentLength += 1
            } else {
                return false
            }
        }
        return segmentLength > 0
    }

    /// The default prefix, `realm.<hostname>`, with the host name's dots and other non-name bytes turned
    /// into `_` so the host stays one path level.
    public static func defaultPrefix(hostname: String) -> String {
        let host = hostname.isEmpty ? "unknown" : hostname
        let cleaned = String(decoding: host.utf8.map { isNameByte($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        return "realm.\(cleaned)"
    }

    /// A prefix as the outputs with a host tag or label read it (Prometheus, InfluxDB): the last of
    /// two or more parts is the host (`realm.web1` → `realm` and `web1`); a one-part prefix has none.
    public static func splitHost(prefix: String) -> (rest: String, host: String?) {
        guard let dot = prefix.lastIndex(of: ".") else { return (prefix, nil) }
        return (String(prefix[..<dot]), String(prefix[prefix.index(after: dot)...]))
    }

    /// A metric's base name and tags, read off its tagged form (`protocol.used,version=24` →
    /// `protocol.used` and `version`, `24`, tag values as written: percent-encoded); without a tagged
    /// form, `name` and no tags.
    public static func tagParts(_ name: String, tagged: String?) -> (base: String, tags: [(key: String, value: String)]) {
        guard let tagged else { return (name, []) }
        let parts = tagged.split(separator: ",", omittingEmptySubsequences: false)
        var tags: [(key: String, value: String)] = []
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "=") else { continue }
            tags.append((String(part[..<eq]), String(part[part.index(after: eq)...])))
        }
        return (String(parts[0]), tags)
    }

    /// A tag value as the 2020 server writes it: every byte other than `A-Za-z0-9` as `%XX` with
    /// upper-case hex (`user-alice` → `user%2Dalice`).
    public static func percentEncoded(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: out.append(b)
            default: out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
