import Testing
import Foundation
@testable import RealmMetricsIO
@testable import RealmMetricsCore

/// The layout probe driven line by line with the built-in layouts and their sample logs.
@Suite("Layout probe")
struct LayoutProbeTests {
    static let patternsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("patterns")

    func set(_ name: String) throws -> PatternSet {
        try PatternLoader(provider: FilePatternProvider(builtInDirectories: [Self.patternsDir.path])).load(name)
    }

    func sample(_ format: String) throws -> [String] {
        try String(contentsOfFile: Self.patternsDir.appendingPathComponent("\(format).sample.log").path, encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    /// Feeds `lines` through a chain of `chosen` for one worker and through the probe; returns the
    /// findings with the line number (1-based) each came at.
    func run(_ chosen: [String], _ lines: [String], sampleSize: Int = 200) throws -> (LayoutProbe?, [(Int, LayoutProbe.Finding)]) {
        let sets = try chosen.map(set)
        let chain = PipelineChain(patternSets: sets)
        let worker = chain.store.workerID("w")
        guard let probe = LayoutProbe(chosen: sets, alternatives: try ["realm-sync-worker", "ros1", "ros2"].map(set), sampleSize: sampleSize) else {
            return (nil, [])
        }
        var findings: [(Int, LayoutProbe.Finding)] = []
        for (n, line) in lines.enumerated() {
            var bytes = Array(line.utf8)
            let count = bytes.count
            bytes.append(0)
            bytes.withUnsafeBufferPointer { b in
                let outcome = chain.process(b.baseAddress!, count, worker: worker)
                if let f = probe.observe(b.baseAddress!, count, worker: worker, outcome: outcome) { findings.append((n + 1, f)) }
            }
        }
        return (probe, findings)
    }

    func rounds(_ lines: [String], to count: Int) -> [String] {
        (0..<count).map { lines[$0 % lines.count] }
    }

    @Test("ros1 lines under the default layout: one finding at the 200th line, naming ros1; nothing after")
    func ros1UnderDefault() throws {
        let (probe, findings) = try run(["realm-sync-worker"], rounds(try sample("ros1"), to: 500))
        #expect(findings.count == 1)
        let (line, finding) = try #require(findings.first)
        #expect(line == 200)
        #expect(finding == LayoutProbe.Finding(worker: 0, chosen: ["realm-sync-worker"], recognised: 0, sample: 200, suggestion: "ros1", suggestionRecognised: 200))
        #expect(finding.message(workerKey: "file:/var/log/w.log") == "worker file:/var/log/w.log: its lines match almost nothing of the realm-sync-worker layout (0 of its first 200 lines recognised); they look like ros1 (200 of 200): try --patterns ros1")
        #expect(probe?.alternativeFormats == ["ros1", "ros2"])
        #expect(probe?.isDecided(0) == true)
    }

    @Test("worker lines under ros1 name realm-sync-worker; ros2 lines under the default name ros2")
    func otherDirections() throws {
        let (_, a) = try run(["ros1"], rounds(try sample("realm-sync-worker"), to: 200))
        #expect(a.map(\.1.suggestion) == ["realm-sync-worker"])
        #expect(a.first?.1.recognised == 0)
        let (_, b) = try run(["realm-sync-worker"], rounds(try sample("ros2"), to: 200))
        #expect(b.map(\.1.suggestion) == ["ros2"])
    }

    @Test("the right layout, lines no layout recognises, and a sample not yet complete give no finding")
    func noFinding() throws {
        for format in ["realm-sync-worker", "ros1", "ros2"] {
            let (_, findings) = try run([format], rounds(try sample(format), to: 400))
            #expect(findings.isEmpty, "\(format)")
        }
        let noise = (0..<300).map { "kernel: eth0 link up, \($0) Mbps" }
        #expect(try run(["realm-sync-worker"], noise).1.isEmpty)
        let (probe, early) = try run(["realm-sync-worker"], rounds(try sample("ros1"), to: 199))
        #expect(early.isEmpty)
        #expect(probe?.isDecided(0) == false)
    }

    @Test("the thresholds: 10 % recognised by the chosen sets is enough, half by the alternative is not")
    func thresholds() throws {
        let worker = try sample("realm-sync-worker").filter { $0.contains("Session initiated") }.first!
        let ros1 = try sample("ros1").first { $0.contains("Connection from") }!
        // 20 lines the default layout recognises among 200: not fewer than 10 %.
        let tenPercent = Array(repeating: worker, count: 20) + Array(repeating: ros1, count: 180)
        #expect(try run(["realm-sync-worker"], tenPercent).1.isEmpty)
        let justUnder = Array(repeating: worker, count: 19) + Array(repeating: ros1, count: 181)
        #expect(try run(["realm-sync-worker"], justUnder).1.map(\.1.recognised) == [19])
        // 100 ros1 lines among 200 (the rest noise): not more than half.
        let half = Array(repeating: ros1, count: 100) + Array(repeating: "noise", count: 100)
        #expect(try run(["realm-sync-worker"], half).1.isEmpty)
        let overHalf = Array(repeating: ros1, count: 101) + Array(repeating: "noise", count: 99)
        #expect(try run(["realm-sync-worker"], overHalf).1.map(\.1.suggestionRecognised) == [101])
    }

    @Test("each worker is decided on its own lines; chosen formats are no alternatives")
    func perWorker() throws {
        let sets = [try set("realm-sync-worker")]
        let chain = PipelineChain(patternSets: sets)
        let good = chain.store.workerID("good"), bad = chain.store.workerID("bad")
        let probe = try #require(LayoutProbe(chosen: sets, alternatives: try ["realm-sync-worker", "ros1"].map(set), sampleSize: 10))
        #expect(probe.alternativeFormats == ["ros1"])
        let workerLines = try sample("realm-sync-worker").filter { $0.contains("Session initiated") }
        let ros1Lines = try sample("ros1")
        var findings: [LayoutProbe.Finding] = []
        for i in 0..<20 {
            for (w, line) in [(good, workerLines[i % workerLines.count]), (bad, ros1Lines[i % ros1Lines.count])] {
                var bytes = Array(line.utf8)
                let count = bytes.count
                bytes.append(0)
                bytes.withUnsafeBufferPointer { b in
                    let outcome = chain.process(b.baseAddress!, count, worker: w)
                    if let f = probe.observe(b.baseAddress!, count, worker: w, outcome: outcome) { findings.append(f) }
                }
            }
        }
        #expect(findings.map(\.worker) == [bad])
        #expect(LayoutProbe(chosen: sets, alternatives: sets) == nil)
    }
}
