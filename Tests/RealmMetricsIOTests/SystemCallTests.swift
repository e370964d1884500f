import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import RealmMetricsIO

/// The EINTR helper and what is built on it, with system calls stood in for by closures that fail as
/// the kernel does (-1 and `errno`).
@Suite("System calls")
struct SystemCallTests {
    @Test("checked calls again after EINTR and returns the result")
    func checkedRetries() throws {
        var calls = 0
        let result = try SystemCall.checked { () -> Int in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7)
        #expect(calls == 3)
    }

    @Test("checked throws any other errno, with its code and the C library's text")
    func checkedThrows() {
        var calls = 0
        #expect(throws: SystemCallError(code: EBADF)) {
            _ = try SystemCall.checked { () -> Int32 in
                calls += 1
                errno = EBADF
                return -1
            }
        }
        #expect(calls == 1)
        #expect(SystemCallError(code: EBADF).description == "Bad file descriptor")
    }

    @Test("writeAll writes what a short write left, goes on after EINTR, and returns the first failure")
    func writeAll() {
        let bytes = Array("0123456789".utf8)
        var written: [UInt8] = []
        var calls = 0
        // Three bytes a call, EINTR every other call.
        let failure = bytes.withUnsafeBytes { buffer in
            SystemCall.writeAll(buffer) { start, count in
                calls += 1
                if calls % 2 == 0 {
                    errno = EINTR
                    return -1
                }
                let n = min(3, count)
                written.append(contentsOf: UnsafeRawBufferPointer(start: start, count: n))
                return n
            }
        }
        #expect(failure == nil)
        #expect(written == bytes)

        written = []
        let refused = bytes.withUnsafeBytes { buffer in
            SystemCall.writeAll(buffer) { start, count in
                guard written.isEmpty else {
                    errno = EPIPE
                    return -1
                }
                written.append(contentsOf: UnsafeRawBufferPointer(start: start, count: 4))
                return 4
            }
        }
        #expect(refused == SystemCallError(code: EPIPE))
        #expect(written == Array("0123".utf8))
    }

    @Test("FDWriter keeps the first write error and drops what follows")
    func writerError() throws {
        // A descriptor open for reading only: every write fails with EBADF.
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        let writer = FDWriter(fd: fd)
        writer.write("lost")
        writer.flush()
        #expect(writer.error == EBADF)
        writer.write("dropped")
        #expect(throws: RealmMetricsError.self) { try writer.finish("the file") }
        #expect(writer.error == EBADF)
    }
}
