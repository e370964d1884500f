import RealmMetricsCore

/// `realm-metrics status`: what a sidecar follows and where it stands, from its state file.
public enum StatusReport {
    public static func render(_ state: SidecarState, path: String, nowMillis: Int64) -> String {
        var out: [String] = []
        out.append(state.following)
        let age = max(0, (nowMillis - state.savedAtMillis) / 1000)
        out.append("last flush and checkpoint: \(formatUTC(state.savedAtMillis)) (\(age) s ago)\(age > 120 ? "  <- old: is the sidecar running, and can it write \(path)?" : "")")
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
        if let warnings = state.warnings, !warnings.isEmpty {
            out.append("warnings:")
            for w in warnings { out.append("  \(w)") }
        }
        out.append("last error: \(state.lastError ?? "none")")
        return out.joined(separator: "\n") + "\n"
    }
}
