import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The repository root and the binary under test.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var binary: String {
        ProcessInfo.processInfo.environment["REALM_METRICS_BIN"] ?? root.appendingPathComponent(".build/debug/realm-metrics").path
    }
    static func sample(_ name: String) -> String { root.appendingPathComponent("patterns/\(name)").path }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A fresh temporary directory, removed when dropped.
final class TempDir: @unchecked Sendable {
    let path = NSTemporaryDirectory() + "rm-live-\(UUID().uuidString)"
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Makes every later state save of a sidecar using `dir/state` fail: a directory where its temporary
/// file goes. The sidecar may be writing that file at this moment (it is renamed away at once): retried
/// until the directory is made.
func blockStateSaves(_ dir: TempDir) throws {
    let path = dir.file("state/state.json.tmp")
    guard waitUntil(5, { mkdir(path, 0o755) == 0 }) else { throw TestFailure("could not put a directory at \(path): \(String(cString: strerror(errno)))") }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// Runs a command to completion; returns (exit status, stdout, stderr).
@discardableResult
func sh(_ command: String, input: Data? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", command]
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let input { inp.fileHandleForWriting.write(input) }
    inp.fileHandleForWriting.closeFile()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Every suite that writes to the journald, one at a time: some of them kill, restart, rotate and
/// vacuum it, which the others must not see in the middle of a test.
@Suite("Live: suites that use the journald", .serialized)
enum JournaldSuites {}

/// The journald of the tests: always a private one, started by `scripts/private-journald.sh` (which
/// `make test` runs the tests under) in mount and PID namespaces of their own. The host's journald is
/// never written to, signalled, rotated or vacuumed: without the private one, journal tests fail with a
/// pointer to the wrapper instead of using whatever journald answers.
enum Journald {
    static var isPrivate: Bool { ProcessInfo.processInfo.environment["PRIVATE_JOURNALD"] == "inside" }

    static func ensure() throws {
        guard isPrivate else {
            throw TestFailure("journal tests run against a private journald only: scripts/private-journald.sh swift test (as root; make test does this)")
        }
        if (try? sh("systemd-cat -t realm-metrics-probe true").0) == 0 { return }
        try sh("\(Repo.root.appendingPathComponent("scripts/start-journald.sh").path)")
        guard waitUntil(5, { (try? sh("systemd-cat -t realm-metrics-probe true").0) == 0 }) else {
            throw TestFailure("journald did not start")
        }
    }

    /// Running systemd-journald processes, read from /proc (a `pkill -f` would also match the shell
    /// that runs it); zombies do not count.
    static func pids() -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> pid_t? in
            guard let pid = pid_t(name),
                  let comm = try? String(contentsOfFile: "/proc/\(name)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines) == "systemd-journal",
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"),
                  stat[stat.index(close, offsetBy: 2)] != "Z" else { return nil }
            return pid
        }
    }

    /// Kills journald outright (SIGKILL: its files are left as a crash leaves them; SIGTERM may be
    /// blocked in processes the test runner started) and starts a new one.
    static func restart() throws {
        guard isPrivate else { throw TestFailure("refusing to restart a journald that is not the tests' private one") }
        let before = pids()
        guard !before.isEmpty else { throw TestFailure("no journald to restart") }
        for pid in before { kill(pid, SIGKILL) }
        guard waitUntil(10, { pids().isEmpty }) else { throw TestFailure("journald did not die") }
        let (status, _, err) = try sh("\(Repo.root.appendingPathComponent("scripts/start-journald.sh").path)")
        guard status == 0, let after = pids().first, !before.contains(after) else { throw TestFailure("journald did not start again: \(err)") }
    }
}

/// A UDP socket on 127.0.0.1 that keeps every statsd line it receives.
final class StatsdReceiver: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var received: [String] = []
    private var thread: Thread?

    /// With `reading: false` nothing is ever read from the socket (a black hole once its buffer is full).
    init(reading: Bool = true, port wanted: UInt16 = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = wanted.bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw TestFailure("bind failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard reading else { return }
        let t = Thread { [unowned self] in self.loop() }
        thread = t
        t.start()
    }

    private var stopped = false
    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            lock.lock(); let stop = stopped; lock.unlock()
            if stop { return }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                let lines = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").map(String.init)
                lock.lock(); received += lines; lock.unlock()
            }
        }
    }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        usleep(150_000)
        close(fd)
    }

    var lines: [String] { lock.lock(); defer { lock.unlock() }; return received }

    /// Sum of every counter delta received, by full name; the sidecar's own metrics (`.sidecar.`) apart.
    var counterTotals: [String: Int64] { allCounterTotals.filter { !$0.key.contains(".sidecar.") } }

    /// Sum of every counter delta received, the sidecar's own included.
    var allCounterTotals: [String: Int64] {
        var out: [String: Int64] = [:]
        for line in lines where line.hasSuffix("|c") {
            let parts = line.dropLast(2).split(separator: ":")
            if parts.count == 2, let v = Int64(parts[1]) { out[String(parts[0]), default: 0] += v }
        }
        return out
    }

    /// The last value received for each gauge; the sidecar's own metrics apart.
    var lastGauges: [String: Int64] { allLastGauges.filter { !$0.key.contains(".sidecar.") } }

    var allLastGauges: [String: Int64] {
        var out: [String: Int64] = [:]
        for line in lines where line.hasSuffix("|g") {
            let parts = line.dropLast(2).split(separator: ":")
            if parts.count == 2, let v = Int64(parts[1]) { out[String(parts[0])] = v }
        }
        return out
    }
}

/// The sidecar as a child process, stderr kept in a file.
final class Sidecar {
    let process = Process()
    let stderrPath: String

    /// `environment` replaces the test's own environment when given.
    init(_ arguments: [String], stderrPath: String, executable: String = Repo.binary, environment: [String: String]? = nil) throws {
        self.stderrPath = stderrPath
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func waitForStderr(_ text: String, seconds: Double = 20) throws {
        guard waitUntil(seconds, { stderr.contains(text) }) else {
            throw TestFailure("sidecar did not say '\(text)' within \(seconds) s; stderr:\n\(stderr)")
        }
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    func sigkill() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// A test that failed half way must not leave a sidecar behind.
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// `replay --summary` of a log, parsed: (counters, gauges) by full name.
func replaySummary(_ logPath: String, patterns: String = "realm-sync-worker", prefix: String) throws -> ([String: Int64], [String: Int64]) {
    let (status, out, err) = try sh("'\(Repo.binary)' replay -q --patterns \(patterns) --prefix \(prefix) --summary '\(logPath)'")
    guard status == 0 else { throw TestFailure("replay failed: \(err)") }
    return try parseSummary(out)
}

func parseSummary(_ json: String) throws -> ([String: Int64], [String: Int64]) {
    // The summary also has "timers" and "histograms", whose entries are objects.
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    return (object?["counters"] as? [String: Int64] ?? [:], object?["gauges"] as? [String: Int64] ?? [:])
}

/// A process writing to the journal with one identifier and one _PID for its whole life.
final class JournalWriter {
    let process = Process()
    let input = Pipe()

    init(identifier: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-cat")
        process.arguments = ["-t", identifier]
        process.standardInput = input
        try process.run()
    }

    func write(_ lines: [String]) {
        input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    func close() {
        input.fileHandleForWriting.closeFile()
        process.waitUntilExit()
    }
}

/// How many journal entries an identifier has (as journalctl sees them).
func journalCount(_ identifier: String) -> Int {
    (try? sh("journalctl -t '\(identifier)' -o cat --no-pager | wc -l").1.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { Int($0) } ?? 0
}

func sampleLines(_ name: String = "realm-sync-worker.sample.log") throws -> [String] {
    try String(contentsOfFile: Repo.sample(name), encoding: .utf8).split(separator: "\n").map(String.init)
}

/// Counter totals of `all` minus those of `before` (what happened after a point).
func difference(_ all: [String: Int64], _ before: [String: Int64]) -> [String: Int64] {
    var out: [String: Int64] = [:]
    for (k, v) in all where v - (before[k] ?? 0) != 0 { out[k] = v - (before[k] ?? 0) }
    return out
}
