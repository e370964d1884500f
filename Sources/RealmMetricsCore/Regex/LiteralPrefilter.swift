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
        let single = extract(from: pattern)
        let branches = extractBranches(from: pattern)
        // Longer literals are rarer in text: prefer the branches when even the shortest is longer.
        if let branches, branches.map(\.count).min()! > (single?.count ?? 0) { return branches }
        return single.map { [$0] }
    }

    /// The bytes every match starts with when the regex is anchored at the start of the subject and
    /// begins with a literal (`^Log level: ` gives "Log level: "), or nil. Checked in one compare at the
    /// start of a message instead of being searched for.
    public static func extractStart(from pattern: String) -> [UInt8]? {
        let p = Array(pattern.utf8)
        guard p.first == UInt8(ascii: "^"), !hasLeadingVerb(p), !containsTopLevelAlternation(p) else { return nil }
        var out: [UInt8] = []
        var i = 1
        scan: while i < p.count {
            let literal: UInt8
            var width = 1
            switch p[i] {
            case UInt8(ascii: "\\"):
                guard i + 1 < p.count, isEscapableLiteral(p[i + 1]) else { break scan }
                literal = p[i + 1]
                width = 2
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "*"),
                 UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"), UInt8(ascii: ")"), UInt8(ascii: "|"):
                break scan
            default:
                literal = p[i]
            }
            let next = i + width
            if next < p.count {
                switch p[next] {
                case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "{"): break scan  // optional or counted: not required
                case UInt8(ascii: "+"): out.append(literal); break scan  // x+ still starts with one x
                default: break
                }
            }
            out.append(literal)
            i = next
        }
        return out.isEmpty ? nil : out
    }

    /// A leading `(*UTF)`-style verb changes how bytes and quantifiers relate: no literal is read then.
    static func hasLeadingVerb(_ p: [UInt8]) -> Bool {
        p.starts(with: [UInt8(ascii: "("), UInt8(ascii: "*")]) || p.starts(with: [UInt8(ascii: "^"), UInt8(ascii: "("), UInt8(ascii: "*")])
    }

    /// One literal per branch of the required top-level group with alternatives whose shortest literal
    /// is longest, or nil.
    static func extractBranches(from pattern: String) -> [[UInt8]]? {
        let p = Array(pattern.utf8)
        if hasLeadingVerb(p) || containsTopLevelAlternation(p) { return nil }
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
        if hasLeadingVerb(p) || containsTopLevelAlternation(p) { return nil }
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
        splitTopLevel(p[...]).count > 1
    }
}

/// Marks which rules can possibly match a line.
///
/// A rule anchored at the start with a literal (`^Log level: `) is a candidate when the message starts
/// with it: one compare. When the rule also has a longer required literal elsewhere (`^ServerFile\[…\]:
/// Realm file deleted`), that is searched for too and both must be there. The required literals of the other rules are found in one pass with the
/// Wu–Manber multi-literal search: a window as long as the shortest literal slides over the line, the
/// (hashed) three bytes at its end look up how far it may safely jump, and only where the jump is zero
/// are the literals whose window ends with those bytes compared (first 8 bytes at once, then the rest).
/// Each literal longer than the window contributes the window-long piece of itself made of the least
/// common kinds of bytes (punctuation before digits and capitals before lower case and spaces), so
/// that ordinary words in the text rarely stop the jumps. Rules without a required literal are always
/// candidates.
///
/// The tables live in flat, immutable buffers so the scan does no reference counting.
public final class LiteralPrefilter: @unchecked Sendable {
    /// Block hash table size (blocks are 3 bytes, hashed to 12 bits: the table stays in L1 cache).
    static let pairs = 1 << 12
    static let block = 3

    @inline(__always)
    static func blockHash(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8) -> Int {
        let v = UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16
        return Int((v &* 2_654_435_761) >> 20)
    }

    /// How common a byte is in log text (higher: more common); used to place each literal's window.
    static func commonness(_ b: UInt8) -> Int {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: " "): 3
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): 2
        default: 0
        }
    }

    /// Where in `literal` the `m`-byte window with the least common bytes starts (the first on ties).
    static func windowOffset(_ literal: [UInt8], _ m: Int) -> Int {
        guard literal.count > m else { return 0 }
        var best = 0, bestScore = Int.max
        for d in 0...(literal.count - m) {
            var score = 0
            for b in literal[d..<(d + m)] { score += commonness(b) }
            if score < bestScore { best = d; bestScore = score }
        }
        return best
    }

    /// How the prefilter finds one rule's candidate lines.
    public enum Plan: Equatable, CustomStringConvertible {
        /// No literal: the rule is tried on every line.
        case always
        /// One of these literals is somewhere in the message.
        case search([[UInt8]])
        /// The message starts with this.
        case start([UInt8])
        /// The message starts with the first and contains one of the others (longer, so rarer).
        case startAndSearch([UInt8], [[UInt8]])

        public var description: String {
            func text(_ bytes: [UInt8]) -> String { "'\(String(decoding: bytes, as: UTF8.self))'" }
            switch self {
            case .always: return "none (tried on every line)"
            case let .search(anyOf): return anyOf.map(text).joined(separator: " | ")
            case let .start(start): return "starts with \(text(start))"
            case let .startAndSearch(start, anyOf): return "starts with \(text(start)), then " + anyOf.map(text).joined(separator: " | ")
            }
        }
    }

    /// The shortest literal that is searched for. The search jumps by up to the shortest literal's
    /// length, so one short literal would slow it on every line for every rule: a rule whose literals
    /// include a shorter one is checked by its start, or tried on every line (its regex is then run
    /// on each line, which for a regex anchored at the start fails at once).
    public static let minimumSearched = 12

    /// The plan for a rule with these required literals (nil, or one shorter than 4 bytes: none) and
    /// this start literal.
    public static func plan(literals: [[UInt8]]?, start: [UInt8]?) -> Plan {
        let searchable = literals.flatMap { $0.isEmpty || $0.contains { $0.count < minimumSearched } ? nil : $0 }
        guard let start, !start.isEmpty else { return searchable.map { .search($0) } ?? .always }
        if let searchable, searchable.map(\.count).min()! > start.count { return .startAndSearch(start, searchable) }
        return .start(start)
    }

    /// Shortest searched literal length: the window size (0 when nothing is searched).
    public let windowBytes: Int
    /// Block hash → safe jump.
    private let shift: UnsafeMutablePointer<UInt8>
    /// Block hash ending a literal's window → first entry, -1 for none.
    private let heads: UnsafeMutablePointer<Int32>
    /// Per entry (one per distinct searched literal, whatever number of rules share it): the rules it
    /// finds (`wordCount` words of rule bits), next entry with the same block, window offset in the
    /// literal, literal offset and length in `literalBytes`. Rules that share a literal (the close
    /// reasons all need `Connection closed`) cost one compare per hit, not one each.
    private let ruleMasks: UnsafeMutablePointer<UInt64>
    private let nexts: UnsafeMutablePointer<Int32>
    private let windowOffsets: UnsafeMutablePointer<Int32>
    private let offsets: UnsafeMutablePointer<Int32>
    private let lengths: UnsafeMutablePointer<Int32>
    /// First 8 bytes of each literal (little-endian) and which of them count, compared with one load.
    private let prefixes: UnsafeMutablePointer<UInt64>
    private let prefixMasks: UnsafeMutablePointer<UInt64>
    private let literalBytes: UnsafeMutablePointer<UInt8>
    private let entryCount: Int
    /// Rules checked by their start: rule, offset and length in `literalBytes`, and whether the start
    /// only gates a rule found by its searched literal (1) or finds it alone (0).
    private let startRules: UnsafeMutablePointer<Int32>
    private let startGates: UnsafeMutablePointer<Int32>
    private let startOffsets: UnsafeMutablePointer<Int32>
    private let startLengths: UnsafeMutablePointer<Int32>
    private let startCount: Int
    private let always: UnsafeMutablePointer<UInt64>
    public let ruleCount: Int
    public let wordCount: Int

    /// `literals[r]`: the literals of rule `r`, any one of which must be present; nil or a literal shorter
    /// than 4 bytes makes the rule always tried. `starts[r]`, when given, is what every match of rule
    /// `r` starts with; it is used instead of the rule's literals unless one of those is longer.
    public init(literals: [[[UInt8]]?], starts: [[UInt8]?] = []) {
        ruleCount = literals.count
        wordCount = max(1, (literals.count + 63) / 64)
        always = .allocate(capacity: wordCount)
        always.initialize(repeating: 0, count: wordCount)
        var entries: [(rules: [Int], literal: [UInt8])] = []
        var entryOf: [[UInt8]: Int] = [:]
        func search(_ rule: Int, _ literal: [UInt8]) {
            if let e = entryOf[literal] {
                if entries[e].rules.last != rule { entries[e].rules.append(rule) }
            } else {
                entryOf[literal] = entries.count
                entries.append(([rule], literal))
            }
        }
        var startEntries: [(rule: Int, literal: [UInt8], gate: Bool)] = []
        for (rule, anyOf) in literals.enumerated() {
            switch LiteralPrefilter.plan(literals: anyOf, start: rule < starts.count ? starts[rule] : nil) {
            case .always:
                always[rule >> 6] |= 1 << UInt64(rule & 63)
            case let .search(anyOf):
                for literal in anyOf { search(rule, literal) }
            case let .start(start):
                startEntries.append((rule, start, false))
            case let .startAndSearch(start, anyOf):
                startEntries.append((rule, start, true))
                for literal in anyOf { search(rule, literal) }
            }
        }
        entryCount = entries.count
        startCount = startEntries.count
        let m = entries.isEmpty ? 0 : min(255, entries.map(\.literal.count).min()!)
        windowBytes = m
        let b = LiteralPrefilter.block
        shift = .allocate(capacity: LiteralPrefilter.pairs)
        shift.initialize(repeating: UInt8(max(1, m - b + 1)), count: LiteralPrefilter.pairs)
        heads = .allocate(capacity: LiteralPrefilter.pairs)
        heads.initialize(repeating: -1, count: LiteralPrefilter.pairs)
        let n = max(1, entries.count)
        ruleMasks = .allocate(capacity: n * wordCount)
        ruleMasks.initialize(repeating: 0, count: n * wordCount)
        nexts = .allocate(capacity: n)
        windowOffsets = .allocate(capacity: n)
        offsets = .allocate(capacity: n)
        lengths = .allocate(capacity: n)
        prefixes = .allocate(capacity: n)
        prefixMasks = .allocate(capacity: n)
        startRules = .allocate(capacity: max(1, startCount))
        startGates = .allocate(capacity: max(1, startCount))
        startOffsets = .allocate(capacity: max(1, startCount))
        startLengths = .allocate(capacity: max(1, startCount))
        let totalBytes = entries.reduce(0) { $0 + $1.literal.count } + startEntries.reduce(0) { $0 + $1.literal.count }
        literalBytes = .allocate(capacity: max(1, totalBytes))
        var offset = 0
        for (i, entry) in entries.enumerated() {
            let l = entry.literal
            let d = LiteralPrefilter.windowOffset(l, m)
            let w = Array(l[d..<(d + m)])
            for q in (b - 1)..<m {
                let h = LiteralPrefilter.blockHash(w[q - 2], w[q - 1], w[q])
                shift[h] = min(shift[h], UInt8(m - 1 - q))
            }
            let last = LiteralPrefilter.blockHash(w[m - 3], w[m - 2], w[m - 1])
            var prefix: UInt64 = 0
            var mask: UInt64 = 0
            for j in 0..<min(8, l.count) {
                prefix |= UInt64(l[j]) << UInt64(8 * j)
                mask |= UInt64(0xFF) << UInt64(8 * j)
            }
            prefixes[i] = prefix
            prefixMasks[i] = mask
            for rule in entry.rules { ruleMasks[i * wordCount + (rule >> 6)] |= 1 << UInt64(rule & 63) }
            windowOffsets[i] = Int32(d)
            nexts[i] = heads[last]
            heads[last] = Int32(i)
            offsets[i] = Int32(offset)
            lengths[i] = Int32(l.count)
            for (j, byte) in l.enumerated() { literalBytes[offset + j] = byte }
            offset += l.count
        }
        for (i, entry) in startEntries.enumerated() {
            startRules[i] = Int32(entry.rule)
            startGates[i] = entry.gate ? 1 : 0
            startOffsets[i] = Int32(offset)
            startLengths[i] = Int32(entry.literal.count)
            for (j, byte) in entry.literal.enumerated() { literalBytes[offset + j] = byte }
            offset += entry.literal.count
        }
    }

    deinit {
        shift.deallocate(); heads.deallocate(); ruleMasks.deallocate(); nexts.deallocate(); windowOffsets.deallocate()
        prefixes.deallocate(); prefixMasks.deallocate(); offsets.deallocate(); lengths.deallocate()
        startRules.deallocate(); startGates.deallocate(); startOffsets.deallocate(); startLengths.deallocate()
        literalBytes.deallocate(); always.deallocate()
    }

    /// The tables as a plain value (pointers into this object's buffers, valid while it lives): the hot
    /// loop can use them without reference counting.
    public var tables: PrefilterTables {
        PrefilterTables(windowBytes: windowBytes, shift: shift, heads: heads, ruleMasks: ruleMasks, nexts: nexts, windowOffsets: windowOffsets,
                        offsets: offsets, lengths: lengths, prefixes: prefixes, prefixMasks: prefixMasks, literalBytes: literalBytes,
                        entryCount: entryCount, startRules: startRules, startGates: startGates, startOffsets: startOffsets, startLengths: startLengths,
                        startCount: startCount, always: always, wordCount: wordCount)
    }
}

/// A ``LiteralPrefilter``'s tables, borrowed: valid only while the prefilter lives.
public struct PrefilterTables: @unchecked Sendable {
    let windowBytes: Int
    let shift: UnsafeMutablePointer<UInt8>
    let heads: UnsafeMutablePointer<Int32>
    let ruleMasks: UnsafeMutablePointer<UInt64>
    let nexts: UnsafeMutablePointer<Int32>
    let windowOffsets: UnsafeMutablePointer<Int32>
    let offsets: UnsafeMutablePointer<Int32>
    let lengths: UnsafeMutablePointer<Int32>
    let prefixes: UnsafeMutablePointer<UInt64>
    let prefixMasks: UnsafeMutablePointer<UInt64>
    let literalBytes: UnsafeMutablePointer<UInt8>
    let entryCount: Int
    let startRules: UnsafeMutablePointer<Int32>
    let startGates: UnsafeMutablePointer<Int32>
    let startOffsets: UnsafeMutablePointer<Int32>
    let startLengths: UnsafeMutablePointer<Int32>
    let startCount: Int
    let always: UnsafeMutablePointer<UInt64>
    public let wordCount: Int

    /// Writes the candidate rule set for `length` bytes at `start` into `mask` (`wordCount` words).
    /// `hits` is scratch room for ``hitCapacity`` positions.
    @inline(__always)
    public func candidates(_ start: UnsafePointer<UInt8>, _ length: Int, into mask: UnsafeMutablePointer<UInt64>,
                           hits: UnsafeMutablePointer<Int32>) {
        for w in 0..<wordCount { mask[w] = always[w] }
        search(start, length, into: mask, hits: hits)
        for i in 0..<startCount {
            let n = Int(startLengths[i])
            let rule = Int(startRules[i])
            let bit = UInt64(1) << UInt64(rule & 63)
            let starts = n <= length && memcmpBytes(literalBytes + Int(startOffsets[i]), start, n)
            if startGates[i] != 0 {
                if !starts { mask[rule >> 6] &= ~bit }
            } else if starts {
                mask[rule >> 6] |= bit
            }
        }
    }

    /// Positions a scan may note before it checks them (see ``search(_:_:into:hits:)``).
    public static let hitCapacity = 64

    /// The Wu–Manber pass: sets the bit of every rule one of whose searched literals is in the text.
    ///
    /// The jump loop only notes each window end whose jump is zero in `hits` (room for
    /// ``hitCapacity`` positions); the literals there are compared after it, so the loop that dominates
    /// the time stays a few instructions long.
    @inline(__always)
    func search(_ start: UnsafePointer<UInt8>, _ length: Int, into mask: UnsafeMutablePointer<UInt64>, hits: UnsafeMutablePointer<Int32>) {
        let m = windowBytes
        guard entryCount > 0, length >= m else { return }
        let raw = UnsafeRawPointer(start)
        var pos = m - 1
        var n = 0
        while pos < length {
            // Bytes pos-2, pos-1, pos as the low three bytes (windows are at least 4 bytes: pos >= 3).
            let v = raw.loadUnaligned(fromByteOffset: pos - 3, as: UInt32.self) >> 8
            let jump = Int(shift[Int((v &* 2_654_435_761) >> 20)])
            hits[n] = Int32(truncatingIfNeeded: pos)
            n &+= jump == 0 ? 1 : 0
            pos &+= jump == 0 ? 1 : jump
            if n == PrefilterTables.hitCapacity {
                verify(start, length, hits, n, into: mask)
                n = 0
            }
        }
        verify(start, length, hits, n, into: mask)
    }

    /// Compares the literals whose window ends at each of the `count` positions in `hits`.
    @inline(__always)
    func verify(_ start: UnsafePointer<UInt8>, _ length: Int, _ hits: UnsafeMutablePointer<Int32>, _ count: Int, into mask: UnsafeMutablePointer<UInt64>) {
        let m = windowBytes
        let raw = UnsafeRawPointer(start)
        for i in 0..<count {
            let pos = Int(hits[i])
            let h = LiteralPrefilter.blockHash(start[pos - 2], start[pos - 1], start[pos])
            let window = pos - (m - 1)
            var e = heads[h]
            while e >= 0 {
                let entry = Int(e)
                e = nexts[entry]
                let at = window - Int(windowOffsets[entry])
                let n = Int(lengths[entry])
                guard at >= 0, n <= length - at else { continue }
                if length - at >= 8 && raw.loadUnaligned(fromByteOffset: at, as: UInt64.self) & prefixMasks[entry] != prefixes[entry] { continue }
                let rules = ruleMasks + entry &* wordCount
                var found = true
                for w in 0..<wordCount where mask[w] & rules[w] != rules[w] { found = false }
                if !found && memcmpBytes(literalBytes + Int(offsets[entry]), start + at, n) {
                    for w in 0..<wordCount { mask[w] |= rules[w] }
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
