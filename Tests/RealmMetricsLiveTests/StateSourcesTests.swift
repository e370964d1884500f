import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension JournaldSuites {
@Suite("Live: the state directory's lock and source set", .serialized)
struct StateSourcesTests {
    func args(_ port: UInt16, _ dir: TempDir, _ sources: [String]) -> [String] {
        ["run", "--statsd", "127.0.0.1:\(port)", "--flush-interval", "0.2", "--state-dir", dir.file("state"), "--prefix", "realm.t"] + sources
    }

    @Test("a second sidecar on the same state directory exits at once naming the first one's process; the first keeps counting, status still reads")
    func stateDirectoryInUse() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let first = try Sidecar(args(receiver.port, dir, ["--file", dir.file("w.log")]), stderrPath: dir.file("err1"))
        try first.waitForStderr("reporting from now on")

        let started = Date()
        let second = args(receiver.port, dir, ["--file", dir.file("w.log")]).map { "'\($0)'" }.joined(separator: " ")
        let (status, _, err) = try sh("timeout -s KILL 10 '\(Repo.binary)' \(second)")
        #expect(status == 2, "exit status \(status); stderr: \(err)")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(err.contains("error [usage]: state directory \(dir.file("state")) is in use by process \(first.process.processIdentifier)"), "\(err)")
        #expect(first.process.isRunning)

        // status only reads: it works while the sidecar holds the directory.
        let (statusCode, out, statusErr) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(statusCode == 0, "\(statusErr)")
        #expect(out.contains("following files \(dir.file("w.log"))"))

        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters && receiver.lastGauges == gauges }, "got \(receiver.counterTotals)")
        #expect(first.terminate() == 0)
        // Counted once: nothing more arrives after the first one stopped.
        usleep(400_000)
        #expect(receiver.counterTotals == counters)
    }

    @Test("a lock file that cannot be opened does not stop the sidecar: it warns, runs, and status shows the warning")
    func lockUnavailable() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        try FileManager.default.createDirectory(atPath: dir.file("state/lock"), withIntermediateDirectories: true)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(args(receiver.port, dir, ["--file", dir.file("w.log")]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        let warning = "warning: cannot lock the state directory (\(dir.file("state/lock")): cannot open: Is a directory); running without the lock"
        #expect(sidecar.stderr.contains(warning), "\(sidecar.stderr)")
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        let (counters, _) = try expectedFor(try sampleLines(), in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters })
        #expect(sidecar.terminate() == 0)
        let (_, out, _) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(out.contains("warnings:\n  cannot lock the state directory"), "\(out)")
    }

    /// Gauges of several workers' lines: the host's gauges are the sum over its workers.
    func summedGauges(_ parts: [[String: Int64]]) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for part in parts { for (k, v) in part { out[k, default: 0] += v } }
        return out
    }

    @Test("the journal filter fixed between runs: the new identifier's history rebuilds the gauges and is not counted; its later lines are")
    func identifierFixed() throws {
        try Journald.ensure()
        let tag = UUID().uuidString.prefix(8)
        let wrong = "rmwrong-\(tag)", right = "rmright-\(tag)"
        let dir = TempDir()
        let lines = try sampleLines()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let first = try Sidecar(args(receiver.port, dir, ["--identifier", wrong]), stderrPath: dir.file("err1"))
        try first.waitForStderr("reporting from now on")
        #expect(first.terminate() == 0)

        // Written while no sidecar runs, under the identifier the next run follows.
        let writer = try JournalWriter(identifier: right)
        defer { writer.close() }
        writer.write(Array(lines[0..<20]))
        #expect(waitUntil(10) { journalCount(right) >= 20 })

        let second = try Sidecar(args(receiver.port, dir, ["--identifier", right]), stderrPath: dir.file("err2"))
        let (history, historyGauges) = try expectedFor(Array(lines[0..<20]), in: dir, name: "h.log")
        #expect(historyGauges["realm.t.session.online"] == 2)
        #expect(waitUntil(10) { receiver.lastGauges == historyGauges }, "gauges \(receiver.lastGauges)")
        usleep(400_000)  // two more flushes: a count of the history would have arrived by now
        #expect(receiver.counterTotals.isEmpty, "history counted as new: \(receiver.counterTotals)")
        #expect(second.stderr.contains("realm-metrics: new source since the last run: identifier \(right); read its history silently (20 lines: gauges rebuilt, nothing counted)"), "\(second.stderr)")

        writer.write(Array(lines[20..<40]))
        let (upTo40, gauges40) = try expectedFor(Array(lines[0..<40]), in: dir, name: "m.log")
        #expect(waitUntil(10) { receiver.counterTotals == difference(upTo40, history) && receiver.lastGauges == gauges40 },
                "got \(receiver.counterTotals) want \(difference(upTo40, history))")
        #expect(second.terminate() == 0)

        // The source set is now the state's: a third run resumes and counts what came while stopped.
        writer.write(Array(lines[40...]))
        #expect(waitUntil(10) { journalCount(right) >= lines.count })
        let third = try Sidecar(args(receiver.port, dir, ["--identifier", right]), stderrPath: dir.file("err3"))
        let (all, allGauges) = try expectedFor(lines, in: dir, name: "a.log")
        #expect(waitUntil(10) { receiver.counterTotals == difference(all, history) && receiver.lastGauges == allGauges },
                "got \(receiver.counterTotals) want \(difference(all, history))")
        #expect(!third.stderr.contains("new source"))
        #expect(third.terminate() == 0)
    }

    @Test("a second --file glob added whose file already has content: none of it is counted, lines appended to it are; the first glob's file resumes and counts")
    func globAdded() throws {
        let dir = TempDir()
        let lines = try sampleLines()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(dir.file("a.log"), "")
        let first = try Sidecar(args(receiver.port, dir, ["--file", dir.file("a.log")]), stderrPath: dir.file("err1"))
        try first.waitForStderr("reporting from now on")
        appendText(dir.file("a.log"), lines[0..<20].joined(separator: "\n") + "\n")
        // The summary lists every declared counter, untouched ones as 0; only those that moved arrive.
        let a20 = difference(try expectedFor(Array(lines[0..<20]), in: dir, name: "a20.log").0, [:])
        #expect(waitUntil(10) { receiver.counterTotals == a20 }, "got \(receiver.counterTotals) want \(a20)")
        #expect(first.terminate() == 0)

        // While stopped: more lines in the followed file (to be counted), and a file with history that
        // only the new glob names (not to be counted).
        appendText(dir.file("a.log"), lines[20..<40].joined(separator: "\n") + "\n")
        appendText(dir.file("b-1.log"), lines[0..<30].joined(separator: "\n") + "\n")
        let second = try Sidecar(args(receiver.port, dir, ["--file", dir.file("a.log"), "--file", dir.file("b-*.log")]), stderrPath: dir.file("err2"))
        let (a40Summary, a40Gauges) = try expectedFor(Array(lines[0..<40]), in: dir, name: "a40.log")
        let a40 = difference(a40Summary, [:])
        let (b30, b30Gauges) = try expectedFor(Array(lines[0..<30]), in: dir, name: "b30.log")
        let gauges = summedGauges([a40Gauges, b30Gauges])
        #expect(waitUntil(10) { receiver.lastGauges == gauges }, "gauges \(receiver.lastGauges) want \(gauges)")
        usleep(400_000)
        #expect(receiver.counterTotals == a40, "got \(receiver.counterTotals) want \(a40)")
        #expect(second.stderr.contains("realm-metrics: new source since the last run: glob \(dir.file("b-*.log")) (1 file); read its history silently (30 lines: gauges rebuilt, nothing counted)"), "\(second.stderr)")

        appendText(dir.file("b-1.log"), lines[30...].joined(separator: "\n") + "\n")
        let (bAll, bAllGauges) = try expectedFor(lines, in: dir, name: "ball.log")
        var want = a40
        for (k, v) in difference(bAll, b30) { want[k, default: 0] += v }
        #expect(waitUntil(10) { receiver.counterTotals == want && receiver.lastGauges == summedGauges([a40Gauges, bAllGauges]) },
                "got \(receiver.counterTotals) want \(want)")
        #expect(second.terminate() == 0)
    }

    @Test("another journal location between runs: the saved cursor is dropped, the new journal's history rebuilds the gauges (the old journal's workers are gone) and nothing of it is counted")
    func journalLocationChanged() throws {
        let dir = TempDir()
        let id = "rm-location"
        let old = (0..<5).map { ExportEntry(identifier: id, pid: 7, seconds: 3000 + $0, message: "HTTP Connection[\($0 + 1)]: Connection from 10.0.0.1:1") }
        try makeJournalFile(old, at: dir.file("a.journal"), boot: "33333333333333333333333333333333")
        let new = (0..<10).map { ExportEntry(identifier: id, pid: 8, seconds: 4000 + $0, message: "HTTP Connection[\($0 + 10)]: Connection from 10.0.0.2:1") }
        try makeJournalFile(new, at: dir.file("b.journal"), boot: "44444444444444444444444444444444")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let first = try Sidecar(args(receiver.port, dir, ["--journal-file", dir.file("a.journal"), "--identifier", id]), stderrPath: dir.file("err1"))
        try first.waitForStderr("rebuilt the gauges from 5 lines")
        #expect(waitUntil(10) { receiver.lastGauges["realm.t.connection.online"] == 5 })
        #expect(first.terminate() == 0)

        let second = try Sidecar(args(receiver.port, dir, ["--journal-file", dir.file("b.journal"), "--identifier", id]), stderrPath: dir.file("err2"))
        #expect(waitUntil(10) { receiver.lastGauges["realm.t.connection.online"] == 10 }, "\(receiver.lastGauges)")
        usleep(400_000)
        #expect(receiver.counterTotals.isEmpty, "\(receiver.counterTotals)")
        #expect(second.stderr.contains("realm-metrics: new source since the last run: journal files \(dir.file("b.journal")); read its history silently (10 lines: gauges rebuilt, nothing counted)"), "\(second.stderr)")
        #expect(!second.stderr.contains("the saved position no longer exists"))
        #expect(second.terminate() == 0)
        let state = try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8)
        // The new journal's process is the only life left; the old journal's is gone.
        #expect(state.contains("ident:rm-location[8]") && !state.contains("ident:rm-location[7]"), "\(state)")
        #expect(state.contains("\"journal_gaps\":0"))
    }
}
}
