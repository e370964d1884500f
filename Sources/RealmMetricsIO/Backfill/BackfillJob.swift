#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RealmMetricsCore

/// Where backfilled metrics go.
public enum BackfillTarget: Sendable, Equatable {
    /// statsd lines of the window's totals at the end (as plain `replay`).
    case stdout
    /// Graphite plaintext over TCP.
    case graphite(host: String, port: UInt16)
    /// DogStatsD over UDP with `|T` timestamps.
    case dogstatsd(host: String, port: UInt16)
    /// InfluxDB line protocol to a file, or `-` for standard output.
    case influx(path: String)
    /// InfluxDB 1.x's HTTP `/write` (``InfluxDBSink``).
    case influxdb(host: String, port: UInt16, database: String)
    /// OpenMetrics with timestamps to a file, or `-` for standard output, for `promtool tsdb
    /// create-blocks-from openmetrics`.
    case openMetrics(path: String)

    /// Parses `stdout`, `graphite://HOST:PORT`, `dogstatsd://HOST:PORT`, `influx:PATH`, `influx:-`,
    /// `influxdb://HOST:PORT/DATABASE` (a database name of any characters but `/`, not empty),
    /// `openmetrics:PATH`, `openmetrics:-`.
    public static func parse(_ text: String) -> BackfillTarget? {
        if text == "stdout" { return .stdout }
        if text.hasPrefix("graphite://"), let (h, p) = StatsdSink.parse(String(text.dropFirst("graphite://".count))) { return .graphite(host: h, port: p) }
        if text.hasPrefix("dogstatsd://"), let (h, p) = StatsdSink.parse(String(text.dropFirst("dogstatsd://".count))) { return .dogstatsd(host: h, port: p) }
        if text.hasPrefix("influxdb://") {
            let rest = text.dropFirst("influxdb://".count)
            guard let slash = rest.firstIndex(of: "/"), let (h, p) = StatsdSink.parse(String(rest[..<slash])) else { return nil }
            let database = String(rest[rest.index(after: slash)...])
            guard !database.isEmpty, !database.contains("/") else { return nil }
            return .influxdb(host: h, port: p, database: database)
        }
        if text.hasPrefix("influx:"), text.count > "influx:".count { return .influx(path: String(text.dropFirst("influx:".count))) }
        if text.hasPrefix("openmetrics:"), text.count > "openmetrics:".count { return .openMetrics(path: String(text.dropFirst("openmetrics:".count))) }
        return nil
    }

    var isTimed: Bool { self != .stdout }

    /// Whether the output keeps one kind per name, so that a gauge sharing a counter's name needs
    /// another (``Swift/Array/separatingKinds()``).
    func keepsOneKindPerName(graphiteNaming: GraphiteEncoder.Naming) -> Bool {
        switch self {
        case .stdout: false
        case .graphite: graphiteNaming == .plain
        case .dogstatsd: true
        // metric_type=counter / gauge makes them two series of one measurement.
        case .influx, .influxdb: false
        // Counters end in `_total` there, and a gauge whose name would is renamed.
        case .openMetrics: false
        }
    }
}

/// What a backfill should do.
public struct BackfillConfiguration: Sendable {
    public var patterns: [String] = ["realm-sync-worker"]
    public var prefix: String
    /// Log files, in order (when `journal` is nil).
    public var files: [String] = []
    public var journal: JournalSource.Configuration?
    public var sinceMillis: Int64?
    public var untilMillis: Int64?
    public var bucketSeconds: Int64 = 10
    public var target: BackfillTarget = .stdout
    public var graphiteNaming: GraphiteEncoder.Naming = .statsd
    /// The unit of InfluxDB timestamps (`influx:` and `influxdb://`).
    public var influxPrecision: InfluxPrecision = .ns
    /// Lines per POST to `influxdb://`.
    public var influxBatchLines = 5000
    public var printSummary = false
    public var workerPerFile = false
    public var maxLineBytes = 65536
    /// Threads that match lines of files (as for `replay`); 1 reads, matches, places and applies on
    /// the calling thread alone.
    public var threads = max(2, ProcessInfo.processInfo.activeProcessorCount + 1)
    public var maxPacketBytes = 1432
    /// Show a progress line on standard error (a terminal).
    public var progress = false
    /// Seconds a network output (Graphite, InfluxDB) may take to accept the connection, to take more
    /// data, or (InfluxDB) to answer a write, before the job stops with an error.
    public var outputTimeoutSeconds: Double = 10
    /// The zone of the lines' local times (layouts with `timezone: local` and no `%z`): an IANA name or
    /// `UTC` (``WallClockZone/named(_:)``); nil reads them in the machine's zone. Only for files.
    public var timeZone: String?
    /// Also write the HTML report of the window to this path (``ReportSink``).
    public var reportPath: String?
    /// With the `stdout` target: print the statsd lines of the window at the end (off for a report
    /// asked for alone).
    public var printStatsdText = true

    public init(prefix: String) { self.prefix = prefix }

    /// The zone `--timezone` names, for a backfill of files (`journal` false): journal entries carry
    /// their own time, and the name must be an IANA zone or `UTC`. The command line checks it with this
    /// before any pattern file is read; ``BackfillJob`` checks it again for callers of the library.
    public static func zone(named name: String, journal: Bool) throws(RealmMetricsError) -> WallClockZone {
        guard !journal else {
            throw RealmMetricsError(.usage, "--timezone applies to the times in log lines; journal entries carry their own time (UTC)")
        }
        guard let named = WallClockZone.named(name) else {
            throw RealmMetricsError(.usage, "--timezone: unknown time zone '\(name)' (give an IANA name such as Europe/Berlin, or UTC)")
        }
        return named
    }
}

/// Replays the journal or old files with the lines' own times: per bucket of `bucketSeconds`, counter
/// deltas and gauge values at the bucket's end, stamped with the bucket's time. Reads no state file and
/// writes none; each worker life starts from zero as a fresh worker would. The wiring: the files or the
/// journal as a line source placed in time, the engine, the target's sink (and the statsd text or
/// summary of the window at the end), with the time-bucket flush policy.
public final class BackfillJob {
    public let configuration: BackfillConfiguration
    let driver: Driver
    let output: FDWriter
    let progressWriter = FDWriter.standardError()
    /// Points written to the target so far.
    private let counted = PointCount()
    public var buckets: Int { driver.buckets }
    public var points: Int { counted.points }
    public var untimedLines: Int64 { driver.untimedLines }
    /// Empty buckets of gaps between lines longer than ``maxGapBuckets`` that got no point.
    public var skippedGapBuckets: Int64 { driver.skippedGapBuckets }
    /// The most empty buckets written for one gap between two lines (8,640: a day of 10 s buckets).
    public static var maxGapBuckets: Int64 { Driver.maxGapBuckets }
    /// Lines cut to the line limit.
    public private(set) var truncatedLines: Int64 = 0
    let timing: LineTiming
    var lastProgress = 0.0
    let started = monotonicSeconds()

    public init(configuration: BackfillConfiguration, provider: PatternFileProvider = FilePatternProvider(), output: FDWriter = .standardOutput()) throws(RealmMetricsError) {
        try checkPrefix(configuration.prefix)
        self.configuration = configuration
        self.output = output
        let chain = PipelineChain(patternSets: try loadPatternSets(configuration.patterns, provider: provider))
        let fallbackYear = currentUTCYear()
        if configuration.journal == nil && (configuration.target.isTimed || configuration.sinceMillis != nil || configuration.untilMillis != nil) && !chain.hasTimes {
            throw RealmMetricsError(.usage, "the pattern files' envelopes capture no time (\(configuration.patterns.joined(separator: ", "))): lines cannot be placed in time; use --journal, or a layout with a time stamp")
        }
        let zone: WallClockZone?
        if let name = configuration.timeZone {
            let named = try BackfillConfiguration.zone(named: name, journal: configuration.journal != nil)
            guard chain.hasLocalTimes else {
                throw RealmMetricsError(.usage, "--timezone: the times of the pattern files (\(configuration.patterns.joined(separator: ", "))) are UTC or carry their offset (%z): there is no local time to read in \(name)")
            }
            zone = named
        } else {
            // The machine's zone with the same per-hour table (mktime(3) looks at /etc/localtime for
            // every line); mktime only when the zone cannot be named.
            zone = chain.hasLocalTimes ? WallClockZone.machine() : nil
        }
        timing = LineTiming(fallbackYear: fallbackYear, zone: zone, localTimes: chain.hasLocalTimes)
        var sinks: [MetricSink] = []
        let writer: BucketWriter?
        switch configuration.target {
        case .stdout: writer = nil
        case let .graphite(host, port):
            writer = try GraphiteSink(host: host, port: port, encoder: GraphiteEncoder(prefix: configuration.prefix, naming: configuration.graphiteNaming, bucketSeconds: configuration.bucketSeconds),
                                      timeoutSeconds: configuration.outputTimeoutSeconds)
        case let .dogstatsd(host, port):
            writer = DogStatsdSink(sink: StatsdSink(host: host, port: port), encoder: DogStatsdEncoder(prefix: configuration.prefix), maxPacketBytes: configuration.maxPacketBytes)
        case let .influx(path):
            writer = try InfluxSink(path: path, encoder: InfluxEncoder(prefix: configuration.prefix, precision: configuration.influxPrecision))
        case let .influxdb(host, port, database):
            writer = InfluxDBSink(host: host, port: port, database: database, encoder: InfluxEncoder(prefix: configuration.prefix, precision: configuration.influxPrecision),
                                  timeoutSeconds: configuration.outputTimeoutSeconds, batchLines: configuration.influxBatchLines)
        case let .openMetrics(path):
            writer = try OpenMetricsSink(path: path, names: PrometheusNames(prefix: configuration.prefix), help: { [chain] in chain.help(for: $0) })
        }
        if let writer {
            // Graphite through statsd's names and Influx (metric_type) keep counters and gauges apart;
            // plain names and DogStatsD do not.
            let separate = configuration.target.keepsOneKindPerName(graphiteNaming: configuration.graphiteNaming)
            sinks.append(BucketSink(CountingWriter(writer, counted), separateKinds: separate))
        }
        if configuration.printSummary {
            sinks.append(SummarySink(output: output, prefix: configuration.prefix))
        } else if configuration.target == .stdout && configuration.printStatsdText {
            sinks.append(StatsdTextSink(output: output, prefix: configuration.prefix))
        }
        // Lines without times (a layout without a time stamp, for a report) are read to the end as by
        // a plain replay: one reading at the end, no time line.
        let clock = configuration.journal == nil && !chain.hasTimes ? nil
            : BucketClock(seconds: configuration.bucketSeconds, sinceMillis: configuration.sinceMillis, untilMillis: configuration.untilMillis)
        driver = Driver(engine: chain, sinks: sinks, clock: clock)
        if let path = configuration.reportPath {
            let title = configuration.journal == nil ? configuration.files.joined(separator: ", ") : "the journal"
            let report = ReportSink(path: path, title: title, prefix: configuration.prefix, bucketSeconds: configuration.bucketSeconds, driver: driver)
            report.lineCounts = { [unowned chain, unowned driver] in (chain.stats, driver.untimedLines) }
            driver.sinks.append(report)
        }
        chain.setLineClock(fallbackYear: fallbackYear, zone: zone)
    }

    /// Runs the backfill; returns the line counts.
    public func run() throws(RealmMetricsError) -> PipelineStats {
        if let journal = configuration.journal {
            try runJournal(journal)
        } else {
            let source = try FileLines(files: configuration.files, workerPerFile: configuration.workerPerFile, store: driver.store,
                                       maxLineBytes: configuration.maxLineBytes, threads: configuration.threads, timing: timing)
            if configuration.progress { source.progress = { [unowned self] fraction, time in showProgress(position: fraction, at: time) } }
            defer { truncatedLines += source.truncatedLines }
            _ = try source.pump(driver, limit: .max)
        }
        try driver.finish()
        if configuration.progress { progressWriter.write("\r\u{1B}[K"); progressWriter.flush() }
        try output.finish(output.outputName)
        return driver.engine.stats
    }

    private func runJournal(_ journalConfiguration: JournalSource.Configuration) throws(RealmMetricsError) {
        let log = SidecarLog(writer: progressWriter)
        let journal = JournalSource(configuration: journalConfiguration) { priority, message in log.say(priority, message) }
        do { try journal.open() } catch { throw RealmMetricsError(.source, "cannot read the journal: \(error)") }
        if !journal.hasJournalFiles { throw RealmMetricsError(.source, "cannot read the journal: no journal files found") }
        // The lives of `run` (JournalLives), without a process check: these are past processes.
        let source = JournalLines(journal: journal, maxLineBytes: configuration.maxLineBytes, timed: true, sweepEachBatch: true)
        defer { truncatedLines += source.truncatedLines }
        let rangeEnd = configuration.untilMillis ?? wallClockMillis()
        while try source.pump(driver, limit: 16_384) > 0 {
            if configuration.progress, let first = source.firstTime {
                showProgress(position: nil, at: nil, journalFrom: configuration.sinceMillis ?? first, journalTo: rangeEnd, entries: journal.entriesRead)
            }
        }
    }

    private var lastShownTime: Int64? = nil

    private func showProgress(position: Double?, at time: Int64?, journalFrom: Int64? = nil, journalTo: Int64? = nil, entries: Int64? = nil) {
        let now = monotonicSeconds()
        guard now - lastProgress >= 0.2 else { return }
        lastProgress = now
        if let time { lastShownTime = time }
        let elapsed = max(0.001, now - started)
        let lines = driver.engine.stats.linesRead
        let rate = Double(lines) / elapsed
        let current = driver.clock?.current
        var fraction = position
        if fraction == nil, let from = journalFrom, let to = journalTo, to > from, let t = current ?? lastShownTime {
            fraction = min(1, max(0, Double(t - from) / Double(to - from)))
        }
        var text = "replay: \(entries.map { "\($0) entries" } ?? "\(lines) lines")"
        if let f = fraction {
            let width = 24
            let filled = Int(f * Double(width))
            text += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(Int(f * 100))%"
            if f > 0.001 {
                let left = Int(elapsed * (1 - f) / f)
                text += ", \(left / 60):\(left % 60 < 10 ? "0" : "")\(left % 60) left"
            }
        }
        if let t = current { text += ", at \(formatUTC(t))" }
        text += ", \(Int(rate)) lines/s, \(buckets) buckets"
        progressWriter.write("\r\u{1B}[K" + text)
        progressWriter.flush()
    }
}

/// The points a backfill has written.
final class PointCount {
    var points = 0
}

/// Counts the points of each bucket on their way to `writer`.
final class CountingWriter: BucketWriter {
    let writer: BucketWriter
    let count: PointCount

    init(_ writer: BucketWriter, _ count: PointCount) {
        self.writer = writer
        self.count = count
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        count.points += bucket.samples.count
        try writer.write(bucket)
    }

    func finish() throws(RealmMetricsError) { try writer.finish() }
}
