import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The state file's counts and kept counter deltas.
func stateObject(_ dir: TempDir) -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: dir.file("state/state.json")),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
    return object
}

@Suite("Live: statsd refusals lose no count, and are logged", .serialized)
struct DeliveryTests {
    func args(_ port: UInt16, _ dir: TempDir) -> [String] {
        ["run", "--file", dir.file("w.log"), "--statsd", "127.0.0.1:\(port)", "--flush-interval", "0.2",
         "--state-dir", dir.file("state"), "--prefix", "realm.t"]
    }

    @Test("a receiver that refuses (nothing listens) and comes back: the counts made meanwhile arrive, the fault is logged once and so is the recovery")
    func refusedThenBack() throws {
        let dir = TempDir()
        let port = freeUDPPort()
        appendText(dir.file("w.log"), "")
        let sidecar = try Sidecar(args(port, dir), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines[0..<30].joined(separator: "\n") + "\n")
        // Several refused flushes.
        #expect(waitUntil(10) { sidecar.stderr.contains("realm-metrics: statsd: cannot deliver to 127.0.0.1:\(port): send to 127.0.0.1:\(port): Connection refused") })
        #expect(waitUntil(10) { ((stateObject(dir)["counts"] as? [String: Int64])?["flushes"] ?? 0) >= 8 })
        #expect(waitUntil(5) { (stateObject(dir)["unsentCounters"] as? [String: Int64])?["realm.t.connection.started"] != nil },
                "the kept deltas are in the state: \(stateObject(dir)["unsentCounters"] ?? "none")")
        let receiver = try StatsdReceiver(port: port)
        defer { receiver.stop() }
        appendText(dir.file("w.log"), lines[30...].joined(separator: "\n") + "\n")
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "expected.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters && receiver.lastGauges == gauges },
                "received \(receiver.counterTotals)\nexpected \(counters)")
        #expect(waitUntil(5) { sidecar.stderr.contains("realm-metrics: statsd: delivering to 127.0.0.1:\(port) again after") })
        #expect(sidecar.terminate() == 0)
        // The sidecar's own send_errors reach statsd in full: what the state counted is what arrived.
        let stateErrors = (stateObject(dir)["counts"] as? [String: Int64])?["send_errors"] ?? -1
        #expect(stateErrors >= 2)
        #expect(waitUntil(3) { receiver.allCounterTotals["realm.t.sidecar.send_errors"] == stateErrors },
                "send_errors received \(receiver.allCounterTotals["realm.t.sidecar.send_errors"] ?? 0), in the state \(stateErrors)")
        #expect(sidecar.stderr.components(separatedBy: "statsd: cannot deliver").count == 2, "logged once:\n\(sidecar.stderr)")
        #expect(stateObject(dir)["unsentCounters"] == nil)
    }

    @Test("a failure that lasts: logged once when it starts, reminded at most every --fault-reminder seconds")
    func reminders() throws {
        let dir = TempDir()
        let port = freeUDPPort()
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        let started = Date()
        let sidecar = try Sidecar(args(port, dir) + ["--fault-reminder", "1"], stderrPath: dir.file("err"))
        try sidecar.waitForStderr("statsd: cannot deliver")
        #expect(waitUntil(10) { sidecar.stderr.components(separatedBy: "statsd: still cannot deliver").count >= 3 }, "\(sidecar.stderr)")
        #expect(sidecar.terminate() == 0)
        let elapsed = Date().timeIntervalSince(started)
        let reminders = sidecar.stderr.components(separatedBy: "statsd: still cannot deliver").count - 1
        #expect(sidecar.stderr.components(separatedBy: "statsd: cannot deliver").count == 2, "the start once")
        #expect(Double(reminders) <= elapsed + 1, "\(reminders) reminders in \(elapsed) s")
        #expect(sidecar.stderr.contains("flushes): send to 127.0.0.1:\(port): Connection refused"))
    }

    @Test("stopped while the receiver refuses: the kept counts are in the state and arrive after the next start")
    func restartDuringOutage() throws {
        let dir = TempDir()
        let port = freeUDPPort()
        appendText(dir.file("w.log"), "")
        var sidecar = try Sidecar(args(port, dir), stderrPath: dir.file("err1"))
        try sidecar.waitForStderr("reporting from now on")
        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        #expect(waitUntil(10) { ((stateObject(dir)["counts"] as? [String: Int64])?["lines_read"] ?? 0) >= Int64(lines.count) })
        #expect(waitUntil(10) { ((stateObject(dir)["counts"] as? [String: Int64])?["send_errors"] ?? 0) >= 2 })
        #expect(sidecar.terminate() == 0)
        #expect(sidecar.stderr.contains("counter deltas statsd did not take are kept in it and sent at the next start"), "\(sidecar.stderr)")
        let kept = stateObject(dir)["unsentCounters"] as? [String: Int64] ?? [:]
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "expected.log")
        #expect(kept.filter { !$0.key.contains(".sidecar.") } == counters)

        let receiver = try StatsdReceiver(port: port)
        defer { receiver.stop() }
        sidecar = try Sidecar(args(port, dir), stderrPath: dir.file("err2"))
        #expect(waitUntil(10) { receiver.counterTotals == counters && receiver.lastGauges == gauges },
                "received \(receiver.counterTotals)\nexpected \(counters)")
        #expect(sidecar.terminate() == 0)
        #expect(receiver.counterTotals == counters)
    }

    @Test("a final state that cannot be saved: run says so and exits 1, instead of \"state saved\"")
    func finalSaveFails() throws {
        let dir = TempDir()
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(dir.file("w.log"), "")
        let sidecar = try Sidecar(args(receiver.port, dir), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        try blockStateSaves(dir)
        try sidecar.waitForStderr("cannot save state")
        #expect(sidecar.terminate() == 1)
        #expect(sidecar.stderr.contains("stopped after a final flush, but the state could not be saved"))
        #expect(!sidecar.stderr.contains("state saved in"))
    }
}

extension JournaldSuites {
    @Suite("Live: priorities of the sidecar's messages in the journal")
    struct PriorityTests {
        @Test("with stderr on the journal (JOURNAL_STREAM), warnings are priority 4 and the start line 6: journalctl -p warning shows the send fault")
        func priorities() throws {
            try Journald.ensure()
            let dir = TempDir()
            let id = "rm-prio-\(UUID().uuidString.prefix(8))"
            let port = freeUDPPort()
            appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
            let command = "'\(Repo.binary)' run --file '\(dir.file("w.log"))' --statsd 127.0.0.1:\(port) --flush-interval 0.2 --state-dir '\(dir.file("state"))' --prefix realm.t"
            // systemd-cat does not set JOURNAL_STREAM; set it as systemd does for a service: the stream's device and inode.
            let script = "export JOURNAL_STREAM=$(stat -L -c '%d:%i' /proc/self/fd/2); exec \(command)"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-cat")
            p.arguments = ["-t", id, "bash", "-c", script]
            try p.run()
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            func entries(_ priority: String) -> String {
                (try? sh("journalctl -t '\(id)' -p \(priority) -o cat --no-pager").1) ?? ""
            }
            #expect(waitUntil(10) { entries("warning").contains("statsd: cannot deliver to 127.0.0.1:\(port)") }, "\(entries("debug"))")
            #expect(!entries("warning").contains("following files"))
            #expect(entries("info..info").contains(": following files"))
            #expect(!entries("debug").contains("<4>"), "priority prefixes are taken off by journald")
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
    }
}
