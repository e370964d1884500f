import Testing
import Foundation
@testable import RealmMetricsIO
@testable import RealmMetricsCore

@Suite("Source set of the state")
struct SourceSetTests {
    func journal(_ location: Journal.Location = .local, units: [String] = [], identifiers: [String] = []) -> JournalSource.Configuration {
        JournalSource.Configuration(location: location, units: units, identifiers: identifiers)
    }

    @Test("a state without a source set (older versions) matches any run: nothing is new")
    func olderState() throws {
        let current = SourceSet(journal: journal(identifiers: ["right"]), globs: ["/x/*.log"])
        #expect(current.changes(since: nil).isEmpty)
        // Such a state has no `sources` key and loads with none.
        let json = #"{"version":1,"savedAtMillis":1,"files":[],"metrics":{"counters":[],"gauges":[],"workers":[],"templates":{}},"counts":{},"following":"f"}"#
        let state = try JSONDecoder().decode(SidecarState.self, from: Data(json.utf8))
        #expect(state.sources == nil)
    }

    @Test("the same sources in another order are the same; each new unit, identifier, location and glob is named")
    func changes() {
        let saved = SourceSet(journal: journal(units: ["a.service", "b.service"], identifiers: ["wrong"]), globs: ["/x/a.log"])
        let same = SourceSet(journal: journal(units: ["b.service", "a.service", "a.service"], identifiers: ["wrong"]), globs: ["/x/a.log"])
        #expect(same.changes(since: saved).isEmpty)

        let fixed = SourceSet(journal: journal(units: ["a.service", "b.service"], identifiers: ["right"]), globs: ["/x/a.log", "/y/*.log"])
        let changes = fixed.changes(since: saved)
        #expect(changes.journal)
        #expect(changes.journalItems == ["identifier right"])
        #expect(changes.newGlobs == ["/y/*.log"])

        let moved = SourceSet(journal: journal(.directory("/j"), units: ["a.service", "b.service", "c.service"], identifiers: ["wrong"]), globs: ["/x/a.log"])
        #expect(moved.changes(since: saved).journalItems == ["the journal in /j", "unit c.service"])

        let narrowed = SourceSet(journal: journal(units: ["a.service"], identifiers: ["wrong"]), globs: [])
        let n = narrowed.changes(since: saved)
        #expect(n.journal && n.newGlobs.isEmpty)
        #expect(n.journalItems == ["journal filter now the local journal, units a.service, identifiers wrong"])

        // A journal added to a files-only run is new as a whole; one dropped is no change.
        let filesOnly = SourceSet(journal: nil, globs: ["/x/a.log"])
        #expect(fixed.changes(since: filesOnly).journalItems == ["the local journal", "unit a.service", "unit b.service", "identifier right"])
        #expect(filesOnly.changes(since: saved).isEmpty)
    }

    @Test("a literal glob names exactly its path, metacharacters and all")
    func literalGlob() throws {
        let dir = NSTemporaryDirectory() + "glob-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["w[1]*.log", "w1x.log", "w?.log", "wa.log"] {
            FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data())
        }
        #expect(FileTailer.regularFiles(matching: [FileTailer.literalGlob("\(dir)/w[1]*.log")]) == ["\(dir)/w[1]*.log"])
        #expect(FileTailer.regularFiles(matching: [FileTailer.literalGlob("\(dir)/w?.log")]) == ["\(dir)/w?.log"])
        #expect(FileTailer.regularFiles(matching: ["\(dir)/w?.log", "\(dir)/w*.log"]) == ["\(dir)/w1x.log", "\(dir)/w?.log", "\(dir)/w[1]*.log", "\(dir)/wa.log"].sorted())
    }
}
