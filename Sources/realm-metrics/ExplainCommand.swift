import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show what one log line does: envelope parts, the rule that matched, captures, metric effects.",
        discussion: """
            The line is read as a fresh worker would see it (empty gauges). Quote it for the shell:
              realm-metrics explain --patterns ros1 \\
                '2018-01-13T20:09:36.227Z - info: sync: HTTP Connection[4]: Connection from 127.0.0.1:40070'
            """
    )

    @OptionGroup var patternOptions: PatternOptions

    @Argument(help: ArgumentHelp("One log line, as the worker wrote it.", valueName: "line"))
    var line: String

    func run() throws {
        let sets: [PatternSet]
        do { sets = try loadPatternSets(patternOptions.patternReferences) } catch { throw fail(error) }
        let (index, explanation) = Explanation.explain(line, patternSets: sets)
        let out = FDWriter.standardOutput()
        out.write("patterns: \(sets[index].format) (\(sets[index].files.first ?? ""))\n")
        out.write(explanation.render(prefix: patternOptions.resolvedPrefix))
        out.flush()
    }
}
