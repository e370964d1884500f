import Testing
import Foundation
import RealmMetricsTestSupport
import RealmMetricsCore
@testable import RealmMetricsIO

/// Every reader splits lines by one rule (``LineSplitter``): the file reader, whatever pieces its reads
/// bring, and a journal message give the lines of the rule applied to the whole input at once.
@Suite("Line splitting of the readers")
struct LineSplittingTests {
    /// The rule, written out plainly over the whole input: the lines and how many were cut.
    static func whole(_ bytes: [UInt8], maxLineBytes: Int) -> ([[UInt8]], Int64) {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if bytes.last == 0x0A || bytes.isEmpty { lines.removeLast() }
        var cut: Int64 = 0
        return (lines.map { line in
            if line.count > maxLineBytes {
                cut += 1
                return Array(line.prefix(maxLineBytes))
            }
            return line.last == 0x0D ? Array(line.dropLast()) : line
        }, cut)
    }

    /// What a ``LineReader`` hands on for `bytes` fed in pieces of `piece()` bytes, then finished.
    static func read(_ bytes: [UInt8], maxLineBytes: Int, chunkBytes: Int = 1 << 20, piece: () -> Int) -> ([[UInt8]], LineReader) {
        let reader = LineReader(maxLineBytes: maxLineBytes, chunkBytes: chunkBytes)
        var out: [[UInt8]] = []
        let body: (UnsafePointer<UInt8>, Int) -> Void = { out.append(Array(UnsafeBufferPointer(start: $0, count: $1))) }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, piece())
            bytes[offset..<(offset + n)].withUnsafeBytes { reader.feed($0, body) }
            offset += n
        }
        reader.finish(body)
        return (out, reader)
    }

    /// Lines with `\r`, empty ones, NUL bytes and lengths around the limit, in random order.
    static func input(_ g: inout some RandomNumberGenerator, maxLineBytes: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...200, using: &g) {
            let n = Int.random(in: 0...3, using: &g) == 0 ? Int.random(in: max(0, maxLineBytes - 2)...(4 * maxLineBytes), using: &g)
                                                          : Int.random(in: 0...8, using: &g)
            bytes += (0..<n).map { _ in [UInt8(ascii: "a"), UInt8(ascii: "b"), 0x0D, 0x00].randomElement(using: &g)! }
            if Bool.random(using: &g) { bytes.append(0x0D) }
            bytes.append(0x0A)
        }
        if Bool.random(using: &g) { bytes += Array("tail".utf8) }
        return bytes
    }

    @Test("the file reader gives the lines of the whole input, however its reads cut it, cut lines spanning reads included")
    func readerPieces() {
        var g = SeededRandom(#function)
        for round in 0..<300 {
            let maxLineBytes = [1, 3, 8, 40][round % 4]
            let bytes = Self.input(&g, maxLineBytes: maxLineBytes)
            let (out, reader) = Self.read(bytes, maxLineBytes: maxLineBytes, chunkBytes: Int.random(in: 1...64, using: &g)) {
                Int.random(in: 1...(3 * maxLineBytes + 2), using: &g)
            }
            let (expected, cut) = Self.whole(bytes, maxLineBytes: maxLineBytes)
            #expect(out == expected, "round \(round)")
            #expect(reader.truncatedLines == cut, "round \(round)")
            #expect(reader.bytesRead == Int64(bytes.count))
        }
    }

    @Test("a cut line keeps its first maxLineBytes bytes, a \\r at the cut among them, whether it comes in one read or over several")
    func cutKeepsItsBytes() {
        for pieces in [100, 7, 5, 2, 1] {
            let (out, reader) = Self.read(Array("ab\r\rcd\nx\r\n".utf8), maxLineBytes: 3) { pieces }
            #expect(out == [Array("ab\r".utf8), Array("x".utf8)], "reads of \(pieces) bytes")
            #expect(reader.truncatedLines == 1)
        }
    }

    @Test("replay on one thread and on several counts the same for lines cut right after a \\r")
    func cutAfterCarriageReturnThreaded() throws {
        let dir = NSTemporaryDirectory() + "splitting-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            format: cut
            rules:
              - name: digits
                match: '^n \\d+$'
                actions: [{count: digits}]
              - name: other
                match: '^n '
                actions: [{count: other}]
            """.write(toFile: dir + "/cut.yaml", atomically: true, encoding: .utf8)
        // 64 bytes: the cut falls right after the \r.
        let line = "n " + String(repeating: "1", count: 61) + "\r222\n"
        try String(repeating: line, count: 50).write(toFile: dir + "/in.log", atomically: true, encoding: .utf8)
        var outputs: [String] = []
        for threads in [1, 2] {
            var configuration = ReplayConfiguration(prefix: "t", files: [dir + "/in.log"])
            configuration.patterns = [dir + "/cut.yaml"]
            configuration.threads = threads
            configuration.maxLineBytes = 64
            let out = dir + "/out-\(threads)"
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            let fd = open(out, O_WRONLY)
            let report = try ReplayJob(configuration: configuration, provider: FilePatternProvider(builtInDirectories: [])).run(output: FDWriter(fd: fd))
            close(fd)
            #expect(report.truncatedLines == 50)
            outputs.append(try String(contentsOfFile: out, encoding: .utf8))
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0].contains("t.other:50|c"))
    }

    @Test("a journal message gives the lines the file reader gives for its bytes; an empty message is one empty line")
    func journalMessage() {
        var g = SeededRandom(#function)
        for round in 0..<200 {
            let maxLineBytes = [1, 3, 8, 40][round % 4]
            let bytes = Self.input(&g, maxLineBytes: maxLineBytes)
            var out: [[UInt8]] = []
            let cut = bytes.withUnsafeBytes { message in
                JournalSource.Entry(message: message, worker: "w", source: "s", pid: 1, newInvocation: false, realtimeMicroseconds: 0)
                    .forEachLine(maxLineBytes: maxLineBytes) { out.append(Array(UnsafeBufferPointer(start: $0, count: $1))) }
            }
            let (read, reader) = Self.read(bytes, maxLineBytes: maxLineBytes) { bytes.count }
            if bytes.isEmpty {
                #expect(out == [[]] && cut == 0)
            } else {
                #expect(out == read, "round \(round)")
                #expect(cut == reader.truncatedLines, "round \(round)")
            }
        }
    }
}
