import Foundation
import RealmMetricsCore

/// `check --config`: a `run` configuration file validated without running it.
///
/// Checked: every key and value (``ConfigFile/read(_:path:)``: unknown keys, types, ranges, the statsd
/// address), the prefixes, the unit names (as `--unit` takes them: no globs), `journal_directory`
/// together with `journal_file`, and every pattern file named (or the default one): found, compiled with
/// its includes, every example of each of its files run (``PatternChecker``). Each error is one line
/// beginning with `file:line:column:`: the configuration file's place for what it says, the pattern
/// file's place for what a pattern file says (followed by where the configuration names it). Files and
/// journals to follow are not looked for: they belong to the host that runs the sidecar.
public enum ConfigCheck {
    public struct Report: Sendable {
        /// One line each, `file:line:column: reason`, in the order found.
        public var errors: [String] = []
        /// When there are no errors: one line saying what the configuration does.
        public var summary: String = ""
        public var passed: Bool { errors.isEmpty }
    }

    public static func check(path: String, provider: PatternFileProvider = FilePatternProvider()) -> Report {
        var report = Report()
        guard let data = FileManager.default.contents(atPath: path) else {
            report.errors.append("\(path):1:1: cannot read the configuration file: \(errnoText(errno))")
            return report
        }
        let reading = ConfigFile.read(String(decoding: data, as: UTF8.self), path: path)
        let config = reading.config
        var errors = reading.errors
        func place(_ key: String, _ index: Int = 0) -> (Int, Int) {
            if let p = reading.places[key]?.dropFirst(index).first { return (p.line, p.column) }
            if let k = reading.keyPlaces[key] { return (k.line, k.column) }
            return (1, 1)
        }
        func add(_ at: (Int, Int), _ message: String) {
            errors.append(PatternFileError(file: path, line: at.0, column: at.1, message: message))
        }

        if let prefix = config.prefix, !MetricName.isValidPath(prefix) {
            add(place("prefix"), "'prefix': '\(prefix)' must be dot-separated parts of letters, digits, _ and -")
        }
        if let own = config.ownMetricsPrefix, !own.isEmpty, !MetricName.isValidPath(own) {
            add(place("own_metrics_prefix"), "'own_metrics_prefix': '\(own)' must be empty or dot-separated parts of letters, digits, _ and -")
        }
        var units: [String] = []
        for (index, unit) in (config.unit ?? []).enumerated() {
            do {
                units.append(try JournalSource.Configuration.unitName(unit))
            } catch {
                let reason = error.message.hasPrefix("--unit ") ? String(error.message.dropFirst("--unit ".count)) : error.message
                add(place("unit", index), "'unit': \(reason)")
            }
        }
        if config.journalDirectory != nil, config.journalFile != nil {
            let later = [reading.keyPlaces["journal_directory"], reading.keyPlaces["journal_file"]].compactMap { $0 }.max { ($0.line, $0.column) < ($1.line, $1.column) }
            let key = later?.value ?? "journal_file"
            add((later?.line ?? 1, later?.column ?? 1), "'\(key)': give journal_directory or journal_file, not both")
        }

        // Pattern files: what the configuration says is its error; what a pattern file says is that file's.
        var lines = errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }.map(\.description)
        let references = config.patterns.flatMap { $0.isEmpty ? nil : $0 } ?? ["realm-sync-worker"]
        let named = config.patterns != nil && !(config.patterns ?? []).isEmpty
        var checkedFiles = Set<String>()
        var rules = 0, examples = 0
        for (index, reference) in references.enumerated() {
            let at = named ? place("patterns", index) : (1, 1)
            let where_ = named ? " (named at \(path):\(at.0):\(at.1))" : " (the default pattern file)"
            guard provider.resolve(reference, from: nil) != nil else {
                lines.append(named ? "\(path):\(at.0):\(at.1): 'patterns': no pattern file '\(reference)' (not a built-in name, and no such file)"
                                   : "\(path):1:1: the default pattern file '\(reference)' is not installed")
                continue
            }
            let set: PatternSet
            do { set = try PatternLoader(provider: provider).load(reference) } catch {
                lines.append("\(error.description)\(where_)")
                continue
            }
            rules += set.rules.count
            for file in set.files where checkedFiles.insert(file).inserted {
                for result in PatternChecker.check(set, file: file) {
                    examples += result.examples
                    for problem in result.problems { lines.append("\(problem) [\(result.kind.rawValue) \(result.name)]") }
                }
            }
        }
        report.errors = lines
        guard lines.isEmpty else { return report }

        var following: [String] = []
        let identifiers = config.identifier ?? []
        if !units.isEmpty || !identifiers.isEmpty || config.journalDirectory != nil || config.journalFile != nil {
            following.append(JournalSource.Configuration(location: Journal.Location(directory: config.journalDirectory, files: config.journalFile ?? []),
                                                         units: units, identifiers: identifiers).summary)
        }
        if let globs = config.file, !globs.isEmpty { following.append("files \(globs.joined(separator: ", "))") }
        if following.isEmpty {
            following.append(JournalSource.Configuration(location: .local, units: RunConfiguration.defaultUnits).summary + " (the default)")
        }
        let statsd = (try? NetworkAddress.parse(config.statsd ?? "localhost:8125", defaultPort: 8125)).map(\.description) ?? "localhost:8125"
        let interval = config.flushInterval ?? 10
        let prometheus = config.prometheusListen.flatMap { try? NetworkAddress.listenAddress($0) }.map { "; Prometheus on http://\($0)/metrics" } ?? ""
        report.summary = "\(path): ok: following \(following.joined(separator: " and ")); patterns \(references.joined(separator: ", ")) (\(rules) rules, \(examples) examples pass); statsd \(statsd) every \(interval == interval.rounded() ? "\(Int(interval))" : "\(interval)") s\(prometheus); state in \(config.stateDir ?? "/var/lib/realm-metrics")"
        return report
    }
}

/// Reads and parses a `run` configuration file.
public func loadConfigFile(_ path: String) throws(RealmMetricsError) -> ConfigFile {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw RealmMetricsError(.usage, "\(path): cannot read the configuration file: \(errnoText(errno))")
    }
    do {
        return try ConfigFile.parse(String(decoding: data, as: UTF8.self), path: path)
    } catch {
        throw RealmMetricsError(.config, error.description)
    }
}
