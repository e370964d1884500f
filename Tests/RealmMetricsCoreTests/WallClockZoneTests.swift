import Testing
@testable import RealmMetricsCore

/// Europe/Berlin in 2024, as a table: CET (+1 h), CEST (+2 h) from 2024-03-31T01:00Z, CET again from
/// 2024-10-27T01:00Z. Counts how often it is asked.
final class BerlinTable: ZoneOffsets {
    static let spring: Int64 = 1_711_846_800
    static let autumn: Int64 = 1_729_990_800
    var questions = 0
    func offset(atUTC utcSeconds: Int64) -> Int {
        questions += 1
        return utcSeconds >= BerlinTable.spring && utcSeconds < BerlinTable.autumn ? 7200 : 3600
    }
    func nextTransition(afterUTC utcSeconds: Int64) -> Int64? {
        questions += 1
        if utcSeconds < BerlinTable.spring { return BerlinTable.spring }
        if utcSeconds < BerlinTable.autumn { return BerlinTable.autumn }
        return nil
    }
}

@Suite("Wall-clock times of a zone")
struct WallClockZoneTests {
    /// Seconds of a wall-clock time read as if it were UTC.
    func wall(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int = 0) -> Int64 {
        TimeLayout.daysFromCivil(y, mo, d) * 86400 + Int64(h * 3600 + mi * 60 + s)
    }

    @Test("the day the clocks go forward: the right UTC instants on both sides, a skipped time read with the offset before")
    func spring() {
        let zone = WallClockZone(name: "Europe/Berlin", offsets: BerlinTable())
        #expect(zone.utcSeconds(wall: wall(2024, 3, 31, 1, 59, 59)) == BerlinTable.spring - 1)
        #expect(zone.utcSeconds(wall: wall(2024, 3, 31, 3, 0, 0)) == BerlinTable.spring)
        #expect(zone.utcSeconds(wall: wall(2024, 3, 31, 12, 0, 0)) == wall(2024, 3, 31, 10, 0, 0))
        // 02:30 never happened in Berlin that day: read with CET, it is 01:30Z (03:30 CEST), as mktime reads it.
        #expect(WallClockZone(name: "Europe/Berlin", offsets: BerlinTable()).utcSeconds(wall: wall(2024, 3, 31, 2, 30)) == wall(2024, 3, 31, 1, 30))
    }

    @Test("the day the clocks go back: the hour that happens twice is first CEST, then, once lines have passed it, CET")
    func autumn() {
        let zone = WallClockZone(name: "Europe/Berlin", offsets: BerlinTable())
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 1, 59, 59)) == wall(2024, 10, 26, 23, 59, 59))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 30)) == wall(2024, 10, 27, 0, 30))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 59, 59)) == BerlinTable.autumn - 1)
        // Lines a little out of order stay in the first pass.
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 59, 30)) == BerlinTable.autumn - 30)
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 0, 0)) == BerlinTable.autumn)
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 30)) == wall(2024, 10, 27, 1, 30))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 3, 0)) == wall(2024, 10, 27, 2, 0))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 28, 12, 0)) == wall(2024, 10, 28, 11, 0))
        // Without a line before it, a repeated time is its first occurrence.
        #expect(WallClockZone(name: "Europe/Berlin", offsets: BerlinTable()).utcSeconds(wall: wall(2024, 10, 27, 2, 30)) == wall(2024, 10, 27, 0, 30))
    }

    @Test("the zone's rules are asked once per hour of wall-clock time, not per line")
    func cached() {
        let table = BerlinTable()
        let zone = WallClockZone(name: "Europe/Berlin", offsets: table)
        let start = wall(2024, 6, 1, 10, 0)
        _ = zone.utcSeconds(wall: start)
        let perHour = table.questions
        for second in 1..<3600 { #expect(zone.utcSeconds(wall: start + Int64(second)) == start + Int64(second) - 7200) }
        #expect(table.questions == perHour)
        _ = zone.utcSeconds(wall: start + 3600)
        #expect(table.questions == 2 * perHour)
        // Near a change too: the hour's offsets are kept, each line is arithmetic.
        let change = wall(2024, 10, 27, 2, 0)
        _ = zone.utcSeconds(wall: change)
        let before = table.questions
        for second in 1..<3600 { _ = zone.utcSeconds(wall: change + Int64(second)) }
        #expect(table.questions == before)
    }

    @Test("a local-time layout given a zone reads its times in that zone; UTC layouts and times with %z ignore it")
    func layout() throws {
        let local = try TimeLayout("%Y-%m-%dT%H:%M:%S.%f", utc: false)
        #expect(local.readsLocalTime)
        func parse(_ layout: TimeLayout, _ text: String, _ zone: WallClockZone?) -> Int64? {
            Array(text.utf8).withUnsafeBufferPointer { layout.parse($0, zone: zone) }
        }
        let berlin = WallClockZone(name: "Europe/Berlin", offsets: BerlinTable())
        #expect(parse(local, "2024-03-31T03:00:00.250", berlin) == BerlinTable.spring * 1000 + 250)
        #expect(parse(local, "2024-03-31T01:59:59.999", berlin) == BerlinTable.spring * 1000 - 1)
        let utc = try TimeLayout("%Y-%m-%dT%H:%M:%S.%f", utc: true)
        #expect(!utc.readsLocalTime)
        #expect(parse(utc, "2024-03-31T03:00:00.250", berlin) == wall(2024, 3, 31, 3, 0) * 1000 + 250)
        let zoned = try TimeLayout("%Y-%m-%dT%H:%M:%S%z", utc: false)
        #expect(!zoned.readsLocalTime)
        #expect(parse(zoned, "2024-03-31T03:00:00+05:00", berlin) == wall(2024, 3, 30, 22, 0) * 1000)
        let fixed = WallClockZone(name: "UTC", offsets: FixedZoneOffset(seconds: 0))
        #expect(parse(local, "2024-03-31T03:00:00.250", fixed) == wall(2024, 3, 31, 3, 0) * 1000 + 250)
        let tokyo = WallClockZone(name: "Asia/Tokyo", offsets: FixedZoneOffset(seconds: 9 * 3600))
        #expect(parse(local, "2024-03-31T03:00:00.250", tokyo) == (wall(2024, 3, 31, 3, 0) - 9 * 3600) * 1000 + 250)
    }
}
