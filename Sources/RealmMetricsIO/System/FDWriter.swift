#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to a file descriptor (stdout, stderr, a file), with `write(2)`. The first write
/// error (a full disk, a closed pipe) is kept in ``error`` and everything after it is dropped: a job
/// calls ``finish(_:)`` at its end, which throws it, so output that could not be written is an error
/// and never "done".
public final class FDWriter {
    public let fd: Int32
    private var buffer: [UInt8] = []
    /// errno of the first failed write, if any.
    public private(set) var error: Int32?

    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    public static func standardOutput() -> FDWriter { FDWriter(fd: STDOUT_FILENO) }
    public static func standardError() -> FDWriter { FDWriter(fd: STDERR_FILENO) }

    public func write(_ text: String) {
        guard error == nil else { return }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        if error == nil, let failure = buffer.withUnsafeBytes({ SystemCall.writeAll($0) { Glibc.write(fd, $0, $1) } }) {
            error = failure.code
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and throws the first write error, naming `what` was written (`standard output`, a path).
    public func finish(_ what: String) throws(RealmMetricsError) {
        flush()
        if let error { throw FDWriter.failure(what, error) }
    }

    /// The error for output that could not be written.
    public static func failure(_ what: String, _ code: Int32) -> RealmMetricsError {
        let hint = code == EPIPE ? " (the reading end was closed)" : ""
        return RealmMetricsError(.output, "\(what): cannot write: \(errnoText(code))\(hint); the output is incomplete")
    }

    deinit { flush() }
}

/// Whether `fd` is a terminal (`isatty`).
public func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// A file an output is written to (`influx:PATH`, `openmetrics:PATH`, `--report PATH`), created or
/// replaced (mode 0644 less the umask), or standard output for `-`: its ``writer``, and errors that
/// name the output (`what`) and the file.
final class OutputFile {
    let writer: FDWriter
    /// `influx: /tmp/x.lp`, `--report standard output`: what errors call it.
    let label: String
    private let ownsFD: Bool

    /// Opens `path` (`open(2)` with `O_CREAT | O_TRUNC`): a path that cannot be written fails here,
    /// before anything is read.
    init(path: String, what: String) throws(RealmMetricsError) {
        if path == "-" {
            writer = .standardOutput()
            ownsFD = false
            label = "\(what) standard output"
        } else {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw RealmMetricsError(.output, "\(what) \(path): cannot create the file: \(errnoText(errno))") }
            writer = FDWriter(fd: fd)
            ownsFD = true
            label = "\(what) \(path)"
        }
    }

    /// Throws the first write error so far (a full disk or a closed pipe stops a job at once).
    func check() throws(RealmMetricsError) {
        if let error = writer.error { throw FDWriter.failure(label, error) }
    }

    /// Flushes, closes a file it opened, and throws what could not be written.
    func finish() throws(RealmMetricsError) {
        try writer.finish(label)
        if ownsFD && close(writer.fd) != 0 { throw FDWriter.failure(label, errno) }
    }
}
