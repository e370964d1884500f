#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Follows the journal for some units and identifiers, remembering where it stands.
///
/// - Filters: `_SYSTEMD_UNIT=` for each unit and `SYSLOG_IDENTIFIER=` for each identifier (OR within a
///   field, AND across fields). Unit names are exact (see ``Configuration/unitName(_:)``).
/// - Worker identity: each entry names its source (the unit, or without one the identifier) and its
///   process (`_PID`); ``JournalLives`` makes one worker life of each pair. The follower reports when a
///   unit's `_SYSTEMD_INVOCATION_ID` changes (the unit was started again: every process of the
///   invocation before is gone).
/// - The cursor advances over every entry read, matched or not. A saved cursor that no longer exists is
///   resumed at the first entry after its time, reported, and counted as a gap.
/// - Errors are reported, the journal is reopened and following continues from the cursor.
///
/// Owns its ``Journal`` handle: create and use it on one thread.
public final class JournalSource {
    /// One journal match: `FIELD=value`.
    public struct Match: Sendable, Hashable {
        public var field: String
        public var value: String
        public init(field: String, value: String) {
            self.field = field
            self.value = value
        }
        public var text: String { "\(field)=\(value)" }
        /// The option that names it (`--unit X`, `--identifier X`).
        public var option: String { field == "_SYSTEMD_UNIT" ? "--unit \(value)" : "--identifier \(value)" }
    }

    public struct Configuration: Sendable, Equatable {
        public var location: Journal.Location
        /// Exact unit names (`realm-sync.service`): the journal matches them as they are written.
        public var units: [String]
        public var identifiers: [String]
        public init(location: Journal.Location = .local, units: [String] = [], identifiers: [String] = []) {
            self.location = location
            self.units = units
            self.identifiers = identifiers
        }

        /// The unit types systemd knows (the suffix of every unit name).
        public static let unitTypes: Set<String> = ["service", "socket", "device", "mount", "automount", "swap", "target", "path", "timer", "slice", "scope"]

        /// The unit name the journal holds for `name`, as `journalctl -u` reads it: a name without the
        /// suffix of a known unit type gets `.service` (`realm-sync` → `realm-sync.service`,
        /// `worker@2` → `worker@2.service`); a name with one is kept (`realm-sync.socket`). Globs are
        /// refused: journal matches take exact names.
        public static func unitName(_ name: String) throws(RealmMetricsError) -> String {
            if name.isEmpty { throw RealmMetricsError(.usage, "--unit '': give a unit name") }
            if name.contains(where: { "*?[".contains($0) }) {
                throw RealmMetricsError(.usage, "--unit '\(name)': globs are not supported (journal matches take exact unit names): name each unit")
            }
            if let dot = name.lastIndex(of: "."), unitTypes.contains(String(name[name.index(after: dot)...])) { return name }
            return name + ".service"
        }

        /// The matches of the filter: units, then identifiers.
        public var matches: [Match] {
            units.map { Match(field: "_SYSTEMD_UNIT", value: $0) } + identifiers.map { Match(field: "SYSLOG_IDENTIFIER", value: $0) }
        }

        /// Where the entries are read: `the local journal`, `the journal in DIR`, `journal files F, G`.
        public var locationText: String { location.text }

        /// The filter in words, saying how its parts combine: `units A, B or C, and identifier D`; empty
        /// without a filter.
        public var filterText: String {
            func alternatives(_ one: String, _ many: String, _ values: [String]) -> String? {
                switch values.count {
                case 0: return nil
                case 1: return "\(one) \(values[0])"
                default: return "\(many) \(values.dropLast().joined(separator: ", ")) or \(values.last!)"
                }
            }
            return [alternatives("unit", "units", units), alternatives("identifier", "identifiers", identifiers)]
                .compactMap { $0 }.joined(separator: ", and ")
        }

        /// What is followed: `the local journal, units A or B, and identifier C`.
        public var summary: String {
            filterText.isEmpty ? locationText : "\(locationText), \(filterText)"
        }
    }

    /// What one entry carries for the pipeline.
    public struct Entry {
        /// The `MESSAGE` bytes (valid only during the callback).
        public var message: UnsafeRawBufferPointer
        /// The worker life: ``source`` and `_PID` (``JournalLives/key(source:pid:)``).
        public var worker: String
        /// `unit:<_SYSTEMD_UNIT>`, else `ident:<SYSLOG_IDENTIFIER>`, else `journal`.
        public var source: String
        public var pid: Int?
        /// The entry carries a `_SYSTEMD_INVOCATION_ID` other than the one seen before for ``source``:
        /// the unit was started again, and every process of its earlier invocation is gone.
        public var newInvocation: Bool
        public var realtimeMicroseconds: UInt64

        /// Hands each line of the message to `body` (a message may hold several lines of the worker's
        /// log; an empty message is one empty line), split as ``LineSplitter`` splits them: one trailing
        /// `\r` dropped, lines longer than `maxLineBytes` cut. Returns how many lines were cut.
        @discardableResult
        public func forEachLine(maxLineBytes: Int, _ body: (UnsafePointer<UInt8>, Int) -> Void) -> Int64 {
            let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
            guard message.count > 0 else {
                body(base, 0)
                return 0
            }
            return LineSplitter.forEachLine(base, from: 0, to: message.count, maxLineBytes: max(1, maxLineBytes), body)
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
    /// Source (``Entry/source``) → the `_SYSTEMD_INVOCATION_ID` of its last entry that had one.
    public private(set) var invocations: [String: String]
    public private(set) var entriesRead: Int64 = 0
    /// Saved cursors that no longer existed.
    public private(set) var gaps: Int64 = 0
    public private(set) var errors: Int64 = 0
    public private(set) var lastError: String?
    private let report: (LogPriority, String) -> Void
    /// The current entry was positioned on but not yet handed on.
    private var currentPending = false

    public init(configuration: Configuration, cursor: String? = nil, invocations: [String: String] = [:], report: @escaping (LogPriority, String) -> Void) {
        self.configuration = configuration
        self.savedCursor = cursor
        self.invocations = invocations
        self.report = report
    }

    /// Forgets the invocations of sources not in `sources` (those with no worker life left: nothing of
    /// theirs can end), so the table does not grow with every unit ever seen.
    public func keepInvocations(of sources: Set<String>) {
        guard invocations.keys.contains(where: { !sources.contains($0) }) else { return }
        invocations = invocations.filter { sources.contains($0.key) }
        replacedInvocations = replacedInvocations.filter { sources.contains($0.key) }
        invocationStale = true
    }

    /// Whether any entry in the journal matches each of `filters` (each a list of matches, combined as
    /// the follower combines them), read with a handle of its own: the follower's position is untouched.
    public func hasEntries(_ filters: [[Match]]) throws(JournalError) -> [Bool] {
        let j = try Journal(configuration.location)
        var found: [Bool] = []
        for filter in filters {
            j.flushMatches()
            for match in filter { try j.addMatch(field: match.field, value: match.value) }
            try j.seekHead()
            found.append(try j.next())
        }
        return found
    }

    /// Opens the journal and positions after the saved cursor, or at the head when there is none.
    public func open() throws(JournalError) {
        let cursor = self.cursor
        let j = try Journal(configuration.location)
        for match in configuration.matches { try j.addMatch(field: match.field, value: match.value) }
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
        report(.warning, "journal: the saved position no longer exists (entries were removed); resuming at the first entry after \(time.map { formatMicroseconds($0) } ?? "its time"); entries between could not be read")
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

    /// The source and worker keys of the last entry, and the unit, identifier and `_PID` they were built
    /// from.
    private var lastSource = "journal"
    private var lastWorker = "journal"
    private var lastUnit: [UInt8] = []
    private var lastIdentifier: [UInt8] = []
    private var lastHadUnit = false
    private var lastHadIdentifier = false
    private var sourceKeyStale = true
    private var lastPid: Int? = nil
    /// The `_SYSTEMD_INVOCATION_ID` bytes of the last entry that had one; stale when they (or the
    /// source) changed since they were compared with ``invocations``.
    private var lastInvocation: [UInt8] = []
    private var invocationStale = true
    /// Source → the invocation its current one replaced.
    private var replacedInvocations: [String: String] = [:]

    @inline(__always)
    static func value(_ field: UnsafeRawBufferPointer, _ name: StaticString) -> UnsafeRawBufferPointer? {
        let n = name.utf8CodeUnitCount
        guard field.count >= n, memcmp(field.baseAddress!, name.utf8Start, n) == 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: field[n...])
    }

    /// Whether `bytes` holds the same bytes as `value`.
    @inline(__always)
    static func same(_ bytes: [UInt8], _ value: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == value.count else { return false }
        return bytes.isEmpty || bytes.withUnsafeBytes { memcmp($0.baseAddress!, value.baseAddress!, value.count) == 0 }
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
                var hasUnit = false, hasIdentifier = false, hasInvocation = false
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
                        if !JournalSource.same(lastUnit, value) { lastUnit = Array(value); sourceKeyStale = true }
                    } else if let value = JournalSource.value(field, "SYSLOG_IDENTIFIER=") {
                        hasIdentifier = true
                        if !JournalSource.same(lastIdentifier, value) { lastIdentifier = Array(value); sourceKeyStale = true }
                    } else if let value = JournalSource.value(field, "_SYSTEMD_INVOCATION_ID=") {
                        hasInvocation = true
                        if !JournalSource.same(lastInvocation, value) { lastInvocation = Array(value); invocationStale = true }
                    }
                }
                positionMoved = true
                guard hasMessage else { continue }
                let message = UnsafeRawBufferPointer(start: messageBuffer, count: messageLength)
                // Consecutive entries nearly always come from the same process: the keys are built again
                // only when the unit, identifier or _PID change.
                var workerKeyStale = false
                if sourceKeyStale || hasUnit != lastHadUnit || hasIdentifier != lastHadIdentifier {
                    lastSource = hasUnit ? "unit:" + String(decoding: lastUnit, as: UTF8.self)
                        : hasIdentifier ? "ident:" + String(decoding: lastIdentifier, as: UTF8.self) : "journal"
                    lastHadUnit = hasUnit
                    lastHadIdentifier = hasIdentifier
                    sourceKeyStale = false
                    workerKeyStale = true
                    invocationStale = true
                }
                if workerKeyStale || pid != lastPid {
                    lastWorker = JournalLives.key(source: lastSource, pid: pid)
                    lastPid = pid
                }
                // The invocation is compared with the source's known one only when its bytes (or the
                // source) changed.
                // A late entry of the invocation just replaced (its stream read after the new one's first
                // entry) changes nothing.
                var newInvocation = false
                if hasInvocation && invocationStale {
                    let invocation = String(decoding: lastInvocation, as: UTF8.self)
                    if let known = invocations[lastSource] {
                        if known != invocation && replacedInvocations[lastSource] != invocation {
                            newInvocation = true
                            replacedInvocations[lastSource] = known
                            invocations[lastSource] = invocation
                        }
                    } else {
                        invocations[lastSource] = invocation
                    }
                    invocationStale = false
                }
                let time = (try? journal.realtimeMicroseconds()) ?? 0
                body(Entry(message: message, worker: lastWorker, source: lastSource, pid: pid, newInvocation: newInvocation, realtimeMicroseconds: time))
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
        report(.error, "journal: \(error); reopening")
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
