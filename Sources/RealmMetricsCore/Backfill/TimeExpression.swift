/// Times for `--since` / `--until`: ISO 8601 (`2024-03-01T10:00:00Z`, `2024-03-01T10:00:00+01:00`,
/// `2024-03-01 10:00:00` (UTC), `2024-03-01`), journalctl-style relative forms (`-2h`, `-30min`, `-1d`,
/// `+5m`, `now`, `today`, `yesterday`, `tomorrow`), or `@<unix seconds>`. Returns milliseconds.
public enum TimeExpression {
    public static func parse(_ text: String, nowMillis: Int64) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let dayMillis: Int64 = 86_400_000
        let midnight = nowMillis - ((nowMillis % dayMillis) + dayMillis) % dayMillis
        switch t {
        case "now": return nowMillis
        case "today": return midnight
        case "yesterday": return midnight - dayMillis
        case "tomorrow": return midnight + dayMillis
        default: break
        }
        if t.hasPrefix("@"), let s = Double(t.dropFirst()) { return Int64(s * 1000) }
        if let first = t.first, first == "-" || first == "+" {
            let sign: Int64 = first == "-" ? -1 : 1
            var rest = Substring(t.dropFirst())
            var total: Int64 = 0
            while !rest.isEmpty {
                let digits = rest.prefix { $0.isNumber }
                guard let n = Int64(digits) else { return nil }
                rest = rest.dropFirst(digits.count)
                let unit = rest.prefix { $0.isLetter }
                rest = rest.dropFirst(unit.count)
                guard let factor = unitMillis(String(unit)) else { return nil }
                total += n * factor
                rest = rest.drop { $0 == " " }
            }
            return nowMillis + sign * total
        }
        return iso(t)
    }

    static func unitMillis(_ unit: String) -> Int64? {
        switch unit {
        case "ms", "msec": 1
        case "", "s", "sec", "second", "seconds": 1000
        case "m", "min", "minute", "minutes": 60_000
        case "h", "hr", "hour", "hours": 3_600_000
        case "d", "day", "days": 86_400_000
        case "w", "week", "weeks": 604_800_000
        default: nil
        }
    }

    static func iso(_ text: String) -> Int64? {
        let layouts = [("%Y-%m-%dT%H:%M:%S.%f%z", false), ("%Y-%m-%dT%H:%M:%S%z", false), ("%Y-%m-%dT%H:%M:%S.%f", true),
                       ("%Y-%m-%dT%H:%M:%S", true), ("%Y-%m-%d %H:%M:%S", true), ("%Y-%m-%d %H:%M", true), ("%Y-%m-%d", true)]
        let bytes = Array(text.utf8)
        for (layout, _) in layouts {
            guard let l = try? TimeLayout(layout, utc: true) else { continue }
            if let ms = bytes.withUnsafeBufferPointer({ l.parse($0, exact: true) }) { return ms }
        }
        return nil
    }
}
