import Testing
import Foundation
@testable import RealmMetricsIO

@Suite("Where built-in pattern names are looked up")
struct PatternLookupTests {
    static let installed = "/usr/share/realm-metrics/patterns"
    /// This repository (Tests/RealmMetricsIOTests/PatternLookupTests.swift → the root).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A directory with a source tree's marks (Package.swift, patterns/), removed when the test ends.
    final class FakeTree {
        let path = NSTemporaryDirectory() + "tree-\(UUID().uuidString)"
        init(packageSwift: Bool = true, patterns: Bool = true) throws {
            try FileManager.default.createDirectory(atPath: path + "/.build/x86_64-unknown-linux-gnu/debug", withIntermediateDirectories: true)
            if packageSwift { _ = FileManager.default.createFile(atPath: path + "/Package.swift", contents: Data("// swift-tools-version: 6.0\n".utf8)) }
            if patterns { try FileManager.default.createDirectory(atPath: path + "/patterns", withIntermediateDirectories: true) }
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    func index(_ dir: String, in dirs: [String]) -> Int? { dirs.firstIndex(of: dir) }

    @Test("this test binary, built under the tree's .build, looks in the tree's patterns/ before the installed ones")
    func thisTree() throws {
        let dirs = FilePatternProvider(environment: [:]).builtInDirectories
        let tree = try #require(index(Self.root + "/patterns", in: dirs), "\(dirs)")
        let usr = try #require(index(Self.installed, in: dirs), "\(dirs)")
        #expect(tree < usr, "\(dirs)")
    }

    @Test("a binary under <tree>/.build*/…: $REALM_METRICS_PATTERNS_DIR, ../share beside it, the tree's patterns/, /usr/share")
    func order() throws {
        let tree = try FakeTree()
        let exe = tree.path + "/.build/x86_64-unknown-linux-gnu/debug/realm-metrics"
        let dirs = FilePatternProvider(environment: ["REALM_METRICS_PATTERNS_DIR": "/opt/p"], executablePath: exe).builtInDirectories
        #expect(Array(dirs.prefix(4)) == ["/opt/p", tree.path + "/.build/x86_64-unknown-linux-gnu/share/realm-metrics/patterns", tree.path + "/patterns", Self.installed])
        // Also a scratch path of another name (.build-static).
        let other = FilePatternProvider(environment: [:], executablePath: tree.path + "/.build-static/release/realm-metrics").builtInDirectories
        #expect(Array(other.prefix(3)) == [tree.path + "/.build-static/share/realm-metrics/patterns", tree.path + "/patterns", Self.installed])
    }

    @Test("an installed binary looks in /usr/share before any source tree")
    func installedBinary() {
        let dirs = FilePatternProvider(environment: [:], executablePath: "/usr/bin/realm-metrics").builtInDirectories
        // ../share beside /usr/bin is /usr/share: named once.
        #expect(dirs.first == Self.installed, "\(dirs)")
        #expect(dirs.filter { $0 == Self.installed }.count == 1, "\(dirs)")
    }

    @Test("a .build directory is a source tree's only when Package.swift and patterns/ are beside it")
    func notATree() throws {
        for tree in [try FakeTree(packageSwift: false), try FakeTree(patterns: false)] {
            let dirs = FilePatternProvider(environment: [:], executablePath: tree.path + "/.build/x86_64-unknown-linux-gnu/debug/realm-metrics").builtInDirectories
            #expect(!dirs.contains(tree.path + "/patterns"), "\(dirs)")
        }
    }
}
