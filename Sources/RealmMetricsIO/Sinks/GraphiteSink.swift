#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Graphite plaintext over one TCP connection, with a timeout on connecting and on every send: a
/// Graphite that stops taking data stops the job with an error instead of hanging it.
final class GraphiteSink: BucketSink {
    let fd: Int32
    let encoder: GraphiteEncoder
    let target: String
    let timeoutSeconds: Double
    var buffer: [UInt8] = []

    init(host: String, port: UInt16, encoder: GraphiteEncoder, timeoutSeconds: Double = 10) throws(RealmMetricsError) {
        self.encoder = encoder
        self.timeoutSeconds = timeoutSeconds
        target = NetworkAddress(host: host, port: port).description
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            throw RealmMetricsError(.output, "graphite: cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        let s = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard s >= 0 else { throw RealmMetricsError(.output, "graphite: socket: \(errnoText(errno))") }
        // Non-blocking connect, waited for with poll(2) up to the timeout.
        if connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            var reason = errno
            if reason == EINPROGRESS {
                var pfd = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
                let ready = SystemCall.retrying { poll(&pfd, 1, Int32(timeoutSeconds * 1000)) }
                if ready == 0 {
                    close(s)
                    throw RealmMetricsError(.output, "graphite: \(target) did not accept the connection within \(formatSeconds(timeoutSeconds)) s (--output-timeout)")
                }
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(s, SOL_SOCKET, SO_ERROR, &code, &length)
                reason = ready < 0 ? errno : code
            }
            if reason != 0 && reason != EINPROGRESS {
                close(s)
                throw RealmMetricsError(.output, "graphite: cannot connect to \(target): \(errnoText(reason))")
            }
        }
        // Blocking from here on, each send bounded by the timeout.
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK)
        var tv = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - Double(Int(timeoutSeconds))) * 1_000_000))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        fd = s
    }

    deinit { close(fd) }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        for line in encoder.lines(bucket) {
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
        }
        if buffer.count >= 1 << 16 { try send() }
    }

    func finish() throws(RealmMetricsError) {
        try send()
        shutdown(fd, Int32(SHUT_WR))
        // Wait for the receiver to close (it has then read everything).
        var scratch = [UInt8](repeating: 0, count: 256)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while recv(fd, &scratch, scratch.count, 0) > 0 {}
    }

    private func send() throws(RealmMetricsError) {
        if let failure = buffer.withUnsafeBytes({ SystemCall.writeAll($0) { Glibc.send(fd, $0, $1, Int32(MSG_NOSIGNAL)) } }) {
            if failure.code == EAGAIN || failure.code == EWOULDBLOCK {
                throw RealmMetricsError(.output, "graphite: \(target) took no data for \(formatSeconds(timeoutSeconds)) s (--output-timeout); stopped with the points before not all written")
            }
            throw RealmMetricsError(.output, "graphite: sending to \(target) failed: \(failure)")
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
