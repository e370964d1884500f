import Foundation
import Testing

/// `replay --report --journal`: journal lives (one per process) as the report's workers, with their
/// lives marked. Reads journal files built by systemd-journal-remote (`--journal-file`), not the
/// journald.
@Suite("Live: report of journal files")
struct ReportJournalTests {
    @Test("each process is a worker with its own gauge series; a process that appears later is marked, start banners and stop lines too")
    func lives() throws {
        let dir = TempDir()
        let unit = "rm-rep.service", first = String(repeating: "1", count: 32), second = String(repeating: "2", count: 32)
        var entries: [ExportEntry] = []
        for pid in [100, 101] {
            entries.append(.init(identifier: "rm-rep", pid: pid, seconds: 1000, message: "Realm sync server started ([realm-core-5.23.8], [realm-sync-4.9.5])", unit: unit, invocation: first))
        }
        for c in 1...3 {
            for pid in [100, 101] where pid == 100 || c < 3 {
                entries.append(.init(identifier: "rm-rep", pid: pid, seconds: 1001 + c, message: "HTTP Connection[\(c)]: Connection from 10.0.0.1:\(5000 + c)", unit: unit, invocation: first))
            }
        }
        entries.append(.init(identifier: "rm-rep", pid: 101, seconds: 1030, message: "Realm sync server stopped", unit: unit, invocation: first))
        // The unit restarted: a process of a new invocation, without a start banner.
        entries.append(.init(identifier: "rm-rep", pid: 200, seconds: 1060, message: "HTTP Connection[1]: Connection from 10.0.0.2:6000", unit: unit, invocation: second))
        entries.append(.init(identifier: "rm-rep", pid: 200, seconds: 1075, message: "something no rule knows, 'quoted' <b>", unit: unit, invocation: second))
        try makeJournalFile(entries, at: dir.file("w.journal"))

        let (status, _, err) = try sh("'\(Repo.binary)' replay -q --journal --journal-file '\(dir.file("w.journal"))' --identifier rm-rep --prefix realm.t --bucket 10 --report '\(dir.file("r.html"))'")
        #expect(status == 0, "\(err)")
        let page = try String(contentsOfFile: dir.file("r.html"), encoding: .utf8)
        let start = try #require(page.range(of: "<script type=\"application/json\" id=\"report-data\">\n")).upperBound
        let end = try #require(page.range(of: "\n</script>", range: start..<page.endIndex)).lowerBound
        let data = try JSONSerialization.jsonObject(with: Data(page[start..<end].utf8)) as! [String: Any]
        let timeline = data["timeline"] as! [String: Any]
        #expect(timeline["start"] as? Int == 1000 && timeline["bucketSeconds"] as? Int == 10)
        let online = (timeline["gauges"] as! [String: [String: Any]])["connection.online"]!
        let workers = online["workers"] as! [String: [Any]]
        let w100 = "unit:rm-rep.service[100]", w101 = "unit:rm-rep.service[101]", w200 = "unit:rm-rep.service[200]"
        #expect(Set(workers.keys) == [w100, w101, w200], "\(workers.keys)")
        // Bucket 0 (1000-1009): 100 has 3 connections, 101 has 2; 101 stopped at 1030; 200 from 1060.
        #expect(workers[w100]?.first as? Int == 3)
        #expect(workers[w101]?.first as? Int == 2)
        #expect(workers[w101]?[3] as? Int == 0)
        #expect(workers[w200]?.first is NSNull)
        #expect(workers[w200]?[6] as? Int == 1)
        let host = online["host"] as! [Any]
        #expect(host.first as? Int == 5)
        let marks = (timeline["marks"] as! [[String: Any]]).map { "\($0["time"] as! Int) \($0["worker"] as! String) \($0["kind"] as! String)" }
        #expect(marks.contains("1000 \(w100) start") && marks.contains("1000 \(w101) start"), "\(marks)")
        #expect(marks.contains("1030 \(w101) stop"), "\(marks)")
        #expect(marks.contains("1060 \(w200) appeared"), "\(marks)")
        let unmatched = (data["unmatched"] as! [String: Any])["listed"] as! [[String: Any]]
        #expect(unmatched.map { $0["shape"] as! String } == ["something no rule knows, '…' <b>"])
        #expect(!page.contains("<b>"))
    }
}
