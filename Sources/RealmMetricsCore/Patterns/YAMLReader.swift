import Yams

/// A position in a pattern file.
struct SourcePosition: Sendable, Equatable {
    var line: Int
    var column: Int
}

/// Walks a composed YAML tree, turning every surprise into a ``PatternFileError`` that names the file,
/// line and column. Mappings are read through ``MappingReader`` so unknown keys are refused.
struct YAMLReader {
    let file: String

    func error(_ node: Node?, _ message: String) -> PatternFileError {
        let mark = node?.mark
        return PatternFileError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message)
    }

    func position(_ node: Node) -> SourcePosition {
        SourcePosition(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func parse(_ text: String) throws(PatternFileError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error)
        } catch {
            throw PatternFileError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
    }

    private func yamlError(_ error: YamlError) -> PatternFileError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let what = [context.map { "\($0.text)" }, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return PatternFileError(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(what)")
        case let .reader(problem, offset, _, _):
            return PatternFileError(file: file, line: 1, column: 1, message: "invalid YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return PatternFileError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
    }

    func mapping(_ node: Node, _ what: String, allowed: [String]) throws(PatternFileError) -> MappingReader {
        guard case let .mapping(mapping) = node else { throw error(node, "\(what) must be a mapping") }
        var values: [String: Node] = [:]
        var keys: [String: Node] = [:]
        for (key, value) in mapping {
            guard case let .scalar(scalar) = key else { throw self.error(key, "\(what): keys must be plain words") }
            let name = scalar.string
            if keys[name] != nil { throw self.error(key, "\(what): duplicate key '\(name)'") }
            guard allowed.contains(name) else {
                throw self.error(key, "\(what): unknown key '\(name)' (known keys: \(allowed.joined(separator: ", ")))")
            }
            keys[name] = key
            values[name] = value
        }
        return MappingReader(reader: self, node: node, what: what, values: values, keys: keys)
    }

    func string(_ node: Node, _ what: String) throws(PatternFileError) -> String {
        guard case let .scalar(scalar) = node else { throw error(node, "\(what) must be a string") }
        return scalar.string
    }

    func sequence(_ node: Node, _ what: String) throws(PatternFileError) -> [Node] {
        if case let .sequence(sequence) = node { return Array(sequence) }
        throw error(node, "\(what) must be a list")
    }

    /// A scalar or a list of scalars.
    func strings(_ node: Node, _ what: String) throws(PatternFileError) -> [(String, Node)] {
        if case .scalar = node { return [(try string(node, what), node)] }
        var out: [(String, Node)] = []
        for item in try sequence(node, what) { out.append((try string(item, what), item)) }
        return out
    }

    func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) throws(PatternFileError) -> Int {
        let text = try string(node, what)
        guard let value = Int(text), range.contains(value) else {
            throw error(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    func level(_ node: Node, _ what: String) throws(PatternFileError) -> LogLevel {
        let text = try string(node, what)
        guard let level = LogLevel(word: text) else {
            throw error(node, "\(what): unknown log level '\(text)' (use one of \(LogLevel.allCases.map(\.description).joined(separator: ", ")))")
        }
        return level
    }
}

/// The keys of one YAML mapping, already checked against the allowed set.
struct MappingReader {
    let reader: YAMLReader
    let node: Node
    let what: String
    let values: [String: Node]
    let keys: [String: Node]

    subscript(_ key: String) -> Node? { values[key] }

    func required(_ key: String) throws(PatternFileError) -> Node {
        guard let value = values[key] else { throw reader.error(node, "\(what): missing required key '\(key)'") }
        return value
    }

    func string(_ key: String) throws(PatternFileError) -> String? {
        guard let value = values[key] else { return nil }
        return try reader.string(value, "\(what): '\(key)'")
    }
}
