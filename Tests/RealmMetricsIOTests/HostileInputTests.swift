import Testing
import RealmMetricsTestSupport
import Foundation
@testable import RealmMetricsIO
@testable import RealmMetricsCore

@Suite("Hostile input")
struct HostileInputTests {
    static let patternsDir = GoldenSamplesTests.patternsDir

    /// The golden sample with garbage between its lines must give exactly the golden totals.
    @Test("invalid UTF-8, NUL bytes, \\r, binary garbage and a 10 MB line change nothing that was read")
    func garbageBetweenLines() throws {
        let set = try PatternLoader(provider: FilePatternProvider(builtInDirectories: [Self.patternsDir.path])).load("realm-sync-worker")
        let pipeline = PipelineChain(patternSets: [set])
        let worker = pipeline.store.workerID("w")
        let reader = LineReader(maxLineBytes: 65536, chunkBytes: 1 << 16)
        var generator = SeededRandom(#function)
        var input: [UInt8] = []
        let sample = try String(contentsOfFile: Self.patternsDir.appendingPathComponent("realm-sync-worker.sample.log").path, encoding: .utf8)
        for line in sample.split(separator: "\n") {
            input += Array(line.utf8) + [0x0D, 0x0A]  // CRLF
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: input += [0xFF, 0xFE, 0xC0, 0x80, 0x0A]                          // invalid UTF-8
            case 1: input += Array("Sync Connection[1]: \u{0}Session[1]: Session initiated\n".utf8)  // NUL inside
            case 2: input += (0..<200).map { _ in UInt8.random(in: 0...255, using: &generator) }.filter { $0 != 0x0A } + [0x0A]
            default: break
            }
        }
        input += [UInt8](repeating: 0x41, count: 10 << 20) + [0x0A]                 // 10 MB without a newline
        input += Array("2020-05-05T12:06:00.000: Sync Connection[2]: Session[9]: Session initiated\n".utf8)
        input.withUnsafeBytes { reader.feed($0) { pipeline.process($0, $1, worker: worker) } }
        reader.finish { pipeline.process($0, $1, worker: worker) }

        let want = try String(contentsOfFile: Self.patternsDir.appendingPathComponent("realm-sync-worker.expected.json").path, encoding: .utf8)
            .replacingOccurrences(of: "\"realm.test.session.started\": 12", with: "\"realm.test.session.started\": 13")
            .replacingOccurrences(of: "\"realm.test.session.online\": 1,", with: "\"realm.test.session.online\": 2,")
            .replacingOccurrences(of: "\"realm.test.session.total\": 8", with: "\"realm.test.session.total\": 9")
        let figures = pipeline.store.takeDistributions().map { d in
            var totals = Distribution.Totals()
            totals.add(d)
            return (name: d.name, kind: d.kind, totals: totals)
        }
        #expect(SummaryEncoder.json(pipeline.store.totals(), distributions: figures, prefix: "realm.test") == want)
        #expect(reader.truncatedLines == 1)

        // The same bytes through `replay`, whose reader, matching threads and applier split the work.
        let path = NSTemporaryDirectory() + "hostile-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(input))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = ReplayConfiguration(prefix: "realm.test", files: [path])
        configuration.printSummary = true
        configuration.printStatsd = false
        configuration.threads = 3
        configuration.chunkBytes = 1 << 16
        let job = try ReplayJob(configuration: configuration, provider: FilePatternProvider(builtInDirectories: [Self.patternsDir.path]))
        let outPath = path + ".out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let fd = open(outPath, O_WRONLY)
        let report = try job.run(output: FDWriter(fd: fd))
        close(fd)
        #expect(try String(contentsOfFile: outPath, encoding: .utf8) == want)
        #expect(report.truncatedLines == 1)
        #expect(report.stats.linesRead == pipeline.stats.linesRead)
    }

    @Test("a cardinality flood (1,000,000 distinct versions) keeps at most the cap of names")
    func cardinalityFlood() throws {
        let set = try PatternLoader(provider: FilePatternProvider(builtInDirectories: [Self.patternsDir.path])).load("realm-sync-worker")
        let pipeline = PipelineChain(patternSets: [set])
        let worker = pipeline.store.workerID("w")
        for v in 0..<1_000_000 {
            Array("HTTP Connection[1]: Received: Sync HTTP request (negotiated_protocol_version=\(v))".utf8).withUnsafeBufferPointer {
                _ = pipeline.process($0.baseAddress!, $0.count, worker: worker)
            }
        }
        let names = pipeline.store.counterNames.filter { $0.hasPrefix("protocol.") && $0.hasSuffix(".used") }
        #expect(names.count == 101)
        #expect(pipeline.store.counterTotals[pipeline.store.counterID("protocol.other.used")] == 999_900)
        #expect(pipeline.stats.cardinalityOverflows == 999_900)
    }
}
