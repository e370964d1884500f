#if canImport(Glibc)
import Glibc
#endif
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

    /// Parses `stdout`, `graphite://HOST:PORT`, `dogstatsd://HOST:PORT`, `influx:PATH`, `influx:-`.
    public static func parse(_ text: String) -> BackfillTarget? {
        if text == "stdout" { return .stdout }
        if text.hasPrefix("graphite://"), let (h, p) = StatsdSink.parse(String(text.dropFirst("graphite://".count))) { return .graphite(host: h, port: p) }
        if text.hasPrefix("dogstatsd://"), let (h, p) = StatsdSink.parse(String(text.dropFirst("dogstatsd://".count))) { return .dogstatsd(host: h, port: p) }
        if text.hasPrefix("influx:"), text.count > "influx:".count { return .influx(path: String(text.dropFirst("influx:".count))) }
        return nil
    }

    var isTimed: Bool { self != .stdout }
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
    public var printSummary = false
    public var workerPerFile = false
    public var maxLineBytes = 65536
    public var maxPacketBytes = 1432
    /// Show a progress line on standard error (a terminal).
    public var progress = false
    /// Seconds a network output (Graphite) may take to accept the connection, or to take more data,
    /// before the job stops with an error.
    public var outputTimeoutSeconds: Double = 10
    /// The zone of the lines' local times (layouts with `timezone: local` and no `%z`): an IANA name or
    /// `UTC` (``WallClockZone/named(_:)``); nil reads them in the machine's zone. Only for files.
    public var timeZone: String?

    public init(prefix: String) { self.prefix = prefix }
}

/// Replays the journal or old files with the lines' own times: per bucket of `bucketSeconds`, counter
/// deltas and gauge values at the bucket's end, stamped with the bucket's time. Reads no state file and
/// writes none; each worker life starts from zero as a fresh worker would.
public final class BackfillJob {
    public let configuration: BackfillConfiguration
    let chain: PipelineChain
    let store = MetricStore()
    let clock: BucketClock
    let output: FDWriter
    let progressWriter = FDWriter.standardError()
    var sink: BucketSink?
    /// Counter totals inside the window and the last gauges, for stdout and --summary.
    var windowCounters: [String: Int64] = [:]
    var lastGauges: [String: Int64] = [:]
    public private(set) var buckets = 0
    public private(set) var points = 0
    public private(set) var untimedLines: Int64 = 0
    /// Lines cut to the line limit.
    public private(set) var truncatedLines: Int64 = 0
    let fallbackYear: Int
    /// The zone of local times (nil: the machine's, through `mktime(3)`).
    let zone: WallClockZone?
    var lastProgress = 0.0
    let started = monotonicSeconds()

    public init(configuration: BackfillConfiguration, provider: PatternFileProvider = FilePatternProvider(), output: FDWriter = .standardOutput()) throws(RealmMetricsError) {
        guard MetricName.isValidPath(configuration.prefix) else {
            throw RealmMetricsError(.usage, "prefix '\(configuration.prefix)' must be dot-separated parts of letters, digits, _ and -")
        }
        self.configuration = configuration
        self.output = output
        chain = PipelineChain(patternSets: try loadPatternSets(configuration.patterns, provider: provider), store: store)
        clock = BucketClock(store: store, seconds: configuration.bucketSeconds, sinceMillis: configuration.sinceMillis, untilMillis: configuration.untilMillis)
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        fallbackYear = Int(parts.tm_year) + 1900
        if configuration.journal == nil && (configuration.target.isTimed || configuration.sinceMillis != nil || configuration.untilMillis != nil) && !chain.hasTimes {
            throw RealmMetricsError(.usage, "the pattern files' envelopes capture no time (\(configuration.patterns.joined(separator: ", "))): lines cannot be placed in time; use --journal, or a layout with a time stamp")
        }
        if let name = configuration.timeZone {
            guard configuration.journal == nil else {
                throw RealmMetricsError(.usage, "--timezone applies to the times in log lines; journal entries carry their own time (UTC)")
            }
            guard let named = WallClockZone.named(name) else {
                throw RealmMetricsError(.usage, "--timezone: unknown time zone '\(name)' (give an IANA name such as Europe/Berlin, or UTC)")
            }
            guard chain.hasLocalTimes else {
                throw RealmMetricsError(.usage, "--timezone: the times of the pattern files (\(configuration.patterns.joined(separator: ", "))) are UTC or carry their offset (%z): there is no local time to read in \(name)")
            }
            zone = named
        } else {
            // The machine's zone with the same per-hour table (mktime(3) looks at /etc/localtime for
            // every line); mktime only when the zone cannot be named.
            zone = chain.hasLocalTimes ? WallClockZone.machine() : nil
        }
        switch configuration.target {
        case .stdout: sink = nil
        case let .graphite(host, port):
            sink = try GraphiteSink(host: host, port: port, encoder: GraphiteEncoder(prefix: configuration.prefix, naming: configuration.graphiteNaming, bucketSeconds: configuration.bucketSeconds),
                                    timeoutSeconds: configuration.outputTimeoutSeconds)
        case let .dogstatsd(host, port):
            sink = DogStatsdSink(sink: StatsdSink(host: host, port: port), encoder: DogStatsdEncoder(prefix: configuration.prefix), maxPacketBytes: configuration.maxPacketBytes)
        case let .influx(path):
            sink = try InfluxSink(path: path, encoder: InfluxEncoder(prefix: configuration.prefix))
        }
    }

    /// Runs the backfill; returns the line counts.
    public func run() throws(RealmMetricsError) -> PipelineStats {
        if let journal = configuration.journal {
            try runJournal(journal)
        } else {
            try runFiles()
        }
        if let last = clock.finish() { try emit(last) }
        try sink?.finish()
        if configuration.progress { progressWriter.write("\r\u{1B}[K"); progressWriter.flush() }
        let encoder = StatsdEncoder(prefix: configuration.prefix)
        let totals = windowCounters.map { MetricSample(name: $0.key, kind: .counter, value: $0.value) }.sorted { $0.name < $1.name }
            + lastGauges.map { MetricSample(name: $0.key, kind: .gauge, value: $0.value) }.sorted { $0.name < $1.name }
        if configuration.target == .stdout && !configuration.printSummary {
            for s in totals where s.kind == .gauge || s.value != 0 { output.write(encoder.line(s) + "\n") }
        }
        if configuration.printSummary { output.write(SummaryEncoder.json(totals, prefix: configuration.prefix)) }
        try output.finish(output.fd == STDOUT_FILENO ? "standard output" : "output")
        return chain.stats
    }

    private func emit(_ bucket: Bucket) throws(RealmMetricsError) {
        buckets += 1
        points += bucket.samples.count
        for s in bucket.samples {
            switch s.kind {
            case .counter: windowCounters[s.name, default: 0] += s.value
            case .gauge: lastGauges[s.name] = s.value
            }
        }
        // Every declared counter appears in the summary, zero when nothing happened in the window.
        for name in store.counterNames where windowCounters[name] == nil { windowCounters[name] = 0 }
        try sink?.write(bucket)
    }

    /// Moves the clock to a line's (or entry's) time, writing the buckets that closes; false once the
    /// window is over (nothing at or after that time may touch the state).
    @inline(__always)
    private func place(timeMillis: Int64?) throws(RealmMetricsError) -> Bool {
        let (position, closed) = clock.advance(toMillis: timeMillis)
        if let closed { try emit(closed) }
        if position == .after { return false }
        if timeMillis == nil { untimedLines += 1 }
        return true
    }

    private func runFiles() throws(RealmMetricsError) {
        let reader = LineReader(maxLineBytes: configuration.maxLineBytes)
        var totalBytes: Int64 = 0
        for file in configuration.files where file != "-" {
            var st = stat()
            if stat(file, &st) == 0 { totalBytes += Int64(st.st_size) }
        }
        let inputs = try LogInput.openAll(configuration.files, workerPerFile: configuration.workerPerFile, store: store)
        defer { LogInput.closeAll(inputs) }
        var failure: RealmMetricsError? = nil
        var done = false
        for input in inputs where !done {
            let worker = input.worker
            let truncatedBefore = reader.truncatedLines
            var count: Int64 = 0
            let error = reader.read(fd: input.fd, flushPartialAtEOF: true) { start, length in
                guard !done, failure == nil else { return }
                var time: Int64? = nil
                do throws(RealmMetricsError) {
                    // One envelope split gives the time (which closes buckets first) and the line's outcome.
                    let outcome = try chain.processTimed(start, length, worker: worker, fallbackYear: fallbackYear, zone: zone) { (t: Int64?) throws(RealmMetricsError) -> Bool in
                        time = t
                        return try place(timeMillis: t)
                    }
                    if outcome == nil { done = true }
                } catch {
                    failure = error
                }
                count += 1
                if configuration.progress && count & 0x3FFF == 0 {
                    showProgress(position: totalBytes > 0 ? Double(reader.bytesRead) / Double(totalBytes) : nil, at: time)
                }
            }
            truncatedLines += reader.truncatedLines - truncatedBefore
            if let failure { throw failure }
            if let error { throw RealmMetricsError(.input, "\(input.name): read failed: \(errnoText(error))") }
        }
    }

    private func runJournal(_ journalConfiguration: JournalSource.Configuration) throws(RealmMetricsError) {
        let source = JournalSource(configuration: journalConfiguration) { [progressWriter] _, message in
            progressWriter.write("realm-metrics: \(message)\n")
            progressWriter.flush()
        }
        do { try source.open() } catch { throw RealmMetricsError(.source, "cannot read the journal: \(error)") }
        if !source.hasJournalFiles { throw RealmMetricsError(.source, "cannot read the journal: no journal files found") }
        let rangeStart = configuration.sinceMillis
        let rangeEnd = configuration.untilMillis ?? wallClockMillis()
        var firstTime: Int64? = nil
        var failure: RealmMetricsError? = nil
        var done = false
        var last: (key: String, id: Int) = ("", -1)
        while !done && failure == nil {
            let n = source.drain(limit: 16_384) { entry in
                guard !done, failure == nil else { return }
                let time = Int64(entry.realtimeMicroseconds / 1000)
                if firstTime == nil { firstTime = time }
                do {
                    guard try place(timeMillis: time) else { done = true; return }
                } catch {
                    failure = error as? RealmMetricsError ?? RealmMetricsError(.output, "\(error)")
                    return
                }
                // The lives of `run` (JournalLives), without a process check: these are past processes.
                if entry.newInvocation && !JournalLives.endLives(of: entry.source, in: store).isEmpty { last = ("", -1) }
                let worker = store.workerID(entry.worker, remembering: &last)
                truncatedLines += entry.forEachLine(maxLineBytes: configuration.maxLineBytes) { start, length in
                    chain.process(start, length, worker: worker)
                }
            }
            if !JournalLives.sweep(store, processExists: nil).isEmpty {
                last = ("", -1)
                source.keepInvocations(of: JournalLives.sources(in: store))
            }
            if configuration.progress, let t = firstTime {
                let from = rangeStart ?? t
                showProgress(position: nil, at: nil, journalFrom: from, journalTo: rangeEnd, entries: source.entriesRead)
            }
            if n == 0 { break }
        }
        if let failure { throw failure }
    }

    private var lastShownTime: Int64? = nil

    private func showProgress(position: Double?, at time: Int64?, journalFrom: Int64? = nil, journalTo: Int64? = nil, entries: Int64? = nil) {
        let now = monotonicSeconds()
        guard now - lastProgress >= 0.2 else { return }
        lastProgress = now
        if let time { lastShownTime = time }
        let elapsed = max(0.001, now - started)
        let lines = chain.stats.linesRead
        let rate = Double(lines) / elapsed
        var fraction = position
        if fraction == nil, let from = journalFrom, let to = journalTo, to > from, let t = clock.current ?? lastShownTime {
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
        if let t = clock.current { text += ", at \(formatUTC(t))" }
        text += ", \(Int(rate)) lines/s, \(buckets) buckets"
        progressWriter.write("\r\u{1B}[K" + text)
        progressWriter.flush()
    }
}
