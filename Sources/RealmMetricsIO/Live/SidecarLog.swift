#if canImport(Glibc)
import Glibc
#endif

/// The syslog priority of a message, as `journalctl -p` filters them.
public enum LogPriority: Int, Sendable, Comparable {
    case error = 3, warning = 4, notice = 5, info = 6

    public static func < (a: LogPriority, b: LogPriority) -> Bool { a.rawValue < b.rawValue }
}

/// The sidecar's log: one line per message on its writer (standard error). When that is the journal
/// (`JOURNAL_STREAM` names the device and inode of the descriptor, as systemd sets it for a service),
/// each line starts with its priority as `<N>`, which journald stores as `PRIORITY` and strips, so
/// `journalctl -p warning` shows the sidecar's warnings and errors.
public final class SidecarLog {
    public let writer: FDWriter
    public let prefixesPriorities: Bool

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

    /// Writes `line` (without its newline) at `priority`, and flushes.
    public func say(_ priority: LogPriority, _ line: String) {
        if prefixesPriorities { writer.write("<\(priority.rawValue)>") }
        writer.write(line + "\n")
        writer.flush()
    }
}
