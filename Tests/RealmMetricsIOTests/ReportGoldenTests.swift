import Testing
import Foundation
@testable import RealmMetricsIO
import RealmMetricsCore

/// Every `patterns/<format>.sample.log` is replayed into a report (`replay --report`, buckets of 10 s)
/// and the page's data section, the JSON between `<script type="application/json" id="report-data">`
/// and `</script>` (each on a line of its own), is compared byte for byte with
/// `<format>.expected.report.json`. The Makefile's golden-check extracts it from the binary's page the
/// same way (sed). Re-record deliberately with `make golden-record` (REALM_METRICS_RECORD_GOLDEN=1).
@Suite("Report golden samples")
struct ReportGoldenTests {
    static let patternsDir = GoldenSamplesTests.patternsDir

    /// The data section of a report page.
    static func dataSection(_ page: String) throws -> String {
        let open = "\n<script type=\"application/json\" id=\"report-data\">\n"
        let start = try #require(page.range(of: open)).upperBound
        let end = try #require(page.range(of: "\n</script>\n", range: start..<page.endIndex)).lowerBound
        return String(page[start..<end]) + "\n"
    }

    static func report(_ format: String, files: [String]? = nil, configure: (inout BackfillConfiguration) -> Void = { _ in }) throws -> String {
        var configuration = BackfillConfiguration(prefix: "realm.test")
        configuration.patterns = [format]
        configuration.files = files ?? [patternsDir.appendingPathComponent("\(format).sample.log").path]
        // The one built-in layout with local times is read as UTC, whatever the machine's zone.
        if format == "realm-sync-worker" { configuration.timeZone = "UTC" }
        let dir = NSTemporaryDirectory() + "report-golden-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        configuration.reportPath = dir + "/report.html"
        configuration.printStatsdText = false
        configure(&configuration)
        let outPath = dir + "/stdout"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let fd = open(outPath, O_WRONLY)
        defer { close(fd) }
        let job = try BackfillJob(configuration: configuration, provider: FilePatternProvider(builtInDirectories: [patternsDir.path]), output: FDWriter(fd: fd))
        _ = try job.run()
        #expect(try String(contentsOfFile: outPath, encoding: .utf8) == "", "a report alone prints nothing on standard output")
        return try String(contentsOfFile: configuration.reportPath!, encoding: .utf8)
    }

    @Test("the report's data section equals the expected file", arguments: GoldenSamplesTests.formats)
    func golden(format: String) throws {
        let got = try Self.dataSection(try Self.report(format))
        let path = Self.patternsDir.appendingPathComponent("\(format).expected.report.json").path
        if ProcessInfo.processInfo.environment["REALM_METRICS_RECORD_GOLDEN"] == "1" {
            try got.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let want = try String(contentsOfFile: path, encoding: .utf8)
        #expect(got == want, "\(format).expected.report.json differs; inspect, then `make golden-record` if the change is intended")
    }

    @Test("the report's totals are the --summary numbers", arguments: GoldenSamplesTests.formats)
    func totalsAreTheSummary(format: String) throws {
        let data = try JSONSerialization.jsonObject(with: Data(try Self.dataSection(try Self.report(format)).utf8)) as! [String: Any]
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.patternsDir.appendingPathComponent("\(format).expected.json"))) as! [String: Any]
        let totals = data["totals"] as! [String: Any]
        #expect(NSDictionary(dictionary: totals["counters"] as! [String: Any]) == NSDictionary(dictionary: (summary["counters"] as! [String: Any]).reprefixed))
        #expect(NSDictionary(dictionary: totals["gauges"] as! [String: Any]) == NSDictionary(dictionary: (summary["gauges"] as! [String: Any]).reprefixed))
    }

    @Test("one thread and several give the same report")
    func threads() throws {
        let one = try Self.report("realm-sync-worker") { $0.threads = 1 }
        let four = try Self.report("realm-sync-worker") { $0.threads = 4 }
        #expect(try Self.dataSection(one) == Self.dataSection(four))
    }

    @Test("lines before --since are left out of the report; the window's gauges start from the state they built")
    func window() throws {
        let all = try JSONSerialization.jsonObject(with: Data(try Self.dataSection(try Self.report("realm-sync-worker")).utf8)) as! [String: Any]
        let late = try JSONSerialization.jsonObject(with: Data(try Self.dataSection(try Self.report("realm-sync-worker") {
            $0.sinceMillis = 1_588_680_300_000  // 2020-05-05T12:05:00Z
        }).utf8)) as! [String: Any]
        let allTimeline = all["timeline"] as! [String: Any], lateTimeline = late["timeline"] as! [String: Any]
        #expect((lateTimeline["start"] as! Int) >= 1_588_680_300)
        #expect((allTimeline["start"] as! Int) < (lateTimeline["start"] as! Int))
        let lines = (late["unmatched"] as! [String: Any])["listed"] as! [[String: Any]]
        #expect(lines.allSatisfy { ($0["example"] as! String) >= "2020-05-05T12:05" })
    }

    @Test("with a worker per file, each gauge has one series per worker and the host series is their sum")
    func workersPerFile() throws {
        let sample = try String(contentsOf: Self.patternsDir.appendingPathComponent("ros1.sample.log"), encoding: .utf8)
        let dir = NSTemporaryDirectory() + "report-workers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The second worker's log: the same lines a day later.
        try sample.write(toFile: dir + "/a.log", atomically: true, encoding: .utf8)
        try sample.replacingOccurrences(of: "2017-02-07T", with: "2017-02-08T").write(toFile: dir + "/b.log", atomically: true, encoding: .utf8)
        let page = try Self.report("ros1", files: [dir + "/a.log", dir + "/b.log"]) { $0.workerPerFile = true }
        let data = try JSONSerialization.jsonObject(with: Data(try Self.dataSection(page).utf8)) as! [String: Any]
        let timeline = data["timeline"] as! [String: Any]
        // A day and a bit in at most 2000 buckets of a multiple of 10 s.
        let width = timeline["bucketSeconds"] as! Int, count = timeline["count"] as! Int
        #expect(width % 10 == 0 && width > 10 && count <= 2000)
        let gauges = timeline["gauges"] as! [String: [String: Any]]
        let online = try #require(gauges["connection.online"])
        let host = online["host"] as! [Any]
        let workers = online["workers"] as! [String: [Any]]
        #expect(workers.keys.sorted() == [dir + "/a.log", dir + "/b.log"])
        for i in 0..<count {
            let parts = workers.values.compactMap { $0[i] as? Int }
            #expect(host[i] as? Int == parts.reduce(0, +), "bucket \(i)")
        }
        // Both workers exist from the start (their files were opened first): b is 0 until its lines
        // come, a's last value carries on after its last line.
        #expect(workers[dir + "/b.log"]!.first as? Int == 0)
        #expect(workers[dir + "/a.log"]!.last is Int)
        // Each worker's lives are marked as the sample gives them (start, stop, start), a's a day
        // before b's.
        let marks = timeline["marks"] as! [[String: Any]]
        #expect(marks.map { "\($0["worker"] as! String) \($0["kind"] as! String)" } == ["a", "b"].flatMap { w in ["start", "stop", "start"].map { "\(dir)/\(w).log \($0)" } })
        let times = marks.map { $0["time"] as! Int }
        // A mark keeps the time of its backfill bucket (10 s), however wide the merged buckets are.
        #expect(times[3] - times[0] == 86_400)
        #expect(page.contains("class=\"legend-item\""))
    }

    @Test("a report that cannot be written is an error naming the file")
    func unwritable() throws {
        #expect {
            _ = try Self.report("ros1") { $0.reportPath = "/nonexistent-dir/report.html" }
        } throws: { error in
            (error as? RealmMetricsError).map { $0.code == .output && $0.message.contains("/nonexistent-dir/report.html") && $0.message.contains("No such file") } ?? false
        }
    }
}

private extension Dictionary where Key == String {
    /// The summary's names carry the prefix; the report's totals do not.
    var reprefixed: [String: Value] {
        Dictionary(uniqueKeysWithValues: map { (String($0.key.dropFirst("realm.test.".count)), $0.value) })
    }
}
