import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import RealmMetricsIO

/// The socket helper (``Socket/connect(host:port:kind:)``) on loopback.
@Suite("Sockets")
struct SocketTests {
    static func failure(_ body: () throws(Socket.Failure) -> Int32) -> Socket.Failure? {
        do {
            close(try body())
            return nil
        } catch {
            return error
        }
    }

    @Test("TCP to a listening port: connected, blocking, each send bounded by the timeout")
    func tcpConnects() throws {
        let (listener, port) = LoopbackTCP.socket(listening: 4)
        defer { close(listener) }
        let fd = try Socket.connect(host: "127.0.0.1", port: port, kind: .tcp(timeout: 1.5))
        defer { close(fd) }
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK == 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        var tv = timeval()
        var length = socklen_t(MemoryLayout<timeval>.size)
        getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &length)
        #expect(tv.tv_sec == 1 && tv.tv_usec / 1000 == 500)
        let peer = accept(listener, nil, nil)
        defer { close(peer) }
        #expect(peer >= 0)
        #expect(send(fd, "x", 1, Int32(MSG_NOSIGNAL)) == 1)
        var byte: UInt8 = 0
        #expect(recv(peer, &byte, 1, 0) == 1 && byte == UInt8(ascii: "x"))
    }

    @Test("TCP to a port nothing listens on: 'cannot connect to HOST:PORT: Connection refused'")
    func tcpRefused() {
        let port = LoopbackTCP.refusingPort()
        let failure = Self.failure { () throws(Socket.Failure) in try Socket.connect(host: "127.0.0.1", port: port, kind: .tcp(timeout: 2)) }
        #expect(failure == Socket.Failure(code: .connect, description: "cannot connect to 127.0.0.1:\(port): Connection refused"))
    }

    @Test("TCP to a listener that takes no more connections: 'did not accept the connection within N s', after N s")
    func tcpTimeout() throws {
        let (listener, filler, port) = LoopbackTCP.fullListener()
        defer { close(listener); close(filler) }
        let started = Date()
        let failure = Self.failure { () throws(Socket.Failure) in try Socket.connect(host: "127.0.0.1", port: port, kind: .tcp(timeout: 0.3)) }
        let waited = Date().timeIntervalSince(started)
        #expect(failure == Socket.Failure(code: .timeout, description: "127.0.0.1:\(port) did not accept the connection within 0.3 s"))
        #expect(waited >= 0.25 && waited < 2, "waited \(waited) s")
    }

    @Test("a name that does not resolve: 'cannot resolve HOST: reason', for TCP and UDP")
    func unresolvable() {
        for kind in [Socket.Kind.tcp(timeout: 1), .udp] {
            let failure = Self.failure { () throws(Socket.Failure) in try Socket.connect(host: "nonexistent.invalid", port: 2003, kind: kind) }
            #expect(failure?.code == .resolve)
            #expect(failure?.description.hasPrefix("cannot resolve nonexistent.invalid: ") == true, "\(String(describing: failure))")
        }
    }

    @Test("UDP: connected to the receiver and non-blocking; a datagram sent arrives")
    func udpConnects() throws {
        let (receiver, port) = StatsdSinkTests.bound()
        defer { close(receiver) }
        let fd = try Socket.connect(host: "127.0.0.1", port: port, kind: .udp)
        defer { close(fd) }
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(send(fd, "a:1|c", 5, 0) == 5)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(receiver, &buffer, buffer.count, 0)
        #expect(n == 5 && String(decoding: buffer[0..<5], as: UTF8.self) == "a:1|c")
    }

    @Test("UDP to an address connect refuses (broadcast without SO_BROADCAST): 'cannot connect to HOST:PORT: reason'")
    func udpRefusedByConnect() {
        let failure = Self.failure { () throws(Socket.Failure) in try Socket.connect(host: "255.255.255.255", port: 8125, kind: .udp) }
        #expect(failure?.code == .connect)
        #expect(failure?.description.hasPrefix("cannot connect to 255.255.255.255:8125: ") == true, "\(String(describing: failure))")
    }

    @Test("an IPv6 literal is named in brackets")
    func ipv6Named() {
        let port = LoopbackTCP.refusingPort()
        let failure = Self.failure { () throws(Socket.Failure) in try Socket.connect(host: "::1", port: port, kind: .tcp(timeout: 1)) }
        // Refused, or no IPv6 on loopback here: either way the address is written [::1]:PORT.
        #expect(failure?.description.hasPrefix("cannot connect to [::1]:\(port): ") == true, "\(String(describing: failure))")
    }
}
