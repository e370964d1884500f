import Testing
import Foundation
@testable import RealmMetricsIO

/// The statsd sink over real UDP on loopback.
@Suite("statsd sink")
struct StatsdSinkTests {
    /// A UDP socket on 127.0.0.1 (port 0: any free one, or the one given).
    static func bound(port: UInt16 = 0) -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    @Test("a refusing receiver is counted, and the datagram sent when it is back still arrives")
    func refusedThenBack() throws {
        // Find a free port, then let it go: nothing listens there.
        let (probe, port) = Self.bound()
        close(probe)
        let sink = StatsdSink(host: "127.0.0.1", port: port)
        #expect(sink.send([Array("a:1|c".utf8)]) == 0)  // sent; the kernel answers "port unreachable"
        usleep(100_000)
        let (receiver, _) = Self.bound(port: port)
        defer { close(receiver) }
        #expect(sink.send([Array("b:2|c".utf8)]) == 0)
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(receiver, &buffer, buffer.count, 0)
        #expect(n > 0 && String(decoding: buffer[0..<n], as: UTF8.self) == "b:2|c")
        #expect(sink.sendErrors == 1)
        #expect(sink.lastError?.contains("Connection refused") == true)
        #expect(sink.datagramsSent == 2)
    }
}

extension StatsdSinkTests {
    @Test("an unresolvable name is kept in lastError, and every datagram then counts as an error")
    func unresolvable() {
        let sink = StatsdSink(host: "nonexistent.invalid", port: 8125)
        #expect(sink.lastError?.hasPrefix("cannot resolve nonexistent.invalid: ") == true, "\(sink.lastError ?? "no error")")
        #expect(sink.send([Array("a:1|c".utf8), Array("b:1|c".utf8)]) == 2)
        #expect(sink.sendErrors == 2)
    }

    @Test("an address connect(2) refuses (broadcast without SO_BROADCAST) is 'cannot connect to HOST:PORT', as for Graphite")
    func connectRefused() {
        let sink = StatsdSink(host: "255.255.255.255", port: 8125)
        #expect(sink.lastError?.hasPrefix("cannot connect to 255.255.255.255:8125: ") == true, "\(sink.lastError ?? "no error")")
        #expect(sink.send([Array("a:1|c".utf8)]) == 1)
        #expect(sink.sendErrors == 1)
    }
}
