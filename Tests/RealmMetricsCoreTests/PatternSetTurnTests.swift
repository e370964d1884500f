import Testing
@testable import RealmMetricsCore

/// Several pattern sets: a line goes to each set in turn. `explain` must name the set and the outcome
/// that the chain counts, whatever a set gave the line.
@Suite("Pattern sets in turn")
struct PatternSetTurnTests {
    /// Fits every line that has no space (no envelope fits one with a space); its first rule backtracks
    /// without end on a run of `a` that does not end the line.
    static let first = """
        format: first
        envelope:
          match: '^(?<message>[^ ]*)$'
        rules:
          - name: evil
            match: '^(a+)+$'
            literal: 'aaaa'
            actions: [{count: evil}]
          - name: hello
            match: '^hello$'
            actions: [{count: hello}]
        """

    /// Fits runs of `a` and `!`, and lines starting with `b` without a space; matches both.
    static let second = """
        format: second
        envelope:
          match: '^(?<message>[a!]+|b[^ ]*)$'
        rules:
          - name: bang
            match: '^a+!$'
            actions: [{count: bang}]
          - name: b
            match: '^b'
            actions: [{count: b}]
        """

    static func sets() throws -> [PatternSet] {
        [try patternSet(["main.yaml": first]), try patternSet(["main.yaml": second])]
    }

    /// The outcome the chain gives `line`, as explain words it for the set `set`.
    static func chainOutcome(_ line: String, _ sets: [PatternSet]) -> LineOutcome {
        let chain = PipelineChain(patternSets: sets)
        let worker = chain.store.workerID("w")
        return Array(line.utf8).withUnsafeBufferPointer { chain.process($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, worker: worker) }
    }

    static let hostile = String(repeating: "a", count: 5000) + "!"

    @Test("a match limit in the first set stops the line there: explain shows that set and the limit, as the chain counts it")
    func matchLimitStopsTheLine() throws {
        let sets = try Self.sets()
        #expect(Self.chainOutcome(Self.hostile, sets) == .matchLimit)
        let (set, explanation) = Explanation.explain(Self.hostile, patternSets: sets)
        #expect(set == 0)
        #expect(explanation.outcome == "hit the match limit")
        #expect(explanation.rule == nil)
        #expect(explanation.effects.isEmpty)
    }

    @Test("a line the first set leaves unmatched stays unmatched when no later envelope fits it")
    func unmatchedIsKept() throws {
        let sets = try Self.sets()
        #expect(Self.chainOutcome("zzz", sets) == .unmatched)
        let (set, explanation) = Explanation.explain("zzz", patternSets: sets)
        #expect(set == 0)
        #expect(explanation.outcome == "matched no rule")
        #expect(explanation.envelope.contains { $0 == ("message", "zzz") })
    }

    @Test("explain and the chain agree on every line: the same outcome, from the set explain names")
    func explainAgreesWithTheChain() throws {
        let sets = try Self.sets()
        let lines = [Self.hostile, "zzz", "bcd", "hello", "a!", "x y", "", "aaa"]
        for line in lines {
            let outcome = Self.chainOutcome(line, sets)
            let (set, explanation) = Explanation.explain(line, patternSets: sets)
            #expect(explanation.outcome == PatternChecker.describe(outcome, sets[set]), "line '\(line.prefix(20))'")
            if case let .matched(rule) = outcome {
                #expect(explanation.rule == sets[set].rules[rule].name)
            }
        }
        // Taken by the second set after the first left them unmatched.
        #expect(Explanation.explain("bcd", patternSets: sets).set == 1)
        #expect(Explanation.explain("hello", patternSets: sets).set == 0)
    }
}
