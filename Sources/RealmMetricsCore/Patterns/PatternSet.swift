/// One piece of a metric name or gauge key template: literal text or a named capture.
public enum TemplatePart: Sendable, Equatable {
    case literal(String)
    case capture(group: Int, name: String)
}

/// A metric name, possibly with capture placeholders (`protocol.{v}.used`). Captured values are
/// sanitised (see ``MetricName``) and each template admits at most `cardinality` distinct values; later
/// ones are folded into `other`.
public struct NameTemplate: Sendable, Equatable {
    public let source: String
    public let parts: [TemplatePart]
    public let cardinality: Int
    /// The same metric with tags, as `base,tag={capture}` (`tags:` in the pattern file): sent so with
    /// `--tags influx` or `dogstatsd`; `source` is the name the tags are folded into, sent by default.
    public var tagged: TaggedName? = nil
    /// `name.*` (for `close` and `close_prefix`): every gauge whose name starts with `name.` — the
    /// gauges of one template (`user_sessions.{user}`), when the closing line does not name the value.
    public var family: String? = nil
    public var isFixed: Bool { family == nil && parts.allSatisfy { if case .literal = $0 { true } else { false } } }

    public init(source: String, parts: [TemplatePart], cardinality: Int, tagged: TaggedName? = nil, family: String? = nil) {
        self.source = source
        self.parts = parts
        self.cardinality = cardinality
        self.tagged = tagged
        self.family = family
    }
}

/// A metric name with tags, `protocol.used,version={v}`: its parts as a template whose captured values
/// are percent-encoded (every byte other than `A-Za-z0-9` as `%XX`, as the 2020 server writes them).
public struct TaggedName: Sendable, Equatable {
    public let source: String
    public let parts: [TemplatePart]

    public init(source: String, parts: [TemplatePart]) {
        self.source = source
        self.parts = parts
    }
}

/// A gauge key built from captures (`{conn}/{session}`). Keys are never emitted, only counted.
public struct KeyTemplate: Sendable, Equatable {
    public let source: String
    public let parts: [TemplatePart]
}

/// How much a counter or total moves: by one, or by a captured whole number.
public enum Amount: Sendable, Equatable {
    case one
    case capture(group: Int, name: String)
}

/// What a matched rule does to the metric state.
public enum RuleAction: Sendable, Equatable {
    /// Adds to a counter.
    case count(NameTemplate, Amount)
    /// Adds `key` to the worker's open set of a gauge (idempotent).
    case open(NameTemplate, KeyTemplate)
    /// Removes `key` from the worker's open set; a key that is not open is an orphan close.
    case close(NameTemplate, KeyTemplate)
    /// Removes every key that starts with the expanded template (for example all sessions of a connection).
    case closePrefix(NameTemplate, KeyTemplate)
    /// Adds to a running-total gauge of the worker.
    case add(NameTemplate, Amount)
    /// A new worker life: every gauge of the worker restarts from zero.
    case workerStart
    /// The worker stopped: its gauges drop to zero.
    case workerEnd
    /// The worker announced its log level (captured word).
    case logLevel(group: Int, name: String)
    /// Sets the worker's part of a gauge to a captured number (a total the line states).
    case set(NameTemplate, Amount)
    /// One value of a timer (`|ms`) or histogram (`|h`); with `skipFirst`, the first value of each
    /// expanded key in a worker life is left out (the first PING of a connection).
    case record(NameTemplate, DistributionKind, Amount, skipFirst: KeyTemplate?)
    /// The start (`start`) or the end of a timed span of `key` in the worker: the end records the ms
    /// between the two lines' times as a timer value (`workunit.time`).
    case span(NameTemplate, KeyTemplate, start: Bool)
}

/// An example line of a rule, checked by `check`.
public struct RuleExample: Sendable {
    public let line: String
    /// Expected effects as ``Effect/description`` strings; nil when only matching is checked.
    public let expect: [String]?
    public let position: PatternPosition
}

/// Where something was written.
public struct PatternPosition: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public var description: String { "\(file):\(line):\(column)" }
}

public final class CompiledRule: Sendable {
    public let name: String
    public let position: PatternPosition
    public let regex: CompiledRegex
    /// Literals of which every match contains one (from `literal:` or read off the regex); nil means
    /// the rule is always tried.
    public let requiredLiterals: [[UInt8]]?
    /// What every match starts with, when the regex is anchored at the start with a literal; the
    /// prefilter then checks this instead of searching for `requiredLiterals`.
    public let startLiteral: [UInt8]?
    /// The level the worker writes this line at: a worker logging above it never writes it.
    public let level: LogLevel?
    public let actions: [RuleAction]
    public let examples: [RuleExample]
    public let counterexamples: [RuleExample]

    init(name: String, position: PatternPosition, regex: CompiledRegex, requiredLiterals: [[UInt8]]?, startLiteral: [UInt8]?, level: LogLevel?,
         actions: [RuleAction], examples: [RuleExample], counterexamples: [RuleExample]) {
        self.name = name
        self.position = position
        self.regex = regex
        self.requiredLiterals = requiredLiterals
        self.startLiteral = startLiteral
        self.level = level
        self.actions = actions
        self.examples = examples
        self.counterexamples = counterexamples
    }

    /// The names a `metrics:` entry may describe for this rule: each name as its actions write it, and
    /// the base name of its tagged form (`protocol.used` of `protocol.used,version={v}`).
    public var describableNames: [String] {
        actions.flatMap { action -> [String] in
            let name: NameTemplate
            switch action {
            case let .count(n, _), let .open(n, _), let .close(n, _), let .closePrefix(n, _), let .add(n, _), let .set(n, _), let .record(n, _, _, _), let .span(n, _, _): name = n
            default: return []
            }
            return [name.source] + (name.tagged.map { [String($0.source.prefix { $0 != "," })] } ?? [])
        }
    }

    /// Every metric name this rule can touch, as (kind word, template source): `counter`, `gauge`,
    /// `timer`, `histogram`.
    public var metricNames: [(String, String)] {
        actions.compactMap { action in
            switch action {
            case let .count(name, _): ("counter", name.source)
            case let .open(name, _), let .close(name, _), let .closePrefix(name, _), let .add(name, _), let .set(name, _): ("gauge", name.source)
            case let .record(name, kind, _, _): (kind.rawValue, name.source)
            case let .span(name, _, _): ("timer", name.source)
            default: nil
            }
        }
    }
}

/// Example of an envelope: a raw line and the parts it must split into.
public struct EnvelopeExample: Sendable {
    public let line: String
    public let message: String?
    public let level: String?
    public let component: String?
    public let time: String?
    public let position: PatternPosition
}

/// The outer layout of a line: splits it into time, level, component and message.
public final class CompiledEnvelope: Sendable {
    public let position: PatternPosition
    public let regex: CompiledRegex
    public let messageGroup: Int
    /// The message runs from its group's start to the end of the line (the regex ended in `(?<message>.*)`).
    public let messageToEnd: Bool
    public let timeGroup: Int?
    public let levelGroup: Int?
    public let componentGroup: Int?
    public let timeLayout: TimeLayout?
    /// Captured level word → level; words that name a level are understood without an entry.
    public let levels: [String: LogLevel]
    /// Level of a line whose envelope carries none.
    public let defaultLevel: LogLevel?
    public let examples: [EnvelopeExample]

    init(position: PatternPosition, regex: CompiledRegex, messageGroup: Int, messageToEnd: Bool, timeGroup: Int?, levelGroup: Int?, componentGroup: Int?,
         timeLayout: TimeLayout?, levels: [String: LogLevel], defaultLevel: LogLevel?, examples: [EnvelopeExample]) {
        self.position = position
        self.regex = regex
        self.messageGroup = messageGroup
        self.messageToEnd = messageToEnd
        self.timeGroup = timeGroup
        self.levelGroup = levelGroup
        self.componentGroup = componentGroup
        self.timeLayout = timeLayout
        self.levels = levels
        self.defaultLevel = defaultLevel
        self.examples = examples
    }

    func level(of word: UnsafeBufferPointer<UInt8>) -> LogLevel? {
        let text = String(decoding: word, as: UTF8.self)
        return levels[text] ?? LogLevel(word: text)
    }
}

/// Lines to drop before rules run: by component (envelope field) and/or by message regex.
public final class CompiledIgnore: Sendable {
    public let name: String
    public let position: PatternPosition
    public let component: CompiledRegex?
    public let message: CompiledRegex?
    public let examples: [RuleExample]

    init(name: String, position: PatternPosition, component: CompiledRegex?, message: CompiledRegex?, examples: [RuleExample]) {
        self.name = name
        self.position = position
        self.component = component
        self.message = message
        self.examples = examples
    }
}

/// A fully loaded and compiled pattern file with its includes: immutable, shareable between threads.
public final class PatternSet: Sendable {
    /// The `format:` of the top file (or its file name).
    public let format: String
    public let description: String
    /// The file named by the user, then every included file, in load order.
    public let files: [String]
    public let envelopes: [CompiledEnvelope]
    public let ignores: [CompiledIgnore]
    public let rules: [CompiledRule]
    public let prefilter: LiteralPrefilter
    /// Largest capture count of any regex in the set.
    public let maxCaptures: Int
    /// What each metric means (`metrics:` of the files), by the name a rule writes or its tags' base.
    public let help: [String: String]

    init(format: String, description: String, files: [String], envelopes: [CompiledEnvelope], ignores: [CompiledIgnore], rules: [CompiledRule],
         help: [String: String] = [:]) {
        self.help = help
        self.format = format
        self.description = description
        self.files = files
        self.envelopes = envelopes
        self.ignores = ignores
        self.rules = rules
        prefilter = LiteralPrefilter(literals: rules.map(\.requiredLiterals), starts: rules.map(\.startLiteral))
        var m = 0
        for e in envelopes { m = max(m, e.regex.captureCount) }
        for i in ignores { m = max(m, i.component?.captureCount ?? 0, i.message?.captureCount ?? 0) }
        for r in rules { m = max(m, r.regex.captureCount) }
        maxCaptures = m
    }

    /// Metrics that a worker logging at `level` can never feed: every rule that feeds them matches a
    /// line written at a more verbose level (sorted, as `kind name`).
    public func metricsUnfed(at level: LogLevel) -> [String] {
        var fed = Set<String>()
        var all = Set<String>()
        for rule in rules {
            for (kind, name) in rule.metricNames {
                let key = "\(kind) \(name)"
                all.insert(key)
                if rule.level.map({ $0 >= level }) ?? true { fed.insert(key) }
            }
        }
        return all.subtracting(fed).sorted()
    }

    /// Fixed (non-templated) metric names this set declares, by kind, sorted.
    public func declaredNames(_ kind: MetricKind) -> [String] {
        var names = Set<String>()
        for rule in rules {
            for action in rule.actions {
                switch (kind, action) {
                case (.counter, let .count(name, _)) where name.isFixed: names.insert(name.source)
                case (.gauge, let .open(name, _)) where name.isFixed, (.gauge, let .add(name, _)) where name.isFixed,
                     (.gauge, let .set(name, _)) where name.isFixed:
                    names.insert(name.source)
                default: break
                }
            }
        }
        return names.sorted()
    }
}
