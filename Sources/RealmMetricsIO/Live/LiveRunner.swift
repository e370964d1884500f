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
    /// Seconds a rotated (renamed or deleted) log file is still read, at least.
    public var rotateWait: Double = 5
    /// Seconds between reminders while a statsd send failure lasts.
    public var faultReminderSeconds: Double = 300
    /// How often sources are read between flushes.
    public var tickInterval: Double = 0.1
    /// Prefix of the sidecar's own metrics (`<prefix>.sidecar` when nil); empty sends none.
    public var ownMetricsPrefix: String? = nil
    /// How statsd gets the tags of metrics whose rule gives them.
    public var tags: TagStyle = .none
    /// Where the Prometheus endpoint listens (`GET /metrics`); nil: no endpoint.
    public var prometheusListen: NetworkAddress? = nil
    /// The endpoint's defences against slow and hostile clients (tests shorten them).
    var prometheusLimits = MetricsEndpoint.Limits()

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
/// checkpoint, SIGHUP reloads the whole configuration (``reloadConfiguration``).
public final class LiveRunner {
    public private(set) var configuration: RunConfiguration
    /// Makes the configuration anew for a SIGHUP (the command line over the configuration file read
    /// again); without it a SIGHUP reloads only the pattern files.
    public var reloadConfiguration: (() throws(RealmMetricsError) -> RunConfiguration)?
    let provider: PatternFileProvider
    let log: FDWriter
    /// `log` with priorities (see ``SidecarLog``).
    let sidecarLog: SidecarLog
    let stateFile: StateFile
    /// Held for the runner's life: one sidecar per state directory (nil when it could not be taken for
    /// another reason than a second sidecar; that is warned about).
    let stateLock: StateLock?
    /// Source lines → engine → store, with the statsd sink (``statsd``) as its one sink.
    let driver: Driver
    var store: MetricStore { driver.store }
    var chain: PipelineChain { driver.engine }
    /// Compares the first lines of each worker with the built-in layouts (see ``LayoutProbe``); nil
    /// when there is nothing to compare with.
    var layoutProbe: LayoutProbe?
    /// The journal as a line source (its lives, its lines), when one is followed.
    var journalLines: JournalLines?
    var journal: JournalSource? { journalLines?.journal }
    /// Warns when the journal filter matches no entry. A host runs one of the default units, not both:
    /// only the filter as a whole is checked for them.
    lazy var journalFilterCheck: JournalFilterCheck? = journal.map(makeFilterCheck)

    private func makeFilterCheck(_ journal: JournalSource) -> JournalFilterCheck {
        JournalFilterCheck(source: journal, alternatives: Set(RunConfiguration.defaultUnits.map { JournalSource.Match(field: "_SYSTEMD_UNIT", value: $0) }),
                           warn: { [unowned self] in warn($0, $1) }, clear: { [unowned self] in clearWarning($0, $1) })
    }
    var tailer: FileTailer?
    /// The statsd receiver: what it was sent, the counts it has not taken yet, its faults.
    let statsd: LiveStatsdSink
    var delivery: StatsdDelivery { statsd.delivery }
    var sink: StatsdSink { statsd.sink }
    /// The sidecar's own metrics.
    let own: OwnMetrics
    /// The Prometheus endpoint and what it shows (nil without `--prometheus-listen`).
    private(set) var endpoint: MetricsEndpoint?
    private(set) var prometheus: PrometheusSink?
    var lastStateError: String?
    /// State files that could not be written (each failure, repeats included).
    var stateErrors: Int64 = 0
    /// The newest error of the journal, the files, statsd and the state file, for `status`.
    var lastErrors = LastErrors()
    /// The last reload refused, while no later one succeeded (see ``noteReloadRefused(_:)``).
    var reloadRefusal: (reason: String, atMillis: Int64)?
    var flushes: Int64 = 0
    /// Set when the state file was missing or damaged: history is read silently first.
    let firstStart: Bool
    /// What this run follows, saved with the state.
    var sources: SourceSet
    /// Sources the saved state does not know (empty on a first start and for states without a source
    /// set): their history is read silently before the other sources resume.
    let newSources: SourceSet.Changes
    /// Files named only by globs the saved state does not have; read silently to their end at start.
    let newFiles: [String]
    /// The saved file positions still in use (those of `newFiles` dropped).
    let keptFilePositions: [FilePosition]
    /// Warnings still current, by key (shown by `status` through the state file).
    var activeWarnings: [String: String] { sidecarLog.activeWarnings }
    /// Seconds on a monotonic clock: the checkpoint age and the statsd fault reminders are measured on it.
    let clock: () -> Double
    /// Time (on ``clock``) of the last state file written.
    var lastCheckpoint: Double

    /// `clock` measures the checkpoint age and the statsd fault reminders (nil: ``monotonicSeconds()``;
    /// the flush interval is always measured on the monotonic clock).
    public init(configuration: RunConfiguration, provider: PatternFileProvider = FilePatternProvider(), log: FDWriter = .standardError(),
                clock: (() -> Double)? = nil) throws(RealmMetricsError) {
        let ownPrefix = try LiveRunner.checkedOwnPrefix(configuration, code: .usage)
        let clock = clock ?? { monotonicSeconds() }
        self.clock = clock
        lastCheckpoint = clock()
        self.configuration = configuration
        self.provider = provider
        self.log = log
        let sidecarLog = SidecarLog(writer: log)
        self.sidecarLog = sidecarLog
        let sets = try loadPatternSets(configuration.patterns, provider: provider)
        driver = Driver(engine: PipelineChain(patternSets: sets), sinks: [])
        layoutProbe = LiveRunner.layoutProbe(for: sets, provider: provider)
        stateFile = StateFile(directory: configuration.stateDirectory)
        let sink = StatsdSink(host: configuration.statsdHost, port: configuration.statsdPort)

        var lockProblem: String? = nil
        switch StateLock.acquire(directory: configuration.stateDirectory) {
        case let .success(lock):
            stateLock = lock
        case let .failure(.held(pid)):
            throw RealmMetricsError(.usage, "state directory \(configuration.stateDirectory) is in use by \(pid.map { "process \($0)" } ?? "another process") (it holds \(configuration.stateDirectory)/lock); stop that sidecar or give this one another --state-dir")
        case let .failure(.unavailable(reason)):
            stateLock = nil
            lockProblem = reason
        }

        var saved: SidecarState? = nil
        do {
            saved = try stateFile.load()
        } catch {
            let aside = stateFile.moveAside(now: wallClockMillis())
            sidecarLog.say(.warning, "state file \(error); kept aside as \(aside ?? "(could not rename it)"); starting as on a first start")
        }
        firstStart = saved == nil
        // What the receiver was sent of each counter is saved with the counters; the own counters'
        // totals were all sent (states are saved right after a flush).
        own = OwnMetrics(carried: saved?.counts ?? [:])
        statsd = LiveStatsdSink(delivery: StatsdDelivery(sink: sink, maxPacketBytes: configuration.maxPacketBytes, unsent: saved?.unsentCounters ?? [:]),
                                prefix: configuration.prefix, tags: configuration.tags, ownPrefix: ownPrefix, own: own,
                                sent: DeltaTracker(sent: saved?.metrics.sent ?? [:]), ownSent: DeltaTracker(sent: saved?.counts ?? [:]),
                                faultReminderSeconds: configuration.faultReminderSeconds, log: sidecarLog, clock: clock)
        driver.sinks = [statsd]
        if let listen = configuration.prometheusListen {
            // Listening before anything is read: an address in use stops the start at once.
            endpoint = try MetricsEndpoint(host: listen.host, port: Int(listen.port), page: MetricsPage(), limits: configuration.prometheusLimits)
        }
        let currentSources = SourceSet(journal: configuration.journal, globs: configuration.files)
        let changes = saved.map { currentSources.changes(since: $0.sources) } ?? SourceSet.Changes()
        var filesOfNewGlobs: [String] = []
        if let oldGlobs = saved?.sources?.globs, !changes.newGlobs.isEmpty {
            // A file an old glob names is an old source's file, whatever new glob also names it.
            filesOfNewGlobs = LiveRunner.filesOnly(newGlobs: changes.newGlobs, of: configuration.files, known: Set(FileTailer.regularFiles(matching: oldGlobs)))
        }
        sources = currentSources
        newSources = changes
        newFiles = filesOfNewGlobs
        let newFileSet = Set(filesOfNewGlobs)
        keptFilePositions = (saved?.files ?? []).filter { !newFileSet.contains($0.path) }
        if var metrics = saved.map({ JournalLives.upgrade($0.metrics, pids: $0.journal?.pids) }) {
            // A new source's history rebuilds the state of its workers: what an older state holds for
            // them (a journal read with another filter, a file followed in some earlier run) is dropped.
            let newFileWorkers = Set(filesOfNewGlobs.map { LiveRunner.fileWorkerKey($0) })
            let journalIsNew = changes.journal
            metrics.workers.removeAll { newFileWorkers.contains($0.key) || (journalIsNew && !LiveRunner.isFileWorker($0.key)) }
            store.restore(metrics)
        }
        if let endpoint {
            // A state without the endpoint's part: its counters start at 0 from the restored totals.
            let sink = PrometheusSink(prefix: configuration.prefix, help: { [driver] in driver.engine.help(for: $0) }, page: endpoint.page, own: own,
                                      state: saved?.prometheus, reading: store.totals())
            prometheus = sink
            driver.sinks.append(sink)
        }

        if let journalConfiguration = configuration.journal {
            // A saved position of another location or filter is no position in this journal source.
            journalLines = try openJournal(journalConfiguration, position: newSources.journal ? nil : saved?.journal, maxLineBytes: configuration.maxLineBytes)
        }
        if !configuration.files.isEmpty {
            tailer = makeTailer(saved: keptFilePositions)
        }
        registerOwnMetrics()
        // Every declared metric is on the page from the start, as the state left it.
        prometheus?.write(store.totals(), distributions: [])
        driver.observer = { [unowned self] start, length, worker, outcome in
            if let probe = layoutProbe, let finding = probe.observe(start, length, worker: worker, outcome: outcome) { layoutFound(finding) }
        }
        if let lockProblem {
            warn("state-lock", "cannot lock the state directory (\(lockProblem)); running without the lock: a second sidecar on \(configuration.stateDirectory) would not be refused")
        }
    }

    /// What a start and a reload check before anything else: the prefixes are valid metric names and
    /// something is followed. Returns the own metrics' prefix (empty: none are sent).
    static func checkedOwnPrefix(_ configuration: RunConfiguration, code: RealmMetricsError.Code) throws(RealmMetricsError) -> String {
        try checkPrefix(configuration.prefix, code: code)
        guard configuration.journal != nil || !configuration.files.isEmpty else {
            throw RealmMetricsError(code, "nothing to follow: give --unit/--identifier (unit, identifier) for the journal or --file GLOB (file)")
        }
        let ownPrefix = configuration.ownMetricsPrefix ?? "\(configuration.prefix).sidecar"
        if !ownPrefix.isEmpty { try checkPrefix(ownPrefix, "own metrics prefix", code: code) }
        return ownPrefix
    }

    /// Opens the journal `configuration` names, positioned after `position` (its head when nil), with
    /// change notification set up; an error when it cannot be read or has no files.
    private func openJournal(_ configuration: JournalSource.Configuration, position: SidecarState.JournalPosition?, maxLineBytes: Int) throws(RealmMetricsError) -> JournalLines {
        let source = JournalSource(configuration: configuration, cursor: position?.cursor, invocations: position?.invocations ?? [:]) { [sidecarLog] priority, message in
            sidecarLog.say(priority, message)
        }
        do { try source.open() } catch { throw noJournal("\(error)") }
        guard source.hasJournalFiles else {
            throw noJournal("no journal files under /run/log/journal or /var/log/journal, or no permission to read them")
        }
        _ = source.pollDescriptor()  // sets up change notification
        return JournalLines(journal: source, maxLineBytes: maxLineBytes, timed: false, sweepEachBatch: false)
    }

    /// The files only `newGlobs` name: followed by a tailer of `globs` (rotated and compressed names
    /// left out) and not in `known` (the files of the globs before, which are no new source).
    static func filesOnly(newGlobs: [String], of globs: [String], known: Set<String>) -> [String] {
        let ofNewGlobs = Set(FileTailer.regularFiles(matching: newGlobs))
        return FileTailer.followedFiles(matching: globs).filter { ofNewGlobs.contains($0) && !known.contains($0) }
    }

    /// Logs the sources whose history was just read silently (`items`, `lines` lines), `when` they
    /// appeared (`since the last run`, `on reload`).
    private func sayCaughtUp(_ items: [String], lines: Int64, when: String) {
        let one = items.count == 1
        say(.notice, "new \(one ? "source" : "sources") \(when): \(items.joined(separator: ", ")); read \(one ? "its" : "their") history silently (\(lines) lines: gauges rebuilt, nothing counted)")
    }

    /// The built-in layouts the chosen pattern sets are compared with.
    static let builtInLayouts = ["realm-sync-worker", "ros1", "ros2"]

    /// A probe comparing `sets` with the built-in layouts that load and are not among them; nil when no
    /// such layout is left (the check is advice: a built-in that cannot be loaded is left out).
    static func layoutProbe(for sets: [PatternSet], provider: PatternFileProvider) -> LayoutProbe? {
        let builtIns = builtInLayouts.compactMap { try? PatternLoader(provider: provider).load($0) }
        return LayoutProbe(chosen: sets, alternatives: builtIns)
    }

    /// Warns (once per worker, kept for `status`) about a worker whose lines look like another layout.
    private func layoutFound(_ finding: LayoutProbe.Finding) {
        let key = store.workerKeys[finding.worker]
        warn("layout:\(key)", finding.message(workerKey: key))
    }

    private func makeTailer(saved: [FilePosition], globs: [String]? = nil) -> FileTailer {
        FileTailer(globs: globs ?? configuration.files, maxLineBytes: configuration.maxLineBytes, rotateWait: configuration.rotateWait,
                   saved: saved) { [sidecarLog] priority, message in
            sidecarLog.say(priority, message)
        }
    }

    /// The worker key ``FileTailer`` gives the lines of `path`.
    static func fileWorkerKey(_ path: String) -> String { "file:\(path)" }

    /// Whether a worker key is a file's (every other worker comes from the journal).
    static func isFileWorker(_ key: String) -> Bool { key.hasPrefix("file:") }

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
        if !configuration.files.isEmpty { sources.append("files \(configuration.files.joined(separator: ", "))") }
        let interval = configuration.flushInterval == configuration.flushInterval.rounded() ? "\(Int(configuration.flushInterval))" : "\(configuration.flushInterval)"
        return "realm-metrics \(realmMetricsVersion): following \(sources.joined(separator: " and ")); sending statsd to \(NetworkAddress(host: configuration.statsdHost, port: configuration.statsdPort)) every \(interval) s as \(configuration.prefix).*\(endpoint.map { "; Prometheus metrics at http://\(NetworkAddress(host: $0.host, port: UInt16(clamping: $0.port)))/metrics" } ?? ""); state in \(stateFile.path)"
    }

    /// Runs until SIGTERM or SIGINT; returns false when the final state could not be saved. Started by
    /// systemd (`$NOTIFY_SOCKET`), it sends READY=1 once the start-up's reading is done, WATCHDOG=1
    /// from the loop when the unit has a watchdog, and STOPPING=1 before the final flush
    /// (``ServiceNotifier``). The signal handlers write each signal's number into a pipe that
    /// ``run(requests:)`` reads.
    @discardableResult
    public func run() -> Bool {
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
        defer {
            signalPipeWrite = -1
            close(pipeFDs[0])
            close(pipeFDs[1])
        }
        return run(requests: pipeFDs[0])
    }

    /// The job of ``run()`` with its requests read from `requests` (a non-blocking descriptor, polled
    /// between reads of the sources): each byte is a signal number, SIGHUP reloads (``reload()``), any
    /// other stops the job with a final flush and checkpoint. Returns false when the final state could
    /// not be saved. The caller owns `requests`.
    func run(requests: Int32) -> Bool {
        sidecarLog.say(.info, startLine, prefixed: false)
        if firstStart {
            catchUp()
        } else {
            catchUpNewSources()
            tailer?.drainRotatedWhileStopped(fileLine)
        }
        // systemd (Type=notify, WatchdogSec=): ready once the history is read, then keep-alives
        // from this loop, so that a sidecar hung anywhere in it is restarted.
        let notifier = ServiceNotifier()
        notifier.ready()
        var nextWatchdog = monotonicSeconds()

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
            var wait = max(0, min(configuration.tickInterval, nextFlush - monotonicSeconds()))
            if let interval = notifier.watchdogInterval {
                if monotonicSeconds() >= nextWatchdog {
                    notifier.watchdog()
                    nextWatchdog = monotonicSeconds() + interval
                }
                wait = min(wait, max(0, nextWatchdog - monotonicSeconds()))
            }
            var fds = [pollfd(fd: requests, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, Int32(wait * 1000))
            var byte: UInt8 = 0
            while read(requests, &byte, 1) == 1 {
                switch Int32(byte) {
                case SIGHUP: reload()
                default: running = false
                }
            }
        }
        notifier.stopping()
        flush()
        // The kernel's answer to the last flush: a refused one is kept in the state for the next start.
        // Saved again in any case: the flush's state was prepared before its datagrams went, so the own
        // send counts (datagrams_sent, bytes_sent, send_errors) of the last flush are only counted now.
        delivery.settle()
        checkpoint()
        if let lastStateError {
            say(.error, "stopped after a final flush, but the state could not be saved: \(lastStateError); the next start resumes from the last state saved")
            return false
        }
        let kept = delivery.keptForState
        say(.info, "stopped after a final flush; state saved in \(stateFile.path)" + (kept.isEmpty ? "" : "; \(kept.count) counter deltas statsd did not take are kept in it and sent at the next start"))
        return true
    }

    /// First start without state: rebuild the gauges from the history available, then report only what
    /// happens from now on.
    func catchUp() {
        let before = chain.stats.linesRead
        readSources(limit: Int.max)
        driver.baseline()
        let read = chain.stats.linesRead - before
        say(.info, "no saved state: rebuilt the gauges from \(read) lines of history; reporting from now on")
        checkpoint()
    }

    /// Restart with sources the saved state does not know (``newSources``): reads their history as a
    /// first start reads all of it (gauges rebuilt, nothing counted), before any other source is read.
    /// The restored store is at a flush point (states are saved right after a flush), so marking
    /// everything flushed afterwards hides exactly the history just read. The journal, when new, is
    /// read from its head; files only new globs name are read to their end by a tailer of their own,
    /// whose positions the tailer of every glob then starts from.
    func catchUpNewSources() {
        guard !newSources.isEmpty else { return }
        let before = chain.stats.linesRead
        var items: [String] = []
        if newSources.journal {
            drainJournal(limit: Int.max)
            items += newSources.journalItems
        }
        if !newSources.newGlobs.isEmpty {
            tailer = makeTailer(saved: keptFilePositions + readHistory(of: newFiles))
            items += describe(newSources.newGlobs, newFiles: newFiles)
        }
        takePipelineWarnings()
        driver.baseline()
        sayCaughtUp(items, lines: chain.stats.linesRead - before, when: "since the last run")
        checkpoint()
    }

    /// Reads `files` (only new globs name them) to their end with a tailer of their own; returns where
    /// it stopped, for the tailer of every glob to start from.
    private func readHistory(of files: [String]) -> [FilePosition] {
        let history = makeTailer(saved: [], globs: files.map(FileTailer.literalGlob))
        _ = try? history.pump(driver, limit: .max)
        own.carry("lines_truncated", history.truncatedLines)
        return history.positions
    }

    /// `glob G (N files)` for each new glob, counting the new files it names.
    private func describe(_ globs: [String], newFiles: [String]) -> [String] {
        let newFileSet = Set(newFiles)
        return globs.map { glob in
            let n = FileTailer.regularFiles(matching: [glob]).filter { newFileSet.contains($0) }.count
            return "glob \(glob) (\(n) \(n == 1 ? "file" : "files"))"
        }
    }

    /// Reads what is new in every source.
    func readSources(limit: Int = 100_000) {
        drainJournal(limit: limit)
        if let tailer {
            _ = try? tailer.pump(driver, limit: .max)
            noteEmptyGlobs(tailer)
        }
        takePipelineWarnings()
    }

    /// Hands on up to `limit` new journal entries.
    private func drainJournal(limit: Int) {
        guard let journalLines else { return }
        journalLines.journal.acknowledgeWakeup()
        // Untimed: nothing to place in time, so nothing can fail.
        _ = try? journalLines.pump(driver, limit: limit)
        journalFilterCheck?.afterRead()
    }

    private func takePipelineWarnings() {
        for warning in chain.takeWarnings() {
            say(.warning, "warning: \(warning)")
        }
    }

    /// A glob that matches nothing gives zeros that look like a quiet worker: warned while it lasts.
    private func noteEmptyGlobs(_ tailer: FileTailer) {
        for glob in tailer.globs {
            let key = "glob:\(glob)"
            if tailer.emptyGlobs.contains(glob) {
                warn(key, "--file '\(glob)' matches no file; nothing is read from it until it does")
            } else if activeWarnings[key] != nil {
                clearWarning(key, "--file '\(glob)' matches \(tailer.followedPaths.filter { fnmatch(glob, $0, 0) == 0 }.count) file(s) now")
            }
        }
    }

    /// A line of a file (key `file:<path>`), for the tailer's reads outside ``FileTailer/pump(_:limit:)``.
    private func fileLine(_ start: UnsafePointer<UInt8>, _ length: Int, _ key: String) {
        driver.process(start, length, worker: driver.worker(key))
    }

    /// Sends the interval's counter deltas and every gauge, and checkpoints: the state is written to a
    /// temporary file first, the datagrams sent, then the file renamed into place, so a crash can at
    /// most repeat or miss one interval, and only in the instant between send and rename. Journal lives
    /// that ended (a stop line; on the local journal, a process gone) are removed first.
    func flush() {
        endJournalLives()
        journalFilterCheck?.recheckValues()
        flushes += 1
        let reading = store.totals()
        let distributions = store.takeDistributions()
        let batch = statsd.batch(of: reading, distributions: distributions)
        prometheus?.write(reading, distributions: distributions)
        // Prepared before sending as if the send succeeds (the usual case), so a crash between sending
        // and saving has only the rename to miss; written again when the flush failed or is kept for later.
        var prepared = prepareCheckpoint(unsent: [:], flushFailed: false)
        statsd.deliver(batch)
        let kept = delivery.keptForState
        if !kept.isEmpty || delivery.failing { prepared = prepareCheckpoint(unsent: kept, flushFailed: delivery.failing) }
        if let prepared { commit(prepared) }
    }

    /// Removes the journal lives that ended or hold nothing; on the local journal, also those whose process
    /// no longer exists (in journal files of another machine a process check means nothing).
    func endJournalLives() {
        guard let journalLines else { return }
        journalLines.endLives(driver, processExists: journalLines.journal.configuration.location == .local ? { JournalLives.processExists($0) } : nil)
    }

    /// Registers the sidecar's own metrics (see the README for their meaning), each read from the part
    /// that counts it.
    private func registerOwnMetrics() {
        for (name, _) in PipelineStats().fields {
            own.counter(name, "lines and rule effects of the pattern files") { [unowned self] in chain.stats.fields.first { $0.0 == name }?.1 ?? 0 }
        }
        own.counter("lines_truncated", "lines cut to the line limit") { [unowned self] in (journalLines?.truncatedLines ?? 0) + (tailer?.truncatedLines ?? 0) }
        own.counter("journal_entries", "journal entries read") { [unowned self] in journal?.entriesRead ?? 0 }
        own.counter("journal_gaps", "journal entries lost to vacuuming or rotation before they were read") { [unowned self] in journal?.gaps ?? 0 }
        own.counter("journal_errors", "journal read errors") { [unowned self] in journal?.errors ?? 0 }
        own.counter("file_rotations", "log file rotations followed") { [unowned self] in tailer?.rotations ?? 0 }
        own.counter("file_truncations", "log files truncated in place") { [unowned self] in tailer?.truncations ?? 0 }
        own.counter("file_rotation_losses", "rotations that left lines no longer readable") { [unowned self] in tailer?.rotationLosses ?? 0 }
        own.counter("send_errors", "statsd datagrams not sent or refused") { [unowned self] in sink.sendErrors }
        own.counter("datagrams_sent", "statsd datagrams sent") { [unowned self] in sink.datagramsSent }
        own.counter("bytes_sent", "statsd bytes sent") { [unowned self] in sink.bytesSent }
        own.counter("flushes", "flushes since the first start", sent: false) { [unowned self] in flushes }
        if endpoint != nil {
            own.counter("prometheus_requests", "HTTP requests the Prometheus endpoint answered") { [unowned self] in endpoint?.requests ?? 0 }
            own.counter("prometheus_refused_connections", "connections the Prometheus endpoint closed at once (too many open)") { [unowned self] in endpoint?.refusedConnections ?? 0 }
        }
        own.gauge("checkpoint_age_seconds", "seconds since the state file was last written") { [unowned self] in Int64(clock() - lastCheckpoint) }
        own.gauge("open_keys", "open gauge keys (sessions, connections) over all workers") { [unowned self] in Int64(store.openKeyCount) }
    }

    func checkpoint() {
        if let prepared = prepareCheckpoint(unsent: delivery.keptForState, flushFailed: delivery.failing) { commit(prepared) }
    }

    /// The state as it stands, written to a temporary file; `flushFailed`: whether the flush it belongs
    /// to did not reach statsd (also whether a statsd error still holds).
    private func prepareCheckpoint(unsent: [String: Int64], flushFailed: Bool) -> StateFile.Prepared? {
        let now = wallClockMillis()
        lastErrors.observe("journal", message: journal?.lastError, occurrences: journal?.errors ?? 0, holds: nil, nowMillis: now)
        lastErrors.observe("files", message: tailer?.lastError, occurrences: tailer?.errors ?? 0, holds: nil, nowMillis: now)
        lastErrors.observe("statsd", message: sink.lastError, occurrences: sink.sendErrors, holds: flushFailed, nowMillis: now)
        // A state-file error never holds in a state that could be written.
        lastErrors.observe("state", message: lastStateError, occurrences: stateErrors, holds: false, nowMillis: now)
        let lastError = lastErrors.last
        var state = SidecarState(
            savedAtMillis: now,
            journal: journal.map { SidecarState.JournalPosition(cursor: $0.cursor, invocations: $0.invocations.isEmpty ? nil : $0.invocations) },
            files: tailer?.positions ?? [],
            metrics: store.snapshot(sent: statsd.tracker.sent),
            counts: counts(),
            following: startLine,
            sources: sources,
            lastError: lastError?.message,
            warnings: activeWarnings.isEmpty ? nil : activeWarnings.keys.sorted().map { activeWarnings[$0]! },
            unsentCounters: unsent.isEmpty ? nil : unsent)
        state.prometheus = prometheus?.state
        state.flushIntervalSeconds = configuration.flushInterval
        state.lastErrorAtMillis = lastError?.atMillis
        state.lastErrorCurrent = lastError?.current
        state.lastFlushFailed = flushFailed
        state.lastReloadError = reloadRefusal?.reason
        state.lastReloadErrorAtMillis = reloadRefusal?.atMillis
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
            lastCheckpoint = clock()
            lastErrors.saved()
            if lastStateError != nil {
                say(.notice, "the state file is written again")
            }
            lastStateError = nil
        } catch {
            stateFailed(error)
        }
    }

    private func stateFailed(_ error: RealmMetricsError) {
        if lastStateError != error.message {
            say(.error, "cannot save state: \(error.message); still running and counting")
        }
        lastStateError = error.message
        stateErrors += 1
    }

    /// One line of the sidecar's log at `priority`.
    func say(_ priority: LogPriority, _ line: String) { sidecarLog.say(priority, line) }

    /// Warns once about `key` (see ``SidecarLog/warn(_:_:)``).
    func warn(_ key: String, _ message: String) { sidecarLog.warn(key, message) }

    /// Ends warning `key` (see ``SidecarLog/clearWarning(_:_:)``).
    func clearWarning(_ key: String, _ recovery: String? = nil) { sidecarLog.clearWarning(key, recovery) }

    /// Keeps the counts of a journal follower that a reload replaces.
    private func retireCounts(of journalLines: JournalLines?) {
        guard let journalLines else { return }
        own.carry("journal_entries", journalLines.journal.entriesRead)
        own.carry("journal_gaps", journalLines.journal.gaps)
        own.carry("journal_errors", journalLines.journal.errors)
        own.carry("lines_truncated", journalLines.truncatedLines)
    }

    /// Keeps the counts of a file tailer that a reload replaces.
    private func retireCounts(of tailer: FileTailer?) {
        guard let tailer else { return }
        own.carry("lines_truncated", tailer.truncatedLines)
        own.carry("file_rotations", tailer.rotations)
        own.carry("file_truncations", tailer.truncations)
        own.carry("file_rotation_losses", tailer.rotationLosses)
    }

    /// Keeps the counts of a statsd sink that a reload replaces (another receiver).
    private func retireCounts(of sink: StatsdSink) {
        own.carry("send_errors", sink.sendErrors)
        own.carry("datagrams_sent", sink.datagramsSent)
        own.carry("bytes_sent", sink.bytesSent)
    }

    /// The sidecar's own counts (``OwnMetrics``): totals since the first start.
    public func counts() -> [String: Int64] { own.counts() }

    /// SIGHUP: the whole configuration anew (``reloadConfiguration``), or only the pattern files when
    /// there is none. Everything that can fail (the configuration, the pattern files, a new journal
    /// source) is checked before anything changes: a refused reload keeps all running as it was, and
    /// is logged. Metric state is kept. See ``apply(_:)``.
    func reload() {
        let next: RunConfiguration
        if let reloadConfiguration {
            do { next = try reloadConfiguration() } catch {
                refuseReload(error.message)
                return
            }
        } else {
            next = configuration
        }
        do { try apply(next) } catch { refuseReload(error.message) }
    }

    private func refuseReload(_ reason: String) {
        say(.warning, "reload refused, keeping the configuration in use: \(reason)")
        noteReloadRefused(reason)
    }

    /// Switches to `next`: first a flush, so what was counted goes out under the old names to the old
    /// receiver; then the new pattern files, prefix, receiver (counter deltas it has not taken are kept
    /// for the new one), flush interval and limits. Sources are handled as a restart handles them: a
    /// journal with another location or filter, and the files only new globs name, have their history
    /// read silently (gauges rebuilt, nothing counted); the workers of sources no longer followed are
    /// removed. The layout warnings were about the old pattern files: they end, and each worker's next
    /// lines are sampled against the new ones. The state directory cannot change while running.
    func apply(_ next: RunConfiguration) throws(RealmMetricsError) {
        guard next.stateDirectory == configuration.stateDirectory else {
            throw RealmMetricsError(.config, "the state directory cannot change while running (\(configuration.stateDirectory) → \(next.stateDirectory)); restart the sidecar for that")
        }
        let ownPrefix = try LiveRunner.checkedOwnPrefix(next, code: .config)
        let sets = try loadPatternSets(next.patterns, provider: provider)
        let nextSources = SourceSet(journal: next.journal, globs: next.files)
        let changes = nextSources.changes(since: sources)
        var nextJournal = journalLines
        var journalIsNew = false
        if let journalConfiguration = next.journal, changes.journal || journal == nil {
            nextJournal = try openJournal(journalConfiguration, position: nil, maxLineBytes: next.maxLineBytes)
            journalIsNew = true
        } else if next.journal == nil {
            nextJournal = nil
        }

        // Nothing can fail from here on.
        flush()
        let previous = configuration
        configuration = next
        for (name, value) in chain.stats.fields { own.carry(name, value) }
        driver.replaceEngine(PipelineChain(patternSets: sets, store: store))
        journalLines?.maxLineBytes = next.maxLineBytes
        layoutProbe = LiveRunner.layoutProbe(for: sets, provider: provider)
        for key in activeWarnings.keys.sorted() where key.hasPrefix("layout:") { clearWarning(key) }
        statsd.rename(prefix: next.prefix, tags: next.tags, ownPrefix: ownPrefix)
        prometheus?.rename(prefix: next.prefix, help: { [driver] in driver.engine.help(for: $0) })
        if next.prometheusListen != previous.prometheusListen {
            say(.warning, "reload: the Prometheus endpoint stays \(previous.prometheusListen.map { "on \($0)" } ?? "off") (prometheus_listen changes need a restart)")
            configuration.prometheusListen = previous.prometheusListen
        }
        statsd.faultReminderSeconds = next.faultReminderSeconds
        if next.statsdHost != previous.statsdHost || next.statsdPort != previous.statsdPort || next.maxPacketBytes != previous.maxPacketBytes {
            let sameReceiver = next.statsdHost == previous.statsdHost && next.statsdPort == previous.statsdPort
            if !sameReceiver { retireCounts(of: delivery.sink) }
            let sink = sameReceiver ? delivery.sink : StatsdSink(host: next.statsdHost, port: next.statsdPort)
            statsd.redirect(StatsdDelivery(sink: sink, maxPacketBytes: next.maxPacketBytes, unsent: delivery.keptForState))
        }

        var caughtUp: [String] = []
        let before = chain.stats.linesRead
        if journalIsNew || (journal != nil && nextJournal == nil) {
            // The old journal's workers go: the new filter's history rebuilds those it still follows.
            if journal != nil {
                _ = store.removeWorkers { key, _ in !LiveRunner.isFileWorker(key) }
                driver.forgetWorkers()
                for key in activeWarnings.keys.sorted() where key.hasPrefix("journal") { clearWarning(key) }
            }
            retireCounts(of: journalLines)
            journalLines = nextJournal
            journalFilterCheck = journal.map(makeFilterCheck)
            if journal != nil {
                drainJournal(limit: Int.max)
                caughtUp += changes.journalItems.isEmpty ? [next.journal?.summary ?? "the journal"] : changes.journalItems
            }
        }
        if next.files != previous.files || next.maxLineBytes != previous.maxLineBytes || next.rotateWait != previous.rotateWait {
            var positions = tailer?.positions ?? []
            let followedBefore = Set(tailer?.followedPaths ?? []).union(FileTailer.regularFiles(matching: previous.files))
            if !changes.newGlobs.isEmpty {
                let newFiles = LiveRunner.filesOnly(newGlobs: changes.newGlobs, of: next.files, known: followedBefore)
                if !newFiles.isEmpty {
                    positions += readHistory(of: newFiles)
                    caughtUp += describe(changes.newGlobs, newFiles: newFiles)
                }
            }
            retireCounts(of: tailer)
            tailer = next.files.isEmpty ? nil : makeTailer(saved: positions)
            tailer?.drainRotatedWhileStopped(fileLine)
            // Files no globs name any more take their gauges with them.
            let stillNamed = Set(FileTailer.regularFiles(matching: next.files).map(LiveRunner.fileWorkerKey))
            let followedKeys = Set(followedBefore.map(LiveRunner.fileWorkerKey))
            if !store.removeWorkers(where: { key, _ in followedKeys.contains(key) && !stillNamed.contains(key) }).isEmpty { driver.forgetWorkers() }
            for glob in previous.files where !next.files.contains(glob) { clearWarning("glob:\(glob)") }
        }
        sources = nextSources
        takePipelineWarnings()
        if !caughtUp.isEmpty {
            driver.baseline()
            sayCaughtUp(caughtUp, lines: chain.stats.linesRead - before, when: "on reload")
        }
        reloadRefusal = nil
        say(.info, "reloaded the configuration (\(sets.map { "\($0.format): \($0.rules.count) rules" }.joined(separator: ", "))); now \(startLine.dropFirst("realm-metrics \(realmMetricsVersion): ".count))")
        checkpoint()
    }

    /// Records a refused reload for `status` (kept in the state file with its time until a reload
    /// succeeds, which sets ``reloadRefusal`` to nil); `reason` says what was wrong.
    func noteReloadRefused(_ reason: String) {
        reloadRefusal = (reason, wallClockMillis())
    }
}
