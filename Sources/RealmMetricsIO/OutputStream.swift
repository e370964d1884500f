#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to a file descriptor (stdout, stderr, a file), with `write(2)`.
public final class FDWriter {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    public static func standardOutput() -> FDWriter { FDWriter(fd: STDOUT_FILENO) }
    public static func standardError() -> FDWriter { FDWriter(fd: STDERR_FILENO) }

    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                break  // a closed pipe: nothing more can be written
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// Whether `fd` is a terminal (`isatty`).
public func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
