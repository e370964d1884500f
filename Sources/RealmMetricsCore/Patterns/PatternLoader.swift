import Yams

/// Loads a pattern file and its includes into a compiled ``PatternSet``.
///
/// File layout (every key optional unless marked):
/// ```yaml
/// format: realm-sync-worker         # name shown by check/explain
/// description: one line
/// include: [realm-messages.yaml]     # rules, ignores, defines and envelope of other files
/// define: {CONN: 'Connection\[(?<conn>\d+)\]: '}   # used in regexes as %{CONN}
/// cardinality: 100                   # default cap on distinct values per name template
/// envelope: {match: '...(?<message>.*)', time_format: '%Y-%m-%dT%H:%M:%S.%f', timezone: utc,
///            levels: {WARNING: warn}, default_level: info, examples: [...]}
/// ignore: [{name: ..., component: regex, match: regex, examples: [...]}]
/// rules:  [{name: ..., match: regex, literal: text, level: detail, actions: [...], examples: [...], counterexamples: [...]}]
/// metrics: {session.online: Sessions open now.}   # what a metric means (Prometheus `# HELP`)
/// ```
/// A `metrics:` entry names a metric of a rule of the set (a name as the rule writes it, or the base of
/// its `tags:` form); the first file that describes a name (the file named, then its includes) wins.
public struct PatternLoader {
    let provider: PatternFileProvider

    public init(provider: PatternFileProvider) { self.provider = provider }

    /// Loads the file that `reference` names (a path or a built-in name).
    public func load(_ reference: String) throws(PatternFileError) -> PatternSet {
        guard let path = provider.resolve(reference, from: nil) else {
            throw PatternFileError(file: reference, line: 1, column: 1, message: "no pattern file by that name or path")
        }
        var state = LoadState()
        let top = try loadFile(path, stack: [], state: &state)
        // Flatten: own parts first, then included parts in order.
        var envelopes: [CompiledEnvelope] = []
        var ignores: [CompiledIgnore] = []
        var rules: [CompiledRule] = []
        var help: [String: (text: String, place: PatternPosition)] = [:]
        func flatten(_ file: LoadedFile) {
            ignores += file.ignores
            rules += file.rules
            for (name, entry) in file.help where help[name] == nil { help[name] = entry }
            for child in file.includes { flatten(child) }
        }
        flatten(top)
        envelopes = top.envelopeChain
        var seen: [String: CompiledRule] = [:]
        for rule in rules {
            if let first = seen[rule.name] {
                throw PatternFileError(file: rule.position.file, line: rule.position.line, column: rule.position.column,
                                       message: "duplicate rule name '\(rule.name)' (first defined at \(first.position))")
            }
            seen[rule.name] = rule
        }
        let described = Set(rules.flatMap(\.describableNames))
        for (name, entry) in help.sorted(by: { $0.key < $1.key }) where !described.contains(name) {
            throw PatternFileError(file: entry.place.file, line: entry.place.line, column: entry.place.column,
                                   message: "metrics: no rule of this set feeds a metric '\(name)' (give a name as a rule's action writes it, or the base of its tags)")
        }
        return PatternSet(format: top.format, description: top.description, files: state.order, envelopes: envelopes,
                          ignores: ignores, rules: rules, help: help.mapValues(\.text))
    }

    struct LoadState {
        var loaded: [String: LoadedFile] = [:]
        var order: [String] = []
    }

    final class LoadedFile {
        let path: String
        var format = ""
        var description = ""
        var defines: [String: String] = [:]
        var envelopeChain: [CompiledEnvelope] = []
        var ignores: [CompiledIgnore] = []
        var rules: [CompiledRule] = []
        var includes: [LoadedFile] = []
        /// `metrics:`: name → what it means, and where that is written.
        var help: [String: (text: String, place: PatternPosition)] = [:]
        init(path: String) { self.path = path }
    }

    static let topKeys = ["format", "description", "include", "define", "cardinality", "envelope", "ignore", "rules", "metrics"]

    private func loadFile(_ path: String, stack: [String], state: inout LoadState) throws(PatternFileError) -> LoadedFile {
        let text: String
        do { text = try provider.contents(of: path) } catch let error as PatternFileError { throw error } catch {
            throw PatternFileError(file: path, line: 1, column: 1, message: "cannot read: \(error)")
        }
        let reader = YAMLReader(file: path)
        let file = LoadedFile(path: path)
        file.format = baseName(path)
        state.loaded[path] = file
        state.order.append(path)
        guard let root = try reader.parse(text) else { return file }  // an empty file is an empty set
        let top = try reader.mapping(root, "pattern file", allowed: PatternLoader.topKeys)

        if let format = try top.string("format") { file.format = format }
        if let description = try top.string("description") { file.description = description }
        var cardinality = 100
        if let node = top["cardinality"] { cardinality = try reader.integer(node, "'cardinality'", range: 1...100_000) }

        // Includes first: their defines are visible here.
        if let node = top["include"] {
            for (reference, refNode) in try reader.strings(node, "'include'") {
                guard let childPath = provider.resolve(reference, from: path) else {
                    throw reader.error(refNode, "include: no pattern file '\(reference)'")
                }
                if stack.contains(childPath) || childPath == path {
                    let loop = (stack + [path, childPath]).map(baseName).joined(separator: " → ")
                    throw reader.error(refNode, "include loop: \(loop)")
                }
                if state.loaded[childPath] != nil { continue }  // already part of this set
                let child = try loadFile(childPath, stack: stack + [path], state: &state)
                file.includes.append(child)
                for (k, v) in child.defines { file.defines[k] = v }
            }
        }
        if let node = top["define"] {
            let defines = try reader.mapping(node, "'define'", allowed: mappingKeys(node))
            for key in defines.values.keys.sorted() {
                let valueNode = defines.values[key]!
                guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw reader.error(defines.keys[key], "define: name '\(key)' must be letters, digits and _")
                }
                file.defines[key] = try reader.string(valueNode, "define '\(key)'")
            }
        }
        let context = CompileContext(reader: reader, defines: file.defines, cardinality: cardinality)

        // Envelope chain: this file's, then the one brought by an include.
        var chain: [CompiledEnvelope] = []
        if let node = top["envelope"] { chain.append(try context.envelope(node)) }
        let childChains = file.includes.filter { !$0.envelopeChain.isEmpty }
        if childChains.count > 1 {
            throw reader.error(top["include"], "include: at most one included file may bring an envelope (\(childChains.map { baseName($0.path) }.joined(separator: ", ")) do)")
        }
        chain += childChains.first?.envelopeChain ?? []
        file.envelopeChain = chain

        if let node = top["ignore"] {
            for item in try reader.sequence(node, "'ignore'") { file.ignores.append(try context.ignore(item)) }
        }
        if let node = top["rules"] {
            for item in try reader.sequence(node, "'rules'") { file.rules.append(try context.rule(item)) }
        }
        if let node = top["metrics"] {
            let metrics = try reader.mapping(node, "'metrics'", allowed: mappingKeys(node))
            for name in metrics.values.keys.sorted() {
                let text = try reader.string(metrics.values[name]!, "metrics: '\(name)'")
                let at = reader.position(metrics.keys[name]!)
                guard !text.isEmpty else { throw reader.error(metrics.values[name]!, "metrics: '\(name)' needs a description") }
                file.help[name] = (text, PatternPosition(file: path, line: at.line, column: at.column))
            }
        }
        return file
    }

    private func mappingKeys(_ node: Node) -> [String] {
        guard case let .mapping(mapping) = node else { return [] }
        return mapping.compactMap { key, _ in if case let .scalar(s) = key { s.string } else { nil } }
    }
}

func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}

/// Compiles the parts of one file with its visible defines.
struct CompileContext {
    let reader: YAMLReader
    let defines: [String: String]
    let cardinality: Int

    func position(_ node: Node) -> PatternPosition {
        PatternPosition(file: reader.file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Expands `%{NAME}` and compiles; errors point into the YAML scalar. `rewrite` may change the
    /// expanded text before compilation.
    func regex(_ node: Node, _ what: String, rewrite: (String) -> String = { $0 }) throws(PatternFileError) -> CompiledRegex {
        let source = try reader.string(node, what)
        var expanded = ""
        var rest = Substring(source)
        while let open = rest.range(of: "%{") {
            expanded += rest[rest.startIndex..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw reader.error(node, "\(what): unterminated %{ in regex")
            }
            let name = String(rest[open.upperBound..<close])
            guard let value = defines[name] else {
                throw reader.error(node, "\(what): unknown define %{\(name)} (known: \(defines.keys.sorted().joined(separator: ", ")))")
            }
            expanded += value
            rest = rest[rest.index(after: close)...]
        }
        expanded += rest
        expanded = rewrite(expanded)
        do {
            return try CompiledRegex(expanded)
        } catch {
            let shown = expanded == source ? "" : " (after %{} expansion: \(expanded))"
            throw reader.error(node, "\(what): bad regex: \(error.message) at offset \(error.offset)\(shown)")
        }
    }

    func envelope(_ node: Node) throws(PatternFileError) -> CompiledEnvelope {
        let m = try reader.mapping(node, "envelope", allowed: ["match", "time_format", "timezone", "levels", "default_level", "examples"])
        let regexNode = try m.required("match")
        // A trailing (?<message>.*) means "the rest of the line": match it as an empty group and take the
        // message up to the end of the line, so the regex does not walk every byte of every message.
        var messageToEnd = false
        let regex = try regex(regexNode, "envelope 'match'") { text in
            for tail in ["(?<message>.*)", "(?<message>.*)$"] where text.hasSuffix(tail) {
                messageToEnd = true
                return String(text.dropLast(tail.count)) + "(?<message>)"
            }
            return text
        }
        guard let message = regex.groupNumbers["message"] else {
            throw reader.error(regexNode, "envelope 'match' needs a named group (?<message>...)")
        }
        var layout: TimeLayout? = nil
        if let f = m["time_format"] {
            guard regex.groupNumbers["time"] != nil else { throw reader.error(f, "envelope: time_format given but the regex has no (?<time>...) group") }
            var utc = false
            if let tz = m["timezone"] {
                switch try reader.string(tz, "envelope 'timezone'") {
                case "utc", "UTC": utc = true
                case "local": utc = false
                case let other: throw reader.error(tz, "envelope 'timezone': '\(other)' is neither utc nor local")
                }
            }
            do { layout = try TimeLayout(try reader.string(f, "envelope 'time_format'"), utc: utc) } catch {
                throw reader.error(f, "envelope 'time_format': \(error)")
            }
        }
        var levels: [String: LogLevel] = [:]
        if let node = m["levels"] {
            let lm = try reader.mapping(node, "envelope 'levels'", allowed: mappingKeysOf(node))
            for (word, value) in lm.values { levels[word] = try reader.level(value, "envelope level '\(word)'") }
        }
        let defaultLevel = try m["default_level"].map { (n: Node) throws(PatternFileError) in try reader.level(n, "envelope 'default_level'") }
        var examples: [EnvelopeExample] = []
        if let node = m["examples"] {
            for item in try reader.sequence(node, "envelope 'examples'") {
                let e = try reader.mapping(item, "envelope example", allowed: ["line", "message", "level", "component", "time"])
                examples.append(EnvelopeExample(line: try reader.string(try e.required("line"), "example 'line'"),
                                                message: try e.string("message"), level: try e.string("level"),
                                                component: try e.string("component"), time: try e.string("time"),
                                                position: position(item)))
            }
        }
        return CompiledEnvelope(position: position(node), regex: regex, messageGroup: message, messageToEnd: messageToEnd, timeGroup: regex.groupNumbers["time"],
                                levelGroup: regex.groupNumbers["level"], componentGroup: regex.groupNumbers["component"],
                                timeLayout: layout, levels: levels, defaultLevel: defaultLevel, examples: examples)
    }

    func mappingKeysOf(_ node: Node) -> [String] {
        guard case let .mapping(mapping) = node else { return [] }
        return mapping.compactMap { key, _ in if case let .scalar(s) = key { s.string } else { nil } }
    }

    func ignore(_ node: Node) throws(PatternFileError) -> CompiledIgnore {
        let m = try reader.mapping(node, "ignore rule", allowed: ["name", "component", "match", "examples"])
        let name = try m.string("name") ?? "ignore@\(node.mark?.line ?? 0)"
        let component = try m["component"].map { (n: Node) throws(PatternFileError) in try regex(n, "ignore '\(name)' 'component'") }
        let message = try m["match"].map { (n: Node) throws(PatternFileError) in try regex(n, "ignore '\(name)' 'match'") }
        guard component != nil || message != nil else { throw reader.error(node, "ignore '\(name)': give 'component', 'match' or both") }
        return CompiledIgnore(name: name, position: position(node), component: component, message: message,
                              examples: try examples(m["examples"], "ignore '\(name)'"))
    }

    func examples(_ node: Node?, _ what: String) throws(PatternFileError) -> [RuleExample] {
        guard let node else { return [] }
        var out: [RuleExample] = []
        for item in try reader.sequence(node, "\(what) examples") {
            if case .scalar = item {
                out.append(RuleExample(line: try reader.string(item, "example"), expect: nil, position: position(item)))
            } else {
                let e = try reader.mapping(item, "\(what) example", allowed: ["line", "expect"])
                let expect = try e["expect"].map { (n: Node) throws(PatternFileError) in try reader.strings(n, "example 'expect'").map(\.0) }
                out.append(RuleExample(line: try reader.string(try e.required("line"), "example 'line'"), expect: expect, position: position(item)))
            }
        }
        return out
    }

    static let actionVerbs = ["count", "open", "close", "close_prefix", "add", "set", "timer", "histogram", "timer_start", "timer_stop", "worker", "log_level"]

    func rule(_ node: Node) throws(PatternFileError) -> CompiledRule {
        let m = try reader.mapping(node, "rule", allowed: ["name", "match", "literal", "level", "actions", "examples", "counterexamples"])
        guard let name = try m.string("name"), !name.isEmpty else { throw reader.error(node, "rule: missing required key 'name'") }
        let what = "rule '\(name)'"
        let regex = try regex(try m.required("match"), "\(what) 'match'")
        var literals: [[UInt8]]? = RequiredLiteral.extractAny(from: regex.source)
        if let node = m["literal"] {
            let texts = try reader.strings(node, "\(what) 'literal'").map(\.0)
            if texts.contains(where: { $0.utf8.count < 4 }) {
                throw reader.error(node, "\(what) 'literal': each literal needs at least 4 bytes (or leave 'literal' out)")
            }
            literals = texts.map { Array($0.utf8) }
        }
        let level = try m["level"].map { (n: Node) throws(PatternFileError) in try reader.level(n, "\(what) 'level'") }
        var actions: [RuleAction] = []
        for item in try reader.sequence(try m.required("actions"), "\(what) 'actions'") {
            actions.append(try action(item, regex: regex, rule: what))
        }
        let rule = CompiledRule(name: name, position: position(node), regex: regex, requiredLiterals: literals,
                                startLiteral: RequiredLiteral.extractStart(from: regex.source), level: level,
                                actions: actions, examples: try examples(m["examples"], what),
                                counterexamples: try examples(m["counterexamples"], what + " counter"))
        return rule
    }

    func action(_ node: Node, regex: CompiledRegex, rule: String) throws(PatternFileError) -> RuleAction {
        let m = try reader.mapping(node, "\(rule) action", allowed: CompileContext.actionVerbs + ["by", "key", "cardinality", "skip_first", "tags"])
        let verbs = CompileContext.actionVerbs.filter { m[$0] != nil }
        guard verbs.count == 1, let verb = verbs.first else {
            throw reader.error(node, "\(rule) action: give exactly one of \(CompileContext.actionVerbs.joined(separator: ", "))")
        }
        let target = m[verb]!
        func name() throws(PatternFileError) -> NameTemplate {
            var cap = cardinality
            if let c = m["cardinality"] { cap = try reader.integer(c, "\(rule) 'cardinality'", range: 1...100_000) }
            let source = try reader.string(target, "\(rule) '\(verb)'")
            if source.hasSuffix(".*") {
                let base = String(source.dropLast(2))
                guard verb == "close" || verb == "close_prefix", MetricName.isValidPath(base), m["tags"] == nil else {
                    throw reader.error(target, "\(rule): '\(source)' (every gauge under a name) is only for close and close_prefix, after a metric name, without tags")
                }
                return NameTemplate(source: source, parts: [.literal(source)], cardinality: cap, family: base + ".")
            }
            let parts = try templateParts(source, node: target, regex: regex, rule: rule)
            let probe = parts.map { if case let .literal(s) = $0 { s } else { "x" } }.joined()
            guard MetricName.isValidPath(probe) else {
                throw reader.error(target, "\(rule): metric name '\(source)' must be dot-separated parts of letters, digits, _ and -")
            }
            var tagged: TaggedName? = nil
            if let tagsNode = m["tags"] {
                let text = try reader.string(tagsNode, "\(rule) 'tags'")
                let tagParts = try templateParts(text, node: tagsNode, regex: regex, rule: rule)
                // The shape: a metric name, then one or more `,tag=value` (value: captures and literals).
                let shape = tagParts.map { if case let .literal(s) = $0 { s } else { "x" } }.joined().split(separator: ",", omittingEmptySubsequences: false)
                guard shape.count >= 2, MetricName.isValidPath(String(shape[0])),
                      shape.dropFirst().allSatisfy({ tag in
                          let kv = tag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                          return kv.count == 2 && !kv[0].isEmpty && !kv[1].isEmpty && kv[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                      }) else {
                    throw reader.error(tagsNode, "\(rule) 'tags': '\(text)' must be a metric name and one or more ',tag=value' (tags of letters, digits and _), as 'protocol.used,version={v}'")
                }
                // Each tag's value must be in the name too, so that every tagged series is its own metric.
                let nameCaptures = Set(parts.compactMap { if case let .capture(_, n) = $0 { n } else { nil } })
                for case let .capture(_, capture) in tagParts where !nameCaptures.contains(capture) {
                    throw reader.error(tagsNode, "\(rule) 'tags': '{\(capture)}' is not in the metric name '\(source)' (the name the tags fold into, as 'protocol.{v}.used' for 'protocol.used,version={v}')")
                }
                tagged = TaggedName(source: text, parts: tagParts)
            }
            return NameTemplate(source: source, parts: parts, cardinality: cap, tagged: tagged)
        }
        func key(_ field: String = "key") throws(PatternFileError) -> KeyTemplate {
            let keyNode = try m.required(field)
            let source = try reader.string(keyNode, "\(rule) '\(field)'")
            return KeyTemplate(source: source, parts: try templateParts(source, node: keyNode, regex: regex, rule: rule))
        }
        func amount() throws(PatternFileError) -> Amount {
            guard let by = m["by"] else { return .one }
            var capture = try reader.string(by, "\(rule) 'by'")
            if capture.hasPrefix("{") && capture.hasSuffix("}") { capture = String(capture.dropFirst().dropLast()) }
            guard let group = regex.groupNumbers[capture] else {
                throw reader.error(by, "\(rule) 'by': the regex has no capture named '\(capture)' (it has: \(regex.groupNumbers.keys.sorted().joined(separator: ", ")))")
            }
            return .capture(group: group, name: capture)
        }
        func refuse(_ keys: [String]) throws(PatternFileError) {
            for k in keys where m[k] != nil { throw reader.error(m.keys[k], "\(rule) action '\(verb)' takes no '\(k)'") }
        }
        switch verb {
        case "count":
            try refuse(["key", "skip_first"])
            return .count(try name(), try amount())
        case "add":
            // Without `by`, +1: a total of the worker life that only goes up (connection.total).
            try refuse(["key", "skip_first"])
            return .add(try name(), try amount())
        case "set", "timer", "histogram":
            try refuse(["key"])
            guard m["by"] != nil else { throw reader.error(node, "\(rule) action '\(verb)' needs 'by: <capture>' (the number the line gives)") }
            if verb == "set" {
                try refuse(["skip_first"])
                return .set(try name(), try amount())
            }
            return .record(try name(), verb == "timer" ? .timer : .histogram, try amount(), skipFirst: m["skip_first"] == nil ? nil : try key("skip_first"))
        case "timer_start", "timer_stop":
            try refuse(["by", "skip_first"])
            return .span(try name(), try key(), start: verb == "timer_start")
        case "open", "close", "close_prefix":
            try refuse(["by", "skip_first"])
            let n = try name()
            let k = try key()
            return verb == "open" ? .open(n, k) : verb == "close" ? .close(n, k) : .closePrefix(n, k)
        case "worker":
            try refuse(["by", "key", "cardinality", "skip_first", "tags"])
            switch try reader.string(target, "\(rule) 'worker'") {
            case "start": return .workerStart
            case "end": return .workerEnd
            case let other: throw reader.error(target, "\(rule) 'worker': '\(other)' is neither start nor end")
            }
        default:  // log_level
            try refuse(["by", "key", "cardinality", "skip_first", "tags"])
            var capture = try reader.string(target, "\(rule) 'log_level'")
            if capture.hasPrefix("{") && capture.hasSuffix("}") { capture = String(capture.dropFirst().dropLast()) }
            guard let group = regex.groupNumbers[capture] else {
                throw reader.error(target, "\(rule) 'log_level': the regex has no capture named '\(capture)'")
            }
            return .logLevel(group: group, name: capture)
        }
    }

    /// Splits `a.{x}.b` into literal and capture parts; every `{name}` must be a named group of the regex.
    func templateParts(_ source: String, node: Node, regex: CompiledRegex, rule: String) throws(PatternFileError) -> [TemplatePart] {
        var parts: [TemplatePart] = []
        var rest = Substring(source)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(String(rest[rest.startIndex..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { throw reader.error(node, "\(rule): unterminated '{' in '\(source)'") }
            let name = String(rest[rest.index(after: open)..<close])
            guard let group = regex.groupNumbers[name] else {
                throw reader.error(node, "\(rule): '{\(name)}' in '\(source)' is not a named capture of the regex (it has: \(regex.groupNumbers.keys.sorted().joined(separator: ", ")))")
            }
            parts.append(.capture(group: group, name: name))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        return parts
    }
}
