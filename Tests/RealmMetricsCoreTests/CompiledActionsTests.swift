import Testing
import RealmMetricsTestSupport
@testable import RealmMetricsCore

/// Rules with fixed metric names are applied from compiled plain values; `explain` and `check` (which
/// record effects) take the general path. Both must leave exactly the same state.
@Suite("Compiled actions")
struct CompiledActionsTests {
    @Test("compiled and general paths leave the same counters, open keys, totals and counts")
    func samePaths() throws {
        let set = try patternSet(["main.yaml": sessionPatterns + """

              - name: key-open
                match: '^K (?<a>\\S*) (?<b>\\S*) open$'
                actions:
                  - count: keyed
                  - open: keys
                    key: 'x{a}-{b}'
              - name: key-close
                match: '^K (?<a>\\S*) (?<b>\\S*) close$'
                actions:
                  - close: keys
                    key: 'x{a}-{b}'
              - name: key-drop
                match: '^K (?<a>\\S*) (?<b>\\S*) drop$'
                actions:
                  - close_prefix: keys
                    key: 'x{a}'
            """])
        #expect(set.rules.contains { $0.name == "bytes" })
        let general = LinePipeline(patterns: set)
        let compiled = LinePipeline(patterns: set)
        // The session rules' names are fixed: they take the compiled path.
        #expect(compiled.compiledActions.ruleStarts[set.rules.firstIndex { $0.name == "sess-open" }!] >= 0)
        #expect(compiled.compiledActions.ruleStarts[set.rules.firstIndex { $0.name == "started" }!] == -1)
        let gw = general.store.workerID("w"), cw = compiled.store.workerID("w")
        var g = SeededRandom(#function)
        let values: [[UInt8]] = [Array("1".utf8), Array("2".utf8), Array("12".utf8), Array("é".utf8), [0xFF, 0x31], [0xC3],
                                 Array(repeating: UInt8(ascii: "9"), count: 300), [], Array("3".utf8)]
        var repairedKeys = 0, longKeys = 0
        for i in 0..<20_000 {
            var line: String = ""
            var raw: [UInt8]? = nil
            switch Int.random(in: 0..<8, using: &g) {
            case 0: line = "C\(Int.random(in: 1...5, using: &g)) \(["open", "close"].randomElement(using: &g)!)"
            case 1: line = "C\(Int.random(in: 1...5, using: &g)) S\(Int.random(in: 1...5, using: &g)) \(["open", "close"].randomElement(using: &g)!)"
            case 2: line = "bytes \(["12", "x", "99999999999999999999", "7"].randomElement(using: &g)!)"
            case 3: line = ["started", "stopped"].randomElement(using: &g)!
            default:
                raw = Array("K ".utf8) + values.randomElement(using: &g)! + [0x20] + values.randomElement(using: &g)! + [0x20]
                    + Array(["open", "close", "drop"].randomElement(using: &g)!.utf8)
            }
            let bytes = raw ?? Array(line.utf8)
            let recorder = EffectRecorder()
            bytes.withUnsafeBufferPointer { b in
                let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
                general.process(p, b.count, worker: gw, recorder: recorder)
                compiled.process(p, b.count, worker: cw)
            }
            for effect in recorder.effects {
                if case let .open(_, key, _) = effect {
                    if key.contains("\u{FFFD}") { repairedKeys += 1 }
                    if key.utf8.count > 256 { longKeys += 1 }
                }
            }
            if i % 97 == 0 {
                #expect(general.store.workers[gw].openSets == compiled.store.workers[cw].openSets, "after line \(i)")
            }
        }
        #expect(repairedKeys > 0 && longKeys > 0)
        #expect(general.stats == compiled.stats)
        #expect(general.stats.orphanCloses > 0 && general.stats.duplicateOpens > 0 && general.stats.badNumbers > 0)
        #expect(general.store.counterTotals == compiled.store.counterTotals)
        #expect(general.store.workers[gw].openSets == compiled.store.workers[cw].openSets)
        #expect(general.store.workers[gw].totals == compiled.store.workers[cw].totals)
    }
}
