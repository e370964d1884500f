import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import RealmMetricsIO
@testable import RealmMetricsCore

/// The Graphite sink's connection errors on loopback, as users see them.
@Suite("Graphite sink")
struct GraphiteSinkTests {
    static func connectionError(host: String, port: UInt16, timeout: Double) -> String? {
        do {
            _ = try GraphiteSink(host: host, port: port, encoder: GraphiteEncoder(prefix: "p", naming: .plain, bucketSeconds: 10), timeoutSeconds: timeout)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("a refused connection names the sink and the address")
    func refused() {
        let port = LoopbackTCP.refusingPort()
        #expect(Self.connectionError(host: "127.0.0.1", port: port, timeout: 2) == "graphite: cannot connect to 127.0.0.1:\(port): Connection refused")
    }

    @Test("a connection not accepted in time names the timeout and --output-timeout")
    func timeout() {
        let (listener, filler, port) = LoopbackTCP.fullListener()
        defer { close(listener); close(filler) }
        #expect(Self.connectionError(host: "127.0.0.1", port: port, timeout: 0.2) == "graphite: 127.0.0.1:\(port) did not accept the connection within 0.2 s (--output-timeout)")
    }

    @Test("a name that does not resolve is named")
    func unresolvable() {
        let message = Self.connectionError(host: "nonexistent.invalid", port: 2003, timeout: 1)
        #expect(message?.hasPrefix("graphite: cannot resolve nonexistent.invalid: ") == true, "\(message ?? "connected")")
    }
}
