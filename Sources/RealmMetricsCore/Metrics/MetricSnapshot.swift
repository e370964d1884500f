/// Everything a ``MetricStore`` knows, in a form a state file can hold: counter totals (with what the
/// live statsd sink had sent of each, from its ``DeltaTracker``), gauge names, each worker's open sets and running totals, and the values admitted
/// into name templates. Restoring it continues exactly where the snapshot was taken.
public struct MetricSnapshot: Codable, Sendable, Equatable {
    public struct Counter: Codable, Sendable, Equatable {
        public var name: String
        public var total: Int64
        /// What the live statsd sink had sent of this counter (its ``DeltaTracker``); not the store's.
        public var flushed: Int64
    }
    public struct Worker: Codable, Sendable, Equatable {
        public var key: String
        public var lives: Int
        public var logLevel: String?
        /// Gauge name → open keys, sorted.
        public var open: [String: [String]]
        /// Gauge name → running total.
        public var totals: [String: Int64]
        /// True when the worker's life ended and no new one started; absent (false) otherwise, and in
        /// snapshots of older versions.
        public var ended: Bool? = nil
    }
    public var counters: [Counter]
    public var gauges: [String]
    public var workers: [Worker]
    public var templates: [String: [String]]
    /// The tagged forms of names whose rules give tags, by `counter:`, `gauge:` or `distribution:`
    /// and the name; absent when there are none (and in snapshots of older versions).
    public var tagged: [String: String]? = nil
}

extension MetricStore {
    /// A copy of the whole state, with `sent` (a sink's ``DeltaTracker/sent``) as what was sent of each
    /// counter (a counter it does not name: nothing yet); without `sent`, every counter as sent up to
    /// its total.
    public func snapshot(sent: [String: Int64]? = nil) -> MetricSnapshot {
        let counters = counterNames.indices.map { id in
            let name = counterNames[id]
            return MetricSnapshot.Counter(name: name, total: counterTotals[id], flushed: sent.map { $0[name] ?? 0 } ?? counterTotals[id])
        }
        let workers = workers.indices.map { w in
            let state = self.workers[w]
            var open: [String: [String]] = [:]
            for (gauge, keys) in state.openSets where !keys.isEmpty { open[gaugeNames[gauge]] = keys.sorted() }
            var totals: [String: Int64] = [:]
            for (gauge, total) in state.totals { totals[gaugeNames[gauge]] = total }
            return MetricSnapshot.Worker(key: workerKeys[w], lives: state.lives, logLevel: state.logLevel?.description, open: open, totals: totals,
                                         ended: state.ended ? true : nil)
        }
        var snapshot = MetricSnapshot(counters: counters, gauges: gaugeNames, workers: workers, templates: templateSnapshot())
        var tagged: [String: String] = [:]
        for (n, t) in taggedCounters { tagged["counter:" + n] = t }
        for (n, t) in taggedGauges { tagged["gauge:" + n] = t }
        for (n, t) in taggedDistributions { tagged["distribution:" + n] = t }
        snapshot.tagged = tagged.isEmpty ? nil : tagged
        return snapshot
    }

    /// Loads a snapshot into an empty store.
    public func restore(_ snapshot: MetricSnapshot) {
        for c in snapshot.counters {
            let id = counterID(c.name)
            addCounter(id, c.total - counterTotals[id])
        }
        for g in snapshot.gauges { _ = gaugeID(g) }
        for w in snapshot.workers {
            let id = workerID(w.key)
            for (gauge, keys) in w.open {
                let g = gaugeID(gauge)
                for key in keys { open(gauge: g, worker: id, key: key) }
            }
            for (gauge, total) in w.totals { addTotal(gauge: gaugeID(gauge), worker: id, total) }
            setLives(w.lives, logLevel: w.logLevel.flatMap { LogLevel(word: $0) }, ended: w.ended ?? false, worker: id)
        }
        restoreTemplates(snapshot.templates)
        for (key, t) in snapshot.tagged ?? [:] {
            if key.hasPrefix("counter:") { tag(counter: String(key.dropFirst(8)), t) }
            if key.hasPrefix("gauge:") { tag(gauge: String(key.dropFirst(6)), t) }
            if key.hasPrefix("distribution:") { tag(distribution: String(key.dropFirst(13)), t) }
        }
    }
}

extension MetricSnapshot {
    /// What the sink whose tracker was saved with the snapshot had sent of each counter.
    public var sent: [String: Int64] {
        Dictionary(counters.map { ($0.name, $0.flushed) }, uniquingKeysWith: { _, last in last })
    }
}
