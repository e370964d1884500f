/// What the pipeline did with one line, for `explain`.
public struct Explanation: Sendable {
    public var envelope: [(String, String)] = []
    public var outcome: String = ""
    public var rule: String? = nil
    public var rulePosition: PatternPosition? = nil
    public var ruleLevel: LogLevel? = nil
    public var captures: [(String, String)] = []
    public var effects: [Effect] = []
    public var gauges: [(String, Int64)] = []

    /// Runs `line` through a fresh pipeline over `patterns` and records every step.
    public static func explain(_ line: String, patterns: PatternSet) -> Explanation {
        explain(line, patternSets: [patterns]).explanation
    }

    /// Runs `line` through a fresh chain over `patternSets` (at least one), as a fresh worker's line, and
    /// records every step of the set that decides it (``PipelineChain/inTurn(sets:_:)``): the index of that
    /// set in `patternSets`, and what it did. The outcome is the one the chain counts.
    public static func explain(_ line: String, patternSets: [PatternSet]) -> (set: Int, explanation: Explanation) {
        let chain = PipelineChain(patternSets: patternSets)
        let worker = chain.store.workerID("explain")
        var explanation = Explanation()
        let recorder = EffectRecorder()
        var bytes = Array(line.utf8)
        // Strip one trailing newline / carriage return as a reader would.
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        let count = bytes.count
        bytes.append(0)
        let set = bytes.withUnsafeBufferPointer { buffer in
            let start = buffer.baseAddress!
            let (set, outcome) = chain.decide(start, count, worker: worker, recorder: recorder)
            let pipeline = chain.pipelines[set]
            let patterns = pipeline.patterns
            func text(_ r: Range<Int>?) -> String? { r.map { String(decoding: buffer[$0], as: UTF8.self) } }
            if outcome != .envelopeMismatch, !patterns.envelopes.isEmpty {
                let parts = pipeline.lastParts
                if let t = text(parts.time) {
                    var shown = t
                    if let layout = patterns.envelopes.compactMap(\.timeLayout).first,
                       let ms = layout.parse(UnsafeBufferPointer(rebasing: buffer[parts.time!])) {
                        shown += "  (= \(formatUTC(ms)))"
                    }
                    explanation.envelope.append(("time", shown))
                }
                if let level = parts.lineLevel { explanation.envelope.append(("level", "\(text(parts.level) ?? "(none)") → \(level)")) }
                if let c = text(parts.component) { explanation.envelope.append(("component", c)) }
                explanation.envelope.append(("message", text(parts.message) ?? ""))
            }
            explanation.outcome = PatternChecker.describe(outcome, patterns)
            if case let .matched(index) = outcome {
                let rule = patterns.rules[index]
                explanation.rule = rule.name
                explanation.rulePosition = rule.position
                explanation.ruleLevel = rule.level
                explanation.captures = pipeline.captures(of: rule, message: start + pipeline.lastParts.message.lowerBound)
            }
            return set
        }
        explanation.effects = recorder.effects
        for (id, name) in chain.store.gaugeNames.enumerated() where chain.store.gaugeValue(id) != 0 {
            explanation.gauges.append((name, chain.store.gaugeValue(id)))
        }
        return (set, explanation)
    }

    /// Human-readable report.
    public func render(prefix: String) -> String {
        var out: [String] = []
        for (k, v) in envelope { out.append("\(k): \(v)") }
        out.append("outcome: \(outcome)")
        if let rule, let rulePosition {
            out.append("rule: \(rule) (\(rulePosition))")
            if let ruleLevel { out.append("written at level: \(ruleLevel) (a worker logging at a higher level than \(ruleLevel) never writes this line)") }
        }
        if !captures.isEmpty {
            out.append("captures:")
            for (k, v) in captures { out.append("  \(k) = \(SummaryEncoder.jsonString(v))") }
        }
        if !effects.isEmpty {
            out.append("effects:")
            let encoder = StatsdEncoder(prefix: prefix)
            for e in effects {
                switch e {
                case let .count(name, n): out.append("  counter \(encoder.fullName(name)) +\(n)")
                case let .add(name, n): out.append("  gauge \(encoder.fullName(name)) running total +\(n)")
                case let .set(name, n): out.append("  gauge \(encoder.fullName(name)): this worker's part set to \(n)")
                case let .spanStart(name, key): out.append("  timer \(encoder.fullName(name)): span \(SummaryEncoder.jsonString(key)) starts at this line's time")
                case let .record(name, kind, n, firstOf):
                    out.append("  \(kind.rawValue) \(encoder.fullName(name)) value \(n)" + (firstOf.map { " (the first of \(SummaryEncoder.jsonString($0)) in this life: left out)" } ?? ""))
                case let .open(name, key, wasOpen):
                    out.append("  gauge \(encoder.fullName(name)): open key \(SummaryEncoder.jsonString(key))\(wasOpen ? " (already open: no change)" : "")")
                case let .close(name, key, wasOpen):
                    out.append("  gauge \(encoder.fullName(name)): close key \(SummaryEncoder.jsonString(key))\(wasOpen ? "" : " (not open: orphan close, no change)")")
                case let .closePrefix(name, p, n): out.append("  gauge \(encoder.fullName(name)): close keys starting \(SummaryEncoder.jsonString(p)) (\(n) open)")
                case .workerStart: out.append("  worker: a new life starts; all its gauges restart from 0")
                case .workerEnd: out.append("  worker: its life ends; all its gauges drop to 0")
                case let .logLevel(l): out.append("  worker announces log level \(l)")
                case let .skipped(why): out.append("  skipped: \(why)")
                }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
