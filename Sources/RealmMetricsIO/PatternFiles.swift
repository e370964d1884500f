#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RealmMetricsCore

/// Pattern files on disk. A reference is a path (it contains `/` or ends in `.yaml`) or the name of a
/// built-in format, looked up in the pattern directories:
/// 1. `$REALM_METRICS_PATTERNS_DIR`,
/// 2. `../share/realm-metrics/patterns` next to the executable,
/// 3. the `patterns/` folder of the source tree the executable was built in: when it lies under
///    `<tree>/.build*/` and `<tree>` holds `Package.swift` and `patterns/` (a development binary
///    uses the tree's files, not those of an installed package),
/// 4. `/usr/share/realm-metrics/patterns`,
/// 5. the `patterns/` folder of the source tree the binary was compiled from, wherever it runs.
/// The first directory that holds `realm-sync-worker.yaml` is the built-in one. An include is looked
/// up next to the including file first, then as a built-in name.
public struct FilePatternProvider: PatternFileProvider {
    public let builtInDirectories: [String]

    /// The directories above, for the executable at `executablePath` (symbolic links resolved; nil
    /// leaves out 2 and 3).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                executablePath: String? = FilePatternProvider.currentExecutable()) {
        var dirs: [String] = []
        if let dir = environment["REALM_METRICS_PATTERNS_DIR"], !dir.isEmpty { dirs.append(dir) }
        if let exe = executablePath {
            let bin = (exe as NSString).deletingLastPathComponent
            dirs.append(((bin as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/realm-metrics/patterns"))
            if let tree = FilePatternProvider.sourceTree(containing: exe) {
                dirs.append((tree as NSString).appendingPathComponent("patterns"))
            }
        }
        dirs.append("/usr/share/realm-metrics/patterns")
        // Sources/RealmMetricsIO/PatternFiles.swift → <root>/patterns
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        dirs.append(source.appendingPathComponent("patterns").path)
        var seen = Set<String>()
        builtInDirectories = dirs.filter { seen.insert($0).inserted }
    }

    /// The running executable (`/proc/self/exe`), nil when it cannot be read.
    public static func currentExecutable() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    /// The source tree a build directory holds `path` for: the parent of the innermost directory of
    /// `path` whose name starts with `.build`, when that parent has `Package.swift` and `patterns/`.
    static func sourceTree(containing path: String) -> String? {
        var dir = (path as NSString).deletingLastPathComponent
        while dir != "/" && !dir.isEmpty {
            let name = (dir as NSString).lastPathComponent
            let parent = (dir as NSString).deletingLastPathComponent
            if name.hasPrefix(".build") {
                var isDir: ObjCBool = false
                let fm = FileManager.default
                if fm.fileExists(atPath: (parent as NSString).appendingPathComponent("Package.swift")),
                   fm.fileExists(atPath: (parent as NSString).appendingPathComponent("patterns"), isDirectory: &isDir), isDir.boolValue {
                    return parent
                }
                return nil
            }
            dir = parent
        }
        return nil
    }

    public init(builtInDirectories: [String]) { self.builtInDirectories = builtInDirectories }

    /// The directory that holds the built-in pattern files, if any.
    public var builtInDirectory: String? {
        builtInDirectories.first { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("realm-sync-worker.yaml")) }
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
}

/// Loads every pattern set named, turning a broken file into a `pattern-file` error.
public func loadPatternSets(_ references: [String], provider: PatternFileProvider = FilePatternProvider()) throws(RealmMetricsError) -> [PatternSet] {
    guard !references.isEmpty else { throw RealmMetricsError(.usage, "no pattern file given") }
    var sets: [PatternSet] = []
    for reference in references {
        do {
            sets.append(try PatternLoader(provider: provider).load(reference))
        } catch {
            throw RealmMetricsError(.patternFile, error.description)
        }
    }
    return sets
}
