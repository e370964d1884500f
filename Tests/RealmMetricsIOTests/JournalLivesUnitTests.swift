import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import RealmMetricsIO
@testable import RealmMetricsCore

@Suite("Journal lives and filters (no journal)")
struct JournalLivesUnitTests {
    @Test("worker keys: source and _PID, and back; file keys are not journal keys")
    func keys() {
        #expect(JournalLives.key(source: "unit:realm-sync.service", pid: 812) == "unit:realm-sync.service[812]")
        #expect(JournalLives.key(source: "ident:x", pid: nil) == "ident:x")
        #expect(JournalLives.parse("unit:realm-sync.service[812]")! == ("unit:realm-sync.service", 812))
        #expect(JournalLives.parse("ident:a[b]")! == ("ident:a[b]", nil))
        #expect(JournalLives.parse("journal[7]")! == ("journal", 7))
        #expect(JournalLives.parse("ident:x")! == ("ident:x", nil))
        #expect(JournalLives.parse("file:/var/log/w[3]") == nil)
        #expect(JournalLives.parse("explain") == nil)
    }

    /// A store with one open key for each of `keys`, and `ended` marked on those in `ended`.
    func store(_ keys: [String], open: Set<String>, ended: Set<String> = []) -> MetricStore {
        let store = MetricStore()
        let gauge = store.gaugeID("connection.online")
        for key in keys {
            let w = store.workerID(key)
            if open.contains(key) { store.open(gauge: gauge, worker: w, key: "1") }
            if ended.contains(key) { store.resetWorker(w, newLife: false) }
        }
        return store
    }

    @Test("a sweep removes journal lives that ended, hold nothing, or whose process is gone; nothing else")
    func sweep() {
        let keys = ["file:/x", "file:/y", "unit:a[1]", "unit:a[2]", "unit:a[3]", "ident:b[4]", "ident:b"]
        let s = store(keys, open: ["file:/y", "unit:a[2]", "ident:b[4]", "ident:b"], ended: ["unit:a[3]"])
        #expect(s.gaugeValue(s.gaugeID("connection.online")) == 4)
        let removed = JournalLives.sweep(s, processExists: { $0 != 4 })
        #expect(Set(removed) == ["unit:a[1]", "unit:a[3]", "ident:b[4]"])
        #expect(s.workerKeys == ["file:/x", "file:/y", "unit:a[2]", "ident:b"])
        #expect(s.gaugeValue(s.gaugeID("connection.online")) == 3)
        // Ids are looked up again after a removal: each key still finds its own state.
        for key in s.workerKeys { #expect(s.workers[s.workerID(key)].isEmpty == (key == "file:/x")) }
        #expect(s.workerKeys.count == 4)
        // Without a process check a live with state stays.
        let t = store(["ident:b[4]"], open: ["ident:b[4]"])
        #expect(JournalLives.sweep(t, processExists: nil).isEmpty)
    }

    @Test("a new invocation ends every life of its source, and only those")
    func endLives() {
        let s = store(["unit:a.service[1]", "unit:a.service[2]", "unit:ab.service[3]", "ident:a.service[4]"], open: ["unit:a.service[1]", "unit:a.service[2]", "unit:ab.service[3]", "ident:a.service[4]"])
        #expect(Set(JournalLives.endLives(of: "unit:a.service", in: s)) == ["unit:a.service[1]", "unit:a.service[2]"])
        #expect(s.workerKeys == ["unit:ab.service[3]", "ident:a.service[4]"])
        #expect(JournalLives.sources(in: s) == ["unit:ab.service", "ident:a.service"])
    }

    @Test("a start line after a stop line: the life goes on, no longer ended; the snapshot keeps ended")
    func endedSnapshot() {
        let s = store(["unit:a[1]", "unit:a[2]"], open: ["unit:a[2]"], ended: ["unit:a[1]", "unit:a[2]"])
        s.resetWorker(s.workerID("unit:a[2]"), newLife: true)
        let snapshot = s.snapshot()
        #expect(snapshot.workers.map(\.ended) == [true, nil])
        let restored = MetricStore()
        restored.restore(snapshot)
        #expect(restored.workers.map(\.ended) == [true, false])
        #expect(restored.snapshot() == snapshot)
    }

    @Test("a snapshot of an earlier version: each journal worker becomes the life of the _PID kept beside it")
    func upgrade() {
        let s = store(["unit:a.service", "ident:b", "file:/x", "unit:c.service"], open: ["unit:a.service", "ident:b", "file:/x", "unit:c.service"])
        let upgraded = JournalLives.upgrade(s.snapshot(), pids: ["unit:a.service": 10, "ident:b": 11, "file:/x": 12])
        #expect(upgraded.workers.map(\.key) == ["unit:a.service[10]", "ident:b[11]", "file:/x", "unit:c.service"])
        #expect(upgraded.workers.map(\.open) == s.snapshot().workers.map(\.open))
        #expect(JournalLives.upgrade(s.snapshot(), pids: nil) == s.snapshot())
    }

    @Test("a process check: this process exists, a reaped child does not")
    func processExists() throws {
        #expect(JournalLives.processExists(Int(getpid())))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        #expect(!JournalLives.processExists(Int(child.processIdentifier)))
        #expect(JournalLives.processExists(0))
    }

    @Test("unit names as journalctl -u takes them; globs refused")
    func unitNames() throws {
        typealias C = JournalSource.Configuration
        #expect(try C.unitName("realm-sync") == "realm-sync.service")
        #expect(try C.unitName("realm-sync.service") == "realm-sync.service")
        #expect(try C.unitName("realm-sync.socket") == "realm-sync.socket")
        #expect(try C.unitName("worker@2") == "worker@2.service")
        #expect(try C.unitName("realm.sync") == "realm.sync.service")
        #expect(try C.unitName("session-3.scope") == "session-3.scope")
        for glob in ["realm-*", "realm-sync.[st]ervice", "w?"] {
            #expect(throws: RealmMetricsError.self) { try C.unitName(glob) }
        }
        #expect(throws: RealmMetricsError.self) { try C.unitName("") }
    }

    @Test("the start line's words say how the filters combine")
    func summary() {
        typealias C = JournalSource.Configuration
        #expect(C(units: ["a.service", "b.service"], identifiers: ["c"]).summary == "the local journal, units a.service or b.service, and identifier c")
        #expect(C(units: ["a.service"]).summary == "the local journal, unit a.service")
        #expect(C(location: .directory("/j"), identifiers: ["x", "y", "z"]).summary == "the journal in /j, identifiers x, y or z")
        #expect(C(location: .files(["/f1", "/f2"])).summary == "journal files /f1, /f2")
    }
}
