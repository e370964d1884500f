#if canImport(Glibc)
import Glibc
#endif

/// The lock that keeps one sidecar per state directory: an exclusive `flock(2)` on `<dir>/lock`, held
/// while the object lives (the kernel drops it when the process ends, however it ends). The file holds
/// the pid of the process that has it, so a refused sidecar can name it. Readers of the state
/// (`status`) do not take it.
public final class StateLock {
    public let path: String
    private let fd: Int32

    /// Why the lock was not taken.
    public enum Failure: Error, Equatable, Sendable {
        /// Another process holds it; its pid when the file names one.
        case held(by: Int32?)
        /// The lock file cannot be created or opened, or `flock` fails for another reason.
        case unavailable(String)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Takes the lock of `directory` without waiting, creating the directory (mode 0750) and the lock
    /// file (0640) if needed, and writes this process's pid into the file.
    public static func acquire(directory: String) -> Result<StateLock, Failure> {
        if mkdir(directory, 0o750) != 0 && errno != EEXIST {
            return .failure(.unavailable("\(directory): cannot create: \(errnoText(errno))"))
        }
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return .failure(.unavailable("\(path): cannot open: \(errnoText(errno))")) }
        do { _ = try SystemCall.checked { flock(fd, LOCK_EX | LOCK_NB) } } catch {
            defer { close(fd) }
            if error.code == EWOULDBLOCK { return .failure(.held(by: holder(fd))) }
            return .failure(.unavailable("\(path): cannot lock: \(error)"))
        }
        // The pid is for messages only: a file system too full to take it does not cost the lock.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return .success(StateLock(path: path, fd: fd))
    }

    /// The pid written in the lock file, if it holds one.
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let digits = buffer[0..<n].prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty, digits.count < 10 else { return nil }
        return Int32(String(decoding: digits, as: UTF8.self))
    }
}
