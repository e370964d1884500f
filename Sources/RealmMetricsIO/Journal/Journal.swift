#if canImport(Glibc)
import Glibc
#endif
import CSystemdJournal

/// A failed `sd_journal_*` call: which one and the negative errno it returned.
public struct JournalError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public var description: String { "\(call) failed: \(errnoText(-code))" }
}

/// One `sd_journal` handle. libsystemd handles are bound to the thread that opened them: create, use
/// and drop a `Journal` on one thread only (it is deliberately not `Sendable`).
public final class Journal {
    /// Which journal files to read.
    public enum Location: Sendable, Equatable {
        /// The local machine's journal (`sd_journal_open` with `SD_JOURNAL_LOCAL_ONLY`).
        case local
        /// Every journal file in a directory (`sd_journal_open_directory`).
        case directory(String)
        /// Exactly these files (`sd_journal_open_files`).
        case files([String])

        /// What the command-line options name: a directory, else the files, else the local journal.
        public init(directory: String?, files: [String]) {
            if let directory { self = .directory(directory) } else if !files.isEmpty { self = .files(files) } else { self = .local }
        }

        /// The location as the start line and the state's source set name it: `the local journal`,
        /// `the journal in DIR`, `journal files A, B`.
        public var text: String {
            switch self {
            case .local: "the local journal"
            case let .directory(d): "the journal in \(d)"
            case let .files(f): "journal files \(f.joined(separator: ", "))"
            }
        }
    }

    /// Owned `sd_journal*`, closed with `sd_journal_close` in `deinit`.
    private let handle: OpaquePointer

    /// Opens the journal at `location` (`sd_journal_open`, `sd_journal_open_directory` or
    /// `sd_journal_open_files`).
    public init(_ location: Location) throws(JournalError) {
        var j: OpaquePointer? = nil
        let rc: Int32
        switch location {
        case .local:
            rc = sd_journal_open(&j, Int32(SD_JOURNAL_LOCAL_ONLY))
        case let .directory(path):
            rc = sd_journal_open_directory(&j, path, 0)
        case let .files(paths):
            var cStrings = paths.map { strdup($0) }
            cStrings.append(nil)
            defer { for p in cStrings { free(p) } }
            rc = cStrings.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                    sd_journal_open_files(&j, $0, 0)
                }
            }
        }
        guard rc >= 0, let j else { throw JournalError(call: "sd_journal_open", code: rc) }
        handle = j
    }

    deinit { sd_journal_close(handle) }

    /// Adds `FIELD=value` to the filter (`sd_journal_add_match`). Matches on one field are ORed, matches
    /// on different fields ANDed.
    public func addMatch(field: String, value: String) throws(JournalError) {
        let bytes = Array("\(field)=\(value)".utf8)
        let rc = bytes.withUnsafeBytes { sd_journal_add_match(handle, $0.baseAddress, $0.count) }
        if rc < 0 { throw JournalError(call: "sd_journal_add_match", code: rc) }
    }

    /// Removes every match (`sd_journal_flush_matches`): the handle reads every entry again.
    public func flushMatches() {
        sd_journal_flush_matches(handle)
    }

    /// `sd_journal_seek_head`.
    public func seekHead() throws(JournalError) {
        let rc = sd_journal_seek_head(handle)
        if rc < 0 { throw JournalError(call: "sd_journal_seek_head", code: rc) }
    }

    /// `sd_journal_seek_cursor`: the next `next()` lands on the cursor's entry, or the nearest one.
    public func seekCursor(_ cursor: String) throws(JournalError) {
        let rc = sd_journal_seek_cursor(handle, cursor)
        if rc < 0 { throw JournalError(call: "sd_journal_seek_cursor", code: rc) }
    }

    /// `sd_journal_seek_realtime_usec`.
    public func seekRealtime(microseconds: UInt64) throws(JournalError) {
        let rc = sd_journal_seek_realtime_usec(handle, microseconds)
        if rc < 0 { throw JournalError(call: "sd_journal_seek_realtime_usec", code: rc) }
    }

    /// Moves to the next entry (`sd_journal_next`); false at the end.
    public func next() throws(JournalError) -> Bool {
        let rc = sd_journal_next(handle)
        if rc < 0 { throw JournalError(call: "sd_journal_next", code: rc) }
        return rc > 0
    }

    /// The current entry's cursor (`sd_journal_get_cursor`).
    public func cursor() throws(JournalError) -> String {
        var c: UnsafeMutablePointer<CChar>? = nil
        let rc = sd_journal_get_cursor(handle, &c)
        guard rc >= 0, let c else { throw JournalError(call: "sd_journal_get_cursor", code: rc) }
        defer { free(c) }
        return String(decoding: UnsafeRawBufferPointer(start: c, count: strlen(c)), as: UTF8.self)
    }

    /// Whether the current entry is the one `cursor` names (`sd_journal_test_cursor`).
    public func isAt(cursor: String) -> Bool {
        sd_journal_test_cursor(handle, cursor) > 0
    }

    /// The current entry's wall-clock time in microseconds (`sd_journal_get_realtime_usec`).
    public func realtimeMicroseconds() throws(JournalError) -> UInt64 {
        var usec: UInt64 = 0
        let rc = sd_journal_get_realtime_usec(handle, &usec)
        if rc < 0 { throw JournalError(call: "sd_journal_get_realtime_usec", code: rc) }
        return usec
    }

    /// Calls `body` with every field of the current entry as `FIELD=value` bytes, in one pass
    /// (`sd_journal_restart_data`, then `sd_journal_enumerate_available_data` until it returns 0). The
    /// bytes are valid only during the call.
    public func forEachField(_ body: (UnsafeRawBufferPointer) -> Void) {
        sd_journal_restart_data(handle)
        var data: UnsafeRawPointer? = nil
        var length = 0
        while sd_journal_enumerate_available_data(handle, &data, &length) > 0 {
            if let data { body(UnsafeRawBufferPointer(start: data, count: length)) }
        }
    }

    /// The file descriptor to poll for changes (`sd_journal_get_fd`).
    public func fileDescriptor() throws(JournalError) -> Int32 {
        let fd = sd_journal_get_fd(handle)
        if fd < 0 { throw JournalError(call: "sd_journal_get_fd", code: fd) }
        return fd
    }

    /// What changed since the last call (`sd_journal_process`): nothing, new entries, or files added or
    /// removed (rotation, vacuuming).
    public enum Change { case none, append, invalidate }

    /// `sd_journal_process`, after the descriptor polled readable.
    public func process() throws(JournalError) -> Change {
        let rc = sd_journal_process(handle)
        if rc < 0 { throw JournalError(call: "sd_journal_process", code: rc) }
        switch rc {
        case Int32(SD_JOURNAL_APPEND): return .append
        case Int32(SD_JOURNAL_INVALIDATE): return .invalidate
        default: return .none
        }
    }

    /// Bytes used by the journal files open in this handle (`sd_journal_get_usage`); 0 means there are
    /// no readable journal files.
    public func usage() -> UInt64 {
        var bytes: UInt64 = 0
        return sd_journal_get_usage(handle, &bytes) >= 0 ? bytes : 0
    }

    /// The microsecond time stamp inside a cursor (`t=` field), for resuming after a cursor vanished.
    public static func realtime(ofCursor cursor: String) -> UInt64? {
        for part in cursor.split(separator: ";") where part.hasPrefix("t=") {
            return UInt64(part.dropFirst(2), radix: 16)
        }
        return nil
    }
}
