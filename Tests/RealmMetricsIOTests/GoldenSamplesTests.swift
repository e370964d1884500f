import Testing
import Foundation
@testable import RealmMetricsIO
import RealmMetricsCore

/// Every `patterns/<format>.sample.log` is replayed with its format and compared byte for byte with
/// `<format>.expected.json` (the --summary) and `<format>.expected.statsd` (the statsd lines).
/// Re-record deliberately with `make golden-record` (REALM_METRICS_RECORD_GOLDEN=1).
@Suite("Golden samples")
struct GoldenSamplesTests {
    static let patternsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("patterns")

    static var formats: [String] {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: patternsDir.path)) ?? []
        return items.filter { $0.hasSuffix(".sample.log") }.map { String($0.dropLast(".sample.log".count)) }.sorted()
    }

    @Test("every built-in layout has a sample")
    func coverage() {
        #expect(Self.formats == ["realm-sync-worker", "ros1", "ros2"])
    }

    func replay(_ format: String, summary: Bool) throws -> String {
        let sample = Self.patternsDir.appendingPathComponent("\(format).sample.log").path
        var configuration = ReplayConfiguration(prefix: "realm.test", files: [sample])
        configuration.patterns = [format]
        configuration.printSummary = summary
        configuration.printStatsd = !summary
        let job = try ReplayJob(configuration: configuration, provider: FilePatternProvider(builtInDirectories: [Self.patternsDir.path]))
        let outPath = NSTemporaryDirectory() + "golden-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let fd = open(outPath, O_WRONLY)
        _ = try job.run(output: FDWriter(fd: fd))
        close(fd)
        return try String(contentsOfFile: outPath, encoding: .utf8)
    }

    @Test("replay output equals the expected files", arguments: formats)
    func golden(format: String) throws {
        for (summary, ext) in [(true, "expected.json"), (false, "expected.statsd")] {
            let got = try replay(format, summary: summary)
            let path = Self.patternsDir.appendingPathComponent("\(format).\(ext)").path
            if ProcessInfo.processInfo.environment["REALM_METRICS_RECORD_GOLDEN"] == "1" {
                try got.write(toFile: path, atomically: true, encoding: .utf8)
                continue
            }
            let want = try String(contentsOfFile: path, encoding: .utf8)
            #expect(got == want, "\(format).\(ext) differs; inspect, then `make golden-record` if the change is intended")
        }
    }

    @Test("a user's syslog wrapper reuses the built-in format by name and gives the same metrics")
    func syslogWrapper() throws {
        let sample = try String(contentsOfFile: Self.patternsDir.appendingPathComponent("realm-sync-worker.sample.log").path, encoding: .utf8)
        // Wrap every worker line in a syslog envelope and mix in another program's lines.
        let wrapped = sample.split(separator: "\n").enumerated().map { i, line in
            "Mar  1 10:00:\(String(format: "%02d", i % 60)) db-3 realm-sync[4242]: \(line)\nMar  1 10:00:00 db-3 sshd[7]: Connection from 10.0.0.\(i) port 22"
        }.joined(separator: "\n") + "\n"
        let path = NSTemporaryDirectory() + "syslog-\(UUID().uuidString).log"
        try wrapped.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = ReplayConfiguration(prefix: "realm.test", files: [path])
        configuration.patterns = [Self.patternsDir.appendingPathComponent("examples/syslog-realm-sync-worker.yaml").path]
        configuration.printSummary = true
        configuration.printStatsd = false
        let job = try ReplayJob(configuration: configuration, provider: FilePatternProvider(builtInDirectories: [Self.patternsDir.path]))
        let outPath = NSTemporaryDirectory() + "syslog-out-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let fd = open(outPath, O_WRONLY)
        let report = try job.run(output: FDWriter(fd: fd))
        close(fd)
        let want = try String(contentsOfFile: Self.patternsDir.appendingPathComponent("realm-sync-worker.expected.json").path, encoding: .utf8)
        #expect(try String(contentsOfFile: outPath, encoding: .utf8) == want)
        #expect(report.stats.ignored == Int64(sample.split(separator: "\n").count))
    }
}
