#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one rule for cutting bytes into lines, for every reader of logs (files and pipes, journal
/// messages, the threads of a replay). Pure: it looks at bytes its caller holds, copies nothing and
/// does no I/O.
///
/// - A line ends at `\n`, which is not part of it. Invalid UTF-8 and NUL bytes are ordinary bytes.
/// - A line longer than ``maxLineBytes`` (counting a `\r` before its `\n`) is cut to its first
///   ``maxLineBytes`` bytes and counted; the rest of it up to the next `\n` is skipped.
/// - Otherwise one trailing `\r` is removed.
/// - Bytes after the last `\n` are a line still being written: a reader holds them until more bytes
///   come (``take(_:from:scanned:to:)``), and hands them on as the last line at the end of its input
///   (``finish(from:to:)``), unless they are the rest of a cut line.
///
/// A reader calls ``skipCutLine(_:from:to:)`` and ``take(_:from:scanned:to:)`` on the bytes of each
/// read, and ``forEachLine(_:from:to:maxLineBytes:_:)`` on the bytes that `take` found ready, on its
/// own thread or on others'.
public struct LineSplitter: Sendable {
    public let maxLineBytes: Int
    /// The start of a line was cut and handed on; its rest, up to the next `\n`, is being skipped.
    public private(set) var skipping = false

    /// `maxLineBytes` is at least 1.
    public init(maxLineBytes: Int) {
        self.maxLineBytes = max(1, maxLineBytes)
    }

    /// Bytes [from, to) of `base` are the held ones followed by those read since. While ``skipping``
    /// (nothing is held then) skips them up to the `\n` that ends the cut line: returns where the bytes
    /// after it start, or nil when all of them belong to the cut line. When not skipping, returns `from`.
    public mutating func skipCutLine(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        guard skipping else { return from }
        guard to > from, let hit = memchr(base + from, 0x0A, to - from) else { return nil }
        skipping = false
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
    }

    /// Bytes [from, to) of `base` are what was held from before and what came since (not the rest of
    /// a cut line: ``skipCutLine(_:from:to:)`` comes first), and [from, scanned) holds no `\n`. Returns
    /// the bytes ready to be split by ``forEachLine(_:from:to:maxLineBytes:_:)`` (whole lines, and
    /// when the unfinished last line is already longer than ``maxLineBytes``, that line too, which
    /// will be cut: its rest is skipped from here on), and where the bytes to hold start (`to` when
    /// none are).
    public mutating func take(_ base: UnsafePointer<UInt8>, from: Int, scanned: Int, to: Int) -> (lines: Range<Int>, held: Int) {
        var tail = from
        var i = to - 1
        let low = max(from, scanned)
        while i >= low {
            if base[i] == 0x0A { tail = i + 1; break }
            i -= 1
        }
        if to - tail > maxLineBytes {
            skipping = true
            return (from..<to, to)
        }
        return (from..<tail, tail)
    }

    /// At the end of the input: the held bytes [from, to) as the last line (empty when there are none
    /// or they are the rest of a cut line). The next input starts afresh.
    public mutating func finish(from: Int, to: Int) -> Range<Int> {
        defer { skipping = false }
        return skipping || to <= from ? to..<to : from..<to
    }

    /// Hands each line in bytes [from, to) of `base` to `body` as its start and length (the rule
    /// above: no `\n`, cut to `maxLineBytes`, else one trailing `\r` removed); the last one also when
    /// it does not end in `\n`. No bytes, no line. Returns how many lines were cut.
    @inlinable @inline(__always) @discardableResult
    public static func forEachLine<E: Error>(_ base: UnsafePointer<UInt8>, from: Int, to: Int, maxLineBytes: Int,
                                             _ body: (UnsafePointer<UInt8>, Int) throws(E) -> Void) throws(E) -> Int64 {
        var cut: Int64 = 0
        var s = from
        while s < to {
            let e: Int
            if let nl = memchr(base + s, 0x0A, to - s) {
                e = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            } else {
                e = to
            }
            var length = e - s
            if length > maxLineBytes {
                length = maxLineBytes
                cut += 1
            } else if length > 0 && base[s + length - 1] == 0x0D {
                length -= 1
            }
            try body(base + s, length)
            s = e + 1
        }
        return cut
    }
}
