import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Follow the workers' logs and send statsd metrics: the sidecar's main job.",
        discussion: """
            Sources: the journal (filtered by --unit and --identifier: OR within one option, AND across \
            them) and/or log files (--file GLOB; rotation, copytruncate, deletion and files that appear \
            later are handled). With no source given, follows the local journal for the units \
            realm-object-server.service and realm-sync.service.

            Every --flush-interval seconds it sends counters as deltas and gauges as absolute values over \
            UDP, several per datagram up to --max-packet-size bytes, then saves its state (journal cursor, \
            file positions, all metric state) atomically to <state-dir>/state.json. A restart resumes \
            exactly there. On a first start without state it rebuilds the gauges from the history \
            available (sessions already open are reported) and reports counts from then on.

            Signals: SIGTERM or SIGINT: final flush, final save, exit 0. SIGHUP: reload the pattern files \
            (the old ones stay if the new ones are broken; metric state is kept).
            """
    )

    @OptionGroup var patternOptions: PatternOptions

    @Option(name: .long, help: ArgumentHelp("Follow journal entries of this systemd unit (repeatable).", valueName: "unit"))
    var unit: [String] = []

    @Option(name: .long, help: ArgumentHelp("Follow journal entries with this SYSLOG_IDENTIFIER (repeatable).", valueName: "identifier"))
    var identifier: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read the journal files in this directory instead of the local journal.", valueName: "dir"))
    var journalDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Read this journal file instead of the local journal (repeatable).", valueName: "path"))
    var journalFile: [String] = []

    @Option(name: .long, help: ArgumentHelp("Follow the log files this glob names (repeatable; quote it for the shell).", valueName: "glob"))
    var file: [String] = []

    @Option(name: .long, help: ArgumentHelp("Where statsd listens.", valueName: "host:port"))
    var statsd = "localhost:8125"

    @Option(name: .long, help: ArgumentHelp("Seconds between flushes.", valueName: "seconds"))
    var flushInterval: Double = 10

    @Option(name: .long, help: ArgumentHelp("Directory for state.json.", valueName: "dir"))
    var stateDir = "/var/lib/realm-metrics"

    @Option(name: .long, help: ArgumentHelp("Largest UDP payload to send.", valueName: "bytes"))
    var maxPacketSize = 1432

    @Option(name: .long, help: ArgumentHelp("Longer lines are cut to this many bytes and counted.", valueName: "bytes"))
    var maxLineBytes = 65536

    func validate() throws {
        if StatsdSink.parse(statsd) == nil { throw ValidationError("--statsd: expected HOST:PORT, got '\(statsd)'") }
        if !(flushInterval >= 0.1 && flushInterval <= 3600) { throw ValidationError("--flush-interval must be between 0.1 and 3600 seconds") }
        if maxPacketSize < 64 || maxPacketSize > 65000 { throw ValidationError("--max-packet-size must be between 64 and 65000") }
        if maxLineBytes < 64 { throw ValidationError("--max-line-bytes must be at least 64") }
        if journalDirectory != nil && !journalFile.isEmpty { throw ValidationError("give --journal-directory or --journal-file, not both") }
    }

    func run() throws {
        var configuration = RunConfiguration(prefix: patternOptions.resolvedPrefix)
        configuration.patterns = patternOptions.patternReferences
        configuration.files = file
        let (host, port) = StatsdSink.parse(statsd)!
        configuration.statsdHost = host
        configuration.statsdPort = port
        configuration.flushInterval = flushInterval
        configuration.stateDirectory = stateDir
        configuration.maxPacketBytes = maxPacketSize
        configuration.maxLineBytes = maxLineBytes
        let location: Journal.Location = journalDirectory.map { .directory($0) } ?? (journalFile.isEmpty ? .local : .files(journalFile))
        if !unit.isEmpty || !identifier.isEmpty || journalDirectory != nil || !journalFile.isEmpty {
            configuration.journal = JournalSource.Configuration(location: location, units: unit, identifiers: identifier)
        } else if file.isEmpty {
            configuration.journal = JournalSource.Configuration(location: .local, units: RunConfiguration.defaultUnits)
            configuration.journalIsDefault = true
        }
        do {
            let runner = try LiveRunner(configuration: configuration)
            runner.run()
        } catch {
            throw fail(error)
        }
    }
}
