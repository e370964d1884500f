#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Read log files or the journal once and write the metrics they yield, also with their original times (backfill).",
        discussion: """
            The files are read in the order given as successive pieces of one worker's log (rotated \
            files oldest first); with --worker-per-file each file is its own worker and the host \
            gauges are their sum. '-' reads standard input. --journal reads the journal instead \
            (--unit, --identifier, --journal-directory, --journal-file as for run).

            Targets (--to):
              stdout                 statsd lines name:total|c, name:value|g (default)
              graphite://HOST:PORT   Graphite plaintext over TCP, at the bucket times
              dogstatsd://HOST:PORT  DogStatsD over UDP with |T<unix time>
              influx:PATH, influx:-  InfluxDB line protocol with timestamps
              influxdb://HOST:PORT/DATABASE
                                     InfluxDB 1.x's HTTP /write, 5,000 lines per POST
              openmetrics:PATH       OpenMetrics for promtool tsdb create-blocks-from
                                     openmetrics: a sample per bucket and series, stamped
                                     in seconds, counters counted from the window's start
            --summary prints one JSON object {"counters": {...}, "gauges": {...}} \
            with full names; every declared metric is listed, untouched ones as 0.

            Backfill: with a timed target, --since or --until, lines are grouped into buckets \
            of --bucket seconds (default 10, statsd's flush): per bucket the counter deltas and \
            each gauge's value at the bucket's end, stamped with the bucket's time. \
            Every declared counter gets a point in every bucket, 0 when it did not move, and \
            buckets no line fell into between two lines are written too (counters 0, gauges as \
            they were; at most 8,640 per gap), as statsd flushes every interval. \
            --graphite-naming statsd (default) writes what a stock statsd with legacyNamespace: \
            false writes (stats.counters.<name>.count and .rate, stats.gauges.<name>, \
            stats.timers.<name>.*); statsd-legacy what statsd's default legacyNamespace: true \
            writes (stats_counts.<name>, stats.<name> for the rate, stats.gauges.<name>, \
            stats.timers.<name>.*); plain writes <name> (a gauge sharing a counter's name: \
            <name>.gauge). InfluxDB points are Telegraf statsd's: measurement = the prefix \
            without its last part, then the name (realm.session.online), tags host=<the prefix's \
            last part>, metric_type=counter|gauge|timing|histogram and the rule's tags, field \
            value (timers: count, sum, lower, upper, mean), timestamps in --influx-precision \
            (default ns). \
            TIME is ISO 8601 (2024-03-01T10:00:00Z), -2h, -1d, yesterday, today, now or \
            @<unix seconds>. Line times without an offset in layouts with timezone: local (the \
            default realm-sync-worker layout) are read in the zone of this machine (TZ, else \
            /etc/localtime), or in --timezone ZONE (an IANA name such as Europe/Berlin, or UTC), \
            converted with the zone's rules looked up once per hour of log, so a daylight saving \
            change inside the log is placed right. Lines before --since rebuild the gauges but are not reported. No \
            state file is read or written: each worker life starts from zero. Journal lives are \
            those of run: one per process (unit or identifier, and _PID), ended by a stop line or a \
            new invocation of the unit.

            Report: --report FILE writes one self-contained HTML page (no network access, no \
            external file) of the window, from the same buckets as a backfill: per gauge a time \
            line (per worker when there are several) with the worker lives marked, per counter \
            that moved its count per bucket, per timer and histogram its min, median, p90 and max \
            per bucket, the totals of --summary, each worker's announced log level and the \
            metrics that level cannot feed, and the lines no rule matched grouped by shape. A \
            chart has at most 2000 buckets: --bucket is widened to its smallest multiple that \
            covers the log in 2000. With --report alone nothing is printed on standard output; \
            add --to or --summary for those too. Layouts without time stamps give the totals \
            and tables only.

            Line counts go to standard error unless --quiet; on a terminal a progress line \
            shows how far a backfill is.
            """
    )

    @OptionGroup var patternOptions: PatternOptions

    @Option(name: .long, help: ArgumentHelp("Where metrics go: stdout, graphite://HOST:PORT, dogstatsd://HOST:PORT, influx:PATH (or influx:-), influxdb://HOST:PORT/DATABASE, openmetrics:PATH (or openmetrics:-).", valueName: "target"))
    var to: String?

    @Flag(name: .long, help: "Read the journal instead of files: the local journal, or --journal-directory or --journal-file; --unit and --identifier choose its entries.")
    var journal = false

    @OptionGroup var journalOptions: JournalOptions

    // Unconditional: a relative time begins with '-' (--since -2h, as journalctl takes it).
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Report from this time on (ISO 8601, -2h, yesterday, ...).", valueName: "time"))
    var since: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Report up to this time (as --since).", valueName: "time"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a network output (--to graphite://, influxdb://) may take to accept the connection, to take more data or (InfluxDB) to answer a write before replay stops with an error (\(Self.outputTimeoutRange.rangeText)).", valueName: "seconds"))
    var outputTimeout: Double = 10

    @Option(name: .long, help: ArgumentHelp("Bucket width in seconds for timed outputs (\(Self.bucketRange.rangeText)).", valueName: "seconds"))
    var bucket = 10

    @Option(name: .long, help: ArgumentHelp("Backfill of files: the zone of line times written without an offset (layouts with timezone: local): an IANA name (Europe/Berlin, Asia/Tokyo) or UTC (default: this machine's zone).", valueName: "zone"))
    var timezone: String?

    @Option(name: .long, help: ArgumentHelp("Graphite names: statsd (statsd's legacyNamespace: false), statsd-legacy (legacyNamespace: true, statsd's default) or plain.", valueName: "naming"))
    var graphiteNaming = "statsd"

    @Option(name: .long, help: ArgumentHelp("Unit of InfluxDB timestamps (influx:, influxdb://): s, ms, us or ns (default; InfluxDB's default when a write names none). Import a file with the same precision.", valueName: "s|ms|us|ns"))
    var influxPrecision = "ns"

    @Option(name: .long, help: ArgumentHelp("Also write an HTML report of the window to this file (charts per gauge, counter and timer over time, totals, log levels, unmatched lines by shape).", valueName: "file"))
    var report: String?

    @Flag(name: .long, help: "Print a JSON summary of counter totals and final gauge values at the end (timers and histograms: count, sum, min, max).")
    var summary = false

    @Option(name: .long, help: ArgumentHelp("statsd text to standard output: how the tags of metrics whose rule gives them are written (none, influx, dogstatsd; see run --help). DogStatsD and Influx backfills always carry them as tags.", valueName: "none|influx|dogstatsd"))
    var tags: TagStyle = .none

    @Flag(name: .long, help: "Treat each file as a separate worker instead of pieces of one worker's log.")
    var workerPerFile = false

    @Option(name: .long, help: ArgumentHelp("Longer lines are cut to this many bytes and counted (\(RunSettings.maxLineBytes.rangeText)).", valueName: "bytes"))
    var maxLineBytes = 65536

    @Option(name: .long, help: ArgumentHelp("Threads that match lines of files, for a plain replay and a backfill (\(Self.threadsRange.rangeText); default: one more than the cores; 1: a single thread). The metrics are the same for any number; lower it to leave cores to the workers. A backfill of the journal, or of local times in a zone that cannot be named, reads on one thread.", valueName: "n"))
    var threads: Int?

    @Flag(name: .shortAndLong, help: "Do not print line counts to standard error.")
    var quiet = false

    @Argument(help: ArgumentHelp("Log files to read ('-' for standard input).", valueName: "file"))
    var files: [String] = []

    /// Replay's own ranges (the line limit is ``RunSettings/maxLineBytes``, as for `run`).
    static let threadsRange = SettingRange(name: "threads", range: 1...64)
    static let bucketRange = SettingRange(name: "bucket", range: 1...86_400, unit: "seconds")
    /// Above 0: a send timeout of 0 would wait forever.
    static let outputTimeoutRange = SettingRange(name: "output_timeout", range: 0.1...3600.0, unit: "seconds")

    /// The target `--to` names (validated), stdout when none.
    var target: BackfillTarget { to.flatMap(BackfillTarget.parse) ?? .stdout }

    /// Whether this replay is a backfill (``BackfillJob``: lines placed in time) rather than a plain
    /// replay (``ReplayJob``): the journal, a window, or a timed target.
    var backfills: Bool { journal || since != nil || until != nil || target != .stdout || report != nil }

    func validate() throws {
        if let to, BackfillTarget.parse(to) == nil {
            throw ValidationError("--to: unknown target '\(to)' (use stdout, graphite://HOST:PORT, dogstatsd://HOST:PORT, influx:PATH, influxdb://HOST:PORT/DATABASE, openmetrics:PATH)")
        }
        try RunSettings.maxLineBytes.check(maxLineBytes)
        try Self.threadsRange.check(threads)
        if journal && !files.isEmpty { throw ValidationError("give --journal or log files, not both") }
        if !journal && files.isEmpty { throw ValidationError("name at least one log file ('-' for standard input), or --journal") }
        if !journal && journalOptions.isGiven {
            throw ValidationError("--journal-directory, --journal-file, --unit and --identifier need --journal")
        }
        try journalOptions.check()
        try Self.bucketRange.check(bucket)
        if let report, report.isEmpty || report == "-" { throw ValidationError("--report needs a file name (the report is not written to standard output)") }
        try Self.outputTimeoutRange.check(outputTimeout)
        if GraphiteEncoder.Naming(rawValue: graphiteNaming) == nil { throw ValidationError("--graphite-naming must be statsd, statsd-legacy or plain") }
        if InfluxPrecision(rawValue: influxPrecision) == nil { throw ValidationError("--influx-precision must be s, ms, us or ns") }
        let now = wallClockMillisForCLI()
        if let since, TimeExpression.parse(since, nowMillis: now) == nil { throw ValidationError("--since: cannot read the time '\(since)'") }
        if let until, TimeExpression.parse(until, nowMillis: now) == nil { throw ValidationError("--until: cannot read the time '\(until)'") }
        if let timezone {
            // Refused before any pattern file is read, as values the command line refuses (exit 64).
            do { _ = try BackfillConfiguration.zone(named: timezone, journal: journal) } catch { throw ValidationError(error.message) }
            // Only the command knows: a plain replay (ReplayJob) places no line in time.
            if !backfills {
                throw ValidationError("--timezone places lines in time: give it with a timed --to (graphite://, dogstatsd://, influx:, influxdb://, openmetrics:), --since, --until or --report")
            }
        }
    }

    func run() throws {
        // A closed pipe is an error to report (EPIPE), not a signal that ends the process unexplained.
        signal(SIGPIPE, SIG_IGN)
        if backfills {
            try backfill(target)
            return
        }
        var configuration = ReplayConfiguration(prefix: patternOptions.resolvedPrefix, files: files)
        configuration.patterns = patternOptions.patternReferences
        configuration.printSummary = summary
        configuration.printStatsd = to != nil || !summary
        configuration.tags = tags
        configuration.workerPerFile = workerPerFile
        configuration.maxLineBytes = maxLineBytes
        if let threads { configuration.threads = threads }
        do {
            let job = try ReplayJob(configuration: configuration)
            let report = try job.run(output: FDWriter.standardOutput())
            let stderr = FDWriter.standardError()
            for warning in report.warnings { stderr.write("realm-metrics: warning: \(warning)\n") }
            stderr.flush()
            if !quiet {
                stderr.write(ReplayReportText.render(report) + "\n")
                stderr.flush()
            }
        } catch {
            throw fail(error)
        }
    }

    func backfill(_ target: BackfillTarget) throws {
        var configuration = BackfillConfiguration(prefix: patternOptions.resolvedPrefix)
        configuration.patterns = patternOptions.patternReferences
        configuration.files = files
        if journal { configuration.journal = try journalOptions.configuration() }
        let now = wallClockMillisForCLI()
        configuration.sinceMillis = since.flatMap { TimeExpression.parse($0, nowMillis: now) }
        configuration.untilMillis = until.flatMap { TimeExpression.parse($0, nowMillis: now) }
        configuration.bucketSeconds = Int64(bucket)
        configuration.target = target
        configuration.graphiteNaming = GraphiteEncoder.Naming(rawValue: graphiteNaming) ?? .statsd
        configuration.influxPrecision = InfluxPrecision(rawValue: influxPrecision) ?? .ns
        configuration.printSummary = summary
        configuration.workerPerFile = workerPerFile
        configuration.maxLineBytes = maxLineBytes
        configuration.progress = !quiet && isTerminal(2)
        configuration.outputTimeoutSeconds = outputTimeout
        if let threads { configuration.threads = threads }
        configuration.timeZone = timezone
        configuration.reportPath = report
        configuration.printStatsdText = report == nil || to != nil
        do {
            let job = try BackfillJob(configuration: configuration)
            let stats = try job.run()
            if !quiet {
                let stderr = FDWriter.standardError()
                stderr.write("replay: \(stats.linesRead) lines: \(ReplayReportText.counts(stats, truncatedLines: job.truncatedLines).joined(separator: ", ")); \(job.buckets) buckets, \(job.points) points written\(job.skippedGapBuckets > 0 ? ", \(job.skippedGapBuckets) empty buckets not written (gaps longer than \(BackfillJob.maxGapBuckets) buckets)" : "")\(job.untimedLines > 0 ? ", \(job.untimedLines) lines without a time placed with the line before" : "")\n")
                stderr.flush()
            }
        } catch {
            throw fail(error)
        }
    }
}
