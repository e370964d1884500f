#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Worker lives in the journal, shared by `run` and `replay --journal`.
///
/// A life is one process of one source (``JournalSource/Entry/source``: the unit, or without one the
/// identifier). Its worker key is the source key followed by `[<_PID>]` (`unit:realm-sync.service[812]`),
/// or the source key alone for entries without a `_PID`. Processes that share a unit (several sync
/// workers, ExecStartPre/ExecStartPost helpers, `logger`, forked children) keep their own gauges; the
/// host gauges are their sum.
///
/// A life ends, and its slot leaves the ``MetricStore`` (and so the state file):
/// - at its stop line (a pattern's `worker: end`, which marks the slot ``WorkerState/ended``), at the
///   next ``sweep(_:processExists:)``;
/// - when its unit's `_SYSTEMD_INVOCATION_ID` changes (``JournalSource/Entry/newInvocation``): every
///   process of the earlier invocation is gone (``endLives(of:in:)``);
/// - with a process check (only meaningful for the local journal), when its process no longer exists,
///   at the next sweep.
///
/// A sweep also drops slots that hold nothing (``WorkerState/isEmpty``), so a process that never writes
/// a metric line leaves nothing behind. Slots of other keys (files) are never touched.
public enum JournalLives {
    /// The worker key of process `pid` of `source`.
    public static func key(source: String, pid: Int?) -> String {
        guard let pid else { return source }
        return "\(source)[\(pid)]"
    }

    /// The source and `_PID` of a journal worker key; nil for keys that are not journal ones.
    public static func parse(_ key: String) -> (source: String, pid: Int?)? {
        var source = Substring(key)
        var pid: Int? = nil
        if key.hasSuffix("]"), let open = key.lastIndex(of: "[") {
            let digits = key[key.index(after: open)..<key.index(before: key.endIndex)]
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) {
                source = key[..<open]
                pid = n
            }
        }
        guard source.hasPrefix("unit:") || source.hasPrefix("ident:") || source == "journal" else { return nil }
        return (String(source), pid)
    }

    /// Ends every life of `source` (its unit was started again); returns the keys removed. Worker ids
    /// taken before must be looked up again when any was removed.
    @discardableResult
    public static func endLives(of source: String, in store: MetricStore) -> [String] {
        store.removeWorkers { key, _ in parse(key)?.source == source }
    }

    /// Removes the journal lives that ended at a stop line, that hold nothing, and, when `processExists`
    /// is given, those whose process no longer exists; returns the keys removed. Worker ids taken before
    /// must be looked up again when any was removed.
    @discardableResult
    public static func sweep(_ store: MetricStore, processExists: ((Int) -> Bool)?) -> [String] {
        store.removeWorkers { key, state in
            guard let (_, pid) = parse(key) else { return false }
            if state.ended || state.isEmpty { return true }
            if let processExists, let pid { return !processExists(pid) }
            return false
        }
    }

    /// The sources that still have a life in `store`.
    public static func sources(in store: MetricStore) -> Set<String> {
        Set(store.workerKeys.compactMap { parse($0)?.source })
    }

    /// Whether process `pid` exists on this machine: `kill(pid, 0)` succeeds or is refused for want of
    /// permission. (Not `/proc/<pid>`: with `ProtectProc=invisible`, as the packaged unit runs, the
    /// processes of other users are hidden there.) A pid that cannot name one process is taken as
    /// existing.
    public static func processExists(_ pid: Int) -> Bool {
        guard pid > 0, pid <= Int(Int32.max) else { return true }
        return kill(pid_t(pid), 0) == 0 || errno == EPERM
    }

    /// A snapshot of an earlier version, where a journal worker was its source alone and the state kept
    /// the source's last `_PID` beside it (`pids`): each such worker becomes the life of that process,
    /// with its gauges. Other snapshots are returned as they are.
    public static func upgrade(_ snapshot: MetricSnapshot, pids: [String: Int]?) -> MetricSnapshot {
        guard let pids, !pids.isEmpty else { return snapshot }
        var upgraded = snapshot
        let keys = Set(snapshot.workers.map(\.key))
        for i in upgraded.workers.indices {
            let key = upgraded.workers[i].key
            guard let (source, pid) = parse(key), pid == nil, let last = pids[source] else { continue }
            let newKey = Self.key(source: source, pid: last)
            if !keys.contains(newKey) { upgraded.workers[i].key = newKey }
        }
        return upgraded
    }
}
