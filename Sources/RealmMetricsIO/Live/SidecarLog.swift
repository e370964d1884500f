#if canImport(Glibc)
import Glibc
#endif

/// The syslog priority of a message, as `journalctl -p` filters them.
public enum LogPriority: Int, Sendable, Comparable {
    case error = 3, warning = 4, notice = 5, info = 6

    public static func < (a: LogPriority, b: LogPriority) -> Bool { a.rawValue < b.rawValue }
}

/// The log of the I/O layer: one line per message on its writer (standard error), each starting with
/// `realm-metrics: ` (written here, nowhere else). When the writer is the journal (`JOURNAL_STREAM`
/// names the device and inode of the descriptor, as systemd sets it for a service), each line starts
/// with its priority as `<N>`, which journald stores as `PRIORITY` and strips, so `journalctl -p
/// warning` shows the sidecar's warnings and errors.
///
/// Warnings about a condition that lasts are reported once (``warn(_:_:)``), kept while they hold (for
/// `status`, through the state file), and followed by a line when they end (``clearWarning(_:_:)``).
/// Owned by the thread that runs the job.
public final class SidecarLog {
    public let writer: FDWriter
    public let prefixesPriorities: Bool
    /// Warnings still current, by key.
    public private(set) var activeWarnings: [String: String] = [:]

    public init(writer: FDWriter) {
        self.writer = writer
        prefixesPriorities = SidecarLog.isJournalStream(writer.fd)
    }

    /// Whether `fd` is the stream `JOURNAL_STREAM` (`<st_dev>:<st_ino>` in decimal) names.
    public static func isJournalStream(_ fd: Int32) -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return String(cString: value) == "\(st.st_dev):\(st.st_ino)"
    }

    /// Writes `message` (without its newline) at `priority`, after `realm-metrics: ` unless `prefixed`
    /// is false (a line that names the program itself), and flushes.
    public func say(_ priority: LogPriority, _ message: String, prefixed: Bool = true) {
        if prefixesPriorities { writer.write("<\(priority.rawValue)>") }
        writer.write((prefixed ? "realm-metrics: " : "") + message + "\n")
        writer.flush()
    }

    /// Logs `message` as a warning the first time `key` is raised (and again when its message changes),
    /// and keeps it until ``clearWarning(_:_:)``.
    public func warn(_ key: String, _ message: String) {
        guard activeWarnings[key] != message else { return }
        activeWarnings[key] = message
        say(.warning, "warning: \(message)")
    }

    /// Ends warning `key`; logs `recovery` when the warning was current.
    public func clearWarning(_ key: String, _ recovery: String? = nil) {
        guard activeWarnings.removeValue(forKey: key) != nil else { return }
        if let recovery { say(.notice, recovery) }
    }

    /// Whether warning `key` is current.
    public func isWarning(_ key: String) -> Bool { activeWarnings[key] != nil }
}
