#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RealmMetricsCore

/// What `replay` should do.
public struct ReplayConfiguration: Sendable {
    /// Pattern files (built-in names or paths); a line goes to each in turn until one matches it.
    public var patterns: [String] = ["realm-sync-worker"]
    public var prefix: String
    /// Files to read, in order; `-` is standard input.
    public var files: [String]
    public var printStatsd = true
    public var printSummary = false
    /// Treat each file as a separate worker instead of successive pieces of one worker's log.
    public var workerPerFile = false
    public var maxLineBytes = 65536
    /// Threads that match lines (the metric state is always changed by one, in order); 1 reads, matches
    /// and applies on the calling thread alone. One more than the cores keeps every core busy while
    /// the reading and applying threads wait on each other.
    public var threads = max(2, ProcessInfo.processInfo.activeProcessorCount + 1)
    /// Bytes read at a time (the unit of work handed to the matching threads).
    public var chunkBytes = 1 << 20

    public init(prefix: String, files: [String]) {
        self.prefix = prefix
        self.files = files
    }
}

/// The counts of a finished replay.
public struct ReplayReport: Sendable {
    public var stats: PipelineStats
    public var truncatedLines: Int64
    public var bytesRead: Int64
    public var seconds: Double
    /// Warnings for the operator (log levels that cannot feed some metrics).
    public var warnings: [String] = []
    public var linesPerSecond: Double { seconds > 0 ? Double(stats.linesRead) / seconds : 0 }
}

/// Reads files once, start to end, through one pipeline, and writes the resulting metrics.
public struct ReplayJob {
    public let configuration: ReplayConfiguration
    public let patternSets: [PatternSet]

    public init(configuration: ReplayConfiguration, provider: PatternFileProvider = FilePatternProvider()) throws(RealmMetricsError) {
        guard MetricName.isValidPath(configuration.prefix) else {
            throw RealmMetricsError(.usage, "prefix '\(configuration.prefix)' must be dot-separated parts of letters, digits, _ and -")
        }
        self.configuration = configuration
        patternSets = try loadPatternSets(configuration.patterns, provider: provider)
    }

    /// Runs the replay; statsd lines and the summary go to `output`.
    public func run(output: FDWriter) throws(RealmMetricsError) -> ReplayReport {
        let pipeline = PipelineChain(patternSets: patternSets)
        let started = monotonicSeconds()
        let inputs = try LogInput.openAll(configuration.files, workerPerFile: configuration.workerPerFile, store: pipeline.store)
        defer { LogInput.closeAll(inputs) }
        let truncatedLines: Int64, bytesRead: Int64
        if configuration.threads > 1 {
            // Reading, matching (on `threads` threads) and applying in order run side by side.
            let parallel = ParallelReplay(chain: pipeline, threads: configuration.threads, maxLineBytes: configuration.maxLineBytes,
                                          chunkBytes: configuration.chunkBytes)
            if let failure = parallel.run(files: inputs) {
                throw RealmMetricsError(.input, "\(failure.file): read failed: \(errnoText(failure.errno)) (metrics up to this point were not written)")
            }
            truncatedLines = parallel.truncatedLines
            bytesRead = parallel.bytesRead
        } else {
            let reader = LineReader(maxLineBytes: configuration.maxLineBytes, chunkBytes: configuration.chunkBytes)
            for input in inputs {
                let worker = input.worker
                if let error = reader.read(fd: input.fd, flushPartialAtEOF: true, { start, length in pipeline.process(start, length, worker: worker) }) {
                    throw RealmMetricsError(.input, "\(input.name): read failed: \(errnoText(error)) (metrics up to this point were not written)")
                }
            }
            truncatedLines = reader.truncatedLines
            bytesRead = reader.bytesRead
        }
        let seconds = monotonicSeconds() - started
        if configuration.printStatsd {
            let encoder = StatsdEncoder(prefix: configuration.prefix)
            for sample in pipeline.store.flush() { output.write(encoder.line(sample) + "\n") }
        }
        if configuration.printSummary {
            output.write(SummaryEncoder.json(pipeline.store.totals(), prefix: configuration.prefix))
        }
        try output.finish(output.fd == STDOUT_FILENO ? "standard output" : "output")
        return ReplayReport(stats: pipeline.stats, truncatedLines: truncatedLines, bytesRead: bytesRead, seconds: seconds,
                            warnings: pipeline.takeWarnings())
    }
}

/// A log file opened for reading, with the worker its lines belong to.
struct LogInput {
    let name: String
    let fd: Int32
    let worker: Int

    /// Opens every file (`-` is standard input) before any is read, so a missing one stops the job
    /// before it has done anything. The files are successive pieces of one worker's log, or with
    /// `workerPerFile` each its own worker.
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

/// Reads and parses a `run` configuration file.
public func loadConfigFile(_ path: String) throws(RealmMetricsError) -> ConfigFile {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw RealmMetricsError(.usage, "\(path): cannot read the configuration file: \(errnoText(errno))")
    }
    do {
        return try ConfigFile.parse(String(decoding: data, as: UTF8.self), path: path)
    } catch {
        throw RealmMetricsError(.config, error.description)
    }
}

/// Loads every pattern set named, turning a broken file into a `pattern-file` error.
public func loadPatternSets(_ references: [String], provider: PatternFileProvider = FilePatternProvider()) throws(RealmMetricsError) -> [PatternSet] {
    guard !references.isEmpty else { throw RealmMetricsError(.usage, "no pattern file given") }
    var sets: [PatternSet] = []
    for reference in references {
        do {
            sets.append(try PatternLoader(provider: provider).load(reference))
        } catch {
            throw RealmMetricsError(.patternFile, error.description)
        }
    }
    return sets
}
