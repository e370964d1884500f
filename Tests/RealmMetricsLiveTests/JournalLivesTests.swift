import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The values of `m` times `factor`, zeros left out (as counter totals received over statsd are).
func times(_ m: [String: Int64], _ factor: Int64) -> [String: Int64] {
    m.filter { $0.value != 0 }.mapValues { $0 * factor }
}

/// Key by key sum of `a` and `b`, zeros left out unless `keepZeros` (gauges are all sent, zero or not).
func plus(_ a: [String: Int64], _ b: [String: Int64], keepZeros: Bool = false) -> [String: Int64] {
    var out = a
    for (k, v) in b { out[k, default: 0] += v }
    return keepZeros ? out : out.filter { $0.value != 0 }
}

/// The worker keys and own counts in a state file.
func stateWorkers(_ dir: TempDir) -> (workers: [String], counts: [String: Int64]) {
    guard let data = FileManager.default.contents(atPath: dir.file("state/state.json")),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return ([], [:]) }
    let metrics = object["metrics"] as? [String: Any]
    let workers = (metrics?["workers"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
    let counts = (object["counts"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.int64Value }
    return (workers, counts)
}

extension JournaldSuites {
@Suite("Live: journal worker lives", .serialized)
struct JournalLivesTests {
    func runArgs(_ receiver: StatsdReceiver, _ dir: TempDir, _ extra: [String]) -> [String] {
        ["run", "--statsd", "127.0.0.1:\(receiver.port)", "--flush-interval", "0.2", "--state-dir", dir.file("state"), "--prefix", "realm.t"] + extra
    }

    @Test("two processes under one identifier: each its own gauges, the host gauges their sum; a restart, a stop line and a process gone end only their own life")
    func twoProcesses() throws {
        try Journald.ensure()
        let id = "rmlives-\(UUID().uuidString.prefix(8))"
        let dir = TempDir()
        let lines = try sampleLines()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--identifier", id]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("rebuilt the gauges from 0 lines")

        // Both processes write the first 20 lines (the same connection and session ids), interleaved.
        let firstLife = Array(lines[0..<20])
        let (c1, g1) = try expectedFor(firstLife, in: dir, name: "first.log")
        #expect(g1["realm.t.session.online"] == 2 && g1["realm.t.connection.online"] == 2)
        let a = try JournalWriter(identifier: id)
        defer { a.close() }
        let b = try JournalWriter(identifier: id)
        for line in firstLife {
            a.write([line])
            b.write([line])
            usleep(3_000)
        }
        let doubled = g1.mapValues { $0 * 2 }
        #expect(waitUntil(15) { receiver.lastGauges == doubled && receiver.counterTotals == times(c1, 2) },
                "gauges \(receiver.lastGauges) want \(doubled); counters \(receiver.counterTotals) want \(times(c1, 2))")
        let aKey = "ident:\(id)[\(a.process.processIdentifier)]"
        let bKey = "ident:\(id)[\(b.process.processIdentifier)]"
        #expect(Set(stateWorkers(dir).workers) == [aKey, bKey])

        // B exits without a word and a new process starts with a banner: only B's gauges go.
        b.close()
        let secondLife = Array(lines[47...])
        #expect(secondLife[0].contains("Realm sync server started"))
        let (c2, g2) = try expectedFor(secondLife, in: dir, name: "second.log")
        let b2 = try JournalWriter(identifier: id)
        defer { b2.close() }
        b2.write(secondLife)
        let afterRestart = plus(g1, g2, keepZeros: true)
        #expect(waitUntil(15) { receiver.lastGauges == afterRestart && receiver.counterTotals == plus(times(c1, 2), c2) },
                "gauges \(receiver.lastGauges) want \(afterRestart); counters \(receiver.counterTotals)")
        let b2Key = "ident:\(id)[\(b2.process.processIdentifier)]"
        #expect(waitUntil(5) { Set(stateWorkers(dir).workers) == [aKey, b2Key] }, "\(stateWorkers(dir).workers)")
        let (_, status, _) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(status.contains("  \(b2Key): 1 life"), "\(status)")

        // A's stop line ends its life while its process still runs: its gauges go, and its slot.
        a.write(["2020-05-05T12:10:00.000: Realm sync server stopped"])
        #expect(waitUntil(15) { receiver.lastGauges == g2 }, "gauges \(receiver.lastGauges) want \(g2)")
        #expect(waitUntil(5) { stateWorkers(dir).workers == [b2Key] }, "\(stateWorkers(dir).workers)")

        // A helper that writes no metric line leaves nothing behind, though it keeps running.
        let helper = try JournalWriter(identifier: id)
        defer { helper.close() }
        helper.write(["2020-05-05T12:10:01.000: Reopening log file"])
        let entries = Int64(2 * firstLife.count + secondLife.count + 2)
        #expect(waitUntil(10) { (stateWorkers(dir).counts["journal_entries"] ?? 0) >= entries }, "\(stateWorkers(dir).counts)")
        #expect(stateWorkers(dir).workers == [b2Key])
        #expect(receiver.lastGauges == g2)
        #expect(sidecar.terminate() == 0)
    }

    @Test("a process that exits without a stop line: its gauges are removed at the next flush")
    func processGone() throws {
        try Journald.ensure()
        let id = "rmgone-\(UUID().uuidString.prefix(8))"
        let dir = TempDir()
        let lines = try sampleLines()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--identifier", id]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("rebuilt the gauges from 0 lines")
        let writer = try JournalWriter(identifier: id)
        writer.write(Array(lines[0..<20]))
        let (_, gauges) = try expectedFor(Array(lines[0..<20]), in: dir, name: "h.log")
        #expect(waitUntil(15) { receiver.lastGauges == gauges }, "got \(receiver.lastGauges) want \(gauges)")
        writer.close()
        let zero = gauges.mapValues { _ in Int64(0) }
        #expect(waitUntil(10) { receiver.lastGauges == zero }, "got \(receiver.lastGauges)")
        #expect(waitUntil(5) { stateWorkers(dir).workers.isEmpty }, "\(stateWorkers(dir).workers)")
        #expect(sidecar.terminate() == 0)
    }

    /// Entries of unit `rm-inv.service`: two worker processes of invocation 1 (interleaved), and, when
    /// `restart`, one process of invocation 2 (the unit restarted; the old processes wrote no stop line);
    /// with `late`, a last line of invocation 1 read after invocation 2 began, then more of invocation 2.
    func invocationEntries(restart: Bool, late: Bool = false) -> [ExportEntry] {
        let unit = "rm-inv.service", first = String(repeating: "1", count: 32), second = String(repeating: "2", count: 32)
        var entries: [ExportEntry] = []
        for pid in [100, 101] {
            entries.append(.init(identifier: "rm-inv", pid: pid, seconds: 1000, message: "Realm sync server started ([realm-core-5.23.8], [realm-sync-4.9.5])", unit: unit, invocation: first))
        }
        for c in 1...3 {
            for pid in [100, 101] where pid == 100 || c < 3 {
                entries.append(.init(identifier: "rm-inv", pid: pid, seconds: 1001, message: "HTTP Connection[\(c)]: Connection from 10.0.0.1:\(5000 + c)", unit: unit, invocation: first))
                entries.append(.init(identifier: "rm-inv", pid: pid, seconds: 1001, message: "Sync Connection[\(c)]: Session[1]: Session initiated", unit: unit, invocation: first))
            }
        }
        if restart {
            entries.append(.init(identifier: "rm-inv", pid: 200, seconds: 1002, message: "HTTP Connection[1]: Connection from 10.0.0.2:6000", unit: unit, invocation: second))
            entries.append(.init(identifier: "rm-inv", pid: 200, seconds: 1002, message: "Sync Connection[1]: Session[4]: Session initiated", unit: unit, invocation: second))
            entries.append(.init(identifier: "rm-inv", pid: 200, seconds: 1002, message: "Sync Connection[1]: Session[4]: Session terminated", unit: unit, invocation: second))
        }
        if late {
            entries.append(.init(identifier: "rm-inv", pid: 100, seconds: 1003, message: "Sync Connection[3]: Sync connection closed by client: End of input", unit: unit, invocation: first))
            entries.append(.init(identifier: "rm-inv", pid: 200, seconds: 1003, message: "HTTP Connection[2]: Connection from 10.0.0.2:6001", unit: unit, invocation: second))
        }
        return entries
    }

    @Test("journal files: processes of one invocation are summed; a new invocation of the unit ends every life of the old one (run and replay --journal)")
    func invocation() throws {
        let dir = TempDir()
        try makeJournalFile(invocationEntries(restart: false), at: dir.file("one.journal"))
        try makeJournalFile(invocationEntries(restart: true), at: dir.file("two.journal"))
        try makeJournalFile(invocationEntries(restart: true, late: true), at: dir.file("late.journal"))

        for (file, connections, sessions, workers) in [("one", 5, 5, ["unit:rm-inv.service[100]", "unit:rm-inv.service[101]"]),
                                                       ("two", 1, 0, ["unit:rm-inv.service[200]"]),
                                                       // The late line does not end the lives of the new invocation.
                                                       ("late", 2, 0, ["unit:rm-inv.service[200]"])] {
            let receiver = try StatsdReceiver()
            defer { receiver.stop() }
            let runDir = TempDir()
            let sidecar = try Sidecar(runArgs(receiver, runDir, ["--journal-file", dir.file("\(file).journal"), "--identifier", "rm-inv"]), stderrPath: runDir.file("err"))
            try sidecar.waitForStderr("rebuilt the gauges from")
            #expect(waitUntil(10) { receiver.lastGauges["realm.t.connection.online"] != nil })
            #expect(receiver.lastGauges["realm.t.connection.online"] == Int64(connections), "\(file): \(receiver.lastGauges)")
            #expect(receiver.lastGauges["realm.t.session.online"] == Int64(sessions), "\(file): \(receiver.lastGauges)")
            // No process check on journal files (another machine's processes): the lives stay.
            usleep(500_000)
            #expect(receiver.lastGauges["realm.t.connection.online"] == Int64(connections), "\(file): \(receiver.lastGauges)")
            #expect(sidecar.terminate() == 0)
            #expect(stateWorkers(runDir).workers.sorted() == workers)

            let (status, out, err) = try sh("'\(Repo.binary)' replay -q --journal --journal-file '\(dir.file("\(file).journal"))' --identifier rm-inv --prefix realm.t --summary")
            #expect(status == 0, "\(err)")
            let (_, gauges) = try parseSummary(out)
            #expect(gauges["realm.t.connection.online"] == Int64(connections), "replay \(file): \(gauges)")
            #expect(gauges["realm.t.session.online"] == Int64(sessions), "replay \(file): \(gauges)")
        }
    }

    @Test("a state file of an earlier version (one worker per unit, its _PID beside) keeps its gauges as that process's")
    func olderState() throws {
        let dir = TempDir()
        let id = "rm-old"
        try makeJournalFile([ExportEntry(identifier: id, pid: 7, seconds: 3000, message: "Sync Connection[1]: Sync connection closed by client: End of input")], at: dir.file("w.journal"))
        try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
        let old = """
            {"counts":{},"files":[],"following":"","journal":{"pids":{"ident:rm-old":7}},"savedAtMillis":1,"version":1,
             "metrics":{"counters":[],"gauges":["connection.online","session.online"],"templates":{},
              "workers":[{"key":"ident:rm-old","lives":1,"open":{"connection.online":["1"],"session.online":["1/1"]},"totals":{}}]}}
            """
        try old.write(toFile: dir.file("state/state.json"), atomically: true, encoding: .utf8)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--journal-file", dir.file("w.journal"), "--identifier", id]), stderrPath: dir.file("err"))
        // The close of process 7 closes the connection (and its session) the state held for it.
        #expect(waitUntil(10) { receiver.lastGauges["realm.t.connection.online"] == 0 && receiver.lastGauges["realm.t.session.online"] == 0 },
                "got \(receiver.lastGauges); stderr \(sidecar.stderr)")
        #expect(receiver.counterTotals["realm.t.connection.terminated"] == 1)
        #expect(sidecar.terminate() == 0)
        #expect(stateWorkers(dir).workers == ["ident:rm-old[7]"])
    }
}
}
