#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// What `run` should do.
public struct RunConfiguration: Sendable {
    public var patterns: [String] = ["realm-sync-worker"]
    public var prefix: String
    /// The journal to follow; nil follows none.
    public var journal: JournalSource.Configuration?
    /// True when the journal was chosen because no source was named (the error then points at --file).
    public var journalIsDefault = false
    public var files: [String] = []
    public var statsdHost = "localhost"
    public var statsdPort: UInt16 = 8125
    public var flushInterval: Double = 10
    public var stateDirectory = "/var/lib/realm-metrics"
    public var maxPacketBytes = 1432
    public var maxLineBytes = 65536
    /// How often sources are read between flushes.
    public var tickInterval: Double = 0.1
    /// Prefix of the sidecar's own metrics (`<prefix>.sidecar` when nil); empty sends none.
    public var ownMetricsPrefix: String? = nil

    public init(prefix: String) { self.prefix = prefix }

    /// The units followed when no source is named.
    public static let defaultUnits = ["realm-object-server.service", "realm-sync.service"]
}

/// The signal numbers the running sidecar has received, written by the handler into a pipe.
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1

private let signalHandler: @convention(c) (Int32) -> Void = { signal in
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipeWrite, &byte, 1)
}

/// The live sidecar: follows the journal and files, turns lines into metrics, sends statsd every flush
/// interval and checkpoints its state after each flush. Everything runs on the calling thread (which
/// also owns the journal handle for its whole life); SIGTERM/SIGINT end it with a final flush and
/// checkpoint, SIGHUP reloads the pattern files.
public final class LiveRunner {
    public let configuration: RunConfiguration
    let provider: PatternFileProvider
    let log: FDWriter
    let stateFile: StateFile
    let store = MetricStore()
    var chain: PipelineChain
    /// Line counts of pipelines replaced by a reload.
    var retiredStats = PipelineStats()
    var journal: JournalSource?
    /// Warns when the journal filter matches no entry. A host runs one of the default units, not both:
    /// only the filter as a whole is checked for them.
    lazy var journalFilterCheck: JournalFilterCheck? = journal.map { journal in
        JournalFilterCheck(source: journal, alternatives: Set(RunConfiguration.defaultUnits.map { JournalSource.Match(field: "_SYSTEMD_UNIT", value: $0) }),
                           warn: { [unowned self] in warn($0, $1) }, clear: { [unowned self] in clearWarning($0, $1) })
    }
    var tailer: FileTailer?
    let sink: StatsdSink
    let encoder: StatsdEncoder
    var truncatedJournalLines: Int64 = 0
    var lastStateError: String?
    var flushes: Int64 = 0
    /// Set when the state file was missing or damaged: history is read silently first.
    let firstStart: Bool
    /// The own counts of earlier runs (from the state file): counts are kept across restarts.
    let earlierCounts: [String: Int64]
    /// Own counts as last sent (deltas are sent).
    var ownSent: [String: Int64]
    let ownEncoder: StatsdEncoder?
    /// Warnings still current, by key (shown by `status` through the state file).
    var activeWarnings: [String: String] = [:]
    /// Monotonic time of the last state file written.
    var lastCheckpoint = monotonicSeconds()

    public init(configuration: RunConfiguration, provider: PatternFileProvider = FilePatternProvider(), log: FDWriter = .standardError()) throws(RealmMetricsError) {
        guard MetricName.isValidPath(configuration.prefix) else {
            throw RealmMetricsError(.usage, "prefix '\(configuration.prefix)' must be dot-separated parts of letters, digits, _ and -")
        }
        guard configuration.journal != nil || !configuration.files.isEmpty else {
            throw RealmMetricsError(.usage, "nothing to follow: give --unit/--identifier for the journal or --file GLOB")
        }
        self.configuration = configuration
        self.provider = provider
        self.log = log
        let sets = try loadPatternSets(configuration.patterns, provider: provider)
        chain = PipelineChain(patternSets: sets, store: store)
        stateFile = StateFile(directory: configuration.stateDirectory)
        encoder = StatsdEncoder(prefix: configuration.prefix)
        sink = StatsdSink(host: configuration.statsdHost, port: configuration.statsdPort)

        var saved: SidecarState? = nil
        do {
            saved = try stateFile.load()
        } catch {
            let aside = stateFile.moveAside(now: wallClockMillis())
            log.write("realm-metrics: state file \(error); kept aside as \(aside ?? "(could not rename it)"); starting as on a first start\n")
            log.flush()
        }
        firstStart = saved == nil
        earlierCounts = saved?.counts ?? [:]
        ownSent = earlierCounts
        let ownPrefix = configuration.ownMetricsPrefix ?? "\(configuration.prefix).sidecar"
        if !ownPrefix.isEmpty && !MetricName.isValidPath(ownPrefix) {
            throw RealmMetricsError(.usage, "own metrics prefix '\(ownPrefix)' must be dot-separated parts of letters, digits, _ and -")
        }
        ownEncoder = ownPrefix.isEmpty ? nil : StatsdEncoder(prefix: ownPrefix)
        if let saved { store.restore(JournalLives.upgrade(saved.metrics, pids: saved.journal?.pids)) }

        if let journalConfiguration = configuration.journal {
            let source = JournalSource(configuration: journalConfiguration, cursor: saved?.journal?.cursor, invocations: saved?.journal?.invocations ?? [:]) { [log] message in
                log.write("realm-metrics: \(message)\n")
                log.flush()
            }
            do {
                try source.open()
            } catch {
                throw noJournal("\(error)")
            }
            if !source.hasJournalFiles {
                throw noJournal("no journal files under /run/log/journal or /var/log/journal, or no permission to read them")
            }
            _ = source.pollDescriptor()  // sets up change notification
            journal = source
        }
        if !configuration.files.isEmpty {
            tailer = FileTailer(globs: configuration.files, maxLineBytes: configuration.maxLineBytes, saved: saved?.files ?? []) { [log] message in
                log.write("realm-metrics: \(message)\n")
                log.flush()
            }
        }
    }

    private func noJournal(_ reason: String) -> RealmMetricsError {
        let hint = configuration.journalIsDefault
            ? "; to follow log files instead, use --file GLOB"
            : " (readers need root or the systemd-journal group)"
        return RealmMetricsError(.source, "cannot read the journal: \(reason)\(hint)")
    }

    /// One line describing what is followed and where metrics go.
    public var startLine: String {
        var sources: [String] = []
        if let journal { sources.append(journal.configuration.summary) }
        if let tailer { sources.append("files \(tailer.globs.joined(separator: ", "))") }
        let interval = configuration.flushInterval == configuration.flushInterval.rounded() ? "\(Int(configuration.flushInterval))" : "\(configuration.flushInterval)"
        return "realm-metrics \(realmMetricsVersion): following \(sources.joined(separator: " and ")); sending statsd to \(configuration.statsdHost):\(configuration.statsdPort) every \(interval) s as \(configuration.prefix).*; state in \(stateFile.path)"
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() {
        var pipeFDs: [Int32] = [0, 0]
        pipe(&pipeFDs)
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        signalPipeWrite = pipeFDs[1]
        for s in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = signalHandler
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
        }
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (the mask is inherited): unblock them, or
        // SIGTERM would never stop the sidecar.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&unblock, s) }
        sigprocmask(SIG_UNBLOCK, &unblock, nil)

        log.write(startLine + "\n")
        log.flush()
        if firstStart {
            catchUp()
        } else {
            tailer?.drainRotatedWhileStopped(handleFileLine)
        }

        var nextFlush = monotonicSeconds() + configuration.flushInterval
        var running = true
        while running {
            readSources()
            let now = monotonicSeconds()
            if now >= nextFlush {
                flush()
                nextFlush += configuration.flushInterval
                if nextFlush <= now { nextFlush = now + configuration.flushInterval }
            }
            let wait = max(0, min(configuration.tickInterval, nextFlush - monotonicSeconds()))
            var fds = [pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, Int32(wait * 1000))
            var byte: UInt8 = 0
            while read(pipeFDs[0], &byte, 1) == 1 {
                switch Int32(byte) {
                case SIGHUP: reload()
                default: running = false
                }
            }
        }
        flush()
        log.write("realm-metrics: stopped after a final flush; state saved in \(stateFile.path)\n")
        log.flush()
        close(pipeFDs[0])
        close(pipeFDs[1])
        signalPipeWrite = -1
    }

    /// First start without state: rebuild the gauges from the history available, then report only what
    /// happens from now on.
    func catchUp() {
        let before = chain.stats.linesRead
        readSources(limit: Int.max)
        store.markAllFlushed()
        let read = chain.stats.linesRead - before
        log.write("realm-metrics: no saved state: rebuilt the gauges from \(read) lines of history; reporting from now on\n")
        log.flush()
        checkpoint()
    }

    /// Reads what is new in every source.
    func readSources(limit: Int = 100_000) {
        if let journal {
            journal.acknowledgeWakeup()
            var total = 0
            while total < limit {
                let n = journal.drain(limit: min(10_000, limit - total), handleJournalEntry)
                total += n
                if n == 0 { break }
            }
            journalFilterCheck?.afterRead()
        }
        tailer?.poll(handleFileLine)
        for warning in chain.takeWarnings() {
            log.write("realm-metrics: warning: \(warning)\n")
            log.flush()
        }
    }

    private var lastWorker: (key: String, id: Int) = ("", -1)

    @inline(__always)
    private func workerID(_ key: String) -> Int {
        store.workerID(key, remembering: &lastWorker)
    }

    /// One journal entry: its lines go to the life of its process (``JournalLives``); a new invocation of
    /// its unit first ends every life of the earlier one.
    private func handleJournalEntry(_ entry: JournalSource.Entry) {
        if entry.newInvocation && !JournalLives.endLives(of: entry.source, in: store).isEmpty { lastWorker = ("", -1) }
        let worker = workerID(entry.worker)
        truncatedJournalLines += entry.forEachLine(maxLineBytes: configuration.maxLineBytes) { start, length in
            chain.process(start, length, worker: worker)
        }
    }

    private func handleFileLine(_ start: UnsafePointer<UInt8>, _ length: Int, _ worker: String) {
        chain.process(start, length, worker: workerID(worker))
    }

    /// Sends the interval's counter deltas and every gauge, and checkpoints: the state is written to a
    /// temporary file first, the datagrams sent, then the file renamed into place, so a crash can at
    /// most repeat or miss one interval, and only in the instant between send and rename. Journal lives
    /// that ended (a stop line; on the local journal, a process gone) are removed first.
    func flush() {
        endJournalLives()
        journalFilterCheck?.recheckValues()
        var lines = store.flush().map(encoder.line)
        flushes += 1
        lines += ownMetricLines()
        let prepared = prepareCheckpoint()
        sink.send(StatsdEncoder.pack(lines, maxBytes: configuration.maxPacketBytes))
        if let prepared { commit(prepared) }
    }

    /// Removes the journal lives that ended or hold nothing; on the local journal, also those whose process
    /// no longer exists (in journal files of another machine a process check means nothing).
    func endJournalLives() {
        guard let journal else { return }
        var check: ((Int) -> Bool)? = nil
        if journal.configuration.location == .local { check = { JournalLives.processExists($0) } }
        guard !JournalLives.sweep(store, processExists: check).isEmpty else { return }
        lastWorker = ("", -1)
        journal.keepInvocations(of: JournalLives.sources(in: store))
    }

    /// The sidecar's own metrics: its counts as counter deltas, and the checkpoint age as a gauge.
    func ownMetricLines() -> [String] {
        guard let ownEncoder else { return [] }
        var samples: [MetricSample] = []
        let now = counts()
        for key in now.keys.sorted() where key != "flushes" {
            let delta = now[key]! - (ownSent[key] ?? 0)
            if delta != 0 { samples.append(MetricSample(name: key, kind: .counter, value: delta)) }
        }
        ownSent = now
        samples.append(MetricSample(name: "checkpoint_age_seconds", kind: .gauge, value: Int64(monotonicSeconds() - lastCheckpoint)))
        samples.append(MetricSample(name: "open_keys", kind: .gauge, value: Int64(store.openKeyCount)))
        return samples.map(ownEncoder.line)
    }

    func checkpoint() {
        if let prepared = prepareCheckpoint() { commit(prepared) }
    }

    private func prepareCheckpoint() -> StateFile.Prepared? {
        let state = SidecarState(
            savedAtMillis: wallClockMillis(),
            journal: journal.map { SidecarState.JournalPosition(cursor: $0.cursor, invocations: $0.invocations.isEmpty ? nil : $0.invocations) },
            files: tailer?.positions ?? [],
            metrics: store.snapshot(),
            counts: counts(),
            following: startLine,
            lastError: [journal?.lastError, tailer?.lastError, sink.lastError, lastStateError].compactMap { $0 }.last,
            warnings: activeWarnings.isEmpty ? nil : activeWarnings.keys.sorted().map { activeWarnings[$0]! })
        do {
            return try stateFile.prepare(state)
        } catch {
            stateFailed(error)
            return nil
        }
    }

    private func commit(_ prepared: StateFile.Prepared) {
        do {
            try prepared.commit()
            lastCheckpoint = monotonicSeconds()
            if lastStateError != nil {
                log.write("realm-metrics: the state file is written again\n")
                log.flush()
            }
            lastStateError = nil
        } catch {
            stateFailed(error)
        }
    }

    private func stateFailed(_ error: RealmMetricsError) {
        if lastStateError != error.message {
            log.write("realm-metrics: cannot save state: \(error.message); still running and counting\n")
            log.flush()
        }
        lastStateError = error.message
    }

    /// Logs `message` as a warning the first time `key` is raised (and again when its message changes),
    /// and keeps it for `status` until ``clearWarning(_:_:)``.
    func warn(_ key: String, _ message: String) {
        guard activeWarnings[key] != message else { return }
        activeWarnings[key] = message
        log.write("realm-metrics: warning: \(message)\n")
        log.flush()
    }

    /// Ends warning `key`; logs `recovery` when the warning was current.
    func clearWarning(_ key: String, _ recovery: String? = nil) {
        guard activeWarnings.removeValue(forKey: key) != nil else { return }
        if let recovery {
            log.write("realm-metrics: \(recovery)\n")
            log.flush()
        }
    }

    /// The sidecar's own counts.
    public func counts() -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (k, v) in chain.stats.adding(retiredStats).fields { out[k] = v }
        out["lines_truncated"] = truncatedJournalLines + (tailer?.truncatedLines ?? 0)
        out["journal_entries"] = journal?.entriesRead ?? 0
        out["journal_gaps"] = journal?.gaps ?? 0
        out["journal_errors"] = journal?.errors ?? 0
        out["file_rotations"] = tailer?.rotations ?? 0
        out["file_truncations"] = tailer?.truncations ?? 0
        out["send_errors"] = sink.sendErrors
        out["datagrams_sent"] = sink.datagramsSent
        out["bytes_sent"] = sink.bytesSent
        out["flushes"] = flushes
        for (k, v) in earlierCounts { out[k, default: 0] += v }
        return out
    }

    /// SIGHUP: new pattern files; the old ones stay when the new ones fail. Metric state is kept.
    func reload() {
        do {
            let sets = try loadPatternSets(configuration.patterns, provider: provider)
            retiredStats = retiredStats.adding(chain.stats)
            chain = PipelineChain(patternSets: sets, store: store)
            log.write("realm-metrics: reloaded pattern files (\(sets.map { "\($0.format): \($0.rules.count) rules" }.joined(separator: ", ")))\n")
        } catch {
            log.write("realm-metrics: reload refused, keeping the pattern files in use: \(error.message)\n")
        }
        log.flush()
    }
}

/// Milliseconds since the epoch, for the command line.
public func wallClockMillisForCLI() -> Int64 { wallClockMillis() }

func wallClockMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
