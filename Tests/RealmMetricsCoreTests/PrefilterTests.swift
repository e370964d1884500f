import Testing
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
            """])
        let p = LinePipeline(patterns: set)
        let scratch = RegexScratch(maxCaptures: set.maxCaptures)
        var generator = SystemRandomNumberGenerator()
        let pieces = ["C1 ", "open", "close", "S2 ", "bytes ", "12", "version ", "Sync ", "Connection closed by client", "HTTP ",
                      "Connection is closed after", "Permission denied", "Perm", "ission", " ", "x", "started", "stopped"]
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
