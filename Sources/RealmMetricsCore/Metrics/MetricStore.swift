/// Counter or gauge. statsd keeps the two apart, so one name may be both.
public enum MetricKind: String, Sendable, Codable {
    case counter, gauge
}

/// One metric value ready for an encoder: the name without prefix.
public struct MetricSample: Sendable, Equatable {
    public let name: String
    public let kind: MetricKind
    public let value: Int64
    /// The name with its tags (`protocol.used,version=24`) when the rule gives them.
    public var tagged: String?
    public init(name: String, kind: MetricKind, value: Int64, tagged: String? = nil) {
        self.name = name
        self.kind = kind
        self.value = value
        self.tagged = tagged
    }
}

/// The gauge state of one worker (one process): the open keys of each keyed gauge and each running
/// total, for its current life.
public struct WorkerState: Sendable, Equatable {
    public var openSets: [Int: Set<String>] = [:]
    public var totals: [Int: Int64] = [:]
    /// Per distribution with `skip_first`: the keys (connections) seen in this life, whose first value
    /// was left out.
    public var seenKeys: [Int: Set<String>] = [:]
    /// Per timer of spans: the time (ms) each open span's key started, in this life.
    public var spanStarts: [Int: [String: Int64]] = [:]
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
        seenKeys.removeAll(keepingCapacity: true)
        spanStarts.removeAll(keepingCapacity: true)
    }
}

/// All metric state: counter totals, gauges reconciled from each worker's open sets and running totals,
/// and the distinct values admitted into name templates. What an exporter already sent is not here:
/// each sink owns a ``DeltaTracker``.
///
/// Host gauges are the sum over workers. A gauge never goes below zero: closes of keys that are not open
/// are ignored (and counted as orphans by the pipeline). Owned by one thread: the stored properties the
/// per-line path touches skip the run-time exclusivity checks (`@exclusivity(unchecked)`).
public final class MetricStore {
    @exclusivity(unchecked) public private(set) var counterNames: [String] = []
    @exclusivity(unchecked) private var counterIndex: [String: Int] = [:]
    @exclusivity(unchecked) public private(set) var counterTotals: [Int64] = []

    @exclusivity(unchecked) public private(set) var gaugeNames: [String] = []
    @exclusivity(unchecked) private var gaugeIndex: [String: Int] = [:]

    @exclusivity(unchecked) public private(set) var workers: [WorkerState] = []
    @exclusivity(unchecked) public private(set) var workerKeys: [String] = []
    @exclusivity(unchecked) private var workerIndex: [String: Int] = [:]

    /// Timers and histograms: names, kinds, and the values recorded since they were last taken.
    public private(set) var distributionNames: [String] = []
    public private(set) var distributionKinds: [DistributionKind] = []
    private var distributionIndex: [String: Int] = [:]
    @exclusivity(unchecked) private var pendingValues: [[Int64]] = []

    /// Template source → admitted sanitised values.
    @exclusivity(unchecked) private var templateValues: [String: Set<String>] = [:]

    /// The tagged form of names whose rule gives tags (``NameTemplate/tagged``), by kind and name.
    public private(set) var taggedCounters: [String: String] = [:]
    public private(set) var taggedGauges: [String: String] = [:]
    public private(set) var taggedDistributions: [String: String] = [:]

    /// Told of every new life (`newLife` true) and every end of one, with the worker's id, when the
    /// store resets the worker (``resetWorker(_:newLife:)``); nil for jobs that do not look (a report does).
    public var lifeObserver: ((_ worker: Int, _ newLife: Bool) -> Void)? = nil

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

    /// The id of timer or histogram `name`, registering it on first use (a name keeps its first kind).
    public func distributionID(_ name: String, kind: DistributionKind) -> Int {
        if let id = distributionIndex[name] { return id }
        distributionNames.append(name)
        distributionKinds.append(kind)
        pendingValues.append([])
        distributionIndex[name] = distributionNames.count - 1
        return distributionNames.count - 1
    }

    /// Records one value of a timer or histogram.
    @inline(__always)
    public func record(distribution id: Int, _ value: Int64) {
        pendingValues[id].append(value)
    }

    /// Records a value of distribution `id` for `key` of `worker`, except the first one of each key in
    /// the worker's life (`ping.rtt` leaves out the first PING of each connection); returns whether it
    /// was recorded.
    @discardableResult
    public func record(distribution id: Int, _ value: Int64, skippingFirstOf key: String, worker: Int) -> Bool {
        guard !workers[worker].seenKeys[id, default: []].insert(key).inserted else { return false }
        pendingValues[id].append(value)
        return true
    }

    /// Records the tagged form of counter, gauge or distribution `name` (the first one given stays).
    public func tag(counter name: String, _ tagged: String) { if taggedCounters[name] == nil { taggedCounters[name] = tagged } }
    public func tag(gauge name: String, _ tagged: String) { if taggedGauges[name] == nil { taggedGauges[name] = tagged } }
    public func tag(distribution name: String, _ tagged: String) { if taggedDistributions[name] == nil { taggedDistributions[name] = tagged } }

    /// Starts span `key` of timer `id` at `time` (ms) in `worker` (a start again restarts it).
    public func startSpan(distribution id: Int, key: String, at time: Int64, worker: Int) {
        workers[worker].spanStarts[id, default: [:]][key] = time
    }

    /// Ends span `key` of timer `id` at `time`: records and returns its length in ms, or nil when it
    /// was not started in this life (or would be negative).
    @discardableResult
    public func endSpan(distribution id: Int, key: String, at time: Int64, worker: Int) -> Int64? {
        guard let start = workers[worker].spanStarts[id]?.removeValue(forKey: key), time >= start else { return nil }
        pendingValues[id].append(time - start)
        return time - start
    }

    /// The values recorded since the last call, each handed out once, for every timer and histogram
    /// (those that recorded nothing with no values), sorted by name.
    public func takeDistributions() -> [Distribution] {
        var out: [Distribution] = []
        for id in distributionNames.indices.sorted(by: { distributionNames[$0] < distributionNames[$1] }) {
            var d = Distribution(name: distributionNames[id], kind: distributionKinds[id], values: pendingValues[id])
            d.tagged = taggedDistributions[distributionNames[id]]
            out.append(d)
            pendingValues[id].removeAll(keepingCapacity: true)
        }
        return out
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

    /// Sets the worker's part of a gauge to `value` (a gauge the line states, `upload.pending.bytes`).
    public func setTotal(gauge: Int, worker: Int, _ value: Int64) {
        workers[worker].totals[gauge] = value
    }

    /// A new life (or the end of one): every gauge of the worker restarts from zero. An end marks the
    /// worker ``WorkerState/ended`` until a new life starts.
    public func resetWorker(_ worker: Int, newLife: Bool) {
        workers[worker].reset()
        if newLife { workers[worker].lives += 1 }
        workers[worker].ended = !newLife
        if let lifeObserver { lifeObserver(worker, newLife) }
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
        let counters = counterNames.indices.map { MetricSample(name: counterNames[$0], kind: .counter, value: counterTotals[$0], tagged: taggedCounters[counterNames[$0]]) }
        let gauges = gaugeNames.indices.map { MetricSample(name: gaugeNames[$0], kind: .gauge, value: gaugeValue($0), tagged: taggedGauges[gaugeNames[$0]]) }
        return counters.sorted { $0.name < $1.name } + gauges.sorted { $0.name < $1.name }
    }
}
