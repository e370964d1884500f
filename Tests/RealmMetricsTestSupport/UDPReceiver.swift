import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket on 127.0.0.1 that a test reads statsd datagrams from on its own thread, without a
/// reader thread: a datagram sent on loopback is in the socket's queue when `send(2)` returns, so
/// ``collect(waiting:)`` right after a flush sees all of it.
public final class UDPReceiver: @unchecked Sendable {
    public let fd: Int32
    public let port: UInt16
    /// Every datagram collected so far, in order of arrival.
    public private(set) var datagrams: [String] = []
    /// The statsd lines of every datagram collected so far.
    public var lines: [String] { datagrams.flatMap { $0.split(separator: "\n").map(String.init) } }

    public struct BindFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds 127.0.0.1:`port` (0: a free port the kernel picks).
    public init(port wanted: UInt16 = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = wanted.bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BindFailed(description: "bind 127.0.0.1:\(wanted): \(reason)")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
    }

    /// A port on 127.0.0.1 where nothing listens (bound, then let go).
    public static func closedPort() throws -> UInt16 {
        let probe = try UDPReceiver()
        return probe.port
    }

    deinit { close(fd) }

    /// The statsd lines of the datagrams that arrived since the last call, waiting up to `seconds` for
    /// the first one when none is queued.
    @discardableResult
    public func collect(waiting seconds: Double = 0) -> [String] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var lines: [String] = []
        var wait = seconds
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, Int32(wait * 1000)) > 0 else { return lines }
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard n > 0 else { return lines }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            datagrams.append(text)
            lines += text.split(separator: "\n").map(String.init)
            wait = 0
        }
    }
}

/// statsd lines read back: counter deltas summed and the last value of each gauge, by full name.
public struct StatsdReading: Equatable, CustomStringConvertible {
    /// Equal when the sums and the last gauge values are (not each delta).
    public static func == (a: StatsdReading, b: StatsdReading) -> Bool { a.counters == b.counters && a.gauges == b.gauges }

    public var counters: [String: Int64] = [:]
    public var gauges: [String: Int64] = [:]
    /// Every counter line's value in order, by full name (to see each delta, not only their sum).
    public var deltas: [String: [Int64]] = [:]

    public init(counters: [String: Int64] = [:], gauges: [String: Int64] = [:]) {
        self.counters = counters
        self.gauges = gauges
    }

    /// Parses `name:value|c` and `name:value|g` lines; other lines are left out.
    public init(_ lines: [String]) {
        for line in lines {
            guard let colon = line.lastIndex(of: ":"), let bar = line.lastIndex(of: "|"), colon < bar,
                  let value = Int64(line[line.index(after: colon)..<bar]) else { continue }
            let name = String(line[..<colon])
            switch line[line.index(after: bar)...] {
            case "c":
                counters[name, default: 0] += value
                deltas[name, default: []].append(value)
            case "g": gauges[name] = value
            default: continue
            }
        }
    }

    /// Only the names that start with `prefix`.
    public func under(_ prefix: String) -> StatsdReading {
        var out = StatsdReading(counters: counters.filter { $0.key.hasPrefix(prefix) }, gauges: gauges.filter { $0.key.hasPrefix(prefix) })
        out.deltas = deltas.filter { $0.key.hasPrefix(prefix) }
        return out
    }

    /// The names that do not start with `prefix`.
    public func except(_ prefix: String) -> StatsdReading {
        var out = StatsdReading(counters: counters.filter { !$0.key.hasPrefix(prefix) }, gauges: gauges.filter { !$0.key.hasPrefix(prefix) })
        out.deltas = deltas.filter { !$0.key.hasPrefix(prefix) }
        return out
    }

    public var description: String { "counters \(counters.sorted { $0.key < $1.key }), gauges \(gauges.sorted { $0.key < $1.key })" }
}
