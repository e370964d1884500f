#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A strptime-like time layout, parsed from raw line bytes without allocation.
///
/// Directives: `%Y` year, `%m` month, `%d` day, `%e` day (space padded), `%b` month abbreviation,
/// `%H` `%M` `%S`, `%f` fraction of a second (any number of digits), `%z` `Z` or `+hh:mm`/`+hhmm`,
/// `%%`. Other bytes must appear as written. Times without `%z` are read in UTC or in local time, as
/// the envelope's `timezone` says; local time is the zone given to ``parse(_:fallbackYear:exact:zone:)``,
/// or without one the zone of the machine (`mktime(3)`: `TZ`, else `/etc/localtime`).
public struct TimeLayout: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case literal(UInt8)
        case year, month, day, spaceDay, monthName, hour, minute, second, fraction, zone
    }

    public struct LayoutError: Error, CustomStringConvertible {
        public let description: String
    }

    private(set) var pieces: [Piece]
    public private(set) var source: String
    public let utc: Bool

    public init(_ layout: String, utc: Bool) throws(LayoutError) {
        var pieces: [Piece] = []
        var bytes = Array(layout.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { pieces.append(.literal(b)); continue }
            guard let d = bytes.popFirst() else { throw LayoutError(description: "layout ends with a lone %") }
            switch d {
            case UInt8(ascii: "Y"): pieces.append(.year)
            case UInt8(ascii: "m"): pieces.append(.month)
            case UInt8(ascii: "d"): pieces.append(.day)
            case UInt8(ascii: "e"): pieces.append(.spaceDay)
            case UInt8(ascii: "b"): pieces.append(.monthName)
            case UInt8(ascii: "H"): pieces.append(.hour)
            case UInt8(ascii: "M"): pieces.append(.minute)
            case UInt8(ascii: "S"): pieces.append(.second)
            case UInt8(ascii: "f"): pieces.append(.fraction)
            case UInt8(ascii: "z"): pieces.append(.zone)
            case UInt8(ascii: "%"): pieces.append(.literal(UInt8(ascii: "%")))
            default: throw LayoutError(description: "unknown directive %\(Character(Unicode.Scalar(d)))")
            }
        }
        self.pieces = pieces
        self.source = layout
        self.utc = utc
    }

    /// Whether times of this layout are wall-clock times of some zone: `timezone: local` and no `%z`.
    public var readsLocalTime: Bool { !utc && !pieces.contains(.zone) }

    /// The same layout in storage of its own: a pipeline of each thread reads its copy, so that no
    /// reference count is shared between the threads on the per-line path.
    public func ownCopy() -> TimeLayout {
        var copy = self
        copy.pieces = pieces.map { $0 }
        copy.source = String(decoding: Array(source.utf8), as: UTF8.self)
        return copy
    }

    static let months: [[UInt8]] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }

    /// Milliseconds since the epoch, or nil when the bytes do not follow the layout. `fallbackYear` is used
    /// for layouts without `%Y` (syslog). `zone` is the zone of local times (see ``readsLocalTime``); nil
    /// reads them in the machine's zone with `mktime(3)`.
    public func parse(_ text: UnsafeBufferPointer<UInt8>, fallbackYear: Int = 1970, exact: Bool = false, zone: WallClockZone? = nil) -> Int64? {
        var i = 0
        func digits(_ minCount: Int, _ maxCount: Int) -> Int? {
            var value = 0
            var n = 0
            while n < maxCount && i < text.count && text[i] >= 0x30 && text[i] <= 0x39 {
                value = value * 10 + Int(text[i] - 0x30)
                i += 1
                n += 1
            }
            return n >= minCount ? value : nil
        }
        var year = fallbackYear, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0
        var offsetSeconds: Int? = nil
        for piece in pieces {
            switch piece {
            case let .literal(b):
                guard i < text.count, text[i] == b else { return nil }
                i += 1
            case .year: guard let v = digits(4, 4) else { return nil }; year = v
            case .month: guard let v = digits(1, 2), (1...12).contains(v) else { return nil }; month = v
            case .day: guard let v = digits(1, 2), (1...31).contains(v) else { return nil }; day = v
            case .spaceDay:
                if i < text.count && text[i] == UInt8(ascii: " ") { i += 1 }
                guard let v = digits(1, 2), (1...31).contains(v) else { return nil }; day = v
            case .monthName:
                guard i + 3 <= text.count, let index = TimeLayout.months.firstIndex(where: { $0.elementsEqual(text[i..<i + 3]) }) else { return nil }
                month = index + 1
                i += 3
            case .hour: guard let v = digits(2, 2), v < 24 else { return nil }; hour = v
            case .minute: guard let v = digits(2, 2), v < 60 else { return nil }; minute = v
            case .second: guard let v = digits(2, 2), v < 61 else { return nil }; second = v
            case .fraction:
                let start = i
                guard let v = digits(1, 9) else { return nil }
                var n = i - start
                var ms = v
                while n > 3 { ms /= 10; n -= 1 }
                while n < 3 { ms *= 10; n += 1 }
                millis = ms
            case .zone:
                guard i < text.count else { return nil }
                if text[i] == UInt8(ascii: "Z") { offsetSeconds = 0; i += 1; continue }
                let sign = text[i] == UInt8(ascii: "-") ? -1 : 1
                guard text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") else { return nil }
                i += 1
                guard let h = digits(2, 2) else { return nil }
                if i < text.count && text[i] == UInt8(ascii: ":") { i += 1 }
                guard let m = digits(2, 2) else { return nil }
                offsetSeconds = sign * (h * 3600 + m * 60)
            }
        }
        if exact && i != text.count { return nil }
        let seconds: Int64
        if let offsetSeconds {
            seconds = TimeLayout.daysFromCivil(year, month, day) * 86400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        } else if utc {
            seconds = TimeLayout.daysFromCivil(year, month, day) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        } else if let zone {
            seconds = zone.utcSeconds(wall: TimeLayout.daysFromCivil(year, month, day) * 86400 + Int64(hour * 3600 + minute * 60 + second))
        } else {
            var t = tm()
            t.tm_year = Int32(year - 1900)
            t.tm_mon = Int32(month - 1)
            t.tm_mday = Int32(day)
            t.tm_hour = Int32(hour)
            t.tm_min = Int32(minute)
            t.tm_sec = Int32(second)
            t.tm_isdst = -1
            seconds = Int64(mktime(&t))  // libc: local time zone
        }
        return seconds * 1000 + Int64(millis)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
