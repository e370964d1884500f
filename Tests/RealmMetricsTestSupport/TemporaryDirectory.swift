import Foundation

/// A fresh directory under the system's temporary directory, removed with everything in it when the
/// object is dropped.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    /// `label` starts the directory's name (to tell whose it is when one is left behind).
    public init(_ label: String = "rm-test") {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` in the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Appends `text` to `name` (created when missing); returns its path.
    @discardableResult
    public func append(_ name: String, _ text: String) -> String {
        let p = file(name)
        if !FileManager.default.fileExists(atPath: p) { _ = FileManager.default.createFile(atPath: p, contents: nil) }
        let handle = FileHandle(forWritingAtPath: p)!
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
        return p
    }

    /// Appends each of `lines` with its newline to `name`; returns its path.
    @discardableResult
    public func append(_ name: String, lines: [String]) -> String {
        append(name, lines.map { $0 + "\n" }.joined())
    }
}
