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
}

/// The text of an `errno` value (`strerror(3)`).
func errnoText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "error \(code)" }
    return String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)), as: UTF8.self)
}
