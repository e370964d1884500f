import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A log directory rotated by the real logrotate (Debian's), with its own state file in the test
/// directory, and a worker process that writes its log the way the Realm worker does.
final class RotatedLogs {
    let dir: TempDir
    var logs: String { dir.file("logs") }
    var log: String { logs + "/w.log" }

    init(_ dir: TempDir) throws {
        self.dir = dir
        // logrotate refuses a log whose directory is writable by others.
        try FileManager.default.createDirectory(atPath: dir.file("logs"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        chmod(dir.path, 0o755)
    }

    /// Writes a logrotate configuration for `w.log` with these directives (mode 0644: logrotate ignores
    /// a configuration others may write).
    func configure(_ directives: [String]) throws {
        let text = "\(log) {\n" + directives.map { "    \($0)\n" }.joined() + "}\n"
        try text.write(toFile: dir.file("logrotate.conf"), atomically: true, encoding: .utf8)
        chmod(dir.file("logrotate.conf"), 0o644)
    }

    /// One forced rotation; fails the test when logrotate reports an error.
    func rotate() throws {
        let (status, out, err) = try sh("/usr/sbin/logrotate -s '\(dir.file("logrotate.state"))' -f '\(dir.file("logrotate.conf"))'")
        guard status == 0, !err.contains("error") else { throw TestFailure("logrotate failed (\(status)): \(out)\(err)") }
    }

    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? []).sorted() }
}

/// The test worker (`Tests/support/log-writer.py`): appends lines at a rate and reopens its log only on
/// SIGHUP.
final class LogWriter {
    let process = Process()
    let pidFile: String

    init(path: String, lines: [String], rate: Int, in dir: TempDir) throws {
        let input = dir.file("writer-input-\(UUID().uuidString)")
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        pidFile = dir.file("writer-\(UUID().uuidString).pid")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Repo.root.appendingPathComponent("Tests/support/log-writer.py").path, path, input, "\(rate)", pidFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard waitUntil(10, { FileManager.default.fileExists(atPath: pidFile) }) else { throw TestFailure("log writer did not start") }
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ s: Int32) { kill(pid, s) }

    func wait() throws {
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("log writer failed: \(process.terminationStatus)") }
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

@Suite("Live: real logrotate, every line exactly once", .serialized)
struct LogrotateTests {
    func runArgs(_ glob: String, _ receiver: StatsdReceiver, _ dir: TempDir, _ extra: [String] = []) -> [String] {
        ["run", "--file", glob, "--statsd", "127.0.0.1:\(receiver.port)", "--flush-interval", "0.2",
         "--state-dir", dir.file("state"), "--prefix", "realm.t"] + extra
    }

    func workerLog(_ count: Int) throws -> [String] {
        let (status, out, err) = try sh("python3 '\(Repo.root.appendingPathComponent("bench/gen-worker-log.py").path)' \(count)")
        guard status == 0 else { throw TestFailure("generator failed: \(err)") }
        return out.split(separator: "\n").map(String.init)
    }

    func start(_ args: [String], _ dir: TempDir, _ name: String) throws -> Sidecar {
        let s = try Sidecar(args, stderrPath: dir.file(name))
        try s.waitForStderr("reporting from now on")
        return s
    }

    /// Waits until the receiver's totals equal those of a replay of `lines`, and says what differs.
    func expectExact(_ receiver: StatsdReceiver, _ lines: [String], _ dir: TempDir, _ sidecar: Sidecar) throws {
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "expected.log")
        let ok = waitUntil(20) { receiver.counterTotals == counters && receiver.lastGauges == gauges }
        let got = receiver.counterTotals
        let diff = Set(counters.keys).union(got.keys).filter { counters[$0] != got[$0] }.sorted()
            .map { "\($0): expected \(counters[$0] ?? 0), received \(got[$0] ?? 0)" }
        #expect(ok, "counters that differ: \(diff)\ngauges \(receiver.lastGauges) vs \(gauges)\nstderr:\n\(sidecar.stderr)")
    }

    func stateWorkers(_ dir: TempDir) -> [String] {
        guard let data = FileManager.default.contents(atPath: dir.file("state/state.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let metrics = object["metrics"] as? [String: Any],
              let workers = metrics["workers"] as? [[String: Any]] else { return [] }
        return workers.compactMap { $0["key"] as? String }
    }

    @Test("glob that also matches rotated names, create + compress + delaycompress + postrotate SIGHUP, rotated three times while running: every line once, one worker")
    func wideGlobCreate() throws {
        let dir = TempDir()
        let logs = try RotatedLogs(dir)
        let lines = try workerLog(3000)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(logs.log, "")
        let sidecar = try start(runArgs(logs.log + "*", receiver, dir), dir, "err")
        let writer = try LogWriter(path: logs.log, lines: lines, rate: 2000, in: dir)
        try logs.configure(["rotate 3", "create 0644 root root", "compress", "delaycompress", "missingok",
                            "postrotate", "    kill -HUP \"$(cat '\(writer.pidFile)')\"", "endscript"])
        for _ in 0..<3 {
            usleep(400_000)
            try logs.rotate()
        }
        try writer.wait()
        #expect(logs.names == ["w.log", "w.log.1", "w.log.2.gz", "w.log.3.gz"])
        try expectExact(receiver, lines, dir, sidecar)
        #expect(sidecar.terminate() == 0)
        #expect(stateWorkers(dir) == ["file:\(logs.log)"])
    }

    @Test("create rotation while the worker goes on writing to its renamed file until a SIGHUP 1 s later: nothing written to the old file is lost")
    func createWorkerReopensLate() throws {
        let dir = TempDir()
        let logs = try RotatedLogs(dir)
        let lines = try workerLog(7000)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(logs.log, "")
        let sidecar = try start(runArgs(logs.log, receiver, dir), dir, "err")
        let writer = try LogWriter(path: logs.log, lines: lines, rate: 2000, in: dir)
        try logs.configure(["rotate 3", "create 0644 root root", "missingok"])
        usleep(300_000)
        try logs.rotate()
        usleep(1_000_000)
        writer.signal(SIGHUP)
        usleep(300_000)
        try logs.rotate()
        usleep(300_000)
        writer.signal(SIGHUP)
        try writer.wait()
        // The worker reopened at each SIGHUP: every file holds part of the lines.
        #expect(logs.names == ["w.log", "w.log.1", "w.log.2"])
        let parts = logs.names.map { (try? String(contentsOfFile: logs.logs + "/" + $0, encoding: .utf8))?.split(separator: "\n").count ?? 0 }
        #expect(parts.allSatisfy { $0 > 0 } && parts.reduce(0, +) == lines.count, "lines per file: \(parts)")
        try expectExact(receiver, lines, dir, sidecar)
        #expect(sidecar.terminate() == 0)
    }

    @Test("copytruncate + delaycompress while running, the worker paused around each rotation: the lines only the copy holds are read from it")
    func copyTruncateRunning() throws {
        let dir = TempDir()
        let logs = try RotatedLogs(dir)
        let lines = try workerLog(6000)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(logs.log, "")
        let sidecar = try start(runArgs(logs.log, receiver, dir), dir, "err")
        let writer = try LogWriter(path: logs.log, lines: lines, rate: 3000, in: dir)
        try logs.configure(["rotate 3", "copytruncate", "compress", "delaycompress", "missingok"])
        for _ in 0..<3 {
            usleep(450_000)
            // Paused so that no line falls between logrotate's copy and its truncate (copytruncate itself
            // loses those); the lines written since the sidecar's last read are in the copy only.
            writer.signal(SIGSTOP)
            try logs.rotate()
            writer.signal(SIGCONT)
        }
        try writer.wait()
        #expect(logs.names == ["w.log", "w.log.1", "w.log.2.gz", "w.log.3.gz"])
        try expectExact(receiver, lines, dir, sidecar)
        #expect(sidecar.terminate() == 0)
        #expect(!sidecar.stderr.contains("may be lost"))
    }

    @Test("copytruncate while stopped: stop, 400 more lines, logrotate copytruncate, more lines, start: the 400 lines are read from the copy")
    func copyTruncateStopped() throws {
        let dir = TempDir()
        let logs = try RotatedLogs(dir)
        let lines = try workerLog(1000)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        appendText(logs.log, "")
        var sidecar = try start(runArgs(logs.log, receiver, dir), dir, "err0")
        try logs.configure(["rotate 3", "copytruncate", "compress", "delaycompress", "missingok"])
        appendText(logs.log, lines[0..<300].joined(separator: "\n") + "\n")
        usleep(500_000)
        #expect(sidecar.terminate() == 0)
        appendText(logs.log, lines[300..<700].joined(separator: "\n") + "\n")
        try logs.rotate()
        appendText(logs.log, lines[700..<800].joined(separator: "\n") + "\n")
        sidecar = try Sidecar(runArgs(logs.log, receiver, dir), stderrPath: dir.file("err1"))
        try sidecar.waitForStderr("truncated while stopped (copytruncate); read its copy \(logs.logs)/w.log.1 from byte")
        appendText(logs.log, lines[800...].joined(separator: "\n") + "\n")
        try expectExact(receiver, lines, dir, sidecar)
        #expect(sidecar.terminate() == 0)
    }

    @Test("a --file glob that matches nothing: a warning in the log and in status while it lasts, a line when it starts matching")
    func globMatchesNothing() throws {
        let dir = TempDir()
        let logs = try RotatedLogs(dir)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let glob = logs.logs + "/*.log"
        let sidecar = try start(runArgs(glob, receiver, dir), dir, "err")
        try sidecar.waitForStderr("warning: --file '\(glob)' matches no file")
        func status() throws -> String { try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'").1 }
        #expect(waitUntil(5) { (try? status())?.contains("--file '\(glob)' matches no file") == true })
        appendText(logs.log, "2020-05-05T12:00:00.000: HTTP Connection[1]: Connection from 10.0.0.1:1\n")
        try sidecar.waitForStderr("--file '\(glob)' matches 1 file(s) now")
        #expect(waitUntil(5) { (try? status()).map { !$0.contains("matches no file") } == true })
        #expect(waitUntil(5) { receiver.counterTotals["realm.t.connection.started"] == 1 })
        #expect(sidecar.terminate() == 0)
        #expect(sidecar.stderr.components(separatedBy: "matches no file").count == 2)
    }
}
