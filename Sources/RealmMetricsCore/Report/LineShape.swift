/// The shape of a log line, for grouping the lines no rule matched: the one rule, applied to the
/// whole line,
/// - a quoted value (`'…'` or `"…"`, up to the closing quote of the same kind on the line) becomes
///   the two quotes around `…`;
/// - a word (a run of ASCII letters, digits and `_`) made only of hex digits, with at least one
///   digit and one letter, or `0x` and hex digits, becomes `<hex>` (ids, salts, hashes: `5f2a9c`,
///   `41d4`, `0xdeadbeef`);
/// - every other run of digits becomes `<n>` (counters, times, ports, sizes: `Connection[<n>]`).
///
/// The other bytes are kept; the shape is cut after ``maxBytes`` bytes of input (a `…` marks the
/// cut). Bytes that are not UTF-8 are replaced (U+FFFD) when the shape is turned into a string.
public enum LineShape {
    public static let maxBytes = 400

    /// Where a shape goes: its bytes collected, or only hashed.
    protocol Output {
        mutating func put(_ byte: UInt8)
        mutating func put(_ bytes: Slice<UnsafeBufferPointer<UInt8>>)
        mutating func put(_ token: Token)
    }

    enum Token { case number, hex, ellipsis }

    static let numberBytes = Array("<n>".utf8), hexBytes = Array("<hex>".utf8), ellipsisBytes: [UInt8] = [0xE2, 0x80, 0xA6]

    struct Collector: Output {
        var bytes: [UInt8] = []
        mutating func put(_ byte: UInt8) { bytes.append(byte) }
        mutating func put(_ slice: Slice<UnsafeBufferPointer<UInt8>>) { bytes.append(contentsOf: slice) }
        mutating func put(_ token: Token) {
            switch token {
            case .number: bytes.append(contentsOf: LineShape.numberBytes)
            case .hex: bytes.append(contentsOf: LineShape.hexBytes)
            case .ellipsis: bytes.append(contentsOf: LineShape.ellipsisBytes)
            }
        }
    }

    /// A hash of the shape's bytes (FNV-1a, 64 bits: one xor and one multiply per byte, whatever
    /// pieces the bytes come in); a token counts as one byte no line byte can be: 0xF8 + n.
    struct Hash: Output {
        static let prime: UInt64 = 0x0000_0100_0000_01B3
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) mutating func put(_ byte: UInt8) {
            value = (value ^ UInt64(byte)) &* Hash.prime
        }
        func finish() -> UInt64 { value ^ value >> 31 }
        @inline(__always) mutating func put(_ slice: Slice<UnsafeBufferPointer<UInt8>>) {
            var v = value
            for b in slice { v = (v ^ UInt64(b)) &* Hash.prime }
            value = v
        }
        @inline(__always) mutating func put(_ token: Token) {
            switch token {
            case .number: put(0xF8)
            case .hex: put(0xF9)
            case .ellipsis: put(0xFA)
            }
        }
    }

    /// The shape of `line`.
    public static func fold(_ line: UnsafeBufferPointer<UInt8>) -> String {
        var out = Collector()
        out.bytes.reserveCapacity(min(line.count, maxBytes) + 8)
        fold(line, into: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// A 64-bit hash of the shape of `line`, without building it: lines of one shape have the same.
    public static func hash(_ line: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var out = Hash()
        fold(line, into: &out)
        return out.finish()
    }

    /// Per byte: 1 a digit, 2 a hex letter, 4 another letter or `_` (all three: word bytes), 8 a quote.
    static let classes: [UInt8] = (0..<256).map { c -> UInt8 in
        switch UInt8(c) {
        case 0x30...0x39: 1
        case 0x41...0x46, 0x61...0x66: 2
        case 0x47...0x5A, 0x67...0x7A, 0x5F: 4
        case 0x22, 0x27: 8
        default: 0
        }
    }

    @inline(__always)
    static func fold<O: Output>(_ line: UnsafeBufferPointer<UInt8>, into out: inout O) {
        classes.withUnsafeBufferPointer { cls in fold(line, into: &out, cls) }
    }

    @inline(__always)
    static func fold<O: Output>(_ line: UnsafeBufferPointer<UInt8>, into out: inout O, _ cls: UnsafeBufferPointer<UInt8>) {
        let end = min(line.count, maxBytes)
        var i = 0
        while i < end {
            let c = line[i]
            let k = cls[Int(c)]
            if k == 0 {
                out.put(c)
                i += 1
                continue
            }
            if k == 8 {  // ' or "
                var j = i + 1
                while j < line.count && line[j] != c { j += 1 }
                out.put(c)
                if j < line.count {
                    out.put(.ellipsis)
                    out.put(c)
                    i = j + 1
                } else {
                    i += 1
                }
                continue
            }
            // A word: which kinds of bytes it has.
            var j = i
            var kinds: UInt8 = 0
            while j < end {
                let w = cls[Int(line[j])]
                if w == 0 || w == 8 { break }
                kinds |= w
                j += 1
            }
            let prefixed = j - i > 2 && c == 0x30 && (line[i + 1] | 0x20) == 0x78
                && (i + 2..<j).allSatisfy { cls[Int(line[$0])] & 3 != 0 }
            if kinds == 1 {
                out.put(.number)  // digits alone: one run, without a second look at them
            } else if prefixed || kinds == 3 {
                out.put(.hex)
            } else if kinds & 1 != 0 {
                // Fold each run of digits inside the word, keep its letters.
                var d = i
                while d < j {
                    if cls[Int(line[d])] == 1 {
                        while d < j && cls[Int(line[d])] == 1 { d += 1 }
                        out.put(.number)
                    } else {
                        out.put(line[d])
                        d += 1
                    }
                }
            } else {
                out.put(line[i..<j])
            }
            i = j
        }
        if line.count > maxBytes && i < line.count { out.put(.ellipsis) }
    }

    /// The shape of a string (see ``fold(_:)``).
    public static func fold(_ line: String) -> String {
        var copy = line
        return copy.withUTF8 { fold($0) }
    }
}

/// The lines no rule matched, grouped by ``LineShape``: per shape its count and the first line of it
/// (cut to ``exampleBytes``). At most ``maxShapes`` shapes are kept; lines of further shapes are
/// counted in ``linesOfDroppedShapes`` only, so memory stays bounded for any log. Credentials are
/// taken out of each line first (``LineRedactor``): neither a shape nor an example carries one.
public struct LineShapeTally {
    public struct Entry: Sendable, Equatable {
        public var shape: String
        public var count: Int64
        public var example: String
        /// The outcome of the lines: `unmatched` (the envelope fits, no rule does) or `envelope` (no
        /// envelope fits).
        public var outcome: String
    }

    public static let exampleBytes = 400
    public let maxShapes: Int
    private var index: [String: Int] = [:]
    public private(set) var entries: [Entry] = []
    public private(set) var linesOfDroppedShapes: Int64 = 0
    private let redactor = LineRedactor()
    /// Shape hash (of the line as read) → its entry.
    private var seenHashes: [UInt64: Int] = [:]

    public init(maxShapes: Int = 5000) { self.maxShapes = maxShapes }

    /// Counts one line of `outcome` (see ``Entry/outcome``). A line whose shape (by ``LineShape/hash(_:)``,
    /// given as `shapeHash` when the caller computed it already, with its outcome) was seen is
    /// counted without building anything; else it is redacted, folded, and counted with the lines of
    /// its shape or as a new one.
    public mutating func add(_ line: UnsafeBufferPointer<UInt8>, outcome: String, shapeHash: UInt64? = nil) {
        var h = shapeHash ?? LineShape.hash(line)
        h = (h ^ UInt64(outcome.utf8.first ?? 0)) &* 0x100_0000_01b3
        if let i = seenHashes[h] {
            entries[i].count += 1
            return
        }
        let index: Int?
        if let redacted = redactor.redact(line) {
            index = redacted.withUnsafeBufferPointer { addRedacted($0, outcome: outcome) }
        } else {
            index = addRedacted(line, outcome: outcome)
        }
        // Lines that differ only in what redaction hides (tokens) have many raw shapes: the cache is bounded.
        if let index, seenHashes.count < LineShapeTally.maxCachedHashes { seenHashes[h] = index }
    }

    static let maxCachedHashes = 100_000

    /// Counts a redacted line; returns its entry, nil when it was only counted as of a dropped shape.
    private mutating func addRedacted(_ line: UnsafeBufferPointer<UInt8>, outcome: String) -> Int? {
        let shape = LineShape.fold(line)
        let key = outcome + "\u{0}" + shape
        if let i = index[key] {
            entries[i].count += 1
            return i
        }
        guard entries.count < maxShapes else {
            linesOfDroppedShapes += 1
            return nil
        }
        let cut = UnsafeBufferPointer(rebasing: line[0..<min(line.count, LineShapeTally.exampleBytes)])
        index[key] = entries.count
        entries.append(Entry(shape: shape, count: 1, example: String(decoding: cut, as: UTF8.self), outcome: outcome))
        return entries.count - 1
    }

    public mutating func add(_ line: String, outcome: String) {
        var copy = line
        copy.withUTF8 { add($0, outcome: outcome) }
    }

    /// Forgets every line counted (lines before a backfill's window).
    public mutating func clear() {
        index.removeAll()
        seenHashes.removeAll()
        entries.removeAll()
        linesOfDroppedShapes = 0
    }

    /// The entries by count, largest first (then by shape).
    public var sorted: [Entry] {
        entries.sorted { $0.count != $1.count ? $0.count > $1.count : ($0.shape, $0.outcome) < ($1.shape, $1.outcome) }
    }
}
