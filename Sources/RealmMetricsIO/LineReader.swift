#if canImport(Glibc)
import Glibc
#endif

import RealmMetricsCore

/// Splits the bytes of a file descriptor into lines without copying them: `read(2)` in large chunks,
/// each line handed to the caller as a pointer and a length, by the rule of ``LineSplitter`` (no
/// newline, one trailing `\r` removed; invalid UTF-8 and NUL bytes pass through unchanged).
///
/// A line longer than `maxLineBytes` is cut to that length, handed on once, and counted in
/// ``truncatedLines``; the rest of it up to the next newline is skipped.
public final class LineReader {
    public var maxLineBytes: Int { splitter.maxLineBytes }
    // One owner; read per chunk and line without run-time exclusivity checks.
    @exclusivity(unchecked) private var splitter: LineSplitter
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Bytes [0, filled) of `buffer` hold the unfinished line carried over from the last read.
    @exclusivity(unchecked) private var filled = 0

    @exclusivity(unchecked) public private(set) var truncatedLines: Int64 = 0
    @exclusivity(unchecked) public private(set) var bytesRead: Int64 = 0

    public init(maxLineBytes: Int = 65536, chunkBytes: Int = 1 << 20) {
        splitter = LineSplitter(maxLineBytes: maxLineBytes)
        capacity = max(chunkBytes, 2 * splitter.maxLineBytes) + 1
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// Bytes held back as an unfinished last line.
    public var pendingBytes: Int { filled }

    /// Reads `fd` until end of file (or an error, returned as errno), handing every complete line to
    /// `body`. With `flushPartialAtEOF`, a last line without newline is handed on too; otherwise it is
    /// kept until its newline arrives in a later call.
    public func read(fd: Int32, flushPartialAtEOF: Bool, _ body: (UnsafePointer<UInt8>, Int) -> Void) -> Int32? {
        while true {
            let n = Glibc.read(fd, buffer + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 {
                if flushPartialAtEOF { finish(body) }
                return nil
            }
            bytesRead += Int64(n)
            consume(newBytes: n, body)
        }
    }

    /// Hands on a held partial line (at the end of a file that will not grow).
    public func finish(_ body: (UnsafePointer<UInt8>, Int) -> Void) {
        let last = splitter.finish(from: 0, to: filled)
        truncatedLines += LineSplitter.forEachLine(buffer, from: last.lowerBound, to: last.upperBound, maxLineBytes: maxLineBytes, body)
        filled = 0
    }

    /// Feeds bytes that are already in memory (for tests and non-fd sources).
    public func feed(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        var offset = 0
        while offset < bytes.count {
            let n = min(capacity - filled, bytes.count - offset)
            (buffer + filled).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, count: n)
            offset += n
            bytesRead += Int64(n)
            consume(newBytes: n, body)
        }
    }

    /// Hands on the lines that the `n` bytes read after the held ones complete, and holds what is left.
    private func consume(newBytes n: Int, _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        let end = filled + n
        guard let begin = splitter.skipCutLine(buffer, from: 0, to: end) else {
            filled = 0
            return
        }
        // Only the new bytes can hold a newline: the held part had none.
        let (lines, held) = splitter.take(buffer, from: begin, scanned: filled, to: end)
        truncatedLines += LineSplitter.forEachLine(buffer, from: lines.lowerBound, to: lines.upperBound, maxLineBytes: maxLineBytes, body)
        let rest = end - held
        if rest > 0 && held > 0 { buffer.update(from: buffer + held, count: rest) }
        filled = rest
    }
}
