import Testing
@testable import RealmMetricsCore

@Suite("Network addresses (--statsd, statsd:)")
struct NetworkAddressTests {
    @Test("HOST, HOST:PORT, [v6], [v6]:PORT and a bare IPv6 literal; the default port when none is given")
    func accepted() throws {
        #expect(try NetworkAddress.parse("statsd.internal", defaultPort: 8125) == NetworkAddress(host: "statsd.internal", port: 8125))
        #expect(try NetworkAddress.parse("127.0.0.1:9125", defaultPort: 8125) == NetworkAddress(host: "127.0.0.1", port: 9125))
        #expect(try NetworkAddress.parse("[::1]:9125", defaultPort: 8125) == NetworkAddress(host: "::1", port: 9125))
        #expect(try NetworkAddress.parse("[fe80::1%eth0]", defaultPort: 8125) == NetworkAddress(host: "fe80::1%eth0", port: 8125))
        #expect(try NetworkAddress.parse("::1", defaultPort: 8125) == NetworkAddress(host: "::1", port: 8125))
        #expect(NetworkAddress(host: "::1", port: 8125).description == "[::1]:8125")
        #expect(NetworkAddress(host: "localhost", port: 8125).description == "localhost:8125")
    }

    @Test("a scheme, an empty host, a bad port or a stray character is refused with the reason")
    func refused() {
        func reason(_ text: String) -> String? {
            do { _ = try NetworkAddress.parse(text, defaultPort: 8125); return nil } catch { return error.description }
        }
        #expect(reason("udp://statsd:8125")?.contains("without a scheme") == true)
        #expect(reason(":8125")?.contains("host is missing") == true)
        #expect(reason("statsd:0")?.contains("not a number from 1 to 65535") == true)
        #expect(reason("statsd:99999")?.contains("not a number from 1 to 65535") == true)
        #expect(reason("statsd:port")?.contains("not a number") == true)
        #expect(reason("[::1")?.contains("closing ']'") == true)
        #expect(reason("[::1]x")?.contains("only ':PORT'") == true)
        #expect(reason("stats d")?.contains("not a host name") == true)
    }

    @Test("a bad statsd address in the configuration file names its line and column")
    func inConfigFile() {
        #expect(throws: PatternFileError.self) { try ConfigFile.parse("flush_interval: 5\nstatsd: udp://x:8125\n", path: "c.yaml") }
        do {
            _ = try ConfigFile.parse("flush_interval: 5\nstatsd: udp://x:8125\n", path: "c.yaml")
        } catch {
            #expect(error.line == 2)
            #expect(error.file == "c.yaml")
            #expect(error.message.contains("without a scheme"))
        }
    }
}
