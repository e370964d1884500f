import Testing
@testable import RealmMetricsCore

@Suite("Match limits")
struct MatchLimitTests {
    @Test("catastrophic backtracking is cut off by the match limit and counted, the next line still matches")
    func catastrophic() throws {
        let set = try patternSet(["main.yaml": """
            rules:
              - name: evil
                match: '^(a+)+$'
                literal: 'aaaa'
                actions: [{count: evil}]
              - name: fine
                match: '^ok'
                actions: [{count: fine}]
            """])
        let p = LinePipeline(patterns: set)
        let hostile = String(repeating: "a", count: 5000) + "!"
        let outcomes = feed(p, [hostile, "ok"])
        #expect(outcomes == [.matchLimit, .matched(rule: 1)])
        #expect(p.stats.matchLimitHits == 1)
        #expect(counter(p.store, "fine") == 1)
        #expect(counter(p.store, "evil") == 0)
    }
}
