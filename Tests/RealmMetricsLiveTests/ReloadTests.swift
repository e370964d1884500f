import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Live: SIGHUP re-reads the whole configuration file", .serialized)
struct ReloadTests {
    func writeConfig(_ dir: TempDir, _ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
    }

    @Test("a new receiver, prefix and glob after SIGHUP: what was counted goes to the old receiver, the new glob's history is not counted, later lines arrive at the new one under the new prefix")
    func receiverPrefixAndGlob() throws {
        let dir = TempDir()
        let first = try StatsdReceiver(), second = try StatsdReceiver()
        defer { first.stop(); second.stop() }
        let lines = try sampleLines()
        appendText(dir.file("a.log"), "")
        appendText(dir.file("b.log"), lines.joined(separator: "\n") + "\n")  // history of the glob added later
        try writeConfig(dir, ["file: ['\(dir.file("a.log"))']", "statsd: 127.0.0.1:\(first.port)", "prefix: realm.one",
                              "flush_interval: 0.2", "state_dir: \(dir.file("state"))"])
        let sidecar = try Sidecar(["run", "--config", dir.file("config.yaml")], stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        appendText(dir.file("a.log"), lines[0..<30].joined(separator: "\n") + "\n")
        let first30 = try expectedFor(Array(lines[0..<30]), in: dir, name: "e30.log", prefix: "realm.one").0.filter { $0.value != 0 }
        #expect(waitUntil(10) { first.counterTotals == first30 }, "\(first.counterTotals)")

        try writeConfig(dir, ["file: ['\(dir.file("a.log"))', '\(dir.file("b.log"))']", "statsd: 127.0.0.1:\(second.port)", "prefix: realm.two",
                              "flush_interval: 0.2", "state_dir: \(dir.file("state"))"])
        sidecar.signal(SIGHUP)
        try sidecar.waitForStderr("reloaded the configuration")
        #expect(sidecar.stderr.contains("new source on reload: glob \(dir.file("b.log")) (1 file); read its history silently (\(lines.count) lines"), "\(sidecar.stderr)")
        #expect(sidecar.stderr.contains("sending statsd to 127.0.0.1:\(second.port) every 0.2 s as realm.two.*"))
        appendText(dir.file("a.log"), lines[30...].joined(separator: "\n") + "\n")
        appendText(dir.file("b.log"), lines[0..<10].joined(separator: "\n") + "\n")
        // a.log's worker goes on (its open sessions are kept); b.log's history rebuilt its gauges only.
        let (all, allGauges) = try expectedFor(lines, in: dir, name: "all.log", prefix: "realm.two")
        let (aLater, _) = (difference(all, try expectedFor(Array(lines[0..<30]), in: dir, name: "e30b.log", prefix: "realm.two").0), 0)
        let (bAll, bAllGauges) = try expectedFor(lines + Array(lines[0..<10]), in: dir, name: "b.log.expected", prefix: "realm.two")
        var want = aLater
        for (k, v) in difference(bAll, all) { want[k, default: 0] += v }
        var gauges = allGauges
        for (k, v) in bAllGauges { gauges[k, default: 0] += v }
        #expect(waitUntil(10) { second.counterTotals == want && second.lastGauges == gauges },
                "received \(second.counterTotals)\nexpected \(want)\ngauges \(second.lastGauges) vs \(gauges)")
        usleep(300_000)
        #expect(first.counterTotals == first30, "nothing more reaches the old receiver")
        #expect(first.lines.allSatisfy { $0.hasPrefix("realm.one.") })
        #expect(sidecar.terminate() == 0)
    }

    @Test("a broken configuration file on SIGHUP is refused with file:line:column and everything goes on as before")
    func brokenConfig() throws {
        let dir = TempDir()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(dir.file("a.log"), "")
        let good = ["file: ['\(dir.file("a.log"))']", "statsd: 127.0.0.1:\(receiver.port)", "prefix: realm.t",
                    "flush_interval: 0.2", "state_dir: \(dir.file("state"))"]
        try writeConfig(dir, good)
        let sidecar = try Sidecar(["run", "--config", dir.file("config.yaml")], stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        try writeConfig(dir, good + ["flush_intervl: 3"])
        sidecar.signal(SIGHUP)
        try sidecar.waitForStderr("reload refused, keeping the configuration in use: \(dir.file("config.yaml")):6:1: configuration: unknown key 'flush_intervl'")
        try writeConfig(dir, Array(good.dropLast()) + ["state_dir: \(dir.file("elsewhere"))"])
        sidecar.signal(SIGHUP)
        try sidecar.waitForStderr("the state directory cannot change while running")
        let lines = try sampleLines()
        appendText(dir.file("a.log"), lines.joined(separator: "\n") + "\n")
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters && receiver.lastGauges == gauges })
        #expect(sidecar.terminate() == 0)
    }
}
