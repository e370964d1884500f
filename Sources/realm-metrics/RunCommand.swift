import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Follow the workers' logs and send statsd metrics: the sidecar's main job.",
        discussion: """
            Sources: the journal (filtered by --unit and --identifier: OR within one option, AND across \
            them, as the start line spells out) and/or log files (--file GLOB). A file is its device, \
            inode and first bytes, whatever its name: rotated names a glob also matches (w.log.1, \
            w.log-20261201) are never followed on their own, compressed files are never read; a renamed \
            file is read on for --rotate-wait seconds and until it stops growing; after copytruncate the \
            copy (keep it uncompressed: delaycompress) is read from where reading stopped. Deletion and \
            files that appear later are handled. With no source given, follows the local journal for the \
            units realm-object-server.service or realm-sync.service. A filter that matches no entry in \
            the whole journal, or a --file glob that matches no file, is a warning (also in `status`) \
            until it matches.

            Worker lives in the journal: one per process (unit or identifier, and _PID), each with its \
            own gauges; the host gauges are their sum. A life ends at its stop line, when its unit is \
            started again (a new _SYSTEMD_INVOCATION_ID), and, following the local journal, when its \
            process no longer exists (checked at each flush). Ended lives leave the state.

            Every --flush-interval seconds it sends counters as deltas and gauges as absolute values over \
            UDP, several per datagram up to --max-packet-size bytes, then saves its state (journal cursor, \
            file positions, the sources followed, all metric state) atomically to <state-dir>/state.json. \
            A restart resumes exactly there. On a first start without state it rebuilds the gauges from \
            the history available (sessions already open are reported) and reports counts from then on.

            A source new to the state (a journal whose location, units or identifiers changed; files only \
            a new --file glob names) gets the same silent first read on a restart, and the start says so; \
            the other sources resume and count as before.

            One sidecar per state directory: it holds an exclusive lock on <state-dir>/lock (with its \
            pid in it) while it runs; a second run on the same directory exits with status 2, naming the \
            process that holds it. `realm-metrics status` only reads and works meanwhile.

            Warnings (once each, and listed by `realm-metrics status` while current) include a worker whose \
            first 200 lines the chosen --patterns hardly recognise (fewer than 10 % matched or ignored by a \
            rule) while another built-in layout recognises more than half: the warning names that layout.

            Signals: SIGTERM or SIGINT: final flush, final save, exit 0 (1 when the final state could not \
            be saved). SIGHUP (systemctl reload): the configuration file and the pattern files are read \
            again, options given on the command line still win; a new receiver, prefix, flush interval or \
            sources take effect after one last flush under the old ones; a journal with another filter \
            and files only new globs name have their history read silently. A broken configuration or \
            pattern file is refused and logged, and everything goes on as it was. The state directory \
            cannot change without a restart.
            """
    )

    @OptionGroup var patternOptions: PatternOptions

    @Option(name: .long, help: ArgumentHelp("YAML file with any of these options (keys: \(ConfigFile.keys.joined(separator: ", "))); options given here override it. `realm-metrics check --config FILE` validates it without running.", valueName: "file"))
    var config: String?

    @OptionGroup var journalOptions: JournalOptions

    @Option(name: .long, help: ArgumentHelp("Follow the log files this glob names (repeatable; quote it for the shell).", valueName: "glob"))
    var file: [String] = []

    @Option(name: .long, help: ArgumentHelp("Where statsd listens: HOST, HOST:PORT or [IPv6]:PORT, UDP, port 8125 when none is given (default: localhost:8125).", valueName: "host:port"))
    var statsd: String?

    @Option(name: .long, help: ArgumentHelp("Seconds between flushes (\(RunSettings.flushInterval.rangeText); default: 10).", valueName: "seconds"))
    var flushInterval: Double?

    @Option(name: .long, help: ArgumentHelp("Directory for state.json and the lock that keeps one sidecar on it (default: /var/lib/realm-metrics).", valueName: "dir"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("Largest UDP payload to send (\(RunSettings.maxPacketSize.rangeText); default: 1432).", valueName: "bytes"))
    var maxPacketSize: Int?

    @Option(name: .long, help: ArgumentHelp("Longer lines are cut to this many bytes and counted (\(RunSettings.maxLineBytes.rangeText); default: 65536).", valueName: "bytes"))
    var maxLineBytes: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds a log file that was renamed or deleted (rotated) is still read, at least, and then until it stops growing: a worker writes to its old file until it reopens its log (\(RunSettings.rotateWait.rangeText); default: 5).", valueName: "seconds"))
    var rotateWait: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds between reminders in the log while a statsd send failure lasts; its start and its end are always logged (\(RunSettings.faultReminder.rangeText); default: 300).", valueName: "seconds"))
    var faultReminder: Double?

    @Option(name: .long, help: ArgumentHelp("How statsd gets the tags of metrics whose rule gives them (protocol.used with version): none folds them into the name as the Monitoring page does (protocol.24.used, the default), influx writes them as the 2020 server does (protocol.used,version=24, for Telegraf and statsd_exporter), dogstatsd as DogStatsD tags (protocol.used:1|c|#version:24).", valueName: "none|influx|dogstatsd"))
    var tags: TagStyle?

    @Option(name: .long, help: ArgumentHelp("Serve GET /metrics in the Prometheus text format on HOST:PORT (off by default; 127.0.0.1:9469 for a local Prometheus, 0.0.0.0:9469 for every interface). The page is the state at the last flush: counters as <name>_total continuing across restarts and reloads, gauges, timers and histograms as histograms, the sidecar's own metrics. See the README for the names.", valueName: "host:port"))
    var prometheusListen: String?

    @Option(name: .long, help: ArgumentHelp("Prefix of the sidecar's own metrics (lines read, matched, send errors, checkpoint age, ...); default <prefix>.sidecar; '' sends none.", valueName: "prefix"))
    var ownMetricsPrefix: String?

    /// Command line over configuration file over defaults; a broken configuration file is printed as
    /// an error.
    func resolved() throws -> RunConfiguration {
        do { return try build() } catch let error as RealmMetricsError { throw fail(error) }
    }

    /// Command line over configuration file (read now) over defaults. Throws ``RealmMetricsError`` for
    /// the configuration file, `ValidationError` for values out of range.
    func build() throws -> RunConfiguration {
        var file = ConfigFile()
        if let config { file = try loadConfigFile(config) }
        func pick<T>(_ cli: [T], _ fromFile: [T]?) -> [T] { cli.isEmpty ? (fromFile ?? []) : cli }
        let patterns = pick(patternOptions.patterns, file.patterns)
        let prefix = patternOptions.prefix ?? file.prefix ?? MetricName.defaultPrefix(hostname: currentHostname())
        var configuration = RunConfiguration(prefix: prefix)
        configuration.patterns = patterns.isEmpty ? ["realm-sync-worker"] : patterns
        configuration.files = pick(self.file, file.file)
        let target = statsd ?? file.statsd ?? "localhost:8125"
        let address: NetworkAddress
        do { address = try NetworkAddress.parse(target, defaultPort: 8125) } catch { throw ValidationError("--statsd \(error)") }
        configuration.statsdHost = address.host
        configuration.statsdPort = address.port
        configuration.flushInterval = flushInterval ?? file.flushInterval ?? 10
        configuration.stateDirectory = stateDir ?? file.stateDir ?? "/var/lib/realm-metrics"
        configuration.maxPacketBytes = maxPacketSize ?? file.maxPacketSize ?? 1432
        configuration.maxLineBytes = maxLineBytes ?? file.maxLineBytes ?? 65536
        configuration.ownMetricsPrefix = ownMetricsPrefix ?? file.ownMetricsPrefix
        configuration.rotateWait = rotateWait ?? file.rotateWait ?? 5
        configuration.faultReminderSeconds = faultReminder ?? file.faultReminder ?? 300
        configuration.tags = tags ?? file.tags ?? .none
        if let listen = prometheusListen ?? file.prometheusListen {
            do { configuration.prometheusListen = try NetworkAddress.listenAddress(listen) } catch { throw ValidationError("--prometheus-listen \(error)") }
        }
        // The configuration file's values were checked as it was read, with their places.
        try RunSettings.faultReminder.check(faultReminder)
        try RunSettings.rotateWait.check(rotateWait)
        try RunSettings.flushInterval.check(flushInterval)
        try RunSettings.maxPacketSize.check(maxPacketSize)
        try RunSettings.maxLineBytes.check(maxLineBytes)

        try journalOptions.check()
        let journal = journalOptions.over(file)
        if journal.journalDirectory != nil && !journal.journalFile.isEmpty { throw ValidationError("give a journal directory or journal files, not both") }
        if journal.isGiven {
            configuration.journal = try journal.configuration()
        } else if configuration.files.isEmpty {
            configuration.journal = JournalSource.Configuration(location: .local, units: RunConfiguration.defaultUnits)
            configuration.journalIsDefault = true
        }
        return configuration
    }

    func run() throws {
        let configuration = try resolved()
        let runner: LiveRunner
        do {
            runner = try LiveRunner(configuration: configuration)
        } catch {
            throw fail(error)
        }
        // SIGHUP: the configuration file is read again; the command line still overrides it.
        runner.reloadConfiguration = { () throws(RealmMetricsError) -> RunConfiguration in
            do { return try build() } catch let error as RealmMetricsError {
                throw error
            } catch let error as ValidationError {
                throw RealmMetricsError(.config, error.message)
            } catch {
                throw RealmMetricsError(.config, "\(error)")
            }
        }
        // A final state that could not be saved is an error (exit 1), not "done".
        if !runner.run() { throw ExitCode(1) }
    }
}

extension TagStyle: ExpressibleByArgument {}
