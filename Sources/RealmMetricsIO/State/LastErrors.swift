/// The sidecar's last error, for the state file: of the errors its parts report (the journal, the log
/// files, statsd, the state file), the one that happened last, when, and whether it still holds.
///
/// Each part is observed at every checkpoint with its last error message and a count that grows with
/// each occurrence. An error is dated at the observation that first sees it, and again whenever its
/// count grows, so a repeated error is as new as its last repetition (to within a flush interval).
public struct LastErrors: Sendable {
    /// The error a state file records.
    public struct Report: Sendable, Equatable {
        public var message: String
        public var atMillis: Int64
        public var current: Bool
    }

    struct Seen: Sendable {
        var message: String
        var occurrences: Int64
        var atMillis: Int64
        /// Observation order of the last change, newest highest.
        var order: Int
        var holds: Bool?
    }

    private var seen: [String: Seen] = [:]
    /// Message and count of each part as in the state saved last.
    private var savedMarks: [String: (String, Int64)] = [:]
    private var order = 0

    public init() {}

    /// Records what part `kind` reports at `nowMillis`: `message` its last error (nil: none; an earlier
    /// error of that part stays recorded), `occurrences` a count that grows with each occurrence. `holds`
    /// says whether the error still holds now; nil: it holds when it happened (or happened again) since
    /// the state saved last (see ``saved()``).
    public mutating func observe(_ kind: String, message: String?, occurrences: Int64, holds: Bool?, nowMillis: Int64) {
        guard let message else { return }
        if var known = seen[kind], known.message == message, known.occurrences == occurrences {
            known.holds = holds
            seen[kind] = known
            return
        }
        order += 1
        seen[kind] = Seen(message: message, occurrences: occurrences, atMillis: nowMillis, order: order, holds: holds)
    }

    /// The state with the last observations was saved: what they saw is no longer new.
    public mutating func saved() {
        for (kind, s) in seen { savedMarks[kind] = (s.message, s.occurrences) }
    }

    /// The newest error (ties: the part observed last), nil when no part has reported one.
    public var last: Report? {
        guard let (kind, s) = seen.max(by: { $0.value.order < $1.value.order }) else { return nil }
        let new = savedMarks[kind].map { $0.0 != s.message || $0.1 != s.occurrences } ?? true
        return Report(message: s.message, atMillis: s.atMillis, current: s.holds ?? new)
    }
}
