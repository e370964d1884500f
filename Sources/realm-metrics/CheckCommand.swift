import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compile pattern files and run every example they contain; validate a run configuration file.",
        discussion: """
            For each file: loads it with its includes (a broken file is reported as file:line:column: \
            reason), then runs the examples of its envelope, ignore rules and rules, and prints one line \
            per rule: ok or FAIL with the reasons. Exits 1 if anything failed. Built-in names are accepted \
            as well as paths.

            --config FILE validates a run configuration without running it: every key and value (unknown \
            keys, types, ranges, the statsd address), the prefixes, the unit names, journal_directory \
            with journal_file, and every pattern file it names (or the default one): found, compiled, \
            and the examples of each of its files run. Every error is one line, file:line:column: \
            reason (the configuration file's place, or the pattern file's for what is wrong in a \
            pattern file); exit status 1 on any error, 0 with one line saying what the configuration \
            does. Log files and journals are not looked for: they belong to the host that runs the \
            sidecar.
            """
    )

    @Argument(help: ArgumentHelp("Pattern files (paths or built-in names).", valueName: "pattern-file"))
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("Validate this run configuration file (as `run --config` reads it) and the pattern files it names.", valueName: "file"))
    var config: String?

    @Flag(name: .shortAndLong, help: "Print only failures and the final count.")
    var quiet = false

    @Flag(name: .long, help: "Also show the literal(s) each rule's prefilter looks for (rules without one run on every line).")
    var literals = false

    func validate() throws {
        if files.isEmpty && config == nil { throw ValidationError("name at least one pattern file, or --config FILE") }
    }

    func run() throws {
        let out = FDWriter.standardOutput()
        let provider = FilePatternProvider()
        var configFailed = false
        if let config {
            let report = ConfigCheck.check(path: config, provider: provider)
            for line in report.errors { out.write(line + "\n") }
            out.write(report.passed ? report.summary + "\n" : "\(config): \(report.errors.count) \(report.errors.count == 1 ? "error" : "errors")\n")
            out.flush()
            configFailed = !report.passed
            if files.isEmpty {
                if configFailed { throw ExitCode(1) }
                return
            }
        }
        var failures = 0
        var checked = 0
        for reference in files {
            let set: PatternSet
            do {
                set = try PatternLoader(provider: provider).load(reference)
            } catch {
                out.write("\(error.description)\n")
                failures += 1
                continue
            }
            let path = provider.resolve(reference, from: nil) ?? reference
            out.write("\(reference): format \(set.format), \(set.rules.count) rules with includes\n")
            for result in PatternChecker.check(set, file: path) {
                checked += 1
                if result.passed {
                    if !quiet { out.write("  ok    \(result.kind.rawValue) \(result.name) (\(result.examples) examples)\n") }
                    if literals, result.kind == .rule, let rule = set.rules.first(where: { $0.name == result.name }) {
                        out.write("        prefilter: \(LiteralPrefilter.plan(literals: rule.requiredLiterals, start: rule.startLiteral))\n")
                        let metrics = rule.metricNames.map { "\($0.0) \($0.1)" }
                        if !metrics.isEmpty { out.write("        metrics: \(metrics.joined(separator: ", "))\n") }
                    }
                } else {
                    failures += 1
                    out.write("  FAIL  \(result.kind.rawValue) \(result.name)\n")
                    for problem in result.problems { out.write("        \(problem)\n") }
                }
            }
        }
        out.write("\(checked) checked, \(failures) failed\n")
        out.flush()
        if failures > 0 || configFailed { throw ExitCode(1) }
    }
}
