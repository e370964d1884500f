/// Counter or gauge. statsd keeps the two apart, so one name may be both.
public enum MetricKind: String, Sendable, Codable {
    case counter, gauge
}

/// One metric value ready for an encoder: the name without prefix.
public struct MetricSample: Sendable, Equatable {
    public let name: String
    public let kind: MetricKind
    public let value: Int64
    public init(name: String, kind: MetricKind, value: Int64) {
        self.name = name
        self.kind = kind
        self.value = value
    }
}

/// The gauge state of one worker (one process): the open keys of each keyed gauge and each running
/// total, for its current life.
public struct WorkerState: Sendable, Equatable {
    public var openSets: [Int: Set<String>] = [:]
    public var totals: [Int: Int64] = [:]
    /// How many lives this worker has started (start banners seen).
    public var lives = 0
    /// The level the worker announced, if it did.
    public var logLevel: LogLevel? = nil
    /// The current life ended (a stop line) and no start line came after it.
    public var ended = false

    /// Holds nothing: no open key, no running total other than 0, no life started or ended, no level.
    /// Dropping such a slot changes no gauge and loses nothing.
    public var isEmpty: Bool {
        lives == 0 && logLevel == nil && !ended
            && openSets.values.allSatisfy(\.isEmpty) && totals.values.allSatisfy { $0 == 0 }
    }

    mutating func reset() {
        openSets.removeAll(keepingCapacity: true)
        totals.removeAll(keepingCapacity: true)
    }
}

/// All metric state: counter totals, gauges reconciled from each worker's open sets and running totals,
/// and the distinct values admitted into name templates. What an exporter already sent is not here:
/// each sink owns a ``DeltaTracker``.
///
/// Host gauges are the sum over workers. A gauge never goes below zero: closes of keys that are not open
/// are ignored (and counted as orphans by the pipeline). Owned by one thread.
public final class MetricStore {
    public private(set) var counterNames: [String] = []
    private var counterIndex: [String: Int] = [:]
    public private(set) var counterTotals: [Int64] = []

    public private(set) var gaugeNames: [String] = []
    private var gaugeIndex: [String: Int] = [:]

    public private(set) var workers: [WorkerState] = []
    public private(set) var workerKeys: [String] = []
    private var workerIndex: [String: Int] = [:]

    /// Template source → admitted sanitised values.
    private var templateValues: [String: Set<String>] = [:]

    public init() {}

    /// The id of counter `name`, registering it on first use.
    public func counterID(_ name: String) -> Int {
        if let id = counterIndex[name] { return id }
        counterNames.append(name)
        counterTotals.append(0)
        counterIndex[name] = counterNames.count - 1
        return counterNames.count - 1
    }

    /// The id of gauge `name`, registering it on first use.
    public func gaugeID(_ name: String) -> Int {
        if let id = gaugeIndex[name] { return id }
        gaugeNames.append(name)
        gaugeIndex[name] = gaugeNames.count - 1
        return gaugeNames.count - 1
    }

    /// The slot of worker `key` (for example a file path or `unit/pid`), registering it on first use.
    public func workerID(_ key: String) -> Int {
        if let id = workerIndex[key] { return id }
        workers.append(WorkerState())
        workerKeys.append(key)
        workerIndex[key] = workers.count - 1
        return workers.count - 1
    }

    /// The slot of worker `key`, answered without a lookup when it is the same key as last time
    /// (consecutive lines nearly always come from the same worker).
    @inline(__always)
    public func workerID(_ key: String, remembering last: inout (key: String, id: Int)) -> Int {
        if key != last.key || last.id < 0 { last = (key, workerID(key)) }
        return last.id
    }

    /// Admits `value` into `template` while it has fewer than `cap` distinct values; later values become
    /// `other`.
    public func admit(_ value: String, template: String, cap: Int) -> String {
        if templateValues[template]?.contains(value) == true { return value }
        if templateValues[template, default: []].count >= cap { return "other" }
        templateValues[template, default: []].insert(value)
        return value
    }

    @inline(__always)
    public func addCounter(_ id: Int, _ amount: Int64) {
        counterTotals[id] &+= amount
    }

    /// Opens `key`; returns false when it was already open (an idempotent duplicate).
    @discardableResult
    public func open(gauge: Int, worker: Int, key: String) -> Bool {
        workers[worker].openSets[gauge, default: []].insert(key).inserted
    }

    /// Closes `key`; returns false when it was not open (an orphan close, which changes nothing).
    @discardableResult
    public func close(gauge: Int, worker: Int, key: String) -> Bool {
        workers[worker].openSets[gauge]?.remove(key) != nil
    }

    /// Closes every open key that starts with `prefix`; returns how many.
    @discardableResult
    public func close(gauge: Int, worker: Int, keysWithPrefix prefix: String) -> Int {
        guard let keys = workers[worker].openSets[gauge], !keys.isEmpty else { return 0 }
        let doomed = keys.filter { $0.hasPrefix(prefix) }
        workers[worker].openSets[gauge]?.subtract(doomed)
        return doomed.count
    }

    public func addTotal(gauge: Int, worker: Int, _ amount: Int64) {
        workers[worker].totals[gauge, default: 0] &+= amount
    }

    /// A new life (or the end of one): every gauge of the worker restarts from zero. An end marks the
    /// worker ``WorkerState/ended`` until a new life starts.
    public func resetWorker(_ worker: Int, newLife: Bool) {
        workers[worker].reset()
        if newLife { workers[worker].lives += 1 }
        workers[worker].ended = !newLife
    }

    /// Removes the workers for which `doomed` holds, with all their gauge state; returns their keys.
    /// The other workers keep their state but may get new ids: ids (and ids remembered by
    /// ``workerID(_:remembering:)``) taken before a removal must be looked up again.
    @discardableResult
    public func removeWorkers(where doomed: (_ key: String, _ state: WorkerState) -> Bool) -> [String] {
        var removed: [String] = []
        var keptWorkers: [WorkerState] = []
        var keptKeys: [String] = []
        for (state, key) in zip(workers, workerKeys) {
            if doomed(key, state) {
                removed.append(key)
            } else {
                keptWorkers.append(state)
                keptKeys.append(key)
            }
        }
        guard !removed.isEmpty else { return [] }
        workers = keptWorkers
        workerKeys = keptKeys
        workerIndex = Dictionary(uniqueKeysWithValues: keptKeys.enumerated().map { ($1, $0) })
        return removed
    }

    public func setLogLevel(_ level: LogLevel, worker: Int) {
        workers[worker].logLevel = level
    }

    /// The host value of a gauge: the sum over workers of open keys plus running totals; never negative.
    public func gaugeValue(_ id: Int) -> Int64 {
        var sum: Int64 = 0
        for w in workers {
            sum &+= Int64(w.openSets[id]?.count ?? 0)
            sum &+= w.totals[id] ?? 0
        }
        return max(0, sum)
    }

    func setLives(_ lives: Int, logLevel: LogLevel?, ended: Bool, worker: Int) {
        workers[worker].lives = lives
        workers[worker].logLevel = logLevel
        workers[worker].ended = ended
    }

    func templateSnapshot() -> [String: [String]] { templateValues.mapValues { $0.sorted() } }
    func restoreTemplates(_ templates: [String: [String]]) {
        for (t, values) in templates { templateValues[t, default: []].formUnion(values) }
    }

    /// Total number of open keys across workers and gauges (for memory reports).
    public var openKeyCount: Int { workers.reduce(0) { $0 + $1.openSets.values.reduce(0) { $0 + $1.count } } }

    /// Every counter's total since start and every gauge's value, sorted by kind then name.
    public func totals() -> [MetricSample] {
        let counters = counterNames.indices.map { MetricSample(name: counterNames[$0], kind: .counter, value: counterTotals[$0]) }
        let gauges = gaugeNames.indices.map { MetricSample(name: gaugeNames[$0], kind: .gauge, value: gaugeValue($0)) }
        return counters.sorted { $0.name < $1.name } + gauges.sorted { $0.name < $1.name }
    }
}
