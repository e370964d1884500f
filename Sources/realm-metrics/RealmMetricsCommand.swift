import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

@main
struct RealmMetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realm-metrics",
        abstract: "Turns the logs of Realm Object Server / Realm sync workers into statsd metrics.",
        discussion: """
            Pattern files describe each log layout (built-in: realm-sync-worker, ros1, ros2; see the \
            README's pattern-file reference). Metric names get the prefix realm.<hostname> unless \
            --prefix says otherwise.

            Examples:
              realm-metrics replay --summary /var/log/realm/sync-worker.log
              realm-metrics check patterns/*.yaml
              realm-metrics check --config /etc/realm-metrics/config.yaml
              realm-metrics status --json
              realm-metrics explain 'Sync Connection[3]: Session[1]: Session initiated'
            """,
        version: realmMetricsVersion,
        subcommands: [RunCommand.self, ReplayCommand.self, CheckCommand.self, ExplainCommand.self, StatusCommand.self]
    )
}

/// Options every command that reads logs shares.
struct PatternOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Pattern file: a built-in name (realm-sync-worker, ros1, ros2) or a path. Repeat to try several in order.",
        valueName: "name|path"))
    var patterns: [String] = []

    @Option(name: .long, help: ArgumentHelp("Metric name prefix (default: realm.<hostname>, dots in the host name become _).", valueName: "prefix"))
    var prefix: String?

    var patternReferences: [String] { patterns.isEmpty ? ["realm-sync-worker"] : patterns }
    var resolvedPrefix: String { prefix ?? MetricName.defaultPrefix(hostname: currentHostname()) }
}

/// The journal options `run` and `replay` share: which journal, and which of its entries.
struct JournalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Journal entries of this systemd unit (repeatable); a name without a unit type gets .service, as for journalctl -u (no globs).", valueName: "unit"))
    var unit: [String] = []

    @Option(name: .long, help: ArgumentHelp("Journal entries with this SYSLOG_IDENTIFIER (repeatable).", valueName: "identifier"))
    var identifier: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read the journal files in this directory instead of the local journal.", valueName: "dir"))
    var journalDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Read this journal file instead of the local journal (repeatable).", valueName: "path"))
    var journalFile: [String] = []

    /// Whether any of them names a unit, an identifier, a directory or a file.
    var isGiven: Bool { !unit.isEmpty || !identifier.isEmpty || journalDirectory != nil || !journalFile.isEmpty }

    /// Refuses (`ValidationError`) a directory together with files, and a unit name the journal does
    /// not take (``unitName(_:)``).
    func check() throws {
        if journalDirectory != nil && !journalFile.isEmpty { throw ValidationError("give --journal-directory or --journal-file, not both") }
        for name in unit { _ = try unitName(name) }
    }

    /// These options, each one not given taken from `file`'s key of the same name (as `run` reads its
    /// configuration file).
    func over(_ file: ConfigFile) -> JournalOptions {
        var merged = self
        if unit.isEmpty { merged.unit = file.unit ?? [] }
        if identifier.isEmpty { merged.identifier = file.identifier ?? [] }
        if journalDirectory == nil { merged.journalDirectory = file.journalDirectory }
        if journalFile.isEmpty { merged.journalFile = file.journalFile ?? [] }
        return merged
    }

    /// The journal and filter the options name: the local journal when they name no directory and no
    /// files, every entry when no unit and no identifier.
    func configuration() throws -> JournalSource.Configuration {
        JournalSource.Configuration(location: Journal.Location(directory: journalDirectory, files: journalFile),
                                    units: try unit.map(unitName), identifiers: identifier)
    }
}

extension SettingRange {
    /// Refuses (`ValidationError`, naming the option) a value given on the command line outside the range.
    func check(_ value: Value?) throws {
        if let value, !range.contains(value) { throw ValidationError(optionRefusal) }
    }
}

/// Prints a coded error and exits non-zero.
func fail(_ error: RealmMetricsError) -> ExitCode {
    let stderr = FDWriter.standardError()
    stderr.write("realm-metrics: error [\(error.code.rawValue)]: \(error.message)\n")
    stderr.flush()
    return ExitCode(error.code == .usage ? 2 : 1)
}

/// The journal's name for a `--unit` value (``JournalSource/Configuration/unitName(_:)``); a name it
/// refuses is a usage error.
func unitName(_ name: String) throws -> String {
    do { return try JournalSource.Configuration.unitName(name) } catch { throw ValidationError(error.message) }
}
