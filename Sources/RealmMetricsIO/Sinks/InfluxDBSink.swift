#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RealmMetricsCore

/// InfluxDB 1.x over HTTP: line protocol POSTed to `/write?db=DATABASE&precision=P` in batches of
/// `batchLines` lines, one HTTP/1.1 request per batch on a connection of its own (`Connection: close`,
/// the answer read to its end). Connecting, every send and every read of the answer are bounded by
/// `timeoutSeconds`. Any answer but 2xx stops the job with an output error that shows InfluxDB's own
/// message (its `{"error": "..."}`, e.g. `database not found: "x"`, a parse error, a partial write):
/// points of earlier batches stay written.
final class InfluxDBSink: BucketWriter {
    let host: String
    let port: UInt16
    let database: String
    let encoder: InfluxEncoder
    let timeoutSeconds: Double
    let batchLines: Int
    /// `HOST:PORT` as errors name it.
    let target: String
    private var body: [UInt8] = []
    private var lines = 0
    /// Requests answered with 2xx so far.
    private(set) var batchesWritten = 0

    init(host: String, port: UInt16, database: String, encoder: InfluxEncoder, timeoutSeconds: Double = 10, batchLines: Int = 5000) {
        precondition(batchLines > 0)
        self.host = host
        self.port = port
        self.database = database
        self.encoder = encoder
        self.timeoutSeconds = timeoutSeconds
        self.batchLines = batchLines
        target = NetworkAddress(host: host, port: port).description
        body.reserveCapacity(1 << 16)
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        for line in encoder.lines(bucket) {
            body.append(contentsOf: line.utf8)
            body.append(0x0A)
            lines += 1
            if lines >= batchLines { try post() }
        }
    }

    func finish() throws(RealmMetricsError) {
        if lines > 0 { try post() }
    }

    /// The request line and headers of a write of `length` bytes.
    func requestHead(length: Int) -> String {
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return "POST /write?db=\(InfluxDBSink.queryEscape(database))&precision=\(encoder.precision.writeParameter) HTTP/1.1\r\n"
            + "Host: \(hostHeader)\r\nUser-Agent: realm-metrics\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(length)\r\nConnection: close\r\n\r\n"
    }

    /// Sends the lines gathered and checks the answer.
    private func post() throws(RealmMetricsError) {
        let fd: Int32
        do {
            fd = try Socket.connect(host: host, port: port, kind: .tcp(timeout: timeoutSeconds))
        } catch {
            throw RealmMetricsError(.output, "influxdb: \(error)\(error.code == .timeout ? " (--output-timeout)" : "")")
        }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - Double(Int(timeoutSeconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request = Array(requestHead(length: body.count).utf8)
        request += body
        if let failure = request.withUnsafeBytes({ SystemCall.writeAll($0) { Glibc.send(fd, $0, $1, Int32(MSG_NOSIGNAL)) } }) {
            if failure.code == EAGAIN || failure.code == EWOULDBLOCK {
                throw RealmMetricsError(.output, "influxdb: \(target) took no data for \(formatSeconds(timeoutSeconds)) s (--output-timeout); stopped with \(batchesWritten) batches written")
            }
            throw RealmMetricsError(.output, "influxdb: sending to \(target) failed: \(failure)")
        }
        let answer = try readAnswer(fd)
        guard let response = HTTPResponse(answer) else {
            throw RealmMetricsError(.output, "influxdb: \(target) did not answer with HTTP (\(answer.isEmpty ? "it closed the connection" : "\(answer.count) bytes that are no HTTP response"))")
        }
        guard (200..<300).contains(response.status) else {
            throw RealmMetricsError(.output, "influxdb: \(target) refused the write to database '\(database)' (HTTP \(response.status) \(response.reason)): \(response.errorText)")
        }
        batchesWritten += 1
        body.removeAll(keepingCapacity: true)
        lines = 0
    }

    /// The whole answer, up to the peer's close (at most 1 MiB is kept).
    private func readAnswer(_ fd: Int32) throws(RealmMetricsError) -> [UInt8] {
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = SystemCall.retrying { recv(fd, &chunk, chunk.count, 0) }
            if n == 0 { return answer }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw RealmMetricsError(.output, "influxdb: \(target) did not answer a write within \(formatSeconds(timeoutSeconds)) s (--output-timeout)")
                }
                // A reset after a complete answer still leaves the answer readable.
                if !answer.isEmpty { return answer }
                throw RealmMetricsError(.output, "influxdb: reading the answer of \(target) failed: \(errnoText(errno))")
            }
            if answer.count < 1 << 20 { answer += chunk[0..<n] }
        }
    }

    /// `text` percent-encoded for a query string value (everything but unreserved characters).
    static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

/// An HTTP/1.1 answer read to the connection's close: status, reason and body (a chunked body is
/// joined; with a Content-Length, the body is cut to it).
struct HTTPResponse: Equatable {
    let status: Int
    let reason: String
    let body: [UInt8]

    init?(_ bytes: [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: separator) else { return nil }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        let headLines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = headLines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else { return nil }
        self.status = status
        reason = statusParts.count > 2 ? String(statusParts[2]) : ""
        var headers: [String: String] = [:]
        for line in headLines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var rest = Array(bytes[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var joined: [UInt8] = []
            while let lineEnd = rest.firstRange(of: [13, 10]) {
                let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
                let start = lineEnd.upperBound
                let stop = min(rest.count, start + size)
                joined += rest[start..<stop]
                rest = stop + 2 <= rest.count ? Array(rest[(stop + 2)...]) : []
            }
            rest = joined
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length < rest.count {
            rest = Array(rest[..<length])
        }
        body = rest
    }

    /// InfluxDB's message: the `error` of a JSON body `{"error": "..."}`, else the body as text (cut
    /// to 500 characters), else "no message".
    var errorText: String {
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let error = object["error"] as? String {
            return error
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return "no message" }
        return text.count > 500 ? String(text.prefix(500)) + "…" : text
    }
}
