/// Worker log levels in increasing severity, as Realm names them.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case all = 0, trace, debug, detail, info, warn, error, fatal, off

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .all: "all"
        case .trace: "trace"
        case .debug: "debug"
        case .detail: "detail"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        case .fatal: "fatal"
        case .off: "off"
        }
    }

    /// Parses a level word, case-insensitively; `warning` is accepted for `warn`.
    public init?(word: some StringProtocol) {
        switch word.lowercased() {
        case "all": self = .all
        case "trace": self = .trace
        case "debug": self = .debug
        case "detail": self = .detail
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        case "fatal": self = .fatal
        case "off": self = .off
        default: return nil
        }
    }

    /// Parses a level from raw line bytes.
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= 16 else { return nil }
        self.init(word: String(decoding: bytes, as: UTF8.self))
    }
}
