import Testing
import RealmMetricsTestSupport
@testable import RealmMetricsCore

@Suite("Line splitter")
struct LineSplitterTests {
    /// The lines `forEachLine` hands on for `bytes`, and how many it cut.
    static func lines(_ bytes: [UInt8], maxLineBytes: Int) -> ([[UInt8]], Int64) {
        var out: [[UInt8]] = []
        let cut = bytes.withUnsafeBufferPointer { b in
            LineSplitter.forEachLine(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, from: 0, to: b.count, maxLineBytes: maxLineBytes) {
                out.append(Array(UnsafeBufferPointer(start: $0, count: $1)))
            }
        }
        return (out, cut)
    }

    static func text(_ lines: [[UInt8]]) -> [String] { lines.map { String(decoding: $0, as: UTF8.self) } }

    @Test("lines end at \\n without it; one trailing \\r goes; empty lines stay; a last line without \\n comes too; no bytes, no line")
    func rules() {
        let (out, cut) = Self.lines(Array("a\r\nb\r\r\n\n\r\nc\rd\ne".utf8), maxLineBytes: 10)
        #expect(Self.text(out) == ["a", "b\r", "", "", "c\rd", "e"])
        #expect(cut == 0)
        #expect(Self.lines(Array("x\n".utf8), maxLineBytes: 10).0 == [Array("x".utf8)])
        #expect(Self.lines([], maxLineBytes: 10).0.isEmpty)
        #expect(Self.lines([0x0A], maxLineBytes: 10).0 == [[]])
        #expect(Self.lines([0x00, 0xFF, 0x0A], maxLineBytes: 10).0 == [[0x00, 0xFF]])
    }

    @Test("a line longer than the limit, counting its \\r, is cut to the limit and counted; one at the limit is whole")
    func cut() {
        let (out, cut) = Self.lines(Array("abcd\nabcde\nabc\r\nabcd\r\nabcdefgh".utf8), maxLineBytes: 4)
        #expect(Self.text(out) == ["abcd", "abcd", "abc", "abcd", "abcd"])
        #expect(cut == 3)
    }

    @Test("take hands on whole lines and holds the unfinished one; only bytes from `scanned` on are searched")
    func take() {
        var splitter = LineSplitter(maxLineBytes: 8)
        let bytes = Array("ab\ncd\nef".utf8)
        bytes.withUnsafeBufferPointer { b in
            let (lines, held) = splitter.take(b.baseAddress!, from: 0, scanned: 0, to: b.count)
            #expect(lines == 0..<6 && held == 6)
            // Held bytes alone: nothing ready.
            let again = splitter.take(b.baseAddress!, from: 6, scanned: 6, to: b.count)
            #expect(again.lines.isEmpty && again.held == 6)
            // The caller vouches for [0, 4) having no newline.
            let trusted = splitter.take(b.baseAddress!, from: 0, scanned: 6, to: b.count)
            #expect(trusted.lines == 0..<0 && trusted.held == 0)
        }
        #expect(!splitter.skipping)
        #expect(splitter.finish(from: 6, to: 8) == 6..<8)
        #expect(splitter.finish(from: 3, to: 3).isEmpty)
    }

    @Test("a cut line that spans reads: its start goes with the ready lines, its rest is skipped up to its \\n, even over several reads")
    func cutAcrossReads() {
        var splitter = LineSplitter(maxLineBytes: 4)
        var handed: [String] = []
        func ready(_ bytes: [UInt8], _ range: Range<Int>) {
            bytes.withUnsafeBufferPointer { b in
                _ = LineSplitter.forEachLine(b.baseAddress!, from: range.lowerBound, to: range.upperBound, maxLineBytes: 4) {
                    handed.append(String(decoding: UnsafeBufferPointer(start: $0, count: $1), as: UTF8.self))
                }
            }
        }
        let first = Array("ok\nlongerline".utf8)
        first.withUnsafeBufferPointer { b in
            #expect(splitter.skipCutLine(b.baseAddress!, from: 0, to: b.count) == 0)
            let (lines, held) = splitter.take(b.baseAddress!, from: 0, scanned: 0, to: b.count)
            #expect(lines == 0..<first.count && held == first.count)
            ready(first, lines)
        }
        #expect(splitter.skipping)
        let second = Array("stillthesameline".utf8)
        second.withUnsafeBufferPointer { b in #expect(splitter.skipCutLine(b.baseAddress!, from: 0, to: b.count) == nil) }
        #expect(splitter.skipping)
        let third = Array("end\r\nnext\nto".utf8)
        third.withUnsafeBufferPointer { b in
            let begin = splitter.skipCutLine(b.baseAddress!, from: 0, to: b.count)
            #expect(begin == 5)
            let (lines, held) = splitter.take(b.baseAddress!, from: begin!, scanned: begin!, to: b.count)
            #expect(held == 10)
            ready(third, lines)
            #expect(splitter.finish(from: held, to: b.count) == 10..<12)
        }
        #expect(handed == ["ok", "long", "next"])
        // A cut line that runs to the end of the input leaves nothing to hand on, and the next input starts afresh.
        let long = Array("abcdefgh".utf8)
        long.withUnsafeBufferPointer { b in _ = splitter.take(b.baseAddress!, from: 0, scanned: 0, to: b.count) }
        #expect(splitter.skipping)
        #expect(splitter.finish(from: 8, to: 8).isEmpty)
        #expect(!splitter.skipping)
    }
}
