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
        // The hot path calls pcre2_jit_match_8 directly; the limit must hold there too.
        #expect(p.allJIT)
        let hostile = String(repeating: "a", count: 5000) + "!"
        let outcomes = feed(p, [hostile, "ok"])
        #expect(outcomes == [.matchLimit, .matched(rule: 1)])
        #expect(p.stats.matchLimitHits == 1)
        #expect(counter(p.store, "fine") == 1)
        #expect(counter(p.store, "evil") == 0)
        // And through pcre2_match_8 (the path for code without JIT).
        let scratch = RegexScratch(maxCaptures: set.maxCaptures)
        let bytes = Array(hostile.utf8)
        #expect(bytes.withUnsafeBufferPointer { scratch.match(set.rules[0].regex, $0.baseAddress!, $0.count) } == .limitExceeded)
    }
}
