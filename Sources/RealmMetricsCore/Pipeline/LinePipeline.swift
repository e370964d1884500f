/// What happened to lines, counted. Nothing is dropped without landing in one of these.
public struct PipelineStats: Sendable, Equatable {
    public var linesRead: Int64 = 0
    /// Lines a rule matched.
    public var matched: Int64 = 0
    /// Lines dropped by an ignore rule.
    public var ignored: Int64 = 0
    /// Lines no rule matched (noise).
    public var unmatched: Int64 = 0
    /// Lines whose outer layout did not fit the envelope.
    public var envelopeMismatch: Int64 = 0
    /// Lines given up on because a regex hit its backtracking limit.
    public var matchLimitHits: Int64 = 0
    /// Lines given up on because of another PCRE2 error.
    public var matchErrors: Int64 = 0
    /// Closes of keys that were not open (ignored).
    public var orphanCloses: Int64 = 0
    /// Opens of keys already open (idempotent).
    public var duplicateOpens: Int64 = 0
    /// Captured amounts that were not a whole number (that action skipped).
    public var badNumbers: Int64 = 0
    /// Template values folded into `other` by a cardinality cap.
    public var cardinalityOverflows: Int64 = 0
    /// Worker lives started by a start banner.
    public var workerStarts: Int64 = 0

    public init() {}

    /// Counts one line's outcome.
    @inline(__always)
    public mutating func count(_ outcome: LineOutcome) {
        switch outcome {
        case .matched: matched += 1
        case .ignored: ignored += 1
        case .unmatched: unmatched += 1
        case .envelopeMismatch: envelopeMismatch += 1
        case .matchLimit: matchLimitHits += 1
        case .matchError: matchErrors += 1
        }
    }

    /// Adds the line counts of `other`: lines read and their outcomes.
    public mutating func addLineCounts(of other: PipelineStats) {
        linesRead += other.linesRead
        matched += other.matched
        ignored += other.ignored
        unmatched += other.unmatched
        envelopeMismatch += other.envelopeMismatch
        matchLimitHits += other.matchLimitHits
        matchErrors += other.matchErrors
    }

    /// Adds the effect counts of `other`: orphans, duplicates, bad numbers, overflows, worker starts.
    public mutating func addEffectCounts(of other: PipelineStats) {
        orphanCloses += other.orphanCloses
        duplicateOpens += other.duplicateOpens
        badNumbers += other.badNumbers
        cardinalityOverflows += other.cardinalityOverflows
        workerStarts += other.workerStarts
    }

    /// These line counts plus the effect counts that `others` gathered.
    public func merging(effectsOf others: [PipelineStats]) -> PipelineStats {
        var out = self
        for o in others { out.addEffectCounts(of: o) }
        return out
    }

    /// Every count of both added up (line counts and effect counts).
    public func adding(_ other: PipelineStats) -> PipelineStats {
        var out = self
        out.addLineCounts(of: other)
        out.addEffectCounts(of: other)
        return out
    }

    /// Name → value, for reports and the sidecar's own metrics.
    public var fields: [(String, Int64)] {
        [("lines_read", linesRead), ("lines_matched", matched), ("lines_ignored", ignored), ("lines_unmatched", unmatched),
         ("envelope_mismatches", envelopeMismatch), ("match_limit_hits", matchLimitHits), ("match_errors", matchErrors),
         ("orphan_closes", orphanCloses), ("duplicate_opens", duplicateOpens), ("bad_numbers", badNumbers),
         ("cardinality_overflows", cardinalityOverflows), ("worker_starts", workerStarts)]
    }
}

/// One effect of a matched line on the metric state, as `explain` and pattern examples show it.
public enum Effect: Sendable, Equatable, CustomStringConvertible {
    case count(String, Int64)
    case open(String, key: String, wasOpen: Bool)
    case close(String, key: String, wasOpen: Bool)
    case closePrefix(String, prefix: String, closed: Int)
    case add(String, Int64)
    case workerStart
    case workerEnd
    case logLevel(String)
    case skipped(String)
    case set(String, Int64)
    /// A value of a timer or histogram; `skipped`: the first of its key, left out.
    case record(String, DistributionKind, Int64, firstOf: String?)
    case spanStart(String, key: String)

    /// Stable text used by `expect:` in pattern examples.
    public var description: String {
        switch self {
        case let .count(name, n): "count \(name) +\(n)"
        case let .open(name, key, _): "open \(name) \(key)"
        case let .close(name, key, _): "close \(name) \(key)"
        case let .closePrefix(name, prefix, _): "close_prefix \(name) \(prefix)"
        case let .add(name, n): "add \(name) +\(n)"
        case .workerStart: "worker start"
        case .workerEnd: "worker end"
        case let .logLevel(level): "log_level \(level)"
        case let .skipped(why): "skipped: \(why)"
        case let .set(name, n): "set \(name) \(n)"
        case let .record(name, kind, n, firstOf): "\(kind.rawValue) \(name) \(n)" + (firstOf.map { " (first of \($0): left out)" } ?? "")
        case let .spanStart(name, key): "timer_start \(name) \(key)"
        }
    }
}

/// Collects, in order, the effects of the lines a pipeline applies while it is passed along: for
/// `explain` and the `expect:` of pattern examples. The hot path passes none, and then no effect is built.
public final class EffectRecorder {
    public private(set) var effects: [Effect] = []

    public init() {}

    func record(_ effect: Effect) { effects.append(effect) }
}

/// The parts of a line that the envelope found, as byte ranges into the line.
public struct EnvelopeParts: Sendable, Equatable {
    public var message: Range<Int>
    public var time: Range<Int>? = nil
    public var level: Range<Int>? = nil
    public var component: Range<Int>? = nil
    /// The level of the line: the captured word mapped through the envelope's levels, or its default.
    public var lineLevel: LogLevel? = nil
    /// Index (in the pattern set's envelopes) of the envelope that captured `time`; an index keeps this
    /// struct free of references, so copying it costs nothing on the hot path.
    public var timeEnvelope: Int? = nil
}

/// An envelope's compiled code and group numbers as plain values (-1: no such group).
struct EnvelopeCode {
    var code: OpaquePointer
    var messageGroup: Int
    var messageToEnd: Bool
    var timeGroup: Int
    var levelGroup: Int
    var componentGroup: Int
    var hasDefaultLevel: Bool
}

/// How one line ended.
public enum LineOutcome: Sendable, Equatable {
    case matched(rule: Int)
    case ignored(rule: Int)
    case unmatched
    case envelopeMismatch
    case matchLimit
    case matchError(Int32)
}

/// Turns lines into metric state: envelope → ignore rules → prefiltered rules (first match wins) →
/// actions on the ``MetricStore``. One instance per thread; the hot path allocates nothing for lines
/// that match no rule.
///
/// A pipeline has one owner and no access to its state overlaps another, so the properties written
/// per line skip the run-time exclusivity checks (`@exclusivity(unchecked)`).
public final class LinePipeline {
    public let patterns: PatternSet
    public let store: MetricStore
    @exclusivity(unchecked) public internal(set) var stats = PipelineStats()
    let scratch: RegexScratch
    let mask: UnsafeMutablePointer<UInt64>
    /// Scratch for the prefilter's scan.
    let hits: UnsafeMutablePointer<Int32>
    /// Every rule's actions as plain values, applied by ``apply(rule:message:captures:worker:recorder:)``.
    let compiledActions: CompiledActions
    /// The rules' compiled code, in rule order (kept alive by `patterns`), for the hot loop.
    let ruleCodes: UnsafeMutablePointer<OpaquePointer>
    /// The prefilter's tables as a plain value (`patterns` keeps them alive): no reference counting per line.
    let prefilterTables: PrefilterTables
    /// The envelopes' compiled code and groups as plain values (`patterns` keeps them alive).
    let envelopeCodes: UnsafeMutableBufferPointer<EnvelopeCode>
    let hasIgnores: Bool
    /// Per rule: it has a span action (its line's time is needed when it is applied).
    let spanRules: [Bool]
    /// Per `name.*` op (by its name's index): the gauges of the family, as of `known` gauges in the store.
    var familyGauges: [Int: (known: Int, ids: [Int])] = [:]
    /// The line being applied by ``run(_:parts:worker:recorder:)``, and a classified line's time.
    var currentLine: UnsafePointer<UInt8>? = nil
    var classifiedTime: Int64? = nil
    /// Per envelope: its time layout (a copy of this pipeline's own) and whether it reads local time.
    let timeLayouts: [TimeLayout?]
    let localTimes: [Bool]
    /// Every envelope and rule regex has JIT code: the hot path calls `pcre2_jit_match_8` directly.
    let allJIT: Bool
    /// Warnings for the operator (a worker's log level that cannot feed some metrics); the owner
    /// takes and prints them (``takeWarnings()``).
    @exclusivity(unchecked) public internal(set) var warnings: [String] = []

    public func takeWarnings() -> [String] {
        defer { warnings.removeAll() }
        return warnings
    }

    /// The parts of the last line the envelope split (valid after ``process(_:_:worker:)``).
    @exclusivity(unchecked) public private(set) var lastParts = EnvelopeParts(message: 0..<0)

    public init(patterns: PatternSet, store: MetricStore = MetricStore(), matchLimit: UInt32 = RegexScratch.defaultMatchLimit) {
        self.patterns = patterns
        self.store = store
        scratch = RegexScratch(maxCaptures: patterns.maxCaptures, matchLimit: matchLimit)
        mask = .allocate(capacity: patterns.prefilter.wordCount)
        hits = .allocate(capacity: PrefilterTables.hitCapacity)
        prefilterTables = patterns.prefilter.tables
        envelopeCodes = .allocate(capacity: patterns.envelopes.count)
        for (i, e) in patterns.envelopes.enumerated() {
            envelopeCodes[i] = EnvelopeCode(code: e.regex.code, messageGroup: e.messageGroup, messageToEnd: e.messageToEnd,
                                            timeGroup: e.timeGroup ?? -1, levelGroup: e.levelGroup ?? -1,
                                            componentGroup: e.componentGroup ?? -1, hasDefaultLevel: e.defaultLevel != nil)
        }
        hasIgnores = !patterns.ignores.isEmpty
        spanRules = patterns.rules.map { $0.actions.contains { if case .span = $0 { true } else { false } } }
        timeLayouts = patterns.envelopes.map { $0.timeLayout?.ownCopy() }
        localTimes = patterns.envelopes.map { $0.timeLayout?.readsLocalTime ?? false }
        allJIT = patterns.envelopes.allSatisfy(\.regex.isJITCompiled) && patterns.rules.allSatisfy(\.regex.isJITCompiled)
        ruleCodes = .allocate(capacity: max(1, patterns.rules.count))
        for (i, rule) in patterns.rules.enumerated() { ruleCodes[i] = rule.regex.code }
        compiledActions = CompiledActions(rules: patterns.rules, store: store)
    }

    deinit {
        mask.deallocate()
        hits.deallocate()
        ruleCodes.deallocate()
        envelopeCodes.deallocate()
    }

    /// Processes one line (without its newline) for `worker` (a ``MetricStore/workerID(_:)``) and counts
    /// its outcome. With a `recorder`, every effect is also recorded there.
    @discardableResult
    public func process(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, recorder: EffectRecorder? = nil) -> LineOutcome {
        stats.linesRead += 1
        return count(run(start, length, worker: worker, recorder: recorder))
    }

    /// Processes one line without counting its outcome (for ``PipelineChain``, which counts once per line).
    @inline(__always)
    func run(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, recorder: EffectRecorder?) -> LineOutcome {
        guard let parts = splitEnvelope(start, length) else { return lastOutcome }
        return run(start, parts: parts, worker: worker, recorder: recorder)
    }

    /// The rest of ``run(_:_:worker:recorder:)`` for a line whose envelope is already split.
    @inline(__always)
    func run(_ start: UnsafePointer<UInt8>, parts: EnvelopeParts, worker: Int, recorder: EffectRecorder?) -> LineOutcome {
        lastParts = parts
        currentLine = start
        classifiedTime = nil
        let message = start + parts.message.lowerBound
        let messageLength = parts.message.count

        if hasIgnores, let outcome = checkIgnores(start, parts) { return outcome }

        let outcome = matchRules(message, messageLength)
        if case let .matched(rule) = outcome {
            apply(rule: rule, message: message, captures: scratch.captures, worker: worker, recorder: recorder)
        }
        return outcome
    }

    /// The outcome if an ignore rule drops the line (or a match error stops it), else nil.
    func checkIgnores(_ start: UnsafePointer<UInt8>, _ parts: EnvelopeParts) -> LineOutcome? {
        let message = start + parts.message.lowerBound
        let messageLength = parts.message.count
        for (index, ignore) in patterns.ignores.enumerated() {
            var hit = true
            if let component = ignore.component {
                guard let range = parts.component else { continue }
                switch scratch.match(component, start + range.lowerBound, range.count) {
                case .match: break
                case .noMatch: hit = false
                case .limitExceeded: return .matchLimit
                case let .error(code): return .matchError(code)
                }
            }
            if hit, let regex = ignore.message {
                switch scratch.match(regex, message, messageLength) {
                case .match: break
                case .noMatch: hit = false
                case .limitExceeded: return .matchLimit
                case let .error(code): return .matchError(code)
                }
            }
            if hit { return .ignored(rule: index) }
        }
        return nil
    }

    @exclusivity(unchecked) private var lastOutcome: LineOutcome = .unmatched
    /// Why the last ``splitEnvelope(_:_:from:)`` that returned nil did so.
    var lastEnvelopeOutcome: LineOutcome { lastOutcome }

    @inline(__always)
    func count(_ outcome: LineOutcome) -> LineOutcome {
        stats.count(outcome)
        return outcome
    }

    /// Applies the envelope chain; nil when a layer does not fit (the outcome is left in `lastOutcome`).
    @inline(__always)
    func splitEnvelope(_ start: UnsafePointer<UInt8>, _ length: Int, from first: Int = 0) -> EnvelopeParts? {
        var parts = EnvelopeParts(message: 0..<length)
        var e = first
        while e < envelopeCodes.count {
            let envelope = envelopeCodes[e]
            e += 1
            let base = parts.message.lowerBound
            switch match(code: envelope.code, start + base, parts.message.count) {
            case .match: break
            case .noMatch: lastOutcome = .envelopeMismatch; return nil
            case .limitExceeded: lastOutcome = .matchLimit; return nil
            case let .error(code): lastOutcome = .matchError(code); return nil
            }
            @inline(__always) func shifted(_ group: Int) -> Range<Int>? {
                guard group >= 0, let r = scratch.range(group) else { return nil }
                return (r.lowerBound + base)..<(r.upperBound + base)
            }
            guard var message = shifted(envelope.messageGroup) else { lastOutcome = .envelopeMismatch; return nil }
            if envelope.messageToEnd { message = message.lowerBound..<parts.message.upperBound }
            if let t = shifted(envelope.timeGroup) {
                parts.time = t
                parts.timeEnvelope = e - 1
            }
            if let c = shifted(envelope.componentGroup) { parts.component = c }
            if let l = shifted(envelope.levelGroup), !l.isEmpty {
                parts.level = l
                parts.lineLevel = patterns.envelopes[e - 1].level(of: UnsafeBufferPointer(start: start + l.lowerBound, count: l.count))
            } else if parts.lineLevel == nil, envelope.hasDefaultLevel {
                parts.lineLevel = patterns.envelopes[e - 1].defaultLevel
            }
            parts.message = message
        }
        return parts
    }

    /// One regex of this pattern set on `length` bytes: straight into its JIT code when every regex has
    /// some, else through `pcre2_match_8`.
    @inline(__always)
    func match(code: OpaquePointer, _ start: UnsafePointer<UInt8>, _ length: Int) -> RegexOutcome {
        allJIT ? scratch.jitMatch(code: code, start, length) : scratch.match(code: code, start, length)
    }

    /// The time a line's envelope carries (ms since the epoch), or nil when it has none or does not fit;
    /// local times are read in `zone` (nil: the machine's zone). Does not process the line.
    public func lineTime(_ start: UnsafePointer<UInt8>, _ length: Int, fallbackYear: Int, zone: WallClockZone? = nil) -> Int64? {
        guard let parts = splitEnvelope(start, length) else { return nil }
        return time(of: parts, start, fallbackYear: fallbackYear, zone: zone)
    }

    /// The time in an already split envelope.
    @inline(__always)
    func time(of parts: EnvelopeParts, _ start: UnsafePointer<UInt8>, fallbackYear: Int, zone: WallClockZone? = nil) -> Int64? {
        guard let range = parts.time, let index = parts.timeEnvelope, let layout = timeLayouts[index] else { return nil }
        return layout.parse(UnsafeBufferPointer(start: start + range.lowerBound, count: range.count), fallbackYear: fallbackYear, zone: zone)
    }

    /// First rule, in order, that the prefilter admits and whose regex matches the message.
    @inline(__always)
    func matchRules(_ message: UnsafePointer<UInt8>, _ length: Int) -> LineOutcome {
        prefilterTables.candidates(message, length, into: mask, hits: hits)
        for w in 0..<prefilterTables.wordCount {
            var bits = mask[w]
            while bits != 0 {
                let r = w << 6 | bits.trailingZeroBitCount
                bits &= bits - 1
                switch match(code: ruleCodes[r], message, length) {
                case .match: return .matched(rule: r)
                case .noMatch: continue
                case .limitExceeded: return .matchLimit
                case let .error(code): return .matchError(code)
                }
            }
        }
        return .unmatched
    }

    /// Runs only the rules (no envelope, no ignores) on a message; used by `check` for rule examples.
    /// With a `recorder`, the effects of the matched rule are recorded there.
    public func matchMessage(_ message: String, worker: Int, recorder: EffectRecorder? = nil) -> LineOutcome {
        var bytes = Array(message.utf8)
        let count = bytes.count
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer in
            let outcome = matchRules(buffer.baseAddress!, count)
            if case let .matched(rule) = outcome {
                apply(rule: rule, message: buffer.baseAddress!, captures: scratch.captures, worker: worker, recorder: recorder)
            }
            return outcome
        }
    }

    /// The captures of the last successful match, as (name, value) in group order.
    public func captures(of rule: CompiledRule, message: UnsafePointer<UInt8>) -> [(String, String)] {
        rule.regex.groupNumbers.sorted { $0.value < $1.value }.compactMap { name, group in
            scratch.range(group).map { (name, String(decoding: UnsafeBufferPointer(start: message + $0.lowerBound, count: $0.count), as: UTF8.self)) }
        }
    }

    /// Number of `Int`s a copy of one match's captures takes.
    public var captureVectorLength: Int { 2 * (patterns.maxCaptures + 1) }

    /// Classifies a line without touching any metric state: the outcome, and where its message starts.
    /// After `.matched`, ``copyCaptures(into:)`` saves the captures. One pipeline per thread.
    @inline(__always)
    public func classify(_ start: UnsafePointer<UInt8>, _ length: Int) -> (LineOutcome, Int) {
        guard let parts = splitEnvelope(start, length) else { return (lastOutcome, 0) }
        if hasIgnores, let outcome = checkIgnores(start, parts) { return (outcome, parts.message.lowerBound) }
        return (matchRules(start + parts.message.lowerBound, parts.message.count), parts.message.lowerBound)
    }

    /// As ``classify(_:_:)``, and when the envelope fits and carries a time, the line's time into `time`
    /// (ms since the epoch) when `time` is still nil: for a layout read in local time (``TimeLayout/readsLocalTime``)
    /// as wall-clock ms, with `local` set, for the caller to convert in line order (a zone's repeated
    /// hour depends on the line before); else in UTC.
    @inline(__always)
    public func classify(_ start: UnsafePointer<UInt8>, _ length: Int, time: inout Int64?, local: inout Bool, fallbackYear: Int) -> (LineOutcome, Int) {
        guard let parts = splitEnvelope(start, length) else { return (lastOutcome, 0) }
        readTime(of: parts, start, time: &time, local: &local, fallbackYear: fallbackYear)
        if hasIgnores, let outcome = checkIgnores(start, parts) { return (outcome, parts.message.lowerBound) }
        return (matchRules(start + parts.message.lowerBound, parts.message.count), parts.message.lowerBound)
    }

    /// Only the time of a line, as ``classify(_:_:time:local:fallbackYear:)`` gives it (for a set the
    /// chain did not reach, whose envelope may still carry the line's time).
    public func envelopeTime(_ start: UnsafePointer<UInt8>, _ length: Int, time: inout Int64?, local: inout Bool, fallbackYear: Int) {
        guard time == nil, let parts = splitEnvelope(start, length) else { return }
        readTime(of: parts, start, time: &time, local: &local, fallbackYear: fallbackYear)
    }

    /// The time in split envelope `parts` into `time` when it is still nil, local times as wall-clock
    /// time (`local` set): see ``classify(_:_:time:local:fallbackYear:)``.
    @inline(__always)
    private func readTime(of parts: EnvelopeParts, _ start: UnsafePointer<UInt8>, time: inout Int64?, local: inout Bool, fallbackYear: Int) {
        guard time == nil, let index = parts.timeEnvelope else { return }
        local = localTimes[index]
        time = self.time(of: parts, start, fallbackYear: fallbackYear, zone: local ? wallClock : nil)
    }

    /// Reads wall-clock times as they are (a zone at UTC+0): ``classify(_:_:time:local:fallbackYear:)``
    /// leaves the conversion to the caller.
    private let wallClock = WallClockZone(name: "wall clock", offsets: FixedZoneOffset(seconds: 0))

    /// The time (ms since the epoch) of wall-clock ms `wall` in `zone`.
    public static func utcMillis(wall: Int64, zone: WallClockZone) -> Int64 {
        let seconds = wall >= 0 ? wall / 1000 : (wall - 999) / 1000
        return zone.utcSeconds(wall: seconds) * 1000 + (wall - seconds * 1000)
    }

    /// Copies the captures of the last match (``captureVectorLength`` values).
    @inline(__always)
    public func copyCaptures(into target: UnsafeMutablePointer<Int>) {
        target.update(from: scratch.ovector, count: captureVectorLength)
    }

    /// Applies a rule matched by another pipeline over the same pattern set, with the captures it
    /// copied (``copyCaptures(into:)``).
    @inline(__always)
    public func applyClassified(rule: Int, message: UnsafePointer<UInt8>, ovector: UnsafePointer<Int>, worker: Int, lineTime: Int64? = nil) {
        classifiedTime = lineTime
        apply(rule: rule, message: message, captures: CaptureVector(ovector, pairs: patterns.maxCaptures + 1), worker: worker, recorder: nil)
    }

    /// Whether rule `index` needs the line's time when applied (a `timer_start` or `timer_stop`).
    public func needsLineTime(rule index: Int) -> Bool { spanRules[index] }

    /// The time of the line being applied (ms), for spans: given with a classified line, else read from
    /// the envelope of the line ``run(_:parts:worker:recorder:)`` applies, in ``lineZone``.
    func applyingLineTime() -> Int64? {
        if let classifiedTime { return classifiedTime }
        if let currentLine, let t = time(of: lastParts, currentLine, fallbackYear: lineFallbackYear, zone: lineZone) { return t }
        return fallbackLineTime
    }

    /// The time of lines whose envelope gives none (a journal entry's own time), for spans.
    public var fallbackLineTime: Int64? = nil

    /// How spans read local line times: the year of layouts without one, and the zone (nil: the
    /// machine's, through `mktime(3)`); the job sets them.
    public var lineFallbackYear = 1970
    public var lineZone: WallClockZone? = nil
}
