import Testing
@testable import RealmMetricsCore

/// The one table of `run`'s numeric ranges, as the configuration file reads it and as the options
/// name it.
@Suite("Setting ranges")
struct SettingRangeTests {
    static let seconds: [SettingRange<Double>] = [RunSettings.flushInterval, RunSettings.rotateWait, RunSettings.faultReminder]
    static let counts: [SettingRange<Int>] = [RunSettings.maxPacketSize, RunSettings.maxLineBytes]

    @Test("each setting is a configuration key, and its option is the key with - for _")
    func namesAreKeys() {
        for name in Self.seconds.map(\.name) + Self.counts.map(\.name) {
            #expect(ConfigFile.keys.contains(name), "\(name)")
        }
        #expect(RunSettings.flushInterval.option == "--flush-interval")
        #expect(RunSettings.maxLineBytes.option == "--max-line-bytes")
    }

    @Test("the configuration file takes each bound and refuses just past it, in the table's words")
    func fileFollowsTheTable() throws {
        for setting in Self.seconds {
            try Self.bounds(setting, outside: [setting.range.lowerBound - 0.05, setting.range.upperBound + 1], "a number of seconds") { $0.value(setting) }
        }
        for setting in Self.counts {
            try Self.bounds(setting, outside: [setting.range.lowerBound - 1, setting.range.upperBound + 1], "a whole number") { $0.value(setting) }
        }
    }

    /// `setting`'s bounds are read back by `value`; each of `outside` is refused as `what` from the range.
    static func bounds<V>(_ setting: SettingRange<V>, outside: [V], _ what: String, _ value: (ConfigFile) -> V?) throws {
        for bound in [setting.range.lowerBound, setting.range.upperBound] {
            #expect(value(try ConfigFile.parse("\(setting.name): \(bound)\n", path: "c")) == bound)
        }
        for number in outside {
            #expect(throws: PatternFileError(file: "c", line: 1, column: setting.name.count + 3,
                                             message: "'\(setting.name)' must be \(what) from \(setting.rangeText), not '\(number)'")) {
                try ConfigFile.parse("\(setting.name): \(number)\n", path: "c")
            }
        }
    }

    @Test("ranges and refusals are written as operators write numbers, naming the option")
    func texts() {
        #expect(RunSettings.flushInterval.rangeText == "0.1 to 3600")
        #expect(RunSettings.flushInterval.optionRefusal == "--flush-interval must be between 0.1 and 3600 seconds")
        #expect(RunSettings.rotateWait.rangeText == "0 to 3600")
        #expect(RunSettings.faultReminder.optionRefusal == "--fault-reminder must be between 1 and 86400 seconds")
        #expect(RunSettings.maxLineBytes.optionRefusal == "--max-line-bytes must be between 64 and 16777216")
        #expect(RunSettings.maxPacketSize.optionRefusal == "--max-packet-size must be between 64 and 65000")
    }
}

private extension ConfigFile {
    /// The value the file set for `setting`.
    func value(_ setting: SettingRange<Double>) -> Double? {
        switch setting.name {
        case "flush_interval": flushInterval
        case "rotate_wait": rotateWait
        case "fault_reminder": faultReminder
        default: nil
        }
    }

    func value(_ setting: SettingRange<Int>) -> Int? {
        switch setting.name {
        case "max_packet_size": maxPacketSize
        case "max_line_bytes": maxLineBytes
        default: nil
        }
    }
}
