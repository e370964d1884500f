/// Finds a literal byte string that every match of a regex must contain, by reading the regex source.
///
/// Conservative: only literal runs at the top level of the pattern (outside groups, classes and
/// alternations, not under a quantifier) are taken; anything it does not understand ends the run. When
/// in doubt it returns nil and the rule is simply always tried.
public enum RequiredLiteral {
    /// Literals of which every match contains at least one: a single required literal when there is one,
    /// else one literal per branch of a required top-level group with alternatives
    /// (`^(?:Bad syntax|Unknown input)` gives both). Nil when none can be found.
    public static func extractAny(from pattern: String) -> [[UInt8]]? {
        if let single = extract(from: pattern) { return [single] }
        let p = Array(pattern.utf8)
        if containsTopLevelAlternation(p) { return nil }
        var best: [[UInt8]]? = nil
        var i = 0
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "\\"): i += 2; continue
            case UInt8(ascii: "["): i = skipClass(p, i); continue
            case UInt8(ascii: "("):
                let end = groupEnd(p, i)
                let quantified = end < p.count && [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "{")].contains(p[end])
                if !quantified, let body = groupBody(p, i, end) {
                    let branches = splitTopLevel(body)
                    if branches.count > 1 {
                        let literals = branches.map { extract(from: String(decoding: $0, as: UTF8.self)) }
                        if literals.allSatisfy({ $0 != nil }) {
                            let found = literals.map { $0! }
                            if best == nil || found.map(\.count).min()! > best!.map(\.count).min()! { best = found }
                        }
                    }
                }
                i = end
                continue
            default: break
            }
            i += 1
        }
        return best
    }

    /// Index just past the `)` that closes the group opening at `start`.
    static func groupEnd(_ p: [UInt8], _ start: Int) -> Int {
        var depth = 0
        var i = start
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "\\"): i += 2; continue
            case UInt8(ascii: "["): i = skipClass(p, i); continue
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return i + 1 }
            default: break
            }
            i += 1
        }
        return p.count
    }

    /// The body of a plain, non-capturing or named group; nil for lookarounds and other constructs.
    static func groupBody(_ p: [UInt8], _ start: Int, _ end: Int) -> ArraySlice<UInt8>? {
        var s = start + 1
        let e = end - 1
        guard s <= e else { return nil }
        if s < e && p[s] == UInt8(ascii: "?") {
            if s + 1 < e && p[s + 1] == UInt8(ascii: ":") {
                s += 2
            } else if s + 1 < e && (p[s + 1] == UInt8(ascii: "<") || p[s + 1] == UInt8(ascii: "P")) && s + 2 < e
                        && p[s + 2] != UInt8(ascii: "=") && p[s + 2] != UInt8(ascii: "!") {
                guard let close = p[s..<e].firstIndex(of: UInt8(ascii: ">")) else { return nil }
                s = close + 1
            } else {
                return nil
            }
        }
        return p[s..<e]
    }

    static func splitTopLevel(_ body: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        let p = Array(body)
        var depth = 0
        var last = 0
        var i = 0
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "\\"): i += 2; continue
            case UInt8(ascii: "["): i = skipClass(p, i); continue
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"): depth -= 1
            case UInt8(ascii: "|"):
                if depth == 0 { out.append(p[last..<i]); last = i + 1 }
            default: break
            }
            i += 1
        }
        out.append(p[last..<p.count])
        return out.map { ArraySlice($0) }
    }

    /// A single literal every match must contain, or nil.
    public static func extract(from pattern: String) -> [UInt8]? {
        let p = Array(pattern.utf8)
        var best: [UInt8] = []
        var current: [UInt8] = []
        var depth = 0
        var i = 0
        func endRun() {
            if current.count > best.count { best = current }
            current = []
        }
        // A top-level alternation or inline option (like (?i)) makes every run optional or changes matching.
        if containsTopLevelAlternation(p) { return nil }
        while i < p.count {
            let c = p[i]
            if depth > 0 {
                // Inside a group: skip, honouring escapes and classes.
                switch c {
                case UInt8(ascii: "\\"): i += 2; continue
                case UInt8(ascii: "["): i = skipClass(p, i); continue
                case UInt8(ascii: "("): depth += 1
                case UInt8(ascii: ")"): depth -= 1
                    if depth == 0 {
                        // A quantifier after a group does not affect literals outside it.
                        i += 1
                        i = skipQuantifier(p, i)
                        continue
                    }
                default: break
                }
                i += 1
                continue
            }
            var literal: UInt8? = nil
            var width = 1
            switch c {
            case UInt8(ascii: "("):
                if i + 2 < p.count && p[i + 1] == UInt8(ascii: "?") && p[i + 2] != UInt8(ascii: ":")
                    && p[i + 2] != UInt8(ascii: "<") && p[i + 2] != UInt8(ascii: "P")
                    && p[i + 2] != UInt8(ascii: "=") && p[i + 2] != UInt8(ascii: "!") {
                    return nil  // inline options such as (?i) or other constructs: give up
                }
                endRun(); depth = 1; i += 1; continue
            case UInt8(ascii: "["):
                endRun(); i = skipClass(p, i); i = skipQuantifier(p, i); continue
            case UInt8(ascii: "\\"):
                guard i + 1 < p.count else { return nil }
                let e = p[i + 1]
                width = 2
                if isEscapableLiteral(e) { literal = e } else if e == UInt8(ascii: "Q") || e == UInt8(ascii: "x") || e == UInt8(ascii: "E") {
                    return best.count >= 4 ? best : nil
                }
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                break
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"), UInt8(ascii: ")"), UInt8(ascii: "|"):
                return nil
            default:
                literal = c
            }
            let next = i + width
            let quantified = next < p.count && [UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{")].contains(p[next])
            if let literal, !quantified {
                current.append(literal)
            } else if let literal, quantified, p[next] == UInt8(ascii: "+") {
                // x+ still requires one x
                current.append(literal); endRun()
            } else {
                endRun()
            }
            i = next
            if quantified { i = skipQuantifier(p, i) }
        }
        endRun()
        return best.count >= 4 ? best : nil
    }

    static func isEscapableLiteral(_ e: UInt8) -> Bool {
        switch e {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return false
        default:
            return e < 0x80
        }
    }

    static func skipClass(_ p: [UInt8], _ start: Int) -> Int {
        var i = start + 1
        if i < p.count && p[i] == UInt8(ascii: "^") { i += 1 }
        if i < p.count && p[i] == UInt8(ascii: "]") { i += 1 }
        while i < p.count {
            if p[i] == UInt8(ascii: "\\") { i += 2; continue }
            if p[i] == UInt8(ascii: "[") && i + 1 < p.count && p[i + 1] == UInt8(ascii: ":") {
                // POSIX class [:alpha:]
                while i < p.count && !(p[i] == UInt8(ascii: ":") && i + 1 < p.count && p[i + 1] == UInt8(ascii: "]")) { i += 1 }
                i += 2; continue
            }
            if p[i] == UInt8(ascii: "]") { return i + 1 }
            i += 1
        }
        return i
    }

    static func skipQuantifier(_ p: [UInt8], _ start: Int) -> Int {
        var i = start
        guard i < p.count else { return i }
        switch p[i] {
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"): i += 1
        case UInt8(ascii: "{"):
            while i < p.count && p[i] != UInt8(ascii: "}") { i += 1 }
            i += 1
        default: return i
        }
        if i < p.count && (p[i] == UInt8(ascii: "?") || p[i] == UInt8(ascii: "+")) { i += 1 }  // lazy / possessive
        return i
    }

    static func containsTopLevelAlternation(_ p: [UInt8]) -> Bool {
        var depth = 0
        var i = 0
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "\\"): i += 2; continue
            case UInt8(ascii: "["): i = skipClass(p, i); continue
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"): depth -= 1
            case UInt8(ascii: "|"): if depth == 0 { return true }
            default: break
            }
            i += 1
        }
        return false
    }
}

/// One pass over a line marks which rules can possibly match: every 4-byte window of the line is hashed
/// against a small table of the rules' required literals, and a hit is confirmed with a byte compare.
/// Rules without a required literal are always candidates.
public struct LiteralPrefilter: Sendable {
    struct Entry: Sendable {
        var key: UInt32
        var literal: [UInt8]
        var rule: Int
        var next: Int32  // next entry in the same bucket, -1 ends
    }

    static let bits = 12
    static let tableSize = 1 << bits

    let heads: [Int32]
    let entries: [Entry]
    /// Bit set of rules that are always tried.
    public let alwaysMask: [UInt64]
    public let ruleCount: Int
    public var wordCount: Int { alwaysMask.count }

    /// `literals[r]`: the literals of rule `r`, any one of which must be present; nil or a literal shorter
    /// than 4 bytes makes the rule always tried.
    public init(literals: [[[UInt8]]?]) {
        ruleCount = literals.count
        let words = max(1, (literals.count + 63) / 64)
        var always = [UInt64](repeating: 0, count: words)
        var heads = [Int32](repeating: -1, count: LiteralPrefilter.tableSize)
        var entries: [Entry] = []
        for (rule, anyOf) in literals.enumerated() {
            guard let anyOf, !anyOf.isEmpty, anyOf.allSatisfy({ $0.count >= 4 }) else {
                always[rule >> 6] |= 1 << UInt64(rule & 63)
                continue
            }
            for literal in anyOf {
            let key = UInt32(literal[0]) | UInt32(literal[1]) << 8 | UInt32(literal[2]) << 16 | UInt32(literal[3]) << 24
            let h = LiteralPrefilter.hash(key)
            entries.append(Entry(key: key, literal: literal, rule: rule, next: heads[h]))
            heads[h] = Int32(entries.count - 1)
            }
        }
        self.heads = heads
        self.entries = entries
        alwaysMask = always
    }

    @inline(__always)
    static func hash(_ key: UInt32) -> Int {
        Int((key &* 2_654_435_761) >> UInt32(32 - bits))
    }

    /// Writes the candidate rule set for `length` bytes at `start` into `mask` (`wordCount` words).
    @inline(__always)
    public func candidates(_ start: UnsafePointer<UInt8>, _ length: Int, into mask: UnsafeMutablePointer<UInt64>) {
        for w in 0..<alwaysMask.count { mask[w] = alwaysMask[w] }
        guard length >= 4, !entries.isEmpty else { return }
        heads.withUnsafeBufferPointer { heads in
            entries.withUnsafeBufferPointer { entries in
                let raw = UnsafeRawPointer(start)
                var i = 0
                let last = length - 4
                while i <= last {
                    let key = raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)
                    var e = heads[LiteralPrefilter.hash(key)]
                    while e >= 0 {
                        let entry = entries[Int(e)]
                        if entry.key == key && entry.literal.count <= length - i {
                            let bit = UInt64(1) << UInt64(entry.rule & 63)
                            if mask[entry.rule >> 6] & bit == 0 {
                                let n = entry.literal.count
                                let matches = entry.literal.withUnsafeBufferPointer { lit in
                                    n == 4 || memcmpBytes(lit.baseAddress! + 4, start + i + 4, n - 4)
                                }
                                if matches { mask[entry.rule >> 6] |= bit }
                            }
                        }
                        e = entry.next
                    }
                    i += 1
                }
            }
        }
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
