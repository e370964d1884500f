import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import RealmMetricsCore
@testable import RealmMetricsIO

/// A raw HTTP client on 127.0.0.1, with the C calls only, so that it can misbehave.
private struct RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw TestError("connect: \(String(cString: strerror(errno)))") }
    }

    /// Sends what it can (false once the peer closed).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads until `seconds` pass, the peer closes, or `until` holds for what was read.
    func read(seconds: Double, until: (String) -> Bool = { _ in false }) -> (text: String, closed: Bool) {
        var data = [UInt8]()
        let end = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < end {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 50) <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: data, as: UTF8.self), true) }
            data += buffer[0..<n]
            if until(String(decoding: data, as: UTF8.self)) { break }
        }
        return (String(decoding: data, as: UTF8.self), false)
    }

    /// One whole response (by Content-Length).
    func response(seconds: Double = 5) -> String {
        read(seconds: seconds) { text in
            guard let headEnd = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<headEnd.lowerBound].lowercased()
            guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                  let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return true }
            return text.utf8.count - text[..<headEnd.upperBound].utf8.count >= length
        }.text
    }

    func close() { Glibc.close(fd) }
}

private struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@Suite("Prometheus endpoint: HTTP on loopback, against slow and hostile clients", .serialized)
struct MetricsEndpointTests {
    func endpoint(_ limits: MetricsEndpoint.Limits = .init()) throws -> MetricsEndpoint {
        try MetricsEndpoint(host: "127.0.0.1", port: 0, page: MetricsPage(), limits: limits)
    }

    @Test("GET /metrics serves the page published last, on a kept-alive connection; HEAD, 404, 405, and 503 before the first page")
    func serves() throws {
        let e = try endpoint()
        defer { e.shutdown() }
        let c = try RawClient(port: e.port)
        defer { c.close() }
        c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(c.response().hasPrefix("HTTP/1.1 503"))
        e.page.publish("m_total 1\n")
        c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = c.response()
        #expect(first.hasPrefix("HTTP/1.1 200 OK"))
        #expect(first.lowercased().contains("content-type: text/plain; version=0.0.4; charset=utf-8"))
        #expect(first.hasSuffix("\r\n\r\nm_total 1\n"))
        e.page.publish("m_total 2\n")
        c.send("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(c.response().hasSuffix("\r\n\r\nm_total 2\n"))
        c.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = c.read(seconds: 1).text
        #expect(head.hasPrefix("HTTP/1.1 200 OK") && head.hasSuffix("\r\n\r\n"))
        c.send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(c.response().hasPrefix("HTTP/1.1 404"))
        c.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab")
        #expect(c.response().hasPrefix("HTTP/1.1 405"))
        #expect(e.requests == 6)
    }

    @Test("a request trickled in (slowloris) is cut at the limit, while other clients are served")
    func slowloris() throws {
        let e = try endpoint(.init(requestSeconds: 0.5, maxBodyBytes: 65536, maxConnections: 64))
        defer { e.shutdown() }
        e.page.publish("m 1\n")
        let slow = try RawClient(port: e.port)
        defer { slow.close() }
        let started = Date()
        var closedBySender = false
        for ch in "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa" {
            if !slow.send(String(ch)) { closedBySender = true; break }
            // Meanwhile another client gets its page at once.
            if ch == "H" {
                let quick = try RawClient(port: e.port)
                quick.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(quick.response(seconds: 2).hasSuffix("m 1\n"))
                quick.close()
            }
            usleep(100_000)
            if Date().timeIntervalSince(started) > 3 { break }
        }
        let (_, closed) = slow.read(seconds: 2)
        #expect(closed || closedBySender)
        #expect(Date().timeIntervalSince(started) < 4.5)
    }

    @Test("an oversized request head gets 400 and the connection closed; an oversized body 413")
    func oversized() throws {
        let e = try endpoint(.init(requestSeconds: 5, maxBodyBytes: 1024, maxConnections: 64))
        defer { e.shutdown() }
        e.page.publish("m 1\n")
        let big = try RawClient(port: e.port)
        defer { big.close() }
        big.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200_000) + "\r\n\r\n")
        let (text, closed) = big.read(seconds: 3)
        #expect(text.hasPrefix("HTTP/1.1 400"))
        #expect(closed)
        let body = try RawClient(port: e.port)
        defer { body.close() }
        body.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "b", count: 5000))
        let (answer, bodyClosed) = body.read(seconds: 3)
        #expect(answer.hasPrefix("HTTP/1.1 413"))
        #expect(bodyClosed)
    }

    @Test("connections over the limit are closed at once and counted")
    func connectionLimit() throws {
        let e = try endpoint(.init(requestSeconds: 5, maxBodyBytes: 1024, maxConnections: 3))
        defer { e.shutdown() }
        e.page.publish("m 1\n")
        let held = try (0..<3).map { _ in try RawClient(port: e.port) }
        defer { held.forEach { $0.close() } }
        usleep(200_000)
        let extra = try RawClient(port: e.port)
        defer { extra.close() }
        extra.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let (text, closed) = extra.read(seconds: 2)
        #expect(text.isEmpty && closed)
        #expect(e.refusedConnections == 1)
        // One of the held connections still gets its page.
        held[0].send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(held[0].response().hasSuffix("m 1\n"))
    }

    @Test("an address in use is an error naming it")
    func addressInUse() throws {
        let e = try endpoint()
        defer { e.shutdown() }
        #expect {
            _ = try MetricsEndpoint(host: "127.0.0.1", port: e.port, page: MetricsPage())
        } throws: { error in
            (error as? RealmMetricsError)?.message.contains("127.0.0.1:\(e.port): cannot listen there") == true
        }
    }
}

@Suite("Prometheus sink: counters that never go back")
struct PrometheusSinkTests {
    func value(_ page: MetricsPage, _ series: String) -> Int64? {
        guard let buffer = page.current else { return nil }
        let text = String(buffer: buffer)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") { return Int64(line.split(separator: " ")[1]) }
        return nil
    }

    @Test("history is left out, a restart from the saved state continues, a lost total adds nothing")
    func continues() throws {
        let page = MetricsPage()
        let own = OwnMetrics()
        var sink = PrometheusSink(prefix: "realm.h", help: { _ in nil }, page: page, own: own, state: nil,
                                  reading: [MetricSample(name: "c", kind: .counter, value: 10)])
        sink.write([MetricSample(name: "c", kind: .counter, value: 12), MetricSample(name: "g", kind: .gauge, value: 3)],
                   distributions: [Distribution(name: "t", kind: .timer, values: [4, 400])])
        #expect(value(page, "realm_c_total{host=\"h\"}") == 2)
        #expect(value(page, "realm_g{host=\"h\"}") == 3)
        #expect(value(page, "realm_t_count{host=\"h\"}") == 2)
        let saved = try JSONDecoder().decode(PrometheusState.self, from: JSONEncoder().encode(sink.state))
        // A restart: the store restored at 12.
        sink = PrometheusSink(prefix: "realm.h", help: { _ in nil }, page: page, own: own, state: saved,
                              reading: [MetricSample(name: "c", kind: .counter, value: 12)])
        sink.write([MetricSample(name: "c", kind: .counter, value: 15)], distributions: [Distribution(name: "t", kind: .timer, values: [1])])
        #expect(value(page, "realm_c_total{host=\"h\"}") == 5)
        #expect(value(page, "realm_t_count{host=\"h\"}") == 3)
        #expect(value(page, "realm_t_sum{host=\"h\"}") == 405)
        // History read silently (a new source) is left out.
        sink.baseline([MetricSample(name: "c", kind: .counter, value: 40)])
        sink.write([MetricSample(name: "c", kind: .counter, value: 41)], distributions: [])
        #expect(value(page, "realm_c_total{host=\"h\"}") == 6)
        // A store that lost its total (a state moved aside): the page does not go back.
        sink.write([MetricSample(name: "c", kind: .counter, value: 0)], distributions: [])
        #expect(value(page, "realm_c_total{host=\"h\"}") == 6)
        sink.write([MetricSample(name: "c", kind: .counter, value: 2)], distributions: [])
        #expect(value(page, "realm_c_total{host=\"h\"}") == 8)
    }
}
