import Testing
import Foundation
@testable import RealmMetricsIO

@Suite("Line reader")
struct LineReaderTests {
    func lines(_ data: [UInt8], maxLineBytes: Int = 65536, chunkBytes: Int = 1 << 20, partialAtEOF: Bool = true) throws -> ([[UInt8]], LineReader) {
        let path = NSTemporaryDirectory() + "linereader-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(data))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let reader = LineReader(maxLineBytes: maxLineBytes, chunkBytes: chunkBytes)
        var out: [[UInt8]] = []
        let error = reader.read(fd: fd, flushPartialAtEOF: partialAtEOF) { start, length in out.append(Array(UnsafeBufferPointer(start: start, count: length))) }
        #expect(error == nil)
        return (out, reader)
    }

    @Test("lines split on \\n, one trailing \\r dropped, NUL and invalid UTF-8 kept")
    func basics() throws {
        let (out, _) = try lines(Array("a\r\nb\n\nc\0d\n".utf8) + [0xFF, 0xFE, 0x0A])
        #expect(out == [Array("a".utf8), Array("b".utf8), [], Array("c\0d".utf8), [0xFF, 0xFE]])
    }

    @Test("a last line without newline is held, or handed on at the end of a finished file")
    func partial() throws {
        #expect(try lines(Array("x\ny".utf8), partialAtEOF: true).0 == [Array("x".utf8), Array("y".utf8)])
        let (held, reader) = try lines(Array("x\ny".utf8), partialAtEOF: false)
        #expect(held == [Array("x".utf8)])
        #expect(reader.pendingBytes == 1)
    }

    @Test("lines across chunk boundaries arrive whole")
    func chunks() throws {
        let text = (0..<500).map { "line number \($0) " + String(repeating: "z", count: $0 % 37) }.joined(separator: "\n") + "\n"
        let (out, _) = try lines(Array(text.utf8), maxLineBytes: 100, chunkBytes: 64)
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
    }

    @Test("over-long lines are cut, counted, and the next line is intact")
    func truncation() throws {
        let long = String(repeating: "q", count: 10_000)
        let (out, reader) = try lines(Array("\(long)\nnext\n\(long)".utf8), maxLineBytes: 100, chunkBytes: 256)
        #expect(out.map(\.count) == [100, 4, 100])
        #expect(out[1] == Array("next".utf8))
        #expect(reader.truncatedLines == 2)
    }
}
