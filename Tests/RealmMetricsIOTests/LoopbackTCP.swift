import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// TCP peers on 127.0.0.1 for the socket and sink tests, made with the C calls only.
enum LoopbackTCP {
    /// A TCP socket bound to a free port of 127.0.0.1, listening with `backlog` when it is given.
    static func socket(listening backlog: Int32?) -> (fd: Int32, port: UInt16) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = address(0)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        if let backlog { #expect(listen(fd, backlog) == 0) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    /// A port nothing listens on: bound for a moment to find it free, then let go.
    static func refusingPort() -> UInt16 {
        let (fd, port) = socket(listening: nil)
        close(fd)
        return port
    }

    /// A listener that takes no more connections: a backlog of 0 filled by one connection it never
    /// accepts, so the kernel drops the handshake of the next one and that one's connect waits.
    static func fullListener() -> (listener: Int32, filler: Int32, port: UInt16) {
        let (listener, port) = socket(listening: 0)
        let filler = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = address(port)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        return (listener, filler, port)
    }

    private static func address(_ port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        return addr
    }
}
