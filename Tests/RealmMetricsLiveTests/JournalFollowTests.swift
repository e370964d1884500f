import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Writes `lines` to a file and returns the replay summary of it as a statsd receiver would see it:
/// the counters that counted something (statsd is never sent a zero delta) and every gauge.
func expectedFor(_ lines: [String], in dir: TempDir, name: String, prefix: String = "realm.t") throws -> ([String: Int64], [String: Int64]) {
    let path = dir.file(name)
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    let (counters, gauges) = try replaySummary(path, prefix: prefix)
    return (counters.filter { $0.value != 0 }, gauges)
}

/// One journal entry of an export-format fixture.
struct ExportEntry {
    var identifier: String
    var pid: Int
    var seconds: Int
    var message: String
    /// `_SYSTEMD_UNIT` and `_SYSTEMD_INVOCATION_ID`, for entries of a service's processes.
    var unit: String? = nil
    var invocation: String? = nil
}

/// Builds a journal file with systemd-journal-remote from export-format entries.
func makeJournalFile(_ entries: [ExportEntry], at path: String, boot: String = "0123456789abcdef0123456789abcdef") throws {
    var text = ""
    for (i, e) in entries.enumerated() {
        let usec = UInt64(e.seconds) * 1_000_000 + UInt64(i)
        text += "__REALTIME_TIMESTAMP=\(usec)\n__MONOTONIC_TIMESTAMP=\(usec)\n_BOOT_ID=\(boot)\n"
        text += "SYSLOG_IDENTIFIER=\(e.identifier)\n_PID=\(e.pid)\nPRIORITY=6\n"
        if let unit = e.unit { text += "_SYSTEMD_UNIT=\(unit)\n" }
        if let invocation = e.invocation { text += "_SYSTEMD_INVOCATION_ID=\(invocation)\n" }
        text += "MESSAGE=\(e.message)\n\n"
    }
    try? FileManager.default.removeItem(atPath: path)
    let (status, _, err) = try sh("/lib/systemd/systemd-journal-remote --output='\(path)' -", input: Data(text.utf8))
    guard status == 0 else { throw TestFailure("systemd-journal-remote failed: \(err)") }
}

extension JournaldSuites {
@Suite("Live: journal", .serialized)
struct JournalFollowTests {
    func runArgs(_ receiver: StatsdReceiver, _ dir: TempDir, _ extra: [String]) -> [String] {
        ["run", "--statsd", "127.0.0.1:\(receiver.port)", "--flush-interval", "0.2", "--state-dir", dir.file("state"), "--prefix", "realm.t"] + extra
    }

    @Test("follows an identifier in a real journald: history rebuilds the gauges, later lines are counted, a restart resumes exactly")
    func followIdentifier() throws {
        try Journald.ensure()
        let id = "rmtest-\(UUID().uuidString.prefix(8))"
        let dir = TempDir()
        let lines = try sampleLines()
        let writer = try JournalWriter(identifier: id)
        defer { writer.close() }
        writer.write(Array(lines[0..<20]))
        #expect(waitUntil(10) { journalCount(id) >= 20 })

        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let first = try Sidecar(runArgs(receiver, dir, ["--identifier", id]), stderrPath: dir.file("err1"))
        try first.waitForStderr("rebuilt the gauges from 20 lines of history")
        #expect(first.stderr.contains("following the local journal, identifier \(id); sending statsd to 127.0.0.1:\(receiver.port) every 0.2 s as realm.t.*"))
        // Sessions and connections open before the sidecar started are reported; past counts are not.
        let (before, historyGauges) = try expectedFor(Array(lines[0..<20]), in: dir, name: "h.log")
        #expect(historyGauges["realm.t.session.online"] == 2)
        #expect(waitUntil(10) { receiver.lastGauges == historyGauges })
        #expect(receiver.counterTotals.isEmpty)

        writer.write(Array(lines[20..<40]))
        let (upTo40, gauges40) = try expectedFor(Array(lines[0..<40]), in: dir, name: "m.log")
        #expect(waitUntil(10) { receiver.counterTotals == difference(upTo40, before) && receiver.lastGauges == gauges40 },
                "got \(receiver.counterTotals)")
        #expect(first.terminate() == 0)
        #expect(first.stderr.contains("stopped after a final flush"))

        // Written while the sidecar is stopped.
        writer.write(Array(lines[40...]))
        #expect(waitUntil(10) { journalCount(id) >= lines.count })
        let second = try Sidecar(runArgs(receiver, dir, ["--identifier", id]), stderrPath: dir.file("err2"))
        let (all, finalGauges) = try expectedFor(lines, in: dir, name: "a.log")
        #expect(waitUntil(10) { receiver.counterTotals == difference(all, before) && receiver.lastGauges == finalGauges },
                "got \(receiver.counterTotals) want \(difference(all, before))")
        #expect(!second.stderr.contains("rebuilt the gauges"))
        #expect(second.terminate() == 0)
    }

    /// Follows an identifier through a fault: 20 lines of history, 20 counted live, then `fault` (which
    /// returns the writer for the rest), then the other lines; each later line must be counted once.
    func followThrough(_ name: String, fault: (_ writer: JournalWriter, _ id: String) throws -> JournalWriter) throws {
        try Journald.ensure()
        let id = "\(name)-\(UUID().uuidString.prefix(8))"
        let dir = TempDir()
        let lines = try sampleLines()
        let writer = try JournalWriter(identifier: id)
        writer.write(Array(lines[0..<20]))
        #expect(waitUntil(10) { journalCount(id) >= 20 })
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--identifier", id]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("rebuilt the gauges from 20 lines of history")
        let (before, _) = try expectedFor(Array(lines[0..<20]), in: dir, name: "h.log")
        writer.write(Array(lines[20..<40]))
        let (upTo40, gauges40) = try expectedFor(Array(lines[0..<40]), in: dir, name: "m.log")
        #expect(waitUntil(10) { receiver.counterTotals == difference(upTo40, before) && receiver.lastGauges == gauges40 })

        let rest = try fault(writer, id)
        let kept = journalCount(id)
        rest.write(Array(lines[40...]))
        // The writer stays alive until the end: a process that is gone takes its gauges with it.
        defer { rest.close() }
        #expect(waitUntil(10) { journalCount(id) >= kept + lines.count - 40 })
        let (all, finalGauges) = try expectedFor(lines, in: dir, name: "a.log")
        #expect(waitUntil(15) { receiver.counterTotals == difference(all, before) && receiver.lastGauges == finalGauges },
                "got \(receiver.counterTotals) want \(difference(all, before)); gauges \(receiver.lastGauges) want \(finalGauges)")
        // Nothing is counted twice once the follower has found its way again.
        usleep(1_000_000)
        #expect(receiver.counterTotals == difference(all, before))
        #expect(sidecar.terminate() == 0)
    }

    @Test("journald killed and started again under a running follower: later lines are counted, none twice")
    func journaldRestart() throws {
        try followThrough("rmrestart") { writer, id in
            writer.close()  // its stream to journald ends with journald anyway
            try Journald.restart()
            return try JournalWriter(identifier: id)
        }
    }

    @Test("journal files rotated and vacuumed under the follower (its entries deleted): later lines are counted, none twice")
    func vacuumed() throws {
        try followThrough("rmvacuum") { writer, id in
            // The file holding every entry read so far becomes an archive, and the archives are deleted.
            let (status, _, err) = try sh("journalctl --rotate && journalctl --vacuum-files=1")
            #expect(status == 0, "\(err)")
            #expect(journalCount(id) == 0)
            return writer
        }
    }

    @Test("a saved cursor that no longer exists: resume after its time, say so, count the gap")
    func vanishedCursor() throws {
        let dir = TempDir()
        let id = "rm-gap"
        let older = (0..<5).map { ExportEntry(identifier: id, pid: 7, seconds: 2000 + $0, message: "HTTP Connection[\($0 + 1)]: Connection from 10.0.0.1:1") }
        // One journal directory for both runs: another location would be another source (read silently).
        try FileManager.default.createDirectory(atPath: dir.file("journal"), withIntermediateDirectories: true)
        try makeJournalFile(older, at: dir.file("journal/old.journal"), boot: "11111111111111111111111111111111")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let first = try Sidecar(runArgs(receiver, dir, ["--journal-directory", dir.file("journal"), "--identifier", id]), stderrPath: dir.file("err1"))
        try first.waitForStderr("rebuilt the gauges from 5 lines")
        #expect(first.terminate() == 0)

        // The old file was vacuumed; the journal now holds entries from a time that overlaps the old ones.
        try FileManager.default.removeItem(atPath: dir.file("journal/old.journal"))
        let newer = (0..<10).map { ExportEntry(identifier: id, pid: 7, seconds: 2002 + $0, message: "HTTP Connection[\($0 + 10)]: Connection from 10.0.0.1:1") }
        try makeJournalFile(newer, at: dir.file("journal/new.journal"), boot: "22222222222222222222222222222222")
        let second = try Sidecar(runArgs(receiver, dir, ["--journal-directory", dir.file("journal"), "--identifier", id]), stderrPath: dir.file("err2"))
        try second.waitForStderr("the saved position no longer exists")
        // Entries at 2002..2004 s are not after the saved entry (2004 s): 7 remain.
        #expect(waitUntil(10) { receiver.counterTotals["realm.t.connection.started"] == 7 }, "got \(receiver.counterTotals)")
        #expect(second.terminate() == 0)
        let state = try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8)
        #expect(state.contains("\"journal_gaps\":1"))
    }

    @Test("a journal that cannot be read is a clear error")
    func noJournal() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        let (status, _, err) = try sh("'\(Repo.binary)' run --journal-directory '\(dir.file("empty"))' --state-dir '\(dir.file("s"))' --statsd 127.0.0.1:9")
        #expect(status == 1)
        #expect(err.contains("error [source]: cannot read the journal"), "\(err)")
    }
}
}
