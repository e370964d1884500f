import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Live: the state directory's lock and source set", .serialized)
struct StateSourcesTests {
    func args(_ port: UInt16, _ dir: TempDir, _ sources: [String]) -> [String] {
        ["run", "--statsd", "127.0.0.1:\(port)", "--flush-interval", "0.2", "--state-dir", dir.file("state"), "--prefix", "realm.t"] + sources
    }

    @Test("a second sidecar on the same state directory exits at once naming the first one's process; the first keeps counting, status still reads")
    func stateDirectoryInUse() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let first = try Sidecar(args(receiver.port, dir, ["--file", dir.file("w.log")]), stderrPath: dir.file("err1"))
        try first.waitForStderr("reporting from now on")

        let started = Date()
        let second = args(receiver.port, dir, ["--file", dir.file("w.log")]).map { "'\($0)'" }.joined(separator: " ")
        let (status, _, err) = try sh("timeout -s KILL 10 '\(Repo.binary)' \(second)")
        #expect(status == 2, "exit status \(status); stderr: \(err)")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(err.contains("error [usage]: state directory \(dir.file("state")) is in use by process \(first.process.processIdentifier)"), "\(err)")
        #expect(first.process.isRunning)

        // status only reads: it works while the sidecar holds the directory.
        let (statusCode, out, statusErr) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(statusCode == 0, "\(statusErr)")
        #expect(out.contains("following files \(dir.file("w.log"))"))

        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters && receiver.lastGauges == gauges }, "got \(receiver.counterTotals)")
        #expect(first.terminate() == 0)
        // Counted once: nothing more arrives after the first one stopped.
        usleep(400_000)
        #expect(receiver.counterTotals == counters)
    }

    @Test("a lock file that cannot be opened does not stop the sidecar: it warns, runs, and status shows the warning")
    func lockUnavailable() throws {
        let dir = TempDir()
        appendText(dir.file("w.log"), "")
        try FileManager.default.createDirectory(atPath: dir.file("state/lock"), withIntermediateDirectories: true)
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let sidecar = try Sidecar(args(receiver.port, dir, ["--file", dir.file("w.log")]), stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        let warning = "warning: cannot lock the state directory (\(dir.file("state/lock")): cannot open: Is a directory); running without the lock"
        #expect(sidecar.stderr.contains(warning), "\(sidecar.stderr)")
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        let (counters, _) = try expectedFor(try sampleLines(), in: dir, name: "e.log")
        #expect(waitUntil(10) { receiver.counterTotals == counters })
        #expect(sidecar.terminate() == 0)
        let (_, out, _) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(out.contains("warnings:\n  cannot lock the state directory"), "\(out)")
    }
}
