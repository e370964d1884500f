import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A unix datagram socket standing in for systemd's notification socket: keeps every message with the
/// monotonic time it arrived.
final class NotifySocket: @unchecked Sendable {
    let path: String
    let fd: Int32
    private let lock = NSLock()
    private var received: [(time: Double, message: String)] = []
    private var stopped = false
    private let onMessage: @Sendable (String) -> Void

    init(path: String, onMessage: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.path = path
        self.onMessage = onMessage
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw TestFailure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { buffer in
            for (i, b) in bytes.enumerated() { buffer[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw TestFailure("bind \(path): \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        Thread { [self] in loop() }.start()
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            lock.lock(); let stop = stopped; lock.unlock()
            if stop { return }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let time = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            onMessage(text)
            lock.lock(); received.append((time, text)); lock.unlock()
        }
    }

    /// Every message so far, each split into its `KEY=value` lines.
    var messages: [(time: Double, lines: [String])] {
        lock.lock(); defer { lock.unlock() }
        return received.map { ($0.time, $0.message.split(separator: "\n").map(String.init)) }
    }

    /// Arrival times of the messages that hold `line`.
    func times(of line: String) -> [Double] { messages.filter { $0.lines.contains(line) }.map(\.time) }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        usleep(100_000)
        close(fd)
        unlink(path)
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Holds a copy of a file's text, taken from another thread.
final class Snapshot: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ text: String) { lock.lock(); if value == nil { value = text }; lock.unlock() }
    var text: String? { lock.lock(); defer { lock.unlock() }; return value }
}

@Suite("Live: systemd notification (Type=notify, watchdog)")
struct ServiceNotifyTests {
    /// The test's environment without a service manager's variables, plus `extra`.
    func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { env.removeValue(forKey: key) }
        return env.merging(extra) { $1 }
    }

    func args(_ dir: TempDir, _ port: UInt16) -> [String] {
        ["run", "--file", dir.file("w.log"), "--statsd", "127.0.0.1:\(port)", "--flush-interval", "0.2",
         "--state-dir", dir.file("state"), "--prefix", "realm.t"]
    }

    @Test("READY=1 after the catch-up, WATCHDOG=1 at least every half of WATCHDOG_USEC, STOPPING=1 at SIGTERM")
    func readyWatchdogStopping() throws {
        let dir = TempDir()
        let statsd = try StatsdReceiver()
        defer { statsd.stop() }
        appendText(dir.file("w.log"), try sampleLines().joined(separator: "\n") + "\n")
        let stderrPath = dir.file("err")
        // What the sidecar had said when READY=1 arrived.
        let atReady = Snapshot()
        let notify = try NotifySocket(path: dir.file("notify")) { message in
            if message.split(separator: "\n").contains("READY=1") {
                atReady.set((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
            }
        }
        defer { notify.stop() }
        // WATCHDOG_PID is left unset: sd_watchdog_enabled would compare it with the sidecar's pid.
        let sidecar = try Sidecar(args(dir, statsd.port), stderrPath: stderrPath,
                                  environment: environment(["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"]))
        #expect(waitUntil(20) { !notify.times(of: "READY=1").isEmpty }, "no READY=1; stderr:\n\(sidecar.stderr)")
        let ready = try #require(notify.times(of: "READY=1").first)
        #expect(notify.messages.first?.lines == ["READY=1"], "\(notify.messages.map(\.lines))")
        #expect(atReady.text?.contains("lines of history; reporting from now on") == true,
                "READY=1 came before the catch-up ended; stderr then:\n\(atReady.text ?? "(none)")")

        usleep(1_500_000)
        let beforeTerm = monotonicNow()
        let pings = notify.times(of: "WATCHDOG=1").filter { $0 >= ready && $0 < beforeTerm }
        #expect(pings.count >= 7, "\(pings.count) WATCHDOG=1 in 1.5 s")
        let gaps = zip([ready] + pings, pings + [beforeTerm]).map { $1 - $0 }
        #expect((gaps.max() ?? 1) <= 0.2, "longest time without WATCHDOG=1: \(gaps.max() ?? 0) s (WATCHDOG_USEC 0.4 s)")

        #expect(sidecar.terminate() == 0)
        let stopping = notify.times(of: "STOPPING=1")
        #expect(stopping.count == 1 && stopping.allSatisfy { $0 > beforeTerm }, "STOPPING=1 at \(stopping), SIGTERM after \(beforeTerm)")
        #expect(notify.times(of: "READY=1").count == 1)
    }

    @Test("no WATCHDOG=1 without WATCHDOG_USEC, nor when WATCHDOG_PID names another process; READY=1 and STOPPING=1 still")
    func noWatchdog() throws {
        let statsd = try StatsdReceiver()
        defer { statsd.stop() }
        for extra in [[:], ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"]] {
            let dir = TempDir()
            appendText(dir.file("w.log"), "")
            let notify = try NotifySocket(path: dir.file("notify"))
            defer { notify.stop() }
            let sidecar = try Sidecar(args(dir, statsd.port), stderrPath: dir.file("err"),
                                      environment: environment(extra.merging(["NOTIFY_SOCKET": notify.path]) { $1 }))
            #expect(waitUntil(20) { !notify.times(of: "READY=1").isEmpty }, "no READY=1 with \(extra); stderr:\n\(sidecar.stderr)")
            usleep(600_000)
            #expect(sidecar.terminate() == 0)
            #expect(waitUntil(2) { notify.times(of: "STOPPING=1").count == 1 }, "with \(extra): \(notify.messages.map(\.lines))")
            #expect(notify.times(of: "WATCHDOG=1").isEmpty, "with \(extra): \(notify.messages.map(\.lines))")
        }
    }
}
