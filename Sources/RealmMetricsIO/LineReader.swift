#if canImport(Glibc)
import Glibc
#endif

/// Splits the bytes of a file descriptor into lines without copying them: `read(2)` in large chunks,
/// `memchr` for newlines, each line handed to the caller as a pointer and a length (no newline, one
/// trailing `\r` removed). Invalid UTF-8 and NUL bytes pass through unchanged.
///
/// A line longer than `maxLineBytes` is cut to that length, handed on once, and counted in
/// ``truncatedLines``; the rest of it up to the next newline is skipped.
public final class LineReader {
    public let maxLineBytes: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Bytes [0, filled) of `buffer` hold the unfinished line carried over from the last read.
    private var filled = 0
    /// Skipping the rest of a line that was already cut.
    private var discarding = false

    public private(set) var truncatedLines: Int64 = 0
    public private(set) var bytesRead: Int64 = 0

    public init(maxLineBytes: Int = 65536, chunkBytes: Int = 1 << 20) {
        self.maxLineBytes = max(1, maxLineBytes)
        capacity = max(chunkBytes, 2 * self.maxLineBytes) + 1
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
        if filled > 0 && !discarding { deliver(buffer, filled, body) }
        filled = 0
        discarding = false
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

    private func consume(newBytes n: Int, _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        let end = filled + n
        var lineStart = 0
        // Only the new bytes can hold a newline: the carried part had none.
        var scan = filled
        while scan < end, let hit = memchr(buffer + scan, 0x0A, end - scan) {
            let nl = buffer.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if discarding {
                discarding = false
            } else {
                deliver(buffer + lineStart, nl - lineStart, body)
            }
            lineStart = nl + 1
            scan = lineStart
        }
        var rest = end - lineStart
        if discarding {
            rest = 0
        } else if rest > maxLineBytes {
            deliver(buffer + lineStart, maxLineBytes, body, truncated: true)
            discarding = true
            rest = 0
        }
        if rest > 0 && lineStart > 0 { buffer.update(from: buffer + lineStart, count: rest) }
        filled = rest
    }

    @inline(__always)
    private func deliver(_ start: UnsafeMutablePointer<UInt8>, _ length: Int, _ body: (UnsafePointer<UInt8>, Int) -> Void, truncated: Bool = false) {
        var length = length
        if length > maxLineBytes {
            length = maxLineBytes
            truncatedLines += 1
        } else if truncated {
            truncatedLines += 1
        }
        if !truncated && length > 0 && start[length - 1] == 0x0D { length -= 1 }
        body(start, length)
    }
}
