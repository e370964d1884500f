#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Graphite plaintext over one TCP connection, with a timeout on connecting and on every send: a
/// Graphite that stops taking data stops the job with an error instead of hanging it.
final class GraphiteSink: BucketWriter {
    let fd: Int32
    let encoder: GraphiteEncoder
    let target: String
    let timeoutSeconds: Double
    var buffer: [UInt8] = []

    init(host: String, port: UInt16, encoder: GraphiteEncoder, timeoutSeconds: Double = 10) throws(RealmMetricsError) {
        self.encoder = encoder
        self.timeoutSeconds = timeoutSeconds
        target = NetworkAddress(host: host, port: port).description
        do {
            fd = try Socket.connect(host: host, port: port, kind: .tcp(timeout: timeoutSeconds))
        } catch {
            throw RealmMetricsError(.output, "graphite: \(error)\(error.code == .timeout ? " (--output-timeout)" : "")")
        }
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
