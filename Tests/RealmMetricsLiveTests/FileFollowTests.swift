import Foundation
import Testing
import RealmMetricsTestSupport
#if canImport(Glibc)
import Glibc
#endif

func appendText(_ path: String, _ text: String) {
    if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    let h = FileHandle(forWritingAtPath: path)!
    h.seekToEndOfFile()
    h.write(Data(text.utf8))
    h.closeFile()
}

func stateCounts(_ dir: TempDir) -> [String: Int64] {
    guard let data = FileManager.default.contents(atPath: dir.file("state/state.json")),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let counts = object["counts"] as? [String: Int64] else { return [:] }
    return counts
}

@Suite("Live: files, faults and crashes", .serialized)
struct FileFollowTests {
    func fileArgs(_ port: UInt16, _ dir: TempDir, flush: String = "0.2", extra: [String] = []) -> [String] {
        ["run", "--file", dir.file("w.log"), "--statsd", "127.0.0.1:\(port)", "--flush-interval", flush,
         "--state-dir", dir.file("state"), "--prefix", "realm.t"] + extra
    }

    /// A realistic worker log of `count` lines (deterministic).
    func workerLog(_ count: Int) throws -> [String] {
        let (status, out, err) = try sh("python3 '\(Repo.root.appendingPathComponent("bench/gen-worker-log.py").path)' \(count)")
        guard status == 0 else { throw TestFailure("generator failed: \(err)") }
        return out.split(separator: "\n").map(String.init)
    }

    /// Starts a sidecar on an empty log and waits until its first checkpoint exists.
    func startFresh(_ args: [String], _ dir: TempDir, _ name: String) throws -> Sidecar {
        let s = try Sidecar(args, stderrPath: dir.file(name))
        try s.waitForStderr("reporting from now on")
        guard waitUntil(10, { FileManager.default.fileExists(atPath: dir.file("state/state.json")) }) else { throw TestFailure("no state written") }
        return s
    }

    @Test("restarts with SIGTERM, rotation while running and while stopped: totals are exact")
    func termLoopWithRotation() throws {
        let dir = TempDir()
        let lines = try workerLog(3000)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(dir.file("w.log"), "")
        var sidecar = try startFresh(fileArgs(receiver.port, dir), dir, "err0")
        var written: [String] = []
        var restarts = 0
        for (i, chunk) in stride(from: 0, to: lines.count, by: 150).enumerated() {
            let part = Array(lines[chunk..<min(chunk + 150, lines.count)])
            appendText(dir.file("w.log"), part.joined(separator: "\n") + "\n")
            written += part
            usleep(60_000)
            if i == 6 {
                // logrotate's default: rename and create, while the sidecar runs.
                try FileManager.default.moveItem(atPath: dir.file("w.log"), toPath: dir.file("w.log.1"))
                appendText(dir.file("w.log"), "")
            }
            if i % 4 == 3 {
                #expect(sidecar.terminate() == 0)
                restarts += 1
                if i == 11 {
                    // Rotated while stopped, with lines the sidecar has not read yet.
                    appendText(dir.file("w.log"), "2020-05-05T13:00:00.000: HTTP Connection[900]: Connection from 10.9.9.9:1\n")
                    written.append("2020-05-05T13:00:00.000: HTTP Connection[900]: Connection from 10.9.9.9:1")
                    try? FileManager.default.removeItem(atPath: dir.file("w.log.2"))
                    try FileManager.default.moveItem(atPath: dir.file("w.log"), toPath: dir.file("w.log.2"))
                    appendText(dir.file("w.log"), "")
                }
                sidecar = try Sidecar(fileArgs(receiver.port, dir), stderrPath: dir.file("err\(restarts)"))
            }
        }
        let (counters, gauges) = try expectedFor(written, in: dir, name: "expected.log")
        #expect(waitUntil(20) { receiver.counterTotals == counters && receiver.lastGauges == gauges },
                "received \(receiver.counterTotals)\nexpected \(counters)\ngauges \(receiver.lastGauges) vs \(gauges)")
        #expect(sidecar.terminate() == 0)
        #expect(restarts >= 4)
        #expect((stateCounts(dir)["file_rotations"] ?? 0) >= 1)
    }

    @Test("SIGKILL at random moments while lines keep coming: totals within one flush interval, gauges exact")
    func killLoop() throws {
        let dir = TempDir()
        let lines = try workerLog(4000)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(dir.file("w.log"), "")
        var sidecar = try startFresh(fileArgs(receiver.port, dir), dir, "err0")
        var generator = SeededRandom(#function)
        var kills = 0
        var nextKill = Date().addingTimeInterval(Double.random(in: 0.1...0.5, using: &generator))
        let chunk = 100
        for start in stride(from: 0, to: lines.count, by: chunk) {
            appendText(dir.file("w.log"), lines[start..<min(start + chunk, lines.count)].joined(separator: "\n") + "\n")
            usleep(40_000)
            if Date() >= nextKill {
                sidecar.sigkill()
                kills += 1
                sidecar = try Sidecar(fileArgs(receiver.port, dir), stderrPath: dir.file("err\(kills)"))
                nextKill = Date().addingTimeInterval(Double.random(in: 0.1...0.5, using: &generator))
            }
        }
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "expected.log")
        _ = waitUntil(30) { receiver.counterTotals == counters && receiver.lastGauges == gauges }
        #expect(sidecar.terminate() == 0)
        // The final flush's datagrams may still be on their way to the receiver.
        _ = waitUntil(2) { receiver.counterTotals == counters && receiver.lastGauges == gauges }
        // One flush interval (0.2 s) of this feed is 0.2 / 0.04 × 100 = 500 lines; the counts of the
        // busiest 500-line stretch bound what one lost or repeated interval could change.
        let expectedEvents = counters.values.reduce(0, +)
        let received = receiver.counterTotals
        var difference: Int64 = 0
        for key in Set(counters.keys).union(received.keys) where !key.contains("bytes") {
            difference += abs((received[key] ?? 0) - (counters[key] ?? 0))
        }
        let signed = counters.filter { !$0.key.contains("bytes") }.map { (received[$0.key] ?? 0) - $0.value }.reduce(0, +)
        let eventLines = counters.filter { !$0.key.contains("bytes") }.values.reduce(0, +)
        let perInterval = Int64(Double(eventLines) * 500.0 / Double(lines.count)) + 1
        #expect(kills >= 3)
        #expect(difference <= perInterval, "after \(kills) kills: counter difference \(difference) > \(perInterval) (expected total \(expectedEvents))")
        #expect(receiver.lastGauges == gauges)
        print("kill loop: \(kills) SIGKILLs, counter difference \(difference) events (net \(signed)), bound \(perInterval)")
    }

    @Test("a statsd receiver that is absent (the kernel refuses) or unresolvable never stops the sidecar")
    func receiverAbsent() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        // Nothing listens on port 9 (discard) here; the second host cannot be resolved.
        for (i, target) in ["127.0.0.1:9", "no-such-host.invalid:8125"].enumerated() {
            let args = ["run", "--file", dir.file("w.log"), "--statsd", target, "--flush-interval", "0.1", "--state-dir", dir.file("state\(i)"), "--prefix", "realm.t"]
            let s = try Sidecar(args, stderrPath: dir.file("err\(i)"))
            try s.waitForStderr("reporting from now on")
            appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
            #expect(waitUntil(10) {
                let data = FileManager.default.contents(atPath: dir.file("state\(i)/state.json"))
                let counts = (data.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any])?["counts"] as? [String: Int64]
                return (counts?["flushes"] ?? 0) >= 3 && (counts?["lines_matched"] ?? 0) >= 55
            })
            #expect(s.terminate() == 0)
            if i == 0 {
                // Nothing listens: the kernel refuses (port unreachable), and the refused sends are counted.
                let data = FileManager.default.contents(atPath: dir.file("state0/state.json"))
                let counts = (data.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any])?["counts"] as? [String: Int64]
                #expect((counts?["send_errors"] ?? 0) >= 1, "\(String(describing: counts))")
                let state = try String(contentsOfFile: dir.file("state0/state.json"), encoding: .utf8)
                #expect(state.contains("Connection refused"))
            }
            if i == 1 {
                let state = try String(contentsOfFile: dir.file("state1/state.json"), encoding: .utf8)
                #expect(state.contains("\"lastError\":\"cannot resolve no-such-host.invalid"))
            }
        }
    }

    @Test("SIGHUP reloads the pattern files, keeps the old ones when the new ones are broken, keeps metric state")
    func reload() throws {
        let dir = TempDir()
        let patterns = dir.file("custom.yaml")
        func writePatterns(_ counter: String) throws {
            try """
                rules:
                  - name: hello
                    match: '^hello (?<who>\\w+)'
                    actions: [{count: \(counter)}, {open: greeted, key: '{who}'}]
                """.write(toFile: patterns, atomically: true, encoding: .utf8)
        }
        try writePatterns("greetings")
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let s = try startFresh(fileArgs(receiver.port, dir, extra: ["--patterns", patterns]), dir, "err")
        appendText(dir.file("w.log"), "hello ann\n")
        #expect(waitUntil(10) { receiver.counterTotals["realm.t.greetings"] == 1 })

        try "rules: [".write(toFile: patterns, atomically: true, encoding: .utf8)
        s.signal(SIGHUP)
        try s.waitForStderr("reload refused, keeping the configuration in use: \(patterns):")
        appendText(dir.file("w.log"), "hello bob\n")
        #expect(waitUntil(10) { receiver.counterTotals["realm.t.greetings"] == 2 })

        try writePatterns("salutes")
        s.signal(SIGHUP)
        try s.waitForStderr("reloaded the configuration")
        appendText(dir.file("w.log"), "hello cid\n")
        #expect(waitUntil(10) { receiver.counterTotals["realm.t.salutes"] == 1 && receiver.lastGauges["realm.t.greeted"] == 3 })
        #expect(s.terminate() == 0)
    }

    @Test("timers and histograms reach statsd as one |ms or |h line per value, in the statsd syntax, the first PING of a connection left out")
    func timersAndHistograms() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let s = try startFresh(fileArgs(receiver.port, dir), dir, "err")
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        func values(_ name: String, _ type: String) -> [Int64] {
            receiver.lines.filter { $0.hasPrefix("realm.t.\(name):") && $0.hasSuffix("|\(type)") }
                .compactMap { Int64($0.dropFirst("realm.t.\(name):".count).dropLast(type.count + 1)) }
        }
        #expect(waitUntil(10) { values("workunit.uploaded.changesets", "h") == [3, 1] },
                "\(receiver.lines.filter { $0.hasSuffix("|ms") || $0.hasSuffix("|h") })")
        #expect(values("ping.rtt", "ms") == [41, 37])
        #expect(values("upload.processing", "ms") == [7, 2])
        #expect(values("workunit.time", "ms") == [35, 48])
        #expect(values("workunit.uploaded.bytes", "h") == [1200, 90])
        #expect(values("download.constructed.size", "ms") == [512, 2048, 100])
        #expect(receiver.lastGauges["realm.t.upload.pending.bytes"] == 1024)
        // Every datagram line is one statsd metric: name:value|type.
        let syntax = try Regex("^[A-Za-z0-9_.-]+:-?[0-9]+\\|(c|g|ms|h)$")
        for line in receiver.lines { #expect(line.wholeMatch(of: syntax) != nil, "\(line)") }
        #expect(s.terminate() == 0)
    }

    @Test("--tags influx: every datagram line in the 2020 server's statsd syntax, tags in the name, tag values percent-encoded, timers and histograms included")
    func influxTags() throws {
        let dir = TempDir()
        let patterns = dir.file("users.yaml")
        try """
            rules:
              - name: login
                match: '^login (?<user>\\S+)'
                actions: [{count: 'logins.{user}', tags: 'logins,identity={user}'}]
            """.write(toFile: patterns, atomically: true, encoding: .utf8)
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let s = try startFresh(fileArgs(receiver.port, dir, extra: ["--tags", "influx", "--patterns", "realm-sync-worker", "--patterns", patterns]), dir, "err")
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\nlogin user-alice\nlogin bob.smith@example.com\nlogin user-alice\n")
        #expect(waitUntil(10) { receiver.counterTotals["realm.t.logins,identity=user%2Dalice"] == 2 },
                "\(receiver.lines.filter { $0.contains(",") })")
        #expect(receiver.counterTotals["realm.t.logins,identity=bob%2Esmith%40example%2Ecom"] == 1)
        #expect(receiver.counterTotals["realm.t.protocol.used,version=24"] == 2)
        #expect(receiver.counterTotals["realm.t.protocol.used,version=26"] == 1)
        #expect(receiver.counterTotals["realm.t.protocol.24.used"] == nil, "the folded name is not sent as well")
        // user_sessions per identity: +1 at a Client info with a user, -1 at its session's terminate or its connection's close.
        #expect(receiver.lastGauges["realm.t.user_sessions,identity=user%2Dalice"] == 1)
        #expect(receiver.lastGauges["realm.t.user_sessions,identity=bob%40example%2Ecom"] == 0)
        // The documented counter and gauge of one name: the gauge is .gauge for receivers that keep one kind per name.
        #expect(receiver.lastGauges["realm.t.protocol.bytes.received.gauge"] == 50 && receiver.counterTotals["realm.t.protocol.bytes.received"] == 470)
        #expect(receiver.lines.contains("realm.t.ping.rtt:41|ms") && receiver.lines.contains("realm.t.workunit.uploaded.changesets:3|h"))
        // name[,tag=value...]:value|c|g|ms|h, tag values only letters, digits and %XX.
        let syntax = try Regex("^[A-Za-z0-9_.-]+(,[A-Za-z0-9_]+=([A-Za-z0-9]|%[0-9A-F]{2})+)*:-?[0-9]+\\|(c|g|ms|h)$")
        for line in receiver.lines { #expect(line.wholeMatch(of: syntax) != nil, "\(line)") }
        #expect(s.terminate() == 0)
    }

    @Test("the sidecar's own metrics arrive under <prefix>.sidecar, and status reports where it stands")
    func ownMetricsAndStatus() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let s = try startFresh(fileArgs(receiver.port, dir), dir, "err")
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        #expect(waitUntil(10) {
            receiver.allCounterTotals["realm.t.sidecar.lines_read"] == 117 && receiver.allCounterTotals["realm.t.sidecar.lines_matched"] == 110
                && receiver.allCounterTotals["realm.t.sidecar.orphan_closes"] == 3
        }, "\(receiver.allCounterTotals.filter { $0.key.contains("sidecar") })")
        #expect(receiver.allLastGauges["realm.t.sidecar.checkpoint_age_seconds"] == 0)
        #expect(s.terminate() == 0)
        let (status, out, _) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(status == 0)
        #expect(out.contains("file: \(dir.file("w.log")) at byte "))
        #expect(out.contains("  lines_matched 110\n"))
        #expect(out.contains("last error: none"))
        let (missing, _, err) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("nothing"))'")
        #expect(missing == 1)
        #expect(err.contains("no state"))
    }

    @Test("a state directory that cannot be written: the sidecar reports it once, keeps counting and sending, and recovers")
    func stateNotWritable() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let s = try startFresh(fileArgs(receiver.port, dir), dir, "err")
        // Something in the way of the temporary file: every save fails, the old state stays.
        try blockStateSaves(dir)
        let before = try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8)
        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        let (counters, _) = try expectedFor(lines, in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters })
        try s.waitForStderr("cannot save state")
        #expect(s.stderr.components(separatedBy: "cannot save state").count == 2, "reported once")
        #expect(try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8) == before)
        try FileManager.default.removeItem(atPath: dir.file("state/state.json.tmp"))
        try s.waitForStderr("the state file is written again")
        #expect(waitUntil(5) { receiver.allLastGauges["realm.t.sidecar.checkpoint_age_seconds"] == 0 })
        // The state written again records the failure, with its time, as over.
        let (code, out, _) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(code == 0, "\(out)")
        #expect(out.contains("\nlast error: \(dir.file("state/state.json.tmp")): cannot write: Is a directory (at 20"), "\(out)")
        #expect(out.contains("; over by the last flush)\n"), "\(out)")
        #expect(s.terminate() == 0)
    }

    @Test("a log file the sidecar may not read (as an unprivileged user): reported once, followed once readable")
    func permissionDenied() throws {
        guard getuid() == 0 else { throw TestFailure("this test switches to the user nobody and needs root") }
        let dir = TempDir()
        chmod(dir.path, 0o755)
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        chmod(dir.file("w.log"), 0o600)  // root's, unreadable for nobody
        try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
        _ = try sh("chown nobody '\(dir.file("state"))'")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        // setpriv execs the sidecar itself (no process in between to take the signals).
        let s = try Sidecar(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", Repo.binary] + fileArgs(receiver.port, dir),
                            stderrPath: dir.file("err"), executable: "/usr/bin/setpriv")
        try s.waitForStderr("cannot open: Permission denied")
        try s.waitForStderr("reporting from now on")
        usleep(500_000)
        #expect(s.stderr.components(separatedBy: "Permission denied").count == 2, "reported once: \(s.stderr)")
        func status() -> String { (try? sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'").1) ?? "" }
        let error = "last error: file: \(dir.file("w.log")): cannot open: Permission denied (at 20"
        #expect(waitUntil(5) { status().contains(error) && status().contains("; still current at the last flush)\n") }, "\(status())")
        chmod(dir.file("w.log"), 0o644)
        // Readable now: read from its start like any file that appears later.
        let (counters, _) = try expectedFor(try sampleLines(), in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters }, "\(receiver.counterTotals)")
        #expect(waitUntil(5) { status().contains(error) && status().contains("; over by the last flush)\n") }, "\(status())")
        #expect(s.terminate() == 0)
    }

    @Test("a receiver that takes datagrams and never reads them (black hole) does not slow or stop the sidecar")
    func blackHole() throws {
        let dir = TempDir()
        // A bound UDP socket nobody reads: its buffer fills, then the kernel drops.
        let hole = try StatsdReceiver(reading: false)
        defer { hole.stop() }
        appendText(dir.file("w.log"), "")
        let s = try startFresh(fileArgs(hole.port, dir, flush: "0.1"), dir, "err")
        let lines = try workerLog(20_000)
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        #expect(waitUntil(15) { (stateCounts(dir)["lines_read"] ?? 0) == 20_000 && (stateCounts(dir)["flushes"] ?? 0) >= 10 })
        #expect(s.terminate() == 0)
    }

    @Test("a full state file system: reported once, counting and sending go on, the old state stays, it recovers")
    func stateDiskFull() throws {
        guard getuid() == 0 else { throw TestFailure("this test mounts a small tmpfs and needs root") }
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
        let (mounted, _, mountErr) = try sh("mount -t tmpfs -o size=256k tmpfs '\(dir.file("state"))'")
        guard mounted == 0 else { throw TestFailure("cannot mount a tmpfs: \(mountErr)") }
        defer { _ = try? sh("umount -l '\(dir.file("state"))'") }
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let s = try startFresh(fileArgs(receiver.port, dir), dir, "err")
        let before = try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8)
        _ = try sh("dd if=/dev/zero of='\(dir.file("state/filler"))' bs=4k 2>/dev/null; true")  // until ENOSPC
        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        let (counters, _) = try expectedFor(lines, in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters })
        try s.waitForStderr("No space left on device")
        #expect(s.stderr.components(separatedBy: "cannot save state").count == 2, "reported once")
        #expect(try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8) == before)
        try FileManager.default.removeItem(atPath: dir.file("state/filler"))
        try s.waitForStderr("the state file is written again")
        #expect(s.terminate() == 0)
        #expect(try String(contentsOfFile: dir.file("state/state.json"), encoding: .utf8).contains("\"lines_matched\":110"))
    }
}
