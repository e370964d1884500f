import Testing
import RealmMetricsTestSupport
@testable import RealmMetricsCore

/// Every rule's actions are applied by one interpreter; `explain` and `check` pass it a recorder. What
/// a line does must not depend on whether its effects are recorded, and the effects must say exactly
/// what was done.
@Suite("Rule actions")
struct RuleActionsTests {
    /// The session rules, keyed gauges with captures in the key, a templated gauge name, a log level.
    static let patterns = sessionPatterns + """

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
          - name: pool
            match: '^P (?<p>\\S+) (?<n>\\S+)$'
            actions:
              - add: 'pool.{p}.bytes'
                by: n
                cardinality: 2
              - open: 'pool.{p}.users'
                key: '{n}'
                cardinality: 2
          - name: level
            match: '^Log level: (?<level>\\S+)'
            actions:
              - log_level: level
        """

    @Test("a recorder changes nothing: the same counters, open keys, totals, counts and warnings")
    func recordingChangesNothing() throws {
        let set = try patternSet(["main.yaml": Self.patterns])
        let recorded = LinePipeline(patterns: set)
        let plain = LinePipeline(patterns: set)
        let rw = recorded.store.workerID("w"), pw = plain.store.workerID("w")
        var g = SeededRandom(#function)
        let values: [[UInt8]] = [Array("1".utf8), Array("2".utf8), Array("12".utf8), Array("é".utf8), [0xFF, 0x31], [0xC3],
                                 Array(repeating: UInt8(ascii: "9"), count: 300), [], Array("3".utf8)]
        var repairedKeys = 0, longKeys = 0
        let recorder = EffectRecorder()
        for i in 0..<20_000 {
            var line: String = ""
            var raw: [UInt8]? = nil
            switch Int.random(in: 0..<11, using: &g) {
            case 0: line = "C\(Int.random(in: 1...5, using: &g)) \(["open", "close"].randomElement(using: &g)!)"
            case 1: line = "C\(Int.random(in: 1...5, using: &g)) S\(Int.random(in: 1...5, using: &g)) \(["open", "close"].randomElement(using: &g)!)"
            case 2: line = "bytes \(["12", "x", "99999999999999999999", "7"].randomElement(using: &g)!)"
            case 3: line = ["started", "stopped"].randomElement(using: &g)!
            case 4: line = "version \(["1", "2", "3", "4", "a b", "é"].randomElement(using: &g)!)"
            case 5: line = "P \(["a", "b", "c"].randomElement(using: &g)!) \(["5", "x", "10"].randomElement(using: &g)!)"
            case 6: line = "Log level: \(["info", "debug", "error", "loud"].randomElement(using: &g)!)"
            default:
                raw = Array("K ".utf8) + values.randomElement(using: &g)! + [0x20] + values.randomElement(using: &g)! + [0x20]
                    + Array(["open", "close", "drop"].randomElement(using: &g)!.utf8)
            }
            let bytes = raw ?? Array(line.utf8)
            bytes.withUnsafeBufferPointer { b in
                let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
                #expect(recorded.process(p, b.count, worker: rw, recorder: recorder) == plain.process(p, b.count, worker: pw))
            }
            if i % 97 == 0 {
                #expect(recorded.store.workers[rw].openSets == plain.store.workers[pw].openSets, "after line \(i)")
            }
        }
        for effect in recorder.effects {
            if case let .open(_, key, _) = effect {
                if key.contains("\u{FFFD}") { repairedKeys += 1 }
                if key.utf8.count > 256 { longKeys += 1 }
            }
        }
        #expect(repairedKeys > 0 && longKeys > 0)
        #expect(recorded.stats == plain.stats)
        #expect(recorded.stats.orphanCloses > 0 && recorded.stats.duplicateOpens > 0 && recorded.stats.badNumbers > 0)
        #expect(recorded.stats.cardinalityOverflows > 0 && recorded.stats.workerStarts > 0)
        #expect(recorded.store.counterNames == plain.store.counterNames && recorded.store.gaugeNames == plain.store.gaugeNames)
        #expect(recorded.store.counterTotals == plain.store.counterTotals)
        #expect(recorded.store.workers[rw].openSets == plain.store.workers[pw].openSets)
        #expect(recorded.store.workers[rw].totals == plain.store.workers[pw].totals)
        #expect(recorded.store.workers[rw].logLevel == plain.store.workers[pw].logLevel)
        #expect(recorded.takeWarnings() == plain.takeWarnings())
    }

    @Test("the effects of each kind of action, in the order of the rule's actions")
    func effectsOfEachAction() throws {
        let set = try patternSet(["main.yaml": Self.patterns])
        let pipeline = LinePipeline(patterns: set)
        let lines = ["C1 open", "C1 S2 open", "C1 S2 open", "C1 close", "C3 close", "bytes 12", "bytes x", "version 1", "version 2",
                     "version 3", "version 4", "P a 5", "P b x", "P c 10", "Log level: debug", "Log level: loud", "K \u{E9} 1 open",
                     "K \u{E9} 1 drop", "started", "stopped"]
        var effects: [[String]] = []
        let worker = pipeline.store.workerID("w")
        for line in lines {
            let recorder = EffectRecorder()
            Array(line.utf8).withUnsafeBufferPointer { _ = pipeline.process($0.baseAddress!, $0.count, worker: worker, recorder: recorder) }
            effects.append(recorder.effects.map(\.description))
        }
        #expect(effects == [
            ["count connection.started +1", "open connection.online 1"],
            ["open session.online 1/2"],
            ["open session.online 1/2"],
            ["count connection.terminated +1", "close connection.online 1", "close_prefix session.online 1/"],
            ["count connection.terminated +1", "close connection.online 3", "close_prefix session.online 3/"],
            ["count bytes +12", "add bytes +12"],
            ["skipped: capture is not a whole number", "skipped: capture is not a whole number"],
            ["count version.1.used +1"], ["count version.2.used +1"], ["count version.3.used +1"], ["count version.other.used +1"],
            ["add pool.a.bytes +5", "open pool.a.users 5"],
            ["skipped: capture is not a whole number", "open pool.b.users x"],
            // Each name template has its own cap: the skipped amount admitted nothing to pool.{p}.bytes.
            ["add pool.c.bytes +10", "open pool.other.users 10"],
            ["log_level debug"], ["skipped: unknown log level 'loud'"],
            ["count keyed +1", "open keys x\u{E9}-1"], ["close_prefix keys x\u{E9}"],
            ["worker start"], ["worker end"],
        ])
        #expect(pipeline.stats.duplicateOpens == 1 && pipeline.stats.orphanCloses == 1 && pipeline.stats.badNumbers == 3)
        #expect(pipeline.stats.cardinalityOverflows == 2 && pipeline.stats.workerStarts == 1)
    }
}
