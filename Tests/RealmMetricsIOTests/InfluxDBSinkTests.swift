import Testing
#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import RealmMetricsIO
import RealmMetricsCore

/// The parts of the InfluxDB HTTP output that need no server: the target, the request, the answer.
/// The writes themselves are tested against a real influxd (`InfluxDBBackfillTests`).
@Suite("InfluxDB HTTP output")
struct InfluxDBSinkTests {
    @Test("influxdb://HOST:PORT/DATABASE parses; no database, a / in it or no port do not")
    func target() {
        #expect(BackfillTarget.parse("influxdb://127.0.0.1:8086/realm") == .influxdb(host: "127.0.0.1", port: 8086, database: "realm"))
        #expect(BackfillTarget.parse("influxdb://[::1]:8086/my db") == .influxdb(host: "::1", port: 8086, database: "my db"))
        #expect(BackfillTarget.parse("influxdb://127.0.0.1:8086/") == nil)
        #expect(BackfillTarget.parse("influxdb://127.0.0.1:8086") == nil)
        #expect(BackfillTarget.parse("influxdb://127.0.0.1/db") == nil)
        #expect(BackfillTarget.parse("influxdb://127.0.0.1:8086/a/b") == nil)
        #expect(BackfillTarget.parse("influx:x") == .influx(path: "x"))
    }

    @Test("the request names the database (percent-encoded) and the precision, and the body's length")
    func request() {
        let sink = InfluxDBSink(host: "::1", port: 8086, database: "my db&x", encoder: InfluxEncoder(prefix: "r.h", precision: .us))
        #expect(sink.requestHead(length: 12) == "POST /write?db=my%20db%26x&precision=u HTTP/1.1\r\nHost: [::1]:8086\r\nUser-Agent: realm-metrics\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\n")
    }

    @Test("answers: status and InfluxDB's error message, with a Content-Length or chunked; not HTTP is nil")
    func answers() {
        let notFound = HTTPResponse(Array("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n{\"error\":\"database not found: \\\"nodb\\\"\"}\n".utf8))
        #expect(notFound?.status == 404)
        #expect(notFound?.reason == "Not Found")
        #expect(notFound?.errorText == "database not found: \"nodb\"")
        let chunked = HTTPResponse(Array("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".utf8))
        #expect(chunked?.status == 500)
        #expect(chunked?.errorText == "hello world")
        #expect(HTTPResponse(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))?.errorText == "no message")
        #expect(HTTPResponse(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) == nil)
        #expect(HTTPResponse(Array("HTTP/1.1 204".utf8)) == nil)
    }

    @Test("a refused connection is an output error naming the address, at the first write")
    func refused() throws {
        let port = closedPort()
        let sink = InfluxDBSink(host: "127.0.0.1", port: port, database: "d", encoder: InfluxEncoder(prefix: "r.h"), timeoutSeconds: 2, batchLines: 1)
        var error: RealmMetricsError?
        do { try sink.write(Bucket(time: 1, samples: [MetricSample(name: "a", kind: .counter, value: 1)])) } catch let e { error = e }
        #expect(error?.code == .output)
        #expect(error?.message == "influxdb: cannot connect to 127.0.0.1:\(port): Connection refused", "\(String(describing: error))")
    }

    /// A loopback port nothing listens on (bound, then closed).
    func closedPort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: addr.sin_port)
    }
}
