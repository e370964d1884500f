/// The verdict on one rule, ignore rule or envelope of a pattern file.
public struct CheckResult: Sendable {
    public enum Kind: String, Sendable { case envelope, ignore, rule }
    public let kind: Kind
    public let name: String
    public let position: PatternPosition
    public let examples: Int
    /// Empty when every example behaved as written.
    public let problems: [String]
    public var passed: Bool { problems.isEmpty }
}

/// Runs the `examples:` and `counterexamples:` written in a pattern file.
///
/// - Envelope examples are whole lines: the envelope chain from that envelope on must produce the given
///   message, level, component and time.
/// - Ignore examples are whole lines (as the file's envelope sees them): they must be dropped by that
///   ignore rule.
/// - Rule examples are messages (what is left after the envelope): the first rule to match must be this
///   one, and its effects must equal `expect:` when given. Counterexamples must not match the rule.
public enum PatternChecker {
    public static func check(_ set: PatternSet, file: String) -> [CheckResult] {
        var results: [CheckResult] = []
        for (index, envelope) in set.envelopes.enumerated() where envelope.position.file == file {
            var problems: [String] = []
            for example in envelope.examples {
                let pipeline = LinePipeline(patterns: set)
                let line = Array(example.line.utf8)
                let parts = line.withUnsafeBufferPointer { pipeline.splitEnvelope($0.baseAddress!, $0.count, from: index) }
                guard let parts else {
                    problems.append("\(example.position): the envelope does not fit \(quote(example.line))")
                    continue
                }
                func text(_ r: Range<Int>?) -> String? { r.map { String(decoding: line[$0], as: UTF8.self) } }
                let expectations: [(String, String?, String?)] = [
                    ("message", example.message, text(parts.message)),
                    ("level", example.level, parts.lineLevel?.description),
                    ("component", example.component, text(parts.component)),
                ]
                for (field, want, got) in expectations where want != nil && want != got {
                    problems.append("\(example.position): \(field) is \(got.map(quote) ?? "absent"), expected \(quote(want!))")
                }
                if let want = example.time {
                    let got = parts.time.flatMap { r in
                        envelope.timeLayout.flatMap { layout in line.withUnsafeBufferPointer { b in layout.parse(UnsafeBufferPointer(rebasing: b[r])) } }
                    }
                    if got.map(formatUTC) != want {
                        problems.append("\(example.position): time is \(got.map(formatUTC) ?? "unreadable"), expected \(want)")
                    }
                }
            }
            results.append(CheckResult(kind: .envelope, name: "envelope", position: envelope.position, examples: envelope.examples.count, problems: problems))
        }
        for (index, ignore) in set.ignores.enumerated() where ignore.position.file == file {
            var problems: [String] = []
            for example in ignore.examples {
                let pipeline = LinePipeline(patterns: set)
                let worker = pipeline.store.workerID("check")
                let outcome = Array(example.line.utf8).withUnsafeBufferPointer { pipeline.process($0.baseAddress!, $0.count, worker: worker) }
                if outcome != .ignored(rule: index) {
                    problems.append("\(example.position): not ignored by this rule (\(describe(outcome, set))): \(quote(example.line))")
                }
            }
            results.append(CheckResult(kind: .ignore, name: ignore.name, position: ignore.position, examples: ignore.examples.count, problems: problems))
        }
        for (index, rule) in set.rules.enumerated() where rule.position.file == file {
            var problems: [String] = []
            for example in rule.examples {
                let pipeline = LinePipeline(patterns: set)
                let worker = pipeline.store.workerID("check")
                let recorder = EffectRecorder()
                let outcome = pipeline.matchMessage(example.line, worker: worker, recorder: recorder)
                guard outcome == .matched(rule: index) else {
                    problems.append("\(example.position): \(describe(outcome, set)) instead of this rule: \(quote(example.line))")
                    continue
                }
                if let expect = example.expect, expect != recorder.effects.map(\.description) {
                    problems.append("\(example.position): effects are [\(recorder.effects.map(\.description).joined(separator: "; "))], expected [\(expect.joined(separator: "; "))]")
                }
            }
            for example in rule.counterexamples {
                let scratch = RegexScratch(maxCaptures: rule.regex.captureCount)
                let bytes = Array(example.line.utf8)
                let outcome = bytes.withUnsafeBufferPointer { scratch.match(rule.regex, $0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
                if outcome != .noMatch {
                    problems.append("\(example.position): counterexample matches this rule: \(quote(example.line))")
                }
            }
            var count = rule.examples.count + rule.counterexamples.count
            if rule.examples.isEmpty {
                problems.append("\(rule.position): rule has no examples")
                count = 0
            }
            results.append(CheckResult(kind: .rule, name: rule.name, position: rule.position, examples: count, problems: problems))
        }
        return results
    }

    static func describe(_ outcome: LineOutcome, _ set: PatternSet) -> String {
        switch outcome {
        case let .matched(rule): "matched rule '\(set.rules[rule].name)'"
        case let .ignored(rule): "ignored by '\(set.ignores[rule].name)'"
        case .unmatched: "matched no rule"
        case .envelopeMismatch: "did not fit the envelope"
        case .matchLimit: "hit the match limit"
        case let .matchError(code): "failed with PCRE2 error \(code)"
        }
    }

    static func quote(_ s: String) -> String { "'\(s)'" }
}
