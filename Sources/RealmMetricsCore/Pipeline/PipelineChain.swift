/// Several pattern sets over one metric store: a line goes to each set in turn until one decides it
/// (``inTurn(sets:_:)``; for hosts whose workers write more than one layout). Each line is counted once.
public final class PipelineChain {
    public let pipelines: [LinePipeline]
    public let store: MetricStore
    /// `pipelines` as unretained references (the array keeps them alive), so that running a line
    /// through one takes no reference count.
    private let unretained: UnsafeMutableBufferPointer<Unmanaged<LinePipeline>>
    /// Line outcomes (one owner, like the pipelines: no run-time exclusivity checks).
    @exclusivity(unchecked) private var lineStats = PipelineStats()

    public init(patternSets: [PatternSet], store: MetricStore = MetricStore(), matchLimit: UInt32 = RegexScratch.defaultMatchLimit) {
        precondition(!patternSets.isEmpty, "a pipeline needs at least one pattern set")
        self.store = store
        pipelines = patternSets.map { LinePipeline(patterns: $0, store: store, matchLimit: matchLimit) }
        unretained = .allocate(capacity: pipelines.count)
        _ = unretained.initialize(from: pipelines.map { Unmanaged.passUnretained($0) })
    }

    deinit { unretained.deallocate() }

    /// What metric `name` (a name as a rule writes it, or the base of its tags) means: the first
    /// pattern set's `metrics:` entry for it.
    public func help(for name: String) -> String? {
        for p in pipelines { if let text = p.patterns.help[name] { return text } }
        return nil
    }

    /// Runs `body` on pipeline `set` without retaining it.
    @inline(__always)
    private func withPipeline<R>(_ set: Int, _ body: (LinePipeline) -> R) -> R {
        unretained[set]._withUnsafeGuaranteedRef(body)
    }

    /// Processes one line for `worker` as ``inTurn(sets:_:)`` decides it, and counts it once.
    @discardableResult
    public func process(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int) -> LineOutcome {
        decide(start, length, worker: worker, recorder: nil).outcome
    }

    /// Processes one line and tells which set decided it (see ``inTurn(sets:_:)``); with a `recorder`,
    /// the effects of the deciding set are recorded there. The line is counted once.
    @inline(__always)
    func decide(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, recorder: EffectRecorder?) -> (set: Int, outcome: LineOutcome) {
        counted(PipelineChain.inTurn(sets: unretained.count) { set in
            withPipeline(set) { $0.run(start, length, worker: worker, recorder: recorder) }
        })
    }

    /// The one rule for a line over several pattern sets, for everything that runs them (the chain,
    /// the threads of a replay, `explain`): each set in turn, in order, with `run` giving set `i`'s
    /// outcome for the line.
    /// - A set whose envelope does not fit (`.envelopeMismatch`) passes the line on.
    /// - A set whose envelope fits but that has no rule for the line (`.unmatched`) passes it on too, and
    ///   the line stays unmatched by that set (the first such) unless a later set decides it.
    /// - Any other outcome (matched, ignored, match limit, match error) decides the line: no later set
    ///   is run.
    ///
    /// Returns the outcome that counts and the set that gave it; a line that no envelope fits is an
    /// envelope mismatch of the last set.
    @inlinable @inline(__always)
    public static func inTurn<E: Error>(sets count: Int, _ run: (Int) throws(E) -> LineOutcome) throws(E) -> (set: Int, outcome: LineOutcome) {
        var decided = (set: count - 1, outcome: LineOutcome.envelopeMismatch)
        var unmatched = false
        for set in 0..<count {
            let outcome = try run(set)
            switch outcome {
            case .envelopeMismatch: continue
            case .unmatched:
                if !unmatched { decided = (set, outcome) }
                unmatched = true
            default: return (set, outcome)
            }
        }
        return decided
    }

    /// Counts a decided line.
    @inline(__always)
    private func counted(_ decision: (set: Int, outcome: LineOutcome)) -> (set: Int, outcome: LineOutcome) {
        lineStats.linesRead += 1
        lineStats.count(decision.outcome)
        return decision
    }

    /// Applies a line that a classifier pipeline (over pattern set `set` of this chain) has already
    /// matched, with the captures it copied; see ``LinePipeline/classify(_:_:)``. The line itself is
    /// counted with ``addLineCounts(_:)``.
    @inline(__always)
    public func applyMatched(set: Int, rule: Int, message: UnsafePointer<UInt8>, ovector: UnsafePointer<Int>, worker: Int, lineTime: Int64? = nil) {
        withPipeline(set) { $0.applyClassified(rule: rule, message: message, ovector: ovector, worker: worker, lineTime: lineTime) }
    }

    /// How spans (`timer_start` / `timer_stop`) read line times: see ``LinePipeline/lineZone``.
    public func setLineClock(fallbackYear: Int, zone: WallClockZone?) {
        for p in pipelines {
            p.lineFallbackYear = fallbackYear
            p.lineZone = zone
        }
    }

    /// The time of the next lines whose envelope has none (a journal entry's), for spans.
    public func setFallbackLineTime(_ millis: Int64?) {
        for p in pipelines { p.fallbackLineTime = millis }
    }

    /// Whether some rule needs its line's time when applied.
    public var hasSpans: Bool { pipelines.contains { $0.spanRules.contains(true) } }

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
            return counted(PipelineChain.inTurn(sets: 1) { _ in parts.map { pipeline.run(start, parts: $0, worker: worker, recorder: nil) } ?? pipeline.lastEnvelopeOutcome }).outcome
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
        return counted(PipelineChain.inTurn(sets: pipelines.count) { index in
            let pipeline = pipelines[index]
            return split[index].map { pipeline.run(start, parts: $0, worker: worker, recorder: nil) } ?? pipeline.lastEnvelopeOutcome
        }).outcome
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
