import Foundation
import Testing
@testable import RealmMetricsIO
@testable import RealmMetricsCore

@Suite("Time zones by name")
struct ZoneNamesTests {
    func wall(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int = 0) -> Int64 {
        TimeLayout.daysFromCivil(y, mo, d) * 86400 + Int64(h * 3600 + mi * 60 + s)
    }

    @Test("IANA names and UTC are known; other names are not")
    func names() {
        #expect(WallClockZone.named("Europe/Berlin")?.name == "Europe/Berlin")
        #expect(WallClockZone.named("UTC") != nil)
        #expect(WallClockZone.named("utc") != nil)
        #expect(WallClockZone.named("Mars/Olympus") == nil)
        #expect(WallClockZone.named("") == nil)
        #expect(WallClockZone.named("europe/berlin") == nil)
    }

    @Test("Europe/Berlin from the time zone database: both changes of 2024 at their instants")
    func berlin() throws {
        let zone = try #require(WallClockZone.named("Europe/Berlin"))
        #expect(zone.utcSeconds(wall: wall(2024, 3, 31, 1, 59, 59)) == wall(2024, 3, 31, 0, 59, 59))
        #expect(zone.utcSeconds(wall: wall(2024, 3, 31, 3, 0, 0)) == wall(2024, 3, 31, 1, 0, 0))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 30)) == wall(2024, 10, 27, 0, 30))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 2, 0)) == wall(2024, 10, 27, 1, 0))
        #expect(zone.utcSeconds(wall: wall(2024, 10, 27, 3, 0)) == wall(2024, 10, 27, 2, 0))
        // A change of the standard offset, not of daylight saving: Moscow, 2014-10-26 02:00 (+04:00 to +03:00).
        let moscow = try #require(WallClockZone.named("Europe/Moscow"))
        #expect(moscow.utcSeconds(wall: wall(2014, 10, 25, 12, 0)) == wall(2014, 10, 25, 8, 0))
        #expect(moscow.utcSeconds(wall: wall(2014, 10, 27, 12, 0)) == wall(2014, 10, 27, 9, 0))
    }

    @Test("Asia/Tokyo is 9 hours ahead of UTC; UTC is UTC")
    func fixed() throws {
        let tokyo = try #require(WallClockZone.named("Asia/Tokyo"))
        let utc = try #require(WallClockZone.named("UTC"))
        #expect(utc.utcSeconds(wall: wall(2020, 5, 5, 12, 0)) - tokyo.utcSeconds(wall: wall(2020, 5, 5, 12, 0)) == 9 * 3600)
        #expect(utc.utcSeconds(wall: wall(2020, 5, 5, 12, 0)) == wall(2020, 5, 5, 12, 0))
    }

    @Test("the machine's zone: TZ when it names a zone (empty: UTC), else what /etc/localtime links to; nil where only mktime knows")
    func machine() throws {
        #expect(WallClockZone.machine(environment: ["TZ": "Asia/Tokyo"])?.name == "Asia/Tokyo")
        #expect(WallClockZone.machine(environment: ["TZ": ":Europe/Berlin"])?.name == "Europe/Berlin")
        #expect(WallClockZone.machine(environment: ["TZ": ""])?.name == "UTC")
        #expect(WallClockZone.machine(environment: ["TZ": "/usr/share/zoneinfo/Europe/Berlin"]) == nil)
        #expect(WallClockZone.machine(environment: ["TZ": "CET-1CEST,M3.5.0,M10.5.0/3"]) == nil)
        let dir = NSTemporaryDirectory() + "zone-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/linked", withDestinationPath: "/usr/share/zoneinfo/Europe/Berlin")
        #expect(WallClockZone.machine(environment: [:], localtime: dir + "/linked")?.name == "Europe/Berlin")
        #expect(WallClockZone.machine(environment: [:], localtime: dir + "/missing")?.name == "UTC")
        FileManager.default.createFile(atPath: dir + "/copied", contents: Data([0x54, 0x5A, 0x69, 0x66]))
        #expect(WallClockZone.machine(environment: [:], localtime: dir + "/copied") == nil)
    }
}
