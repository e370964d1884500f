/// A pattern file that cannot be used: where (file, line, column, 1-based) and what is wrong.
public struct PatternFileError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Where pattern files come from. The core library reads nothing itself: the I/O library supplies the
/// file system, tests supply in-memory files.
public protocol PatternFileProvider {
    /// Resolves `reference` (a path or a built-in name) as written in `includingFile` (nil for a file
    /// named on the command line) to a canonical path, or nil when it cannot be found.
    func resolve(_ reference: String, from includingFile: String?) -> String?
    /// The text of the file at a path returned by `resolve`.
    func contents(of path: String) throws -> String
}

/// In-memory pattern files, keyed by path; includes resolve by name relative to nothing.
public struct InMemoryPatternFiles: PatternFileProvider {
    public var files: [String: String]
    public init(_ files: [String: String]) { self.files = files }
    public func resolve(_ reference: String, from includingFile: String?) -> String? {
        if files[reference] != nil { return reference }
        if files[reference + ".yaml"] != nil { return reference + ".yaml" }
        return nil
    }
    public func contents(of path: String) throws -> String {
        guard let text = files[path] else { throw PatternFileError(file: path, line: 1, column: 1, message: "no such file") }
        return text
    }
}
