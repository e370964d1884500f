import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Read log files once, start to end, and print the metrics they yield.",
        discussion: """
            The files are read in the order given as successive pieces of one worker's log (for example \
            rotated files, oldest first); with --worker-per-file each file is a worker of its own and the \
            host gauges are their sum. '-' reads standard input.

            Output (standard output):
              --to stdout   statsd lines: counters as name:total|c, gauges as name:value|g (the default)
              --summary     one JSON object {"counters": {...}, "gauges": {...}} with full names; every
                            metric the pattern files declare is listed, untouched ones as 0
            Line counts (read, matched, ignored, unmatched, cut, ...) and the rate go to standard error
            unless --quiet.
            """
    )

    @OptionGroup var patternOptions: PatternOptions

    @Option(name: .long, help: ArgumentHelp("Where metrics go: stdout (statsd lines).", valueName: "target"))
    var to: String?

    @Flag(name: .long, help: "Print a JSON summary of counter totals and final gauge values at the end.")
    var summary = false

    @Flag(name: .long, help: "Treat each file as a separate worker instead of pieces of one worker's log.")
    var workerPerFile = false

    @Option(name: .long, help: ArgumentHelp("Longer lines are cut to this many bytes and counted.", valueName: "bytes"))
    var maxLineBytes = 65536

    @Flag(name: .shortAndLong, help: "Do not print line counts to standard error.")
    var quiet = false

    @Argument(help: ArgumentHelp("Log files to read ('-' for standard input).", valueName: "file"))
    var files: [String]

    func validate() throws {
        if let to, to != "stdout" { throw ValidationError("--to: unknown target '\(to)' (supported: stdout)") }
        if maxLineBytes < 64 { throw ValidationError("--max-line-bytes must be at least 64") }
        if files.isEmpty { throw ValidationError("name at least one log file ('-' for standard input)") }
    }

    func run() throws {
        var configuration = ReplayConfiguration(prefix: patternOptions.resolvedPrefix, files: files)
        configuration.patterns = patternOptions.patternReferences
        configuration.printSummary = summary
        configuration.printStatsd = to != nil || !summary
        configuration.workerPerFile = workerPerFile
        configuration.maxLineBytes = maxLineBytes
        do {
            let job = try ReplayJob(configuration: configuration)
            let report = try job.run(output: FDWriter.standardOutput())
            if !quiet {
                let stderr = FDWriter.standardError()
                stderr.write(ReplayReportText.render(report) + "\n")
                stderr.flush()
            }
        } catch {
            throw fail(error)
        }
    }
}
