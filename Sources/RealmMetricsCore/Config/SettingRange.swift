/// The range of values a numeric option takes, written once for the command line and, for a `run`
/// setting, its configuration key (``RunSettings``), so that an option and its key cannot disagree.
public struct SettingRange<Value: Comparable & Sendable>: Sendable {
    /// The option's name with `_` for `-` (`flush_interval`): a `run` setting's configuration key.
    public let name: String
    public let range: ClosedRange<Value>
    /// What the number counts, when the refusal names it (`seconds`).
    public let unit: String?

    public init(name: String, range: ClosedRange<Value>, unit: String? = nil) {
        self.name = name
        self.range = range
        self.unit = unit
    }

    /// The command-line option (`--flush-interval`).
    public var option: String { "--" + String(name.map { $0 == "_" ? "-" : $0 }) }

    /// The range as help texts and messages write it (`0.1 to 3600`, whole numbers without `.0`).
    public var rangeText: String { "\(Self.text(range.lowerBound)) to \(Self.text(range.upperBound))" }

    /// The command line's refusal of a value out of range, naming the option:
    /// `--flush-interval must be between 0.1 and 3600 seconds`. (The configuration file's refusal is
    /// ``ConfigFile/read(_:path:)``'s, with `file:line:column` and the key.)
    public var optionRefusal: String {
        "\(option) must be between \(Self.text(range.lowerBound)) and \(Self.text(range.upperBound))\(unit.map { " \($0)" } ?? "")"
    }

    private static func text(_ value: Value) -> String {
        if let number = value as? Double, number == number.rounded(), abs(number) < 1e15 { return "\(Int(number))" }
        return "\(value)"
    }
}

/// The ranges of the numeric `run` settings, for their options and their configuration keys alike.
public enum RunSettings {
    /// Seconds between flushes.
    public static let flushInterval = SettingRange(name: "flush_interval", range: 0.1...3600.0, unit: "seconds")
    /// The largest UDP payload sent.
    public static let maxPacketSize = SettingRange(name: "max_packet_size", range: 64...65000)
    /// The line limit (also `replay`'s): each followed file keeps a buffer of about twice the limit.
    public static let maxLineBytes = SettingRange(name: "max_line_bytes", range: 64...(16 << 20))
    /// Seconds a rotated file is still read.
    public static let rotateWait = SettingRange(name: "rotate_wait", range: 0.0...3600.0, unit: "seconds")
    /// Seconds between reminders of a fault that lasts.
    public static let faultReminder = SettingRange(name: "fault_reminder", range: 1.0...86400.0, unit: "seconds")
}
