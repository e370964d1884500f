#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Where a job's lines come from: log files read once (``FileLines``), the journal (``JournalLines``),
/// files followed as they grow (``FileTailer``). A source hands each line to the ``Driver`` with its
/// worker and, for a job placed in time, its time.
protocol LineSource: AnyObject {
    /// Hands on what is there, at most `limit` lines or entries where the source can stop early (all
    /// of a bounded input otherwise); returns how many were handed on, 0 when nothing was new.
    func pump(_ driver: Driver, limit: Int) throws(RealmMetricsError) -> Int
    /// Lines cut to the line limit so far.
    var truncatedLines: Int64 { get }
}

/// How the lines of a job are placed in time (`backfill`): from their envelope's time stamp, with
/// `fallbackYear` for layouts without a year and local times read in `zone` (nil: UTC only).
struct LineTiming {
    var fallbackYear: Int
    var zone: WallClockZone?
    /// Some layout reads local times: without a `zone` (the machine's, read by `mktime(3)`), they are
    /// converted on the reading thread alone.
    var localTimes = false
}

/// Log files read once, start to end, in order (`replay`, `backfill` of files). Each file is a
/// successive piece of one worker's log, or with `workerPerFile` its own worker. With more than one
/// thread, lines are classified on several threads (``ParallelReplay``; for a backfill with their
/// times) and placed in time and applied in order.
final class FileLines: LineSource {
    let inputs: [LogInput]
    let maxLineBytes: Int
    let chunkBytes: Int
    let threads: Int
    let timing: LineTiming?
    /// Called every 16,384 lines with the share of all bytes read (nil: unknown, standard input) and
    /// the last line's time.
    var progress: ((Double?, Int64?) -> Void)?
    private(set) var truncatedLines: Int64 = 0
    private(set) var bytesRead: Int64 = 0
    private let totalBytes: Int64

    /// Opens every file (`-` is standard input) before any is read, so a missing one stops the job
    /// before it has done anything; worker slots are taken in `store`.
    init(files: [String], workerPerFile: Bool, store: MetricStore, maxLineBytes: Int, chunkBytes: Int = 1 << 20, threads: Int = 1,
         timing: LineTiming? = nil) throws(RealmMetricsError) {
        inputs = try LogInput.openAll(files, workerPerFile: workerPerFile, store: store)
        self.maxLineBytes = maxLineBytes
        self.chunkBytes = chunkBytes
        self.threads = threads
        self.timing = timing
        var total: Int64 = 0
        for file in files where file != "-" {
            var st = stat()
            if stat(file, &st) == 0 { total += Int64(st.st_size) }
        }
        totalBytes = total
    }

    deinit { LogInput.closeAll(inputs) }

    func pump(_ driver: Driver, limit: Int) throws(RealmMetricsError) -> Int {
        let before = driver.engine.stats.linesRead
        if threads > 1 && !(timing.map { $0.localTimes && $0.zone == nil } ?? false) {
            // Reading, matching (on `threads` threads) and applying in order run side by side.
            let parallel = ParallelReplay(chain: driver.engine, threads: threads, maxLineBytes: maxLineBytes, chunkBytes: chunkBytes)
            parallel.unmatchedObserver = driver.unmatchedObserver
            var placement: ParallelReplay.Placement? = nil
            if let timing {
                placement = ParallelReplay.Placement(fallbackYear: timing.fallbackYear, zone: timing.zone) { (t: Int64?) throws(RealmMetricsError) -> Bool in
                    try driver.place(timeMillis: t)
                }
                if let progress {
                    let total = totalBytes
                    placement?.progress = { bytes in progress(total > 0 ? Double(bytes) / Double(total) : nil, driver.clock?.current) }
                }
            }
            let failure = parallel.run(files: inputs, placement: placement)
            truncatedLines += parallel.truncatedLines
            bytesRead += parallel.bytesRead
            if let error = parallel.placementError { throw error }
            if let failure { throw readFailed(failure.file, failure.errno) }
        } else {
            try readInTurn(driver)
        }
        return Int(driver.engine.stats.linesRead - before)
    }

    private func readInTurn(_ driver: Driver) throws(RealmMetricsError) {
        let reader = LineReader(maxLineBytes: maxLineBytes, chunkBytes: chunkBytes)
        defer {
            truncatedLines += reader.truncatedLines
            bytesRead += reader.bytesRead
        }
        var failure: RealmMetricsError? = nil
        var pastWindow = false
        var count: Int64 = 0
        for input in inputs where !pastWindow {
            let worker = input.worker
            let error: Int32?
            if let timing {
                var time: Int64? = nil
                error = reader.read(fd: input.fd, flushPartialAtEOF: true) { start, length in
                    guard !pastWindow, failure == nil else { return }
                    do throws(RealmMetricsError) {
                        if !(try driver.processTimed(start, length, worker: worker, fallbackYear: timing.fallbackYear, zone: timing.zone)) { pastWindow = true }
                    } catch {
                        failure = error
                    }
                    count += 1
                    if let progress, count & 0x3FFF == 0 {
                        time = driver.clock?.current
                        progress(totalBytes > 0 ? Double(reader.bytesRead) / Double(totalBytes) : nil, time)
                    }
                }
            } else {
                error = reader.read(fd: input.fd, flushPartialAtEOF: true) { start, length in driver.process(start, length, worker: worker) }
            }
            if let failure { throw failure }
            if let error { throw readFailed(input.name, error) }
        }
    }

    private func readFailed(_ file: String, _ code: Int32) -> RealmMetricsError {
        RealmMetricsError(.input, "\(file): read failed: \(errnoText(code)) (metrics up to this point were not written)")
    }
}

/// A log file opened for reading, with the worker its lines belong to.
struct LogInput {
    let name: String
    let fd: Int32
    let worker: Int

    /// Opens every file (`-` is standard input) before any is read. The files are successive pieces of
    /// one worker's log, or with `workerPerFile` each its own worker.
    static func openAll(_ files: [String], workerPerFile: Bool, store: MetricStore) throws(RealmMetricsError) -> [LogInput] {
        var inputs: [LogInput] = []
        var sharedWorker = -1
        for file in files {
            let fd: Int32 = file == "-" ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = RealmMetricsError(.input, "\(file): cannot open: \(errnoText(errno))")
                closeAll(inputs)
                throw error
            }
            // Read once, start to end: let the kernel read ahead further on files not yet in memory.
            if fd != STDIN_FILENO { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) }
            let worker: Int
            if workerPerFile {
                worker = store.workerID(file)
            } else {
                if sharedWorker < 0 { sharedWorker = store.workerID("replay") }
                worker = sharedWorker
            }
            inputs.append(LogInput(name: file, fd: fd, worker: worker))
        }
        return inputs
    }

    static func closeAll(_ inputs: [LogInput]) {
        for input in inputs where input.fd != STDIN_FILENO { close(input.fd) }
    }
}

/// The journal as a line source: each entry's lines go to the life of its process (``JournalLives``);
/// an entry of a new invocation of its unit first ends every life of the earlier one. Placed in time
/// (`backfill`), each entry is placed at its own time (`__REALTIME_TIMESTAMP`) before its lines.
final class JournalLines: LineSource {
    let journal: JournalSource
    /// Lines longer than this are cut (changed by a reload of `run`).
    var maxLineBytes: Int
    let timed: Bool
    /// After each batch, removes the lives that ended or hold nothing (the backfill of past processes);
    /// `run` does it at each flush instead (``endLives(_:processExists:)``).
    let sweepEachBatch: Bool
    private(set) var truncatedLines: Int64 = 0
    /// The time of the first entry handed on.
    private(set) var firstTime: Int64?
    /// An entry was past the time window: nothing more is read.
    private(set) var pastWindow = false

    init(journal: JournalSource, maxLineBytes: Int, timed: Bool, sweepEachBatch: Bool) {
        self.journal = journal
        self.maxLineBytes = maxLineBytes
        self.timed = timed
        self.sweepEachBatch = sweepEachBatch
    }

    /// Batches of at most this many entries.
    static let batch = 10_000

    func pump(_ driver: Driver, limit: Int) throws(RealmMetricsError) -> Int {
        var total = 0
        var failure: RealmMetricsError? = nil
        let spans = driver.engine.hasSpans
        while total < limit && !pastWindow {
            let n = journal.drain(limit: min(JournalLines.batch, limit - total)) { entry in
                guard !pastWindow, failure == nil else { return }
                if timed {
                    let time = Int64(entry.realtimeMicroseconds / 1000)
                    if firstTime == nil { firstTime = time }
                    do throws(RealmMetricsError) {
                        guard try driver.place(timeMillis: time) else { pastWindow = true; return }
                    } catch {
                        failure = error
                        return
                    }
                }
                if entry.newInvocation && !JournalLives.endLives(of: entry.source, in: driver.store).isEmpty { driver.forgetWorkers() }
                // Spans of lines without a time of their own take the entry's.
                if spans { driver.engine.setFallbackLineTime(Int64(entry.realtimeMicroseconds / 1000)) }
                let worker = driver.worker(entry.worker)
                truncatedLines += entry.forEachLine(maxLineBytes: maxLineBytes) { start, length in
                    driver.process(start, length, worker: worker)
                }
            }
            if let failure { throw failure }
            total += n
            if sweepEachBatch { endLives(driver, processExists: nil) }
            if n == 0 { break }
        }
        return total
    }

    /// Removes the lives that ended at a stop line or hold nothing, and with `processExists` those
    /// whose process is gone; the journal then remembers only the invocations of sources still alive.
    func endLives(_ driver: Driver, processExists: ((Int) -> Bool)?) {
        guard !JournalLives.sweep(driver.store, processExists: processExists).isEmpty else { return }
        driver.forgetWorkers()
        journal.keepInvocations(of: JournalLives.sources(in: driver.store))
    }
}

extension FileTailer: LineSource {
    /// Reads what is new in every followed file (all of it: the tailer bounds its own reads).
    func pump(_ driver: Driver, limit: Int) throws(RealmMetricsError) -> Int {
        let before = driver.engine.stats.linesRead
        poll { start, length, key in driver.process(start, length, worker: driver.worker(key)) }
        return Int(driver.engine.stats.linesRead - before)
    }
}
