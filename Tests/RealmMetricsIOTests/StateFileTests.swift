import Testing
import Foundation
@testable import RealmMetricsIO
@testable import RealmMetricsCore

@Suite("State file")
struct StateFileTests {
    func tempDir() -> String {
        let p = NSTemporaryDirectory() + "state-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    func sampleState() throws -> SidecarState {
        let set = try PatternLoader(provider: InMemoryPatternFiles(["m.yaml": """
            rules:
              - name: open
                match: '^open (?<k>\\w+)'
                actions: [{count: opened}, {open: online, key: '{k}'}, {count: 'v.{k}.x'}]
              - name: bytes
                match: '^bytes (?<n>\\d+)'
                actions: [{add: total, by: n}]
            """])).load("m.yaml")
        let pipeline = LinePipeline(patterns: set)
        let w = pipeline.store.workerID("unit:a")
        for line in ["open a", "open b", "bytes 40"] {
            Array(line.utf8).withUnsafeBufferPointer { _ = pipeline.process($0.baseAddress!, $0.count, worker: w) }
        }
        var sent = DeltaTracker()
        _ = sent.deltas(pipeline.store.totals())
        Array("open c".utf8).withUnsafeBufferPointer { _ = pipeline.process($0.baseAddress!, $0.count, worker: w) }
        return SidecarState(savedAtMillis: 1, journal: .init(cursor: "s=1;t=abc", invocations: ["unit:a": "0123456789abcdef0123456789abcdef"]),
                            files: [FilePosition(path: "/x", device: 1, inode: 2, fingerprint: "61", offset: 9)],
                            metrics: pipeline.store.snapshot(sent: sent.sent), counts: ["lines_read": 4], following: "f", lastError: nil)
    }

    @Test("save then load gives the same state, and a restored store continues exactly")
    func roundTrip() throws {
        let dir = tempDir()
        let file = StateFile(directory: dir)
        let state = try sampleState()
        try file.save(state)
        let loaded = try #require(try file.load())
        #expect(loaded == state)
        let store = MetricStore()
        store.restore(loaded.metrics)
        #expect(store.snapshot(sent: loaded.metrics.sent) == state.metrics)
        #expect(store.gaugeValue(store.gaugeID("online")) == 3)
        #expect(store.gaugeValue(store.gaugeID("total")) == 40)
        // Only what came after the last flush is still to be sent.
        var tracker = DeltaTracker(sent: loaded.metrics.sent)
        let pending = tracker.deltas(store.totals()).filter { $0.kind == .counter }
        #expect(pending == [MetricSample(name: "opened", kind: .counter, value: 1), MetricSample(name: "v.c.x", kind: .counter, value: 1)])
        #expect(!FileManager.default.fileExists(atPath: file.path + ".tmp"))
    }

    @Test("a damaged state file is refused with a reason and can be kept aside")
    func damaged() throws {
        let dir = tempDir()
        let file = StateFile(directory: dir)
        try "{\"version\": 1, \"savedAt".write(toFile: file.path, atomically: true, encoding: .utf8)
        #expect(throws: StateFile.Damaged.self) { try file.load() }
        let aside = try #require(file.moveAside(now: 5000))
        #expect(aside == file.path + ".damaged-5")
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(try file.load() == nil)
    }

    @Test("a state that exists but cannot be opened is an error, not \"no state\"; a missing directory or file is no state")
    func unreadable() throws {
        let dir = tempDir()
        #expect(try StateFile(directory: dir + "/missing").load() == nil)
        #expect(try StateFile(directory: dir).load() == nil)
        // A state directory that is a file: open(2) says ENOTDIR (EACCES is tested as an unprivileged
        // user in the command-line tests; root reads through permissions).
        try "x".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        #expect {
            try StateFile(directory: dir + "/plain").load()
        } throws: { error in
            (error as? StateFile.Unreadable).map { $0.code == ENOTDIR && !$0.permissionDenied && "\($0)".contains("Not a directory") } ?? false
        }
        #expect(StateFile.Unreadable(path: "/s/state.json", code: EACCES).description.hasPrefix("/s/state.json: permission denied: "))
    }

    @Test("a state directory that cannot be written gives an error and keeps the old state intact")
    func readOnly() throws {
        let dir = tempDir()
        let file = StateFile(directory: dir)
        let state = try sampleState()
        try file.save(state)
        // A directory where the temporary file should go makes the write fail even for root.
        try FileManager.default.createDirectory(atPath: file.path + ".tmp", withIntermediateDirectories: true)
        var changed = state
        changed.savedAtMillis = 99
        #expect(throws: RealmMetricsError.self) { try file.save(changed) }
        #expect(try file.load() == state)
    }
}
