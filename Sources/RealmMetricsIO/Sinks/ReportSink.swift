#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// The HTML report of a backfill (`replay --report FILE`): takes the same buckets as the other sinks
/// of the job (each bucket's counter deltas, the host gauges and, read from the store, each worker's
/// part of them, the timer and histogram values) and keeps them compactly (``ReportRecorder``);
/// hears of worker lives from the store (``MetricStore/lifeObserver``) and of the lines no rule
/// matched from the driver (``Driver/unmatchedObserver``). At the end it merges the buckets to at
/// most ``ReportData/maxBuckets`` and writes the page (``ReportPage``) to `path`, replacing it;
/// a file that cannot be written is an error of the job.
final class ReportSink: MetricSink {
    let path: String
    let title: String
    let prefix: String
    let store: MetricStore
    let patternSets: [PatternSet]
    /// The job's line counts and lines placed with the line before, read at the end.
    var lineCounts: () -> (PipelineStats, Int64) = { (PipelineStats(), 0) }
    private let state = EndOfInputState()
    private var tracker = DeltaTracker()
    private var recorder: ReportRecorder
    private var shapes = LineShapeTally()
    private var pendingEvents: [(WorkerLifeEvent.Kind, String)] = []
    /// Worker keys seen at an export, and their lives and level as last seen (a journal sweep removes
    /// ended workers from the store).
    private var seen: [String: (lives: Int, level: LogLevel?)] = [:]
    private var seenOrder: [String] = []
    private var present: Set<String> = []
    private var everSeen: Set<String> = []
    private var wroteBucket = false

    init(path: String, title: String, prefix: String, bucketSeconds: Int64, driver: Driver) {
        self.path = path
        self.title = title
        self.prefix = prefix
        store = driver.store
        patternSets = driver.engine.pipelines.map(\.patterns)
        recorder = ReportRecorder(bucketSeconds: bucketSeconds)
        store.lifeObserver = { [unowned self] worker, newLife in
            pendingEvents.append((newLife ? .start : .stop, store.workerKeys[worker]))
        }
        driver.unmatchedObserver = { [unowned self] start, length, outcome, hash in
            shapes.add(UnsafeBufferPointer(start: start, count: length), outcome: outcome == .envelopeMismatch ? "envelope" : "unmatched", shapeHash: hash)
        }
    }

    func baseline(_ reading: [MetricSample]) {
        state.baseline(reading)
        tracker.baseline(reading)
        pendingEvents.removeAll()
        shapes.clear()
    }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        state.take(reading, distributions)
        noteWorkers()
        guard let time else { return }
        let deltas = tracker.deltas(reading)
        var events = pendingEvents
        pendingEvents.removeAll()
        // Per worker: its part of each gauge; a worker gone from the store (an ended journal life) is 0.
        var workers: [(String, [(String, Int64)])] = []
        var now: Set<String> = []
        for (w, key) in store.workerKeys.enumerated() {
            now.insert(key)
            let s = store.workers[w]
            workers.append((key, store.gaugeNames.indices.map { id in
                (store.gaugeNames[id], max(0, Int64(s.openSets[id]?.count ?? 0) + (s.totals[id] ?? 0)))
            }))
            if everSeen.insert(key).inserted && wroteBucket { events.append((.appeared, key)) }
        }
        for key in present.subtracting(now).sorted() { workers.append((key, store.gaugeNames.map { ($0, 0) })) }
        present = now
        recorder.add(time: time,
                     counterDeltas: deltas.filter { $0.kind == .counter }.map { ($0.name, $0.value) },
                     gauges: reading.filter { $0.kind == .gauge }.map { ($0.name, $0.value) },
                     workers: workers, distributions: distributions, events: events)
        wroteBucket = true
    }

    private func noteWorkers() {
        for (w, key) in store.workerKeys.enumerated() {
            if seen[key] == nil { seenOrder.append(key) }
            seen[key] = (store.workers[w].lives, store.workers[w].logLevel)
        }
    }

    func finish() throws(RealmMetricsError) {
        noteWorkers()
        let (stats, untimed) = lineCounts()
        let figures = state.values.sorted.map { d in
            ReportData.DistributionTotal(name: d.name, kind: d.kind, count: d.count, sum: d.sum, min: d.min, max: d.max)
        }
        let workers = seenOrder.map { key in
            let info = seen[key]!
            let unfed = info.level.map { level in Set(patternSets.flatMap { $0.metricsUnfed(at: level) }).sorted() } ?? []
            return ReportData.Worker(key: key, lives: info.lives, logLevel: info.level?.description, unfed: unfed)
        }
        let data = ReportData(prefix: prefix, timeline: recorder.timeline(maxBuckets: ReportData.maxBuckets),
                              totals: state.deltas(includeZero: true), distributionTotals: figures,
                              workers: workers, lines: stats, untimedLines: untimed, shapes: shapes)
        try ReportSink.writeFile(path, ReportPage.render(data, title: title))
    }

    /// Writes `text` to `path` (created or replaced, mode 0644 less the umask).
    static func writeFile(_ path: String, _ text: String) throws(RealmMetricsError) {
        let file = try OutputFile(path: path, what: "--report")
        file.writer.write(text)
        try file.finish()
    }
}
