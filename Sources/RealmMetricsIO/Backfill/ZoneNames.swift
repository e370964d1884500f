import Foundation
import RealmMetricsCore

/// A zone's offsets from the time zone database Foundation carries.
struct DatabaseZoneOffsets: ZoneOffsets {
    let zone: TimeZone

    func offset(atUTC utcSeconds: Int64) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcSeconds)))
    }

    func nextTransition(afterUTC utcSeconds: Int64) -> Int64? {
        zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: TimeInterval(utcSeconds)))
            .map { Int64($0.timeIntervalSince1970.rounded(.down)) }
    }
}

extension WallClockZone {
    /// The zone of an IANA name (`Europe/Berlin`, `Asia/Tokyo`, `Etc/UTC`, exactly as the time zone
    /// database spells it), or `UTC` (any case); nil for a name the database does not know.
    public static func named(_ name: String) -> WallClockZone? {
        if name.uppercased() == "UTC" { return WallClockZone(name: "UTC", offsets: FixedZoneOffset(seconds: 0)) }
        guard !name.isEmpty, let zone = TimeZone(identifier: name) else { return nil }
        return WallClockZone(name: name, offsets: DatabaseZoneOffsets(zone: zone))
    }
}
