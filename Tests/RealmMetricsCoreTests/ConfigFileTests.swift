import Testing
@testable import RealmMetricsCore

@Suite("Configuration file")
struct ConfigFileTests {
    @Test("every key is read; lists take one string or a list")
    func keys() throws {
        let c = try ConfigFile.parse("""
            patterns: ros1
            prefix: realm.a
            unit: [a.service, b.service]
            identifier: sync
            journal_file: [/x.journal]
            file: '/var/log/*.log'
            statsd: 127.0.0.1:9125
            flush_interval: 2.5
            state_dir: /tmp/s
            max_packet_size: 512
            max_line_bytes: 1024
            rotate_wait: 2
            """, path: "c.yaml")
        #expect(c.patterns == ["ros1"])
        #expect(c.unit == ["a.service", "b.service"])
        #expect(c.identifier == ["sync"])
        #expect(c.file == ["/var/log/*.log"])
        #expect(c.flushInterval == 2.5)
        #expect(c.maxPacketSize == 512)
        #expect(c.maxLineBytes == 1024)
        #expect(c.stateDir == "/tmp/s")
        #expect(c.journalDirectory == nil)
        #expect(c.rotateWait == 2)
    }

    @Test("an unknown key is an error naming the key and its place")
    func unknownKey() {
        #expect(throws: PatternFileError(file: "c.yaml", line: 2, column: 1,
                                         message: "configuration: unknown key 'flush_intervl' (known keys: \(ConfigFile.keys.joined(separator: ", ")))")) {
            try ConfigFile.parse("statsd: a:1\nflush_intervl: 3\n", path: "c.yaml")
        }
    }

    @Test("numbers out of range are refused")
    func ranges() throws {
        #expect(throws: PatternFileError.self) { try ConfigFile.parse("flush_interval: 0\n", path: "c") }
        #expect(throws: PatternFileError.self) { try ConfigFile.parse("max_packet_size: 10\n", path: "c") }
        #expect(throws: PatternFileError.self) { try ConfigFile.parse("max_line_bytes: lots\n", path: "c") }
        #expect(throws: PatternFileError.self) { try ConfigFile.parse("rotate_wait: -1\n", path: "c") }
        #expect(try ConfigFile.parse("rotate_wait: 0\n", path: "c").rotateWait == 0)
        // A gigabyte line limit would mean gigabyte buffers per followed file.
        #expect(throws: PatternFileError.self) { try ConfigFile.parse("max_line_bytes: 1073741824\n", path: "c") }
        #expect(try ConfigFile.parse("max_line_bytes: 16777216\n", path: "c").maxLineBytes == 16 << 20)
    }

    @Test("an empty file sets nothing")
    func empty() throws {
        #expect(try ConfigFile.parse("", path: "c") == ConfigFile())
    }
}
