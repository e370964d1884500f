/// The values a `run` configuration file sets (YAML). Every key is optional; keys are the command-line
/// option names with `_` for `-` (`flush_interval` for `--flush-interval`); lists accept one string or a
/// list. Unknown keys are refused with `file:line:column`.
public struct ConfigFile: Sendable, Equatable {
    /// Allowed line limits: each followed file keeps a buffer of about twice the limit.
    public static let lineBytesRange = 64...(16 << 20)

    public var patterns: [String]?
    public var prefix: String?
    public var unit: [String]?
    public var identifier: [String]?
    public var journalDirectory: String?
    public var journalFile: [String]?
    public var file: [String]?
    public var statsd: String?
    public var flushInterval: Double?
    public var stateDir: String?
    public var maxPacketSize: Int?
    public var maxLineBytes: Int?
    public var ownMetricsPrefix: String?
    public var rotateWait: Double?

    /// Allowed seconds a rotated file is still read.
    public static let rotateWaitRange = 0.0...3600.0

    public static let keys = ["patterns", "prefix", "unit", "identifier", "journal_directory", "journal_file", "file",
                              "statsd", "flush_interval", "state_dir", "max_packet_size", "max_line_bytes", "own_metrics_prefix", "rotate_wait"]

    public init() {}

    /// Parses the text of the file at `path` (the path is used in error messages).
    public static func parse(_ text: String, path: String) throws(PatternFileError) -> ConfigFile {
        let reader = YAMLReader(file: path)
        var config = ConfigFile()
        guard let root = try reader.parse(text) else { return config }
        let m = try reader.mapping(root, "configuration", allowed: keys)
        func list(_ key: String) throws(PatternFileError) -> [String]? {
            try m[key].map { (n) throws(PatternFileError) in try reader.strings(n, "'\(key)'").map(\.0) }
        }
        func number(_ key: String, _ range: ClosedRange<Int>) throws(PatternFileError) -> Int? {
            try m[key].map { (n) throws(PatternFileError) in try reader.integer(n, "'\(key)'", range: range) }
        }
        config.patterns = try list("patterns")
        config.prefix = try m.string("prefix")
        config.unit = try list("unit")
        config.identifier = try list("identifier")
        config.journalDirectory = try m.string("journal_directory")
        config.journalFile = try list("journal_file")
        config.file = try list("file")
        config.statsd = try m.string("statsd")
        if let node = m["statsd"], let text = config.statsd {
            do { _ = try NetworkAddress.parse(text, defaultPort: 8125) } catch { throw reader.error(node, "'statsd': \(error)") }
        }
        if let node = m["flush_interval"] {
            let text = try reader.string(node, "'flush_interval'")
            guard let value = Double(text), value >= 0.1, value <= 3600 else {
                throw reader.error(node, "'flush_interval' must be a number of seconds from 0.1 to 3600, not '\(text)'")
            }
            config.flushInterval = value
        }
        config.stateDir = try m.string("state_dir")
        config.maxPacketSize = try number("max_packet_size", 64...65000)
        config.maxLineBytes = try number("max_line_bytes", ConfigFile.lineBytesRange)
        config.ownMetricsPrefix = try m.string("own_metrics_prefix")
        if let node = m["rotate_wait"] {
            let text = try reader.string(node, "'rotate_wait'")
            guard let value = Double(text), ConfigFile.rotateWaitRange.contains(value) else {
                throw reader.error(node, "'rotate_wait' must be a number of seconds from 0 to 3600, not '\(text)'")
            }
            config.rotateWait = value
        }
        return config
    }
}
