import Foundation
import RealmMetricsCore

/// `realm-metrics status`: what a sidecar follows and where it stands, from its state file, and whether
/// it is healthy.
///
/// Health: a sidecar is healthy when its state was saved at most ``staleAfterSeconds(flushInterval:)``
/// ago (three flush intervals, at least 30 s) and its last flush reached statsd. Exit statuses of the
/// command: ``ExitStatus``.
public enum StatusReport {
    /// What `status` exits with.
    public enum ExitStatus: Int32, Sendable {
        /// A state saved recently, whose last flush reached statsd.
        case healthy = 0
        /// No state, or one that cannot be read (permissions) or used (damaged).
        case noState = 1
        /// A stale state, or a last flush that failed.
        case unhealthy = 2
    }

    /// The flush interval taken for states that record none (those of older versions).
    public static let defaultFlushInterval = 10.0

    /// Seconds after which a state is stale: three flush intervals, at least 30 s (rounded up).
    public static func staleAfterSeconds(flushInterval: Double?) -> Int64 {
        max(30, Int64((3 * (flushInterval ?? defaultFlushInterval)).rounded(.up)))
    }

    /// The health of a sidecar, judged from its state at `nowMillis`.
    public struct Health: Sendable, Equatable {
        /// Seconds since the state was saved (0 for a state from the future).
        public var ageSeconds: Int64
        public var staleAfterSeconds: Int64
        /// Each problem in one line, beginning with its kind (`stale:`, `failing:`); empty when healthy.
        public var problems: [String]
        public var healthy: Bool { problems.isEmpty }
        public var exitStatus: Int32 { (healthy ? ExitStatus.healthy : ExitStatus.unhealthy).rawValue }
    }

    public static func health(_ state: SidecarState, nowMillis: Int64) -> Health {
        let age = max(0, (nowMillis - state.savedAtMillis) / 1000)
        let interval = state.flushIntervalSeconds ?? defaultFlushInterval
        let limit = staleAfterSeconds(flushInterval: state.flushIntervalSeconds)
        var problems: [String] = []
        if age > limit {
            problems.append("stale: the last flush was \(age) s ago, more than \(limit) s (3 flush intervals of \(seconds(interval)) s, at least 30 s): is the sidecar running, and can it write its state file?")
        }
        if state.lastFlushFailed == true {
            problems.append("failing: the last flush did not reach statsd (\(state.lastError ?? "no error recorded")); its counter deltas are kept and sent with the next one that does")
        }
        return Health(ageSeconds: age, staleAfterSeconds: limit, problems: problems)
    }

    public static func render(_ state: SidecarState, path: String, nowMillis: Int64) -> String {
        let health = health(state, nowMillis: nowMillis)
        var out: [String] = []
        out.append(state.following)
        if health.healthy {
            out.append("health: ok")
        } else {
            for problem in health.problems { out.append("health: \(problem)") }
        }
        out.append("last flush and checkpoint: \(formatUTC(state.savedAtMillis)) (\(health.ageSeconds) s ago; stale after \(health.staleAfterSeconds) s); state in \(path)")
        if let journal = state.journal {
            if let cursor = journal.cursor {
                let at = Journal.realtime(ofCursor: cursor).map { formatUTC(Int64($0 / 1000)) } ?? "?"
                out.append("journal: at the entry of \(at)")
            } else {
                out.append("journal: no entry read yet")
            }
            for (worker, pid) in (journal.pids ?? [:]).sorted(by: { $0.key < $1.key }) { out.append("  \(worker): process \(pid)") }
        }
        for file in state.files { out.append("file: \(file.path) at byte \(file.offset) (inode \(file.inode))") }
        out.append("workers:")
        for w in state.metrics.workers {
            let open = w.open.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.count)" }.joined(separator: ", ")
            let lives = w.lives == 1 ? "1 life" : "\(w.lives) lives"
            out.append("  \(w.key): \(lives)\(w.ended == true ? " (ended)" : "")\(w.logLevel.map { ", log level \($0)" } ?? "")\(open.isEmpty ? "" : "; open: \(open)")")
        }
        out.append("counts:")
        for (k, v) in state.counts.sorted(by: { $0.key < $1.key }) { out.append("  \(k) \(v)") }
        if let unsent = state.unsentCounters, !unsent.isEmpty {
            out.append("statsd: counter deltas of \(unsent.count) \(unsent.count == 1 ? "name" : "names") not delivered yet, kept for the next flush")
        }
        if let warnings = state.warnings, !warnings.isEmpty {
            out.append("warnings:")
            for w in warnings { out.append("  \(w)") }
        }
        if let message = state.lastError {
            if let at = state.lastErrorAtMillis {
                let ago = max(0, (nowMillis - at) / 1000)
                let now = state.lastErrorCurrent == true ? "still current at the last flush" : "over by the last flush"
                out.append("last error: \(message) (at \(formatUTC(at)), \(ago) s ago; \(now))")
            } else {
                out.append("last error: \(message) (time not recorded by the version that wrote the state)")
            }
        } else {
            out.append("last error: none")
        }
        if let reload = state.lastReloadError {
            let when = state.lastReloadErrorAtMillis.map { "at \(formatUTC($0)) (\(max(0, (nowMillis - $0) / 1000)) s ago)" } ?? "at a time not recorded"
            out.append("last reload refused: \(when): \(reload); the configuration loaded before is still in use")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The status as one JSON object (keys sorted, always all present; `null` where there is nothing):
    /// `state_file`, `following`, `saved_at` (ISO 8601, UTC), `saved_at_millis`, `age_seconds`,
    /// `flush_interval_seconds` (null in states of older versions), `stale_after_seconds`, `healthy`,
    /// `problems` (strings, as in ``Health/problems``), `last_flush_failed`, `last_error` (`message`, `at`,
    /// `at_millis`, `current`; the last two null in states of older versions), `last_reload_error`
    /// (`message`, `at`, `at_millis`), `warnings`, `counts`, `workers` (`key`, `lives`, `ended`,
    /// `log_level`, `open`: gauge name → open keys), `journal` (`cursor_at`), `files` (`path`, `device`,
    /// `inode`, `offset`), `unsent_counters` (how many counter names are kept for the next flush).
    public static func json(_ state: SidecarState, path: String, nowMillis: Int64) -> String {
        let health = health(state, nowMillis: nowMillis)
        func nullable(_ value: Any?) -> Any { value ?? NSNull() }
        var lastError: Any = NSNull()
        if let message = state.lastError {
            lastError = ["message": message, "at": nullable(state.lastErrorAtMillis.map(formatUTC)),
                         "at_millis": nullable(state.lastErrorAtMillis.map(NSNumber.init(value:))),
                         "current": nullable(state.lastErrorCurrent)] as [String: Any]
        }
        var reload: Any = NSNull()
        if let message = state.lastReloadError {
            reload = ["message": message, "at": nullable(state.lastReloadErrorAtMillis.map(formatUTC)),
                      "at_millis": nullable(state.lastReloadErrorAtMillis.map(NSNumber.init(value:)))] as [String: Any]
        }
        var journal: Any = NSNull()
        if let position = state.journal {
            let at = position.cursor.flatMap { Journal.realtime(ofCursor: $0) }.map { formatUTC(Int64($0 / 1000)) }
            journal = ["cursor_at": nullable(at)] as [String: Any]
        }
        let workers: [[String: Any]] = state.metrics.workers.map { w in
            ["key": w.key, "lives": w.lives, "ended": w.ended ?? false, "log_level": nullable(w.logLevel),
             "open": w.open.mapValues { $0.count }]
        }
        let files: [[String: Any]] = state.files.map { ["path": $0.path, "device": NSNumber(value: $0.device), "inode": NSNumber(value: $0.inode), "offset": NSNumber(value: $0.offset)] }
        let object: [String: Any] = [
            "state_file": path,
            "following": state.following,
            "saved_at": formatUTC(state.savedAtMillis),
            "saved_at_millis": NSNumber(value: state.savedAtMillis),
            "age_seconds": NSNumber(value: health.ageSeconds),
            "flush_interval_seconds": nullable(state.flushIntervalSeconds),
            "stale_after_seconds": NSNumber(value: health.staleAfterSeconds),
            "healthy": health.healthy,
            "problems": health.problems,
            "last_flush_failed": nullable(state.lastFlushFailed),
            "last_error": lastError,
            "last_reload_error": reload,
            "warnings": state.warnings ?? [],
            "counts": state.counts.mapValues { NSNumber(value: $0) },
            "workers": workers,
            "journal": journal,
            "files": files,
            "unsent_counters": state.unsentCounters?.count ?? 0,
        ]
        return encode(object)
    }

    /// The JSON object for a state that is missing or cannot be read: `state_file`, `healthy` (false)
    /// and `problems` (one string).
    public static func json(unavailable path: String, problem: String) -> String {
        encode(["state_file": path, "healthy": false, "problems": [problem]])
    }

    private static func encode(_ object: [String: Any]) -> String {
        // Strings, numbers, booleans, nulls, arrays and dictionaries of them: always serialisable.
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self) + "\n"
        } catch {
            preconditionFailure("status: cannot encode the JSON object: \(error)")
        }
    }

    /// Seconds as written on the command line: `10`, `0.2`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int64(value))" : "\(value)"
    }
}
