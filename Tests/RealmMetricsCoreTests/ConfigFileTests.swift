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

    @Test("tags: one of none, influx, dogstatsd; another word is refused at its place")
    func tags() throws {
        #expect(try ConfigFile.parse("tags: influx\n", path: "c").tags == .influx)
        #expect(try ConfigFile.parse("statsd: a:1\n", path: "c").tags == nil)
        #expect(throws: PatternFileError(file: "c", line: 2, column: 7, message: "'tags': 'yes' is none of none, influx, dogstatsd")) {
            try ConfigFile.parse("statsd: a:1\ntags: yes\n", path: "c")
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

    @Test("reading collects every error with its place, keeps the values that are right, and knows where each value was written")
    func everyError() {
        let text = """
            patterns: [ros1, ./mine.yaml]
            flush_intervl: 3
            statsd: udp://127.0.0.1:8125
            max_packet_size: 10
            prefix: realm.a
            unit: realm-sync
            state_dir: [a, b]
            """
        let reading = ConfigFile.read(text, path: "c.yaml")
        #expect(reading.errors.map(\.description) == [
            "c.yaml:2:1: configuration: unknown key 'flush_intervl' (known keys: \(ConfigFile.keys.joined(separator: ", ")))",
            "c.yaml:3:9: 'statsd': 'udp://127.0.0.1:8125': give HOST or HOST:PORT without a scheme ('udp://' is not understood here)",
            "c.yaml:4:18: 'max_packet_size' must be a whole number from 64 to 65000, not '10'",
            "c.yaml:7:12: configuration: 'state_dir' must be a string",
        ])
        #expect(reading.config.patterns == ["ros1", "./mine.yaml"])
        #expect(reading.config.prefix == "realm.a")
        #expect(reading.config.statsd == nil)
        #expect(reading.config.maxPacketSize == nil)
        #expect(reading.places["patterns"] == [ConfigFile.Place(value: "ros1", line: 1, column: 12), ConfigFile.Place(value: "./mine.yaml", line: 1, column: 18)])
        #expect(reading.places["unit"] == [ConfigFile.Place(value: "realm-sync", line: 6, column: 7)])
        #expect(reading.keyPlaces["unit"] == ConfigFile.Place(value: "unit", line: 6, column: 1))
        // parse throws the first of them.
        #expect(throws: reading.errors[0]) { try ConfigFile.parse(text, path: "c.yaml") }
    }

    @Test("a file that is not YAML, or not a mapping, is one error")
    func notAMapping() {
        #expect(ConfigFile.read("- a\n- b\n", path: "c").errors.map(\.description) == ["c:1:1: configuration must be a mapping"])
        #expect(ConfigFile.read("a: [b\n", path: "c").errors.count == 1)
        #expect(ConfigFile.read("", path: "c").errors.isEmpty)
    }

    @Test("an empty file sets nothing")
    func empty() throws {
        #expect(try ConfigFile.parse("", path: "c") == ConfigFile())
    }
}
