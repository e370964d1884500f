#if canImport(Glibc)
import Glibc
#endif

/// Sends statsd datagrams over UDP without ever blocking: a receiver that is down, refuses or drops
/// packets only moves the error count.
public final class StatsdSink {
    public let host: String
    public let port: UInt16
    private var fd: Int32 = -1
    public private(set) var datagramsSent: Int64 = 0
    public private(set) var bytesSent: Int64 = 0
    public private(set) var sendErrors: Int64 = 0
    public private(set) var lastError: String?
    /// The last ``send(_:)`` met a refusal (the kernel's answer to a datagram of it, or of the one before).
    public private(set) var refusedDuringLastSend = false

    /// Parses `HOST:PORT` (`[v6]:PORT` for IPv6 literals).
    public static func parse(_ target: String) -> (String, UInt16)? {
        var host = Substring(target)
        guard let colon = target.lastIndex(of: ":") else { return nil }
        host = target[..<colon]
        guard let port = UInt16(target[target.index(after: colon)...]), port > 0 else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        return (String(host), port)
    }

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
        _ = resolve()
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Resolves the address and opens a non-blocking UDP socket connected to it (``Socket/connect(host:port:kind:)``).
    /// A connected UDP socket hears back: when nothing listens, the kernel's "port unreachable" makes a
    /// later send fail with ECONNREFUSED, so a refusing receiver shows in the error count (that send is
    /// then made again, see `send`).
    private func resolve() -> Bool {
        do {
            fd = try Socket.connect(host: host, port: port, kind: .udp)
            return true
        } catch {
            lastError = error.description
            return false
        }
    }

    /// Sends each payload as one datagram; returns how many failed.
    @discardableResult
    public func send(_ datagrams: [[UInt8]]) -> Int {
        refusedDuringLastSend = false
        if fd < 0 && !resolve() {
            sendErrors += Int64(datagrams.count)
            return datagrams.count
        }
        var failed = 0
        for payload in datagrams {
            var n = payload.withUnsafeBytes { bytes in Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && errno == ECONNREFUSED {
                // The refusal is that of an earlier datagram, reported now and not sent: count it, and
                // send this one again, so a receiver that is back gets it.
                sendErrors += 1
                refusedDuringLastSend = true
                lastError = "send to \(host):\(port): \(errnoText(ECONNREFUSED))"
                n = payload.withUnsafeBytes { bytes in Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) }
            }
            if n < 0 {
                failed += 1
                lastError = "send to \(host):\(port): \(errnoText(errno))"
            } else {
                datagramsSent += 1
                bytesSent += Int64(n)
            }
        }
        sendErrors += Int64(failed)
        return failed
    }

    /// The refusal the kernel has reported for a datagram sent earlier, if any (`getsockopt(SO_ERROR)`,
    /// which also clears it): `ECONNREFUSED` (nothing listens: "port unreachable"), `EHOSTUNREACH`,
    /// `ENETUNREACH`. Counted in ``sendErrors``.
    public func takeRefusal() -> Int32? {
        guard fd >= 0 else { return nil }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0, code != 0 else { return nil }
        guard [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN].contains(code) else { return nil }
        sendErrors += 1
        lastError = "send to \(host):\(port): \(errnoText(code))"
        return code
    }
}
