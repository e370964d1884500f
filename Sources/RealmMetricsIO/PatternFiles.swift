#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RealmMetricsCore

/// Pattern files on disk. A reference is a path (it contains `/` or ends in `.yaml`) or the name of a
/// built-in format, looked up in the pattern directories:
/// 1. `$REALM_METRICS_PATTERNS_DIR`,
/// 2. `../share/realm-metrics/patterns` next to the executable,
/// 3. `/usr/share/realm-metrics/patterns`,
/// 4. the `patterns/` folder of the source tree the binary was built from.
/// An include is looked up next to the including file first, then as a built-in name.
public struct FilePatternProvider: PatternFileProvider {
    public let builtInDirectories: [String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var dirs: [String] = []
        if let dir = environment["REALM_METRICS_PATTERNS_DIR"], !dir.isEmpty { dirs.append(dir) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let bin = (exe as NSString).deletingLastPathComponent
            dirs.append(((bin as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/realm-metrics/patterns"))
        }
        dirs.append("/usr/share/realm-metrics/patterns")
        // Sources/RealmMetricsIO/PatternFiles.swift → <root>/patterns
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        dirs.append(source.appendingPathComponent("patterns").path)
        builtInDirectories = dirs
    }

    public init(builtInDirectories: [String]) { self.builtInDirectories = builtInDirectories }

    /// The directory that holds the built-in pattern files, if any.
    public var builtInDirectory: String? {
        builtInDirectories.first { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("realm-sync-worker.yaml")) }
    }

    /// Names of the built-in formats (files of the built-in directory that have an envelope or rules).
    public var builtInNames: [String] {
        guard let dir = builtInDirectory, let items = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return items.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    public func resolve(_ reference: String, from includingFile: String?) -> String? {
        let looksLikePath = reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml")
        var candidates: [String] = []
        if let includingFile {
            let dir = (includingFile as NSString).deletingLastPathComponent
            candidates.append((dir as NSString).appendingPathComponent(reference))
            if !looksLikePath { candidates.append((dir as NSString).appendingPathComponent(reference + ".yaml")) }
        } else if looksLikePath {
            candidates.append(reference)
        }
        if !looksLikePath || includingFile != nil {
            let name = looksLikePath ? (reference as NSString).lastPathComponent : reference + ".yaml"
            if let dir = builtInDirectory { candidates.append((dir as NSString).appendingPathComponent(name)) }
        }
        for candidate in candidates {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue {
                return realPath(candidate)
            }
        }
        return nil
    }

    public func contents(of path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PatternFileError(file: path, line: 1, column: 1, message: "cannot read the file (\(String(cString: strerror(errno))))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PatternFileError(file: path, line: 1, column: 1, message: "the file is not valid UTF-8")
        }
        return text
    }

    func realPath(_ path: String) -> String {
        guard let resolved = Glibc.realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Loads a pattern set by reference.
    public func load(_ reference: String) throws(PatternFileError) -> PatternSet {
        try PatternLoader(provider: self).load(reference)
    }
}

/// The host name, from `gethostname`.
public func currentHostname() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
