import Yams

/// The values a `run` configuration file sets (YAML). Every key is optional; keys are the command-line
/// option names with `_` for `-` (`flush_interval` for `--flush-interval`); lists accept one string or a
/// list. Unknown keys are refused with `file:line:column`; the numbers' ranges are ``RunSettings``'.
public struct ConfigFile: Sendable, Equatable {
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
    public var faultReminder: Double?
    /// `tags`: how statsd output carries tags (``TagStyle``).
    public var tags: TagStyle?
    /// `prometheus_listen`: `HOST:PORT` of the Prometheus endpoint (off when absent).
    public var prometheusListen: String?

    public static let keys = ["patterns", "prefix", "unit", "identifier", "journal_directory", "journal_file", "file",
                              "statsd", "flush_interval", "state_dir", "max_packet_size", "max_line_bytes", "own_metrics_prefix", "rotate_wait", "fault_reminder", "tags",
                              "prometheus_listen"]

    public init() {}

    /// Parses the text of the file at `path` (the path is used in error messages); throws the first
    /// error ``read(_:path:)`` finds.
    public static func parse(_ text: String, path: String) throws(PatternFileError) -> ConfigFile {
        let reading = read(text, path: path)
        if let first = reading.errors.first { throw first }
        return reading.config
    }

    /// Where a value (or a key) was written in the file, 1-based.
    public struct Place: Sendable, Equatable {
        public var value: String
        public var line: Int
        public var column: Int
        public init(value: String, line: Int, column: Int) {
            self.value = value
            self.line = line
            self.column = column
        }
    }

    /// A configuration file read as far as it goes.
    public struct Reading: Sendable {
        /// The values that were read without error (a key in error is left unset).
        public var config = ConfigFile()
        /// Every error found, in the order of their places in the file.
        public var errors: [PatternFileError] = []
        /// Key → the place of each string value it has (one per list entry).
        public var places: [String: [Place]] = [:]
        /// Key → where the key itself is written.
        public var keyPlaces: [String: Place] = [:]
    }

    /// Reads the text of the file at `path` and reports every error: invalid YAML (then nothing else),
    /// a top level that is not a mapping, unknown and duplicate keys, values of the wrong type, numbers
    /// out of range and statsd addresses ``NetworkAddress`` does not take, each as `file:line:column`.
    public static func read(_ text: String, path: String) -> Reading {
        let reader = YAMLReader(file: path)
        var reading = Reading()
        let root: Node?
        do { root = try reader.parse(text) } catch {
            reading.errors = [error]
            return reading
        }
        guard let root else { return reading }
        guard case let .mapping(mapping) = root else {
            reading.errors = [reader.error(root, "configuration must be a mapping")]
            return reading
        }
        var m: [String: Node] = [:]
        for (key, value) in mapping {
            guard case let .scalar(scalar) = key else {
                reading.errors.append(reader.error(key, "configuration: keys must be plain words"))
                continue
            }
            let name = scalar.string
            if m[name] != nil {
                reading.errors.append(reader.error(key, "configuration: duplicate key '\(name)'"))
                continue
            }
            guard keys.contains(name) else {
                reading.errors.append(reader.error(key, "configuration: unknown key '\(name)' (known keys: \(keys.joined(separator: ", ")))"))
                continue
            }
            m[name] = value
            let at = reader.position(key)
            reading.keyPlaces[name] = Place(value: name, line: at.line, column: at.column)
        }
        /// Runs `body` on the key's node, keeping its error.
        func value<T>(_ key: String, _ body: (Node) throws(PatternFileError) -> T) -> T? {
            guard let node = m[key] else { return nil }
            do { return try body(node) } catch {
                reading.errors.append(error)
                return nil
            }
        }
        func note(_ key: String, _ items: [(String, Node)]) {
            reading.places[key] = items.map { item in
                let at = reader.position(item.1)
                return Place(value: item.0, line: at.line, column: at.column)
            }
        }
        func list(_ key: String) -> [String]? {
            value(key) { (n) throws(PatternFileError) in
                let items = try reader.strings(n, "'\(key)'")
                note(key, items)
                return items.map(\.0)
            }
        }
        func string(_ key: String) -> String? {
            value(key) { (n) throws(PatternFileError) in
                let text = try reader.string(n, "configuration: '\(key)'")
                note(key, [(text, n)])
                return text
            }
        }
        func number(_ setting: SettingRange<Int>) -> Int? {
            value(setting.name) { (n) throws(PatternFileError) in try reader.integer(n, "'\(setting.name)'", range: setting.range) }
        }
        func seconds(_ setting: SettingRange<Double>) -> Double? {
            value(setting.name) { (n) throws(PatternFileError) in
                let text = try reader.string(n, "'\(setting.name)'")
                guard let value = Double(text), setting.range.contains(value) else {
                    throw reader.error(n, "'\(setting.name)' must be a number of seconds from \(setting.rangeText), not '\(text)'")
                }
                return value
            }
        }
        var config = ConfigFile()
        config.patterns = list("patterns")
        config.prefix = string("prefix")
        config.unit = list("unit")
        config.identifier = list("identifier")
        config.journalDirectory = string("journal_directory")
        config.journalFile = list("journal_file")
        config.file = list("file")
        config.statsd = value("statsd") { (n) throws(PatternFileError) in
            let text = try reader.string(n, "configuration: 'statsd'")
            note("statsd", [(text, n)])
            do { _ = try NetworkAddress.parse(text, defaultPort: 8125) } catch { throw reader.error(n, "'statsd': \(error)") }
            return text
        }
        config.prometheusListen = value("prometheus_listen") { (n) throws(PatternFileError) in
            let text = try reader.string(n, "configuration: 'prometheus_listen'")
            note("prometheus_listen", [(text, n)])
            do { _ = try NetworkAddress.listenAddress(text) } catch { throw reader.error(n, "'prometheus_listen': \(error)") }
            return text
        }
        config.flushInterval = seconds(RunSettings.flushInterval)
        config.stateDir = string("state_dir")
        config.maxPacketSize = number(RunSettings.maxPacketSize)
        config.maxLineBytes = number(RunSettings.maxLineBytes)
        config.ownMetricsPrefix = string("own_metrics_prefix")
        config.rotateWait = seconds(RunSettings.rotateWait)
        config.faultReminder = seconds(RunSettings.faultReminder)
        config.tags = value("tags") { (n) throws(PatternFileError) in
            let text = try reader.string(n, "configuration: 'tags'")
            guard let style = TagStyle(rawValue: text) else {
                throw reader.error(n, "'tags': '\(text)' is none of \(TagStyle.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return style
        }
        reading.config = config
        reading.errors.sort { ($0.line, $0.column) < ($1.line, $1.column) }
        return reading
    }
}
