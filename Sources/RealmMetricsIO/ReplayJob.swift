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
    /// How the statsd text writes tags.
    public var tags: TagStyle = .none
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
        try checkPrefix(configuration.prefix)
        self.configuration = configuration
        patternSets = try loadPatternSets(configuration.patterns, provider: provider)
    }

    /// Runs the replay; statsd lines and the summary go to `output`. The wiring: the files as a line
    /// source (classified on ``ReplayConfiguration/threads`` threads), the engine, and the statsd text
    /// and summary sinks, flushed once at the end of the input.
    public func run(output: FDWriter) throws(RealmMetricsError) -> ReplayReport {
        var sinks: [MetricSink] = []
        if configuration.printStatsd { sinks.append(StatsdTextSink(output: output, prefix: configuration.prefix, tags: configuration.tags)) }
        if configuration.printSummary { sinks.append(SummarySink(output: output, prefix: configuration.prefix)) }
        let driver = Driver(engine: PipelineChain(patternSets: patternSets), sinks: sinks)
        let started = monotonicSeconds()
        let source = try FileLines(files: configuration.files, workerPerFile: configuration.workerPerFile, store: driver.store,
                                   maxLineBytes: configuration.maxLineBytes, chunkBytes: configuration.chunkBytes, threads: configuration.threads)
        _ = try source.pump(driver, limit: .max)
        let seconds = monotonicSeconds() - started
        try driver.finish()
        try output.finish(output.outputName)
        return ReplayReport(stats: driver.engine.stats, truncatedLines: source.truncatedLines, bytesRead: source.bytesRead, seconds: seconds,
                            warnings: driver.engine.takeWarnings())
    }
}
