import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension JournaldSuites {
@Suite("Live: journal filters", .serialized)
struct JournalFilterTests {
    func runArgs(_ receiver: StatsdReceiver, _ dir: TempDir, _ extra: [String]) -> [String] {
        ["run", "--statsd", "127.0.0.1:\(receiver.port)", "--flush-interval", "0.2", "--state-dir", dir.file("state"), "--prefix", "realm.t"] + extra
    }

    func status(_ dir: TempDir) throws -> String {
        let (code, out, err) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        guard code == 0 else { throw TestFailure("status failed: \(err)") }
        return out
    }

    @Test("a filter that matches no entry in the whole journal is a warning (stderr and status) until entries arrive")
    func noEntry() throws {
        try Journald.ensure()
        let id = "rmtypo-\(UUID().uuidString.prefix(8))"
        let dir = TempDir()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--identifier", id]), stderrPath: dir.file("err"))
        let warning = "warning: no entry in the local journal matches identifier \(id): nothing is counted until one arrives; no entry at all has SYSLOG_IDENTIFIER=\(id)"
        try sidecar.waitForStderr(warning)
        #expect(sidecar.stderr.components(separatedBy: "warning:").count == 2, "warned more than once: \(sidecar.stderr)")
        #expect(waitUntil(5) { (try? status(dir))?.contains("warnings:\n  no entry in the local journal matches identifier \(id)") == true },
                "\((try? status(dir)) ?? "")")

        let writer = try JournalWriter(identifier: id)
        defer { writer.close() }
        writer.write(["2020-05-05T12:00:01.000: HTTP Connection[1]: Connection from 127.0.0.1:40070"])
        try sidecar.waitForStderr("journal: entries matching identifier \(id) arrive now")
        #expect(waitUntil(10) { receiver.counterTotals["realm.t.connection.started"] == 1 })
        #expect(waitUntil(5) { (try? status(dir)).map { !$0.contains("warnings:") } == true }, "\((try? status(dir)) ?? "")")
        #expect(sidecar.terminate() == 0)
        #expect(sidecar.stderr.components(separatedBy: "warning:").count == 2, "\(sidecar.stderr)")
    }

    @Test("one named value that no entry has is a warning of its own, though the others match")
    func oneValueWithoutEntries() throws {
        try Journald.ensure()
        let good = "rmgood-\(UUID().uuidString.prefix(8))", typo = "rmtypo-\(UUID().uuidString.prefix(8))"
        let writer = try JournalWriter(identifier: good)
        writer.write(["2020-05-05T12:00:01.000: HTTP Connection[1]: Connection from 127.0.0.1:40070"])
        writer.close()
        #expect(waitUntil(10) { journalCount(good) >= 1 })
        let dir = TempDir()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--identifier", good, "--identifier", typo]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("warning: no entry in the local journal has SYSLOG_IDENTIFIER=\(typo) (--identifier \(typo)): nothing of it is counted; is the name right?")
        #expect(!sidecar.stderr.contains("SYSLOG_IDENTIFIER=\(good)"))
        #expect(!sidecar.stderr.contains("matches identifiers"))
        #expect(waitUntil(5) { (try? status(dir))?.contains("  no entry in the local journal has SYSLOG_IDENTIFIER=\(typo)") == true })

        let late = try JournalWriter(identifier: typo)
        defer { late.close() }
        late.write(["2020-05-05T12:00:02.000: HTTP Connection[2]: Connection from 127.0.0.1:40071"])
        try sidecar.waitForStderr("journal: entries with SYSLOG_IDENTIFIER=\(typo) arrive now")
        #expect(waitUntil(5) { (try? status(dir)).map { !$0.contains("warnings:") } == true }, "\((try? status(dir)) ?? "")")
        #expect(sidecar.terminate() == 0)
    }

    @Test("--unit realm-sync means realm-sync.service, as journalctl -u takes it: in the start line and in what is followed (run and replay)")
    func unitSuffix() throws {
        let dir = TempDir()
        var entries: [ExportEntry] = []
        for c in 1...3 {
            entries.append(.init(identifier: "realm-sync-worker", pid: 10, seconds: 1000 + c, message: "HTTP Connection[\(c)]: Connection from 10.0.0.1:\(5000 + c)", unit: "rm-unit.service", invocation: String(repeating: "a", count: 32)))
        }
        entries.append(.init(identifier: "realm-sync-worker", pid: 11, seconds: 1010, message: "HTTP Connection[9]: Connection from 10.0.0.1:1", unit: "rm-unit.socket", invocation: String(repeating: "b", count: 32)))
        try makeJournalFile(entries, at: dir.file("u.journal"))

        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--journal-file", dir.file("u.journal"), "--unit", "rm-unit"]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("rebuilt the gauges from 3 lines")
        #expect(sidecar.stderr.contains("following journal files \(dir.file("u.journal")), unit rm-unit.service; sending statsd"), "\(sidecar.stderr)")
        #expect(waitUntil(10) { receiver.lastGauges["realm.t.connection.online"] == 3 }, "\(receiver.lastGauges)")
        #expect(!sidecar.stderr.contains("warning"), "\(sidecar.stderr)")
        #expect(sidecar.terminate() == 0)

        // Among several units, one that no entry has is a warning; the default units are alternatives
        // (a host runs one of them) and are not warned about one by one.
        let other = TempDir()
        let several = try Sidecar(runArgs(receiver, other, ["--journal-file", dir.file("u.journal"), "--unit", "rm-unit", "--unit", "realm-object-server", "--unit", "rm-typo"]),
                                  stderrPath: other.file("err"))
        try several.waitForStderr("warning: no entry in journal files \(dir.file("u.journal")) has _SYSTEMD_UNIT=rm-typo.service (--unit rm-typo.service)")
        #expect(several.terminate() == 0)
        #expect(!several.stderr.contains("realm-object-server.service ("), "\(several.stderr)")
        #expect(several.stderr.components(separatedBy: "warning:").count == 2, "\(several.stderr)")

        let (status, out, err) = try sh("'\(Repo.binary)' replay -q --journal --journal-file '\(dir.file("u.journal"))' --unit rm-unit --prefix realm.t --summary")
        #expect(status == 0, "\(err)")
        #expect(try parseSummary(out).1["realm.t.connection.online"] == 3, "\(out)")
        // A name with a unit type keeps it.
        let (status2, out2, _) = try sh("'\(Repo.binary)' replay -q --journal --journal-file '\(dir.file("u.journal"))' --unit rm-unit.socket --prefix realm.t --summary")
        #expect(status2 == 0)
        #expect(try parseSummary(out2).1["realm.t.connection.online"] == 1, "\(out2)")
    }

    @Test("the start line says how filters combine; unit names from the configuration file get .service too; globs are refused")
    func startLine() throws {
        let dir = TempDir()
        try makeJournalFile([.init(identifier: "c", pid: 1, seconds: 1000, message: "Reopening log file", unit: "a.service")], at: dir.file("s.journal"))
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let journal = dir.file("s.journal")
        let sidecar = try Sidecar(runArgs(receiver, dir, ["--journal-file", journal, "--unit", "a", "--unit", "b.socket", "--unit", "d@1", "--identifier", "c"]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("following journal files \(journal), units a.service, b.socket or d@1.service, and identifier c; sending statsd")
        #expect(sidecar.terminate() == 0)

        try "unit: [realm-sync, realm-object-server]\nidentifier: [x, y]\njournal_file: ['\(journal)']\n".write(toFile: dir.file("c.yaml"), atomically: true, encoding: .utf8)
        let other = TempDir()
        let fromFile = try Sidecar(runArgs(receiver, other, ["--config", dir.file("c.yaml")]), stderrPath: other.file("err"))
        try fromFile.waitForStderr("following journal files \(journal), units realm-sync.service or realm-object-server.service, and identifiers x or y; sending statsd")
        #expect(fromFile.terminate() == 0)

        let (status, _, err) = try sh("'\(Repo.binary)' run --journal-file '\(journal)' --unit 'realm-*' --state-dir '\(dir.file("s3"))' --statsd 127.0.0.1:9")
        #expect(status == 64, "\(err)")
        #expect(err.contains("--unit 'realm-*': globs are not supported (journal matches take exact unit names): name each unit"), "\(err)")
        let (rstatus, _, rerr) = try sh("'\(Repo.binary)' replay --journal --journal-file '\(journal)' --unit 'realm-sync.[st]*'")
        #expect(rstatus == 64, "\(rerr)")
        #expect(rerr.contains("globs are not supported"), "\(rerr)")
    }
}
}
