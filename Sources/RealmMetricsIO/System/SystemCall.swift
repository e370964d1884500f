#if canImport(Glibc)
import Glibc
#endif

/// The one helper for system calls that may be interrupted by a signal (as NIOPosix's `syscall`):
/// every `read`, `write`, `send`, `poll` and `flock` of the I/O layer goes through it.
enum SystemCall {
    /// Calls `body` again while it fails with `EINTR`; returns its result (negative: it failed, and
    /// `errno` says why).
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let rc = body()
            if rc >= 0 || errno != EINTR { return rc }
        }
    }

    /// ``retrying(_:)`` with the failure thrown: returns `body`'s result when it is not negative, and
    /// throws the `errno` of a failure other than `EINTR` as ``SystemCallError``.
    @inline(__always)
    static func checked<T: BinaryInteger>(_ body: () -> T) throws(SystemCallError) -> T {
        let rc = retrying(body)
        if rc < 0 { throw SystemCallError(code: errno) }
        return rc
    }

    /// Writes all of `bytes` through `body` (a `write(2)` or `send(2)` of the `count` bytes at `start`,
    /// returning how many it took), calling it again on what is left until everything is written,
    /// each call through ``retrying(_:)``. Returns nil when all is written, else the `errno` of the
    /// first failure (what was written before it stays written). The failure is returned, not thrown,
    /// so that it leaves the `withUnsafeBytes` closures the callers pass their buffers in.
    static func writeAll(_ bytes: UnsafeRawBufferPointer, _ body: (_ start: UnsafeRawPointer, _ count: Int) -> Int) -> SystemCallError? {
        guard let base = bytes.baseAddress else { return nil }
        var offset = 0
        while offset < bytes.count {
            do { offset += try checked { body(base + offset, bytes.count - offset) } } catch { return error }
        }
        return nil
    }
}

/// A system call that failed: its `errno` and the C library's text for it.
struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value (`ECONNREFUSED`, `EAGAIN`, ...).
    let code: Int32
    /// `strerror(3)` of ``code``.
    var description: String { errnoText(code) }
}

/// The text of an `errno` value (`strerror(3)`).
func errnoText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "error \(code)" }
    return String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)), as: UTF8.self)
}
