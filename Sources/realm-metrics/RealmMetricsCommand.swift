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
