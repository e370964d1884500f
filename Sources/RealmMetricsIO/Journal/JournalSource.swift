#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Follows the journal for some units and identifiers, remembering where it stands.
///
/// - Filters: `_SYSTEMD_UNIT=` for each unit and `SYSLOG_IDENTIFIER=` for each identifier (OR within a
///   field, AND across fields).
/// - Worker identity: the unit (or, without one, the identifier) plus `_PID`; a new `_PID` for the same
///   unit is a new worker life even when the process wrote no banner.
/// - The cursor advances over every entry read, matched or not. A saved cursor that no longer exists is
///   resumed at the first entry after its time, reported, and counted as a gap.
/// - Errors are reported, the journal is reopened and following continues from the cursor.
///
/// Owns its ``Journal`` handle: create and use it on one thread.
public final class JournalSource {
    public struct Configuration: Sendable, Equatable {
        public var location: Journal.Location
        public var units: [String]
        public var identifiers: [String]
        public init(location: Journal.Location = .local, units: [String] = [], identifiers: [String] = []) {
            self.location = location
            self.units = units
            self.identifiers = identifiers
        }

        public var summary: String {
            var parts: [String] = []
            switch location {
            case .local: parts.append("the local journal")
            case let .directory(d): parts.append("the journal in \(d)")
            case let .files(f): parts.append("journal files \(f.joined(separator: ", "))")
            }
            if !units.isEmpty { parts.append("units \(units.joined(separator: ", "))") }
            if !identifiers.isEmpty { parts.append("identifiers \(identifiers.joined(separator: ", "))") }
            return parts.joined(separator: ", ")
        }
    }

    /// What one entry carries for the pipeline.
    public struct Entry {
        /// The `MESSAGE` bytes (valid only during the callback).
        public var message: UnsafeRawBufferPointer
        public var worker: String
        public var pid: Int?
        /// A different process than the last entry of the same worker.
        public var newProcess: Bool
        public var realtimeMicroseconds: UInt64

        /// Hands each line of the message to `body` (a message may hold several lines of the worker's
        /// log; an empty message is one empty line): one trailing `\r` dropped, lines longer than
        /// `maxLineBytes` cut. Returns how many lines were cut.
        @discardableResult
        public func forEachLine(maxLineBytes: Int, _ body: (UnsafePointer<UInt8>, Int) -> Void) -> Int64 {
            let count = message.count
            let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
            var cut: Int64 = 0
            var start = 0
            repeat {
                var end = start
                while end < count && base[end] != 0x0A { end += 1 }
                var length = end - start
                if length > 0 && base[start + length - 1] == 0x0D { length -= 1 }
                if length > maxLineBytes {
                    length = maxLineBytes
                    cut += 1
                }
                body(base + start, length)
                start = end + 1
            } while start < count
            return cut
        }
    }

    public let configuration: Configuration
    private var journal: Journal?
    /// Cursor of the last entry read (fetched from the journal only when asked for: making one costs a
    /// formatted string per entry).
    public var cursor: String? {
        if positionMoved, let journal, let current = try? journal.cursor() {
            savedCursor = current
            positionMoved = false
        }
        return savedCursor
    }
    private var savedCursor: String?
    /// The journal moved past `savedCursor` since it was last fetched.
    private var positionMoved = false
    /// Worker → last `_PID` seen.
    public private(set) var pids: [String: Int]
    public private(set) var entriesRead: Int64 = 0
    /// Saved cursors that no longer existed.
    public private(set) var gaps: Int64 = 0
    public private(set) var errors: Int64 = 0
    public private(set) var lastError: String?
    private let report: (String) -> Void
    /// The current entry was positioned on but not yet handed on.
    private var currentPending = false

    public init(configuration: Configuration, cursor: String? = nil, pids: [String: Int] = [:], report: @escaping (String) -> Void) {
        self.configuration = configuration
        self.savedCursor = cursor
        self.pids = pids
        self.report = report
    }

    /// Opens the journal and positions after the saved cursor, or at the head when there is none.
    public func open() throws(JournalError) {
        let cursor = self.cursor
        let j = try Journal(configuration.location)
        for unit in configuration.units { try j.addMatch(field: "_SYSTEMD_UNIT", value: unit) }
        for identifier in configuration.identifiers { try j.addMatch(field: "SYSLOG_IDENTIFIER", value: identifier) }
        journal = j
        currentPending = false
        positionMoved = false
        guard let cursor else {
            try j.seekHead()
            return
        }
        try j.seekCursor(cursor)
        if try j.next() {
            if j.isAt(cursor: cursor) { return }  // already handed on before
        }
        // The entry is gone (vacuumed or rotated away): resume after its time.
        gaps += 1
        let time = Journal.realtime(ofCursor: cursor)
        report("journal: the saved position no longer exists (entries were removed); resuming at the first entry after \(time.map { formatMicroseconds($0) } ?? "its time"); entries between could not be read")
        if let time {
            try j.seekRealtime(microseconds: time + 1)
        } else {
            try j.seekHead()
        }
        currentPending = try j.next()
        positionMoved = false
    }

    /// Whether journal files could be found at all.
    public var hasJournalFiles: Bool { (journal?.usage() ?? 0) > 0 }

    /// The descriptor to poll, if the journal is open.
    public func pollDescriptor() -> Int32? { try? journal?.fileDescriptor() }

    /// Call after the descriptor polled readable (or periodically): lets libsystemd notice new and
    /// removed files.
    public func acknowledgeWakeup() {
        do { _ = try journal?.process() } catch { fail(error) }
    }

    /// The current entry's MESSAGE, copied.
    private var messageBuffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
    private var messageCapacity = 4096

    deinit { messageBuffer.deallocate() }

    /// The worker key of the last entry, and the unit and identifier bytes it was built from.
    private var lastWorker = "journal"
    private var lastUnit: [UInt8] = []
    private var lastIdentifier: [UInt8] = []
    private var lastHadUnit = false
    private var lastHadIdentifier = false
    private var workerKeyStale = true
    /// The last `_PID` seen for `lastWorker` (already in `pids`).
    private var lastPid: Int? = nil

    @inline(__always)
    static func value(_ field: UnsafeRawBufferPointer, _ name: StaticString) -> UnsafeRawBufferPointer? {
        let n = name.utf8CodeUnitCount
        guard field.count >= n, memcmp(field.baseAddress!, name.utf8Start, n) == 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: field[n...])
    }

    /// Hands on up to `limit` new entries; returns how many. Errors reopen the journal.
    @discardableResult
    public func drain(limit: Int, _ body: (Entry) -> Void) -> Int {
        guard let journal else {
            reopen()
            return 0
        }
        var count = 0
        do {
            while count < limit {
                if currentPending {
                    currentPending = false
                } else if try !journal.next() {
                    break
                }
                // One pass over the entry's fields, taking what is needed at once: the bytes of a field are
                // only valid until the next field is read.
                var hasMessage = false
                var hasUnit = false, hasIdentifier = false
                var pid: Int? = nil
                var messageLength = 0
                journal.forEachField { field in
                    if let value = JournalSource.value(field, "MESSAGE=") {
                        // Copied now (the bytes of a field are valid only until the next is read): cheaper
                        // than asking for MESSAGE again, which walks the entry's fields once more.
                        hasMessage = true
                        messageLength = value.count
                        if messageLength > messageCapacity {
                            messageBuffer.deallocate()
                            messageCapacity = max(messageLength, 2 * messageCapacity)
                            messageBuffer = .allocate(byteCount: messageCapacity, alignment: 8)
                        }
                        if messageLength > 0 { messageBuffer.copyMemory(from: value.baseAddress!, byteCount: messageLength) }
                    } else if let value = JournalSource.value(field, "_PID=") {
                        pid = WholeNumber.parse(value).map { Int($0) }
                    } else if let value = JournalSource.value(field, "_SYSTEMD_UNIT=") {
                        hasUnit = true
                        if !lastUnit.elementsEqual(value) { lastUnit = Array(value); workerKeyStale = true }
                    } else if let value = JournalSource.value(field, "SYSLOG_IDENTIFIER=") {
                        hasIdentifier = true
                        if !lastIdentifier.elementsEqual(value) { lastIdentifier = Array(value); workerKeyStale = true }
                    }
                }
                positionMoved = true
                guard hasMessage else { continue }
                let message = UnsafeRawBufferPointer(start: messageBuffer, count: messageLength)
                // Consecutive entries nearly always come from the same worker: its key is built again only
                // when the unit or identifier bytes change.
                if workerKeyStale || hasUnit != lastHadUnit || hasIdentifier != lastHadIdentifier {
                    lastWorker = hasUnit ? "unit:" + String(decoding: lastUnit, as: UTF8.self)
                        : hasIdentifier ? "ident:" + String(decoding: lastIdentifier, as: UTF8.self) : "journal"
                    lastHadUnit = hasUnit
                    lastHadIdentifier = hasIdentifier
                    workerKeyStale = false
                    lastPid = nil
                }
                let worker = lastWorker
                var newProcess = false
                if let pid, pid != lastPid {
                    if let last = pids[worker], last != pid { newProcess = true }
                    pids[worker] = pid
                    lastPid = pid
                }
                let time = (try? journal.realtimeMicroseconds()) ?? 0
                body(Entry(message: message, worker: worker, pid: pid, newProcess: newProcess, realtimeMicroseconds: time))
                entriesRead += 1
                count += 1
            }
        } catch {
            fail(error)
        }
        return count
    }

    private func fail(_ error: JournalError) {
        _ = cursor  // keep the position of the last entry read before the handle goes
        errors += 1
        lastError = error.description
        report("journal: \(error); reopening")
        journal = nil
        reopen()
    }

    private func reopen() {
        do {
            try open()
        } catch {
            errors += 1
            lastError = error.description
            journal = nil
        }
    }
}

func formatMicroseconds(_ usec: UInt64) -> String {
    formatUTC(Int64(usec / 1000))
}
