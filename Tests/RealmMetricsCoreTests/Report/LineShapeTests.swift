import Testing
import RealmMetricsTestSupport
@testable import RealmMetricsCore

@Suite("Shapes of unmatched lines")
struct LineShapeTests {
    @Test("digits fold to <n>, hex ids to <hex>, quoted values to '…'; words stay")
    func folding() {
        #expect(LineShape.fold("Sync Connection[12]: Session[3]: odd thing") == "Sync Connection[<n>]: Session[<n>]: odd thing")
        #expect(LineShape.fold("ServerFile[/a/5f2a9c77]: salt 0xdeadbeef0 and 41d4") == "ServerFile[/a/<hex>]: salt <hex> and <hex>")
        #expect(LineShape.fold("user='alice' said \"hi there\" at port 8080") == "user='…' said \"…\" at port <n>")
        // Words of hex letters without a digit are words; digits inside other words are folded alone.
        #expect(LineShape.fold("cafe facade v2 1st abc123xyz") == "cafe facade v<n> <n>st abc<n>xyz")
        // An unclosed quote is kept as it is.
        #expect(LineShape.fold("it's 5") == "it's <n>")
        #expect(LineShape.fold("2020-05-05T12:00:01.001: Reopening log file") == "<n>-<n>-<n>T<n>:<n>:<n>.<n>: Reopening log file")
    }

    @Test("lines of one shape are counted together with their first line as the example")
    func tally() {
        var tally = LineShapeTally()
        tally.add("Connection[1]: strange 'x'", outcome: "unmatched")
        tally.add("Connection[22]: strange 'yy'", outcome: "unmatched")
        tally.add("Connection[3]: strange 'z'", outcome: "envelope")
        tally.add("other", outcome: "unmatched")
        #expect(tally.sorted.map(\.count) == [2, 1, 1])
        #expect(tally.sorted[0] == LineShapeTally.Entry(shape: "Connection[<n>]: strange '…'", count: 2, example: "Connection[1]: strange 'x'", outcome: "unmatched"))
        tally.clear()
        #expect(tally.entries.isEmpty)
    }

    @Test("at most maxShapes shapes are kept; the lines of the others are counted")
    func bounded() {
        var tally = LineShapeTally(maxShapes: 2)
        for word in ["a", "b", "c", "d", "a"] { tally.add(word, outcome: "unmatched") }
        #expect(tally.entries.map(\.shape) == ["a", "b"])
        #expect(tally.entries[0].count == 2)
        #expect(tally.linesOfDroppedShapes == 2)
    }

    @Test("a long line's shape is cut and marked; its example is cut too")
    func long() {
        let line = String(repeating: "x", count: 1000)
        #expect(LineShape.fold(line) == String(repeating: "x", count: LineShape.maxBytes) + "…")
        var tally = LineShapeTally()
        tally.add(line, outcome: "unmatched")
        #expect(tally.entries[0].example.utf8.count == LineShapeTally.exampleBytes)
    }
}

@Suite("Credentials in unmatched lines")
struct LineRedactorTests {
    let redactor = LineRedactor()

    @Test("header values, bearer tokens and token or secret values are replaced")
    func redacts() {
        #expect(redactor.redact("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln") == "Authorization: <redacted>")
        #expect(redactor.redact("cookie: a=b; c=d") == "cookie: <redacted>")
        #expect(redactor.redact("sent Bearer abc.def to x") == "sent Bearer <redacted> to x")
        #expect(redactor.redact("Token expired (signed_user_token='...11GQOH/mpN+w2RGg==', x=1)") == "Token expired (signed_user_token=<redacted>, x=1)")
        #expect(redactor.redact("Bad client file ident (client_file_ident=2,  client_file_ident_secret=HIDDEN_SECRET).") == "Bad client file ident (client_file_ident=2,  client_file_ident_secret=<redacted>).")
        #expect(redactor.redact("password: hunter2 and secret=\"x y\"") == "password: <redacted> and secret=<redacted>")
        #expect(redactor.redact("Connection[1]: nothing secret here") == "Connection[1]: nothing secret here")
    }

    @Test("the tally keeps neither the token nor pieces of it, in shape or example")
    func tally() {
        var tally = LineShapeTally()
        tally.add("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl", outcome: "unmatched")
        #expect(tally.entries[0].example == "Authorization: <redacted>")
        #expect(tally.entries[0].shape == "Authorization: <redacted>")
        // Other tokens: the same shape once redacted, counted together.
        tally.add("Authorization: Bearer other.TOKEN.zz", outcome: "unmatched")
        tally.add("Authorization: Bearer other.TOKEN.zz", outcome: "unmatched")
        #expect(tally.entries.count == 1 && tally.entries[0].count == 3)
    }

    @Test("on random lines, two hashes are equal exactly when the shapes are (seeded)")
    func hashMatchesShape() {
        var generator = SeededRandom(#function)
        let pieces = ["Connection[", "]: ", "12", "7", "0x1f", "5f2a9c", "abc", "'q'", "\"x y\"", "'", " ", "Session", "_", "x9y", "ff", "é", "..."]
        var byShape: [String: UInt64] = [:]
        var byHash: [UInt64: String] = [:]
        for _ in 0..<4000 {
            var line = (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let (shape, hash) = line.withUTF8 { (LineShape.fold($0), LineShape.hash($0)) }
            if let known = byShape[shape] { #expect(known == hash, "\(line)") } else { byShape[shape] = hash }
            if let known = byHash[hash] { #expect(known == shape, "\(line)") } else { byHash[hash] = shape }
        }
        #expect(byShape.count > 500)
    }

    @Test("lines of one shape hash alike without their shape being built; other shapes differ")
    func hash() {
        func h(_ s: String) -> UInt64 { var c = s; return c.withUTF8 { LineShape.hash($0) } }
        #expect(h("Connection[1]: x 'a'") == h("Connection[977]: x 'bcd'"))
        #expect(h("Connection[1]: x") != h("Connection[1]: y"))
        #expect(h("id 5f2a9c") == h("id 77ab"))
        #expect(h("a<n>") != h("a1"))
        var tally = LineShapeTally()
        for i in 0..<1000 { tally.add("Sync Connection[\(i)]: Session[\(i % 7)]: odd", outcome: "unmatched") }
        tally.add("Sync Connection[1]: Session[1]: odd", outcome: "envelope")
        #expect(tally.sorted.map(\.count) == [1000, 1])
    }
}
