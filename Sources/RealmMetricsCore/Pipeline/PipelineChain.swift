/// Several pattern sets over one metric store: a line goes to each set in turn until one matches or
/// ignores it (for hosts whose workers write more than one layout). Each line is counted once.
public final class PipelineChain {
    public let pipelines: [LinePipeline]
    public let store: MetricStore
    /// Line outcomes.
    private var lineStats = PipelineStats()

    public init(patternSets: [PatternSet], store: MetricStore = MetricStore(), matchLimit: UInt32 = RegexScratch.defaultMatchLimit) {
        precondition(!patternSets.isEmpty, "a pipeline needs at least one pattern set")
        self.store = store
        pipelines = patternSets.map { LinePipeline(patterns: $0, store: store, matchLimit: matchLimit) }
    }

    /// Processes one line for `worker`: the first set that matches or ignores it decides; a line that
    /// fits some envelope but no rule is unmatched; one that fits no envelope is an envelope mismatch.
    @discardableResult
    public func process(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int) -> LineOutcome {
        inTurn { _, pipeline in pipeline.run(start, length, worker: worker, effects: nil) }
    }

    /// The one rule for several pattern sets: each set in turn (`run` gives its outcome) until one
    /// matches or ignores the line; a set whose envelope does not fit passes it on, one that fits but has
    /// no rule for it leaves it unmatched unless a later set takes it. The line is counted once.
    @inline(__always)
    private func inTurn(_ run: (Int, LinePipeline) -> LineOutcome) -> LineOutcome {
        var result = LineOutcome.envelopeMismatch
        for (index, pipeline) in pipelines.enumerated() {
            let outcome = run(index, pipeline)
            if outcome == .envelopeMismatch { continue }
            result = outcome
            if outcome != .unmatched { break }
        }
        lineStats.linesRead += 1
        lineStats.count(result)
        return result
    }

    /// Applies a line that a classifier pipeline (over pattern set `set` of this chain) has already
    /// matched, with the captures it copied; see ``LinePipeline/classify(_:_:)``. The line itself is
    /// counted with ``addLineCounts(_:)``.
    @inline(__always)
    public func applyMatched(set: Int, rule: Int, message: UnsafePointer<UInt8>, ovector: UnsafePointer<Int>, worker: Int) {
        pipelines[set].applyClassified(rule: rule, message: message, ovector: ovector, worker: worker)
    }

    /// Adds line counts (lines read and their outcomes) gathered by classifier pipelines.
    public func addLineCounts(_ counts: PipelineStats) {
        lineStats.addLineCounts(of: counts)
    }

    /// Processes one line whose time decides first whether and where it counts (backfill): `place` gets
    /// the line's time (as ``lineTime(_:_:fallbackYear:zone:)`` gives it) before anything is applied, and
    /// the line is processed only when it returns true; nil then. Each pattern set's envelope is split
    /// once for both.
    @inline(__always)
    public func processTimed<E: Error>(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, fallbackYear: Int, zone: WallClockZone? = nil,
                                       place: (Int64?) throws(E) -> Bool) throws(E) -> LineOutcome? {
        if pipelines.count == 1 {
            let pipeline = pipelines[0]
            let parts = pipeline.splitEnvelope(start, length)
            guard try place(parts.flatMap { pipeline.time(of: $0, start, fallbackYear: fallbackYear, zone: zone) }) else { return nil }
            return inTurn { _, pipeline in parts.map { pipeline.run(start, parts: $0, worker: worker, effects: nil) } ?? pipeline.lastEnvelopeOutcome }
        }
        var split: [EnvelopeParts?] = []
        split.reserveCapacity(pipelines.count)
        var time: Int64? = nil
        for pipeline in pipelines {
            let parts = pipeline.splitEnvelope(start, length)
            if time == nil, let parts { time = pipeline.time(of: parts, start, fallbackYear: fallbackYear, zone: zone) }
            split.append(parts)
        }
        guard try place(time) else { return nil }
        return inTurn { index, pipeline in split[index].map { pipeline.run(start, parts: $0, worker: worker, effects: nil) } ?? pipeline.lastEnvelopeOutcome }
    }

    /// The time of a line (ms since the epoch), from the first pattern set whose envelope fits it and has a
    /// time; local times are read in `zone` (nil: the machine's zone).
    public func lineTime(_ start: UnsafePointer<UInt8>, _ length: Int, fallbackYear: Int, zone: WallClockZone? = nil) -> Int64? {
        for pipeline in pipelines {
            if let t = pipeline.lineTime(start, length, fallbackYear: fallbackYear, zone: zone) { return t }
        }
        return nil
    }

    /// Whether any pattern set's envelope captures a time at all.
    public var hasTimes: Bool {
        pipelines.contains { $0.patterns.envelopes.contains { $0.timeLayout != nil } }
    }

    /// Whether any pattern set's envelope captures a local time (``TimeLayout/readsLocalTime``).
    public var hasLocalTimes: Bool {
        pipelines.contains { $0.patterns.envelopes.contains { $0.timeLayout?.readsLocalTime == true } }
    }

    /// Line counts plus the effect counts of every pipeline.
    public var stats: PipelineStats { lineStats.merging(effectsOf: pipelines.map(\.stats)) }

    /// Warnings gathered by the pipelines since the last call.
    public func takeWarnings() -> [String] { pipelines.flatMap { $0.takeWarnings() } }
}
