import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A free UDP port on 127.0.0.1 (bound once and released).
func freeUDPPort() -> UInt16 { freePort(SOCK_DGRAM) }

/// A free port of `type` on 127.0.0.1 (bound once and released).
func freePort(_ type: __socket_type) -> UInt16 {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: addr.sin_port)
}

@Suite("Live: a real statsd server (collectd)", .serialized)
struct CollectdTests {
    /// The last value collectd wrote to `<type>-<name>-DATE` under its statsd folder.
    func lastValue(_ dir: TempDir, type: String, name: String) -> Double? {
        let folder = dir.file("csv/testhost/statsd")
        guard let items = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
        guard let file = items.filter({ $0.hasPrefix("\(type)-\(name)-") }).sorted().last,
              let text = try? String(contentsOfFile: folder + "/" + file, encoding: .utf8),
              let last = text.split(separator: "\n").last, !last.hasPrefix("epoch") else { return nil }
        return last.split(separator: ",").last.flatMap { Double($0) }
    }

    @Test("collectd's statsd plugin records the counter totals and gauge values the sidecar sends")
    func collectd() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/collectd") else {
            throw TestFailure("collectd is not installed: run `make deps-test` (apt-get install collectd-core)")
        }
        let dir = TempDir()
        let port = freeUDPPort()
        try """
            Hostname "testhost"
            FQDNLookup false
            Interval 1
            BaseDir "\(dir.file("base"))"
            LoadPlugin statsd
            <Plugin statsd>
              Host "127.0.0.1"
              Port "\(port)"
              DeleteCounters false
            </Plugin>
            LoadPlugin csv
            <Plugin csv>
              DataDir "\(dir.file("csv"))"
              StoreRates false
            </Plugin>

            """.write(toFile: dir.file("collectd.conf"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.file("base"), withIntermediateDirectories: true)
        let collectd = Process()
        collectd.executableURL = URL(fileURLWithPath: "/usr/sbin/collectd")
        collectd.arguments = ["-f", "-C", dir.file("collectd.conf")]
        _ = FileManager.default.createFile(atPath: dir.file("collectd.err"), contents: nil)
        collectd.standardError = FileHandle(forWritingAtPath: dir.file("collectd.err"))
        collectd.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try collectd.run()
        // SIGKILL: children of the test runner inherit its blocked SIGTERM.
        defer { kill(collectd.processIdentifier, SIGKILL); collectd.waitUntilExit() }
        usleep(300_000)
        guard collectd.isRunning else {
            throw TestFailure("collectd exited: \((try? String(contentsOfFile: dir.file("collectd.err"), encoding: .utf8)) ?? "")")
        }

        appendText(dir.file("w.log"), "")
        let args = ["run", "--file", dir.file("w.log"), "--statsd", "127.0.0.1:\(port)", "--flush-interval", "0.5",
                    "--state-dir", dir.file("state"), "--prefix", "realm.t"]
        let sidecar = try Sidecar(args, stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        let lines = try sampleLines()
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        let (counters, gauges) = try expectedFor(lines, in: dir, name: "expected.log")

        let checked = ["realm.t.session.started", "realm.t.connection.terminated", "realm.t.authentication.failed", "realm.t.protocol.bytes.sent"]
        #expect(waitUntil(15) {
            checked.allSatisfy { lastValue(dir, type: "derive", name: $0) == Double(counters[$0] ?? -1) }
                && lastValue(dir, type: "gauge", name: "realm.t.session.online") == Double(gauges["realm.t.session.online"] ?? -1)
                && lastValue(dir, type: "gauge", name: "realm.t.protocol.bytes.received") == Double(gauges["realm.t.protocol.bytes.received"]!)
                && lastValue(dir, type: "gauge", name: "realm.t.realms.open") == Double(gauges["realm.t.realms.open"] ?? -1)
        }, "collectd has \(checked.map { "\($0)=\(lastValue(dir, type: "derive", name: $0).map { "\($0)" } ?? "none")" }); files: \((try? sh("find '\(dir.path)/csv' -type f | head; cat '\(dir.file("err"))' '\(dir.file("collectd.err"))'").1) ?? "")")
        #expect(lastValue(dir, type: "gauge", name: "realm.t.protocol.bytes.received") == Double(gauges["realm.t.protocol.bytes.received"]!))
        #expect(lastValue(dir, type: "gauge", name: "realm.t.realms.open") == Double(gauges["realm.t.realms.open"] ?? -1))
        #expect(sidecar.terminate() == 0)
    }
}
