import Testing
import RealmMetricsTestSupport
@testable import RealmMetricsCore

@Suite("Required literals and the prefilter")
struct PrefilterTests {
    @Test("literals are read off simple regexes and refused where optional")
    func extraction() {
        func lit(_ p: String) -> String? { RequiredLiteral.extract(from: p).map { String(decoding: $0, as: UTF8.self) } }
        #expect(lit("^(?:Sync )?Connection\\[(?<c>\\d+)\\]: Connection from ") == "]: Connection from ")
        #expect(lit("^Session initiated") == "Session initiated")
        #expect(lit("abcd?") == nil)  // only "abc" is required: too short
        #expect(lit("abcdef?") == "abcde")
        #expect(lit("a|bcdefg") == nil)
        #expect(lit("(?i)hello world") == nil)
        #expect(lit("x*yz") == nil)
        #expect(lit("Token expired \\(message_type=") == "Token expired (message_type=")
    }

    @Test("a literal the regex starts with is read off, up to the first optional or variable part")
    func starts() {
        func start(_ p: String) -> String? { RequiredLiteral.extractStart(from: p).map { String(decoding: $0, as: UTF8.self) } }
        #expect(start("^Log level: (?<level>[a-z]+)") == "Log level: ")
        #expect(start("^Closing gracefully\\. Caught") == "Closing gracefully. Caught")
        #expect(start("^ServerFile\\[(?<p>[^\\]]*)\\]") == "ServerFile[")
        #expect(start("^abc?d") == "ab")
        #expect(start("^ab+c") == "ab")
        #expect(start("^ab{2}") == "a")
        #expect(start("^(?:x)?abc") == nil)
        #expect(start("abc") == nil)
        #expect(start("^abc|^def") == nil)
        #expect(start("(*UTF)^abc") == nil)
        #expect(start("^\\d+ x") == nil)
    }

    @Test("each literal is searched by its least common window")
    func windows() {
        #expect(LiteralPrefilter.windowOffset(Array("aaaa bbbb cccc: [x]".utf8), 8) == 11)
        #expect(LiteralPrefilter.windowOffset(Array("Session initiated".utf8), 17) == 0)
    }

    @Test("the plan: start alone, start and a longer literal, a search, or every line")
    func plans() {
        let b = { (s: String) in Array(s.utf8) }
        #expect(LiteralPrefilter.plan(literals: [b("Log level: ")], start: b("Log level: ")) == .start(b("Log level: ")))
        #expect(LiteralPrefilter.plan(literals: [b("]: Realm file deleted")], start: b("ServerFile[")) == .startAndSearch(b("ServerFile["), [b("]: Realm file deleted")]))
        #expect(LiteralPrefilter.plan(literals: [b("abcd"), b("xy")], start: nil) == .always)
        #expect(LiteralPrefilter.plan(literals: nil, start: b("x")) == .start(b("x")))
        #expect(LiteralPrefilter.plan(literals: [b("Session initiated")], start: nil) == .search([b("Session initiated")]))
    }

    @Test("rules that need the same literal share one entry, and a hit makes every one of them a candidate")
    func sharedLiteral() {
        let b = { (s: String) in Array(s.utf8) }
        // 70 rules: the shared literal's rules span two words of rule bits.
        var literals: [[[UInt8]]?] = Array(repeating: [b("Some other literal here")], count: 70)
        for r in [1, 5, 63, 64, 69] { literals[r] = [b("Connection closed due to error: ")] }
        let prefilter = LiteralPrefilter(literals: literals)
        let mask = UnsafeMutablePointer<UInt64>.allocate(capacity: prefilter.wordCount)
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: PrefilterTables.hitCapacity)
        defer { mask.deallocate(); hits.deallocate() }
        let line = b("Sync Connection[3]: Connection closed due to error: Broken pipe")
        line.withUnsafeBufferPointer { prefilter.tables.candidates($0.baseAddress!, $0.count, into: mask, hits: hits) }
        let candidates = (0..<70).filter { mask[$0 >> 6] & (1 << UInt64($0 & 63)) != 0 }
        #expect(candidates == [1, 5, 63, 64, 69])
    }

    @Test("a required group of alternatives yields one literal per branch")
    func alternatives() {
        let any = RequiredLiteral.extractAny(from: "^(?:x)?(?:Bad syntax in|Unknown input|Limits (exceeded|hit))")
        #expect(any?.map { String(decoding: $0, as: UTF8.self) } == ["Bad syntax in", "Unknown input", "Limits "])
        #expect(RequiredLiteral.extractAny(from: "^(?:ab|cd)") == nil)
    }

    @Test("the prefilter never hides a rule that matches (checked against plain matching on many lines)")
    func equivalence() throws {
        let set = try patternSet(["main.yaml": sessionPatterns + """

              - name: alt
                match: '^(?:Sync |HTTP )?Conn(?:ection closed by client|ection is closed after)'
                actions: [{count: closed}]
              - name: tail
                match: 'Permission denied'
                actions: [{count: denied}]
              - name: anchored
                match: '^Sync Conn'
                actions: [{count: anchored}]
              - name: gated
                match: '^HTTP (?:x|Perm)ission denied'
                actions: [{count: gated}]
              - name: late-window
                match: 'aaaa bbbb cccc: \\[x\\]'
                actions: [{count: late}]
              - name: short
                match: 'zz:zz:zz'
                actions: [{count: short}]
              - name: shared-one
                match: 'Shared literal text.*one'
                actions: [{count: one}]
              - name: shared-two
                match: 'Shared literal text.*two'
                actions: [{count: two}]
            """])
        let p = LinePipeline(patterns: set)
        let scratch = RegexScratch(maxCaptures: set.maxCaptures)
        var generator = SeededRandom(#function)
        let pieces = ["C1 ", "open", "close", "S2 ", "bytes ", "12", "version ", "Sync ", "Connection closed by client", "HTTP ",
                      "Connection is closed after", "Permission denied", "Perm", "ission", " ", "x", "started", "stopped",
                      "aaaa bbbb cccc: [x]", "cccc: [x]", "aaaa bbbb ", "zz:zz:zz", "zz:", "Shared literal text", "Shared literal", "one", "two"]
        for _ in 0..<3000 {
            let line = (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let bytes = Array(line.utf8)
            let expected: Int? = bytes.withUnsafeBufferPointer { b in
                set.rules.firstIndex { scratch.match($0.regex, b.baseAddress ?? UnsafePointer(bitPattern: 1)!, b.count) == .match }
            }
            let outcome = feed(p, [line])[0]
            if let expected {
                #expect(outcome == .matched(rule: expected), "line: \(line)")
            } else {
                #expect(outcome == .unmatched, "line: \(line)")
            }
        }
    }
}
