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

    /// The machine's zone as the C library reads it, for local times when no `--timezone` is given:
    /// `TZ` when it names a database zone (an empty `TZ` is UTC), else the zone `/etc/localtime` links
    /// to (UTC when there is none). Nil when that cannot be told apart from what `mktime(3)` would
    /// do (a POSIX rule in `TZ`, a copied /etc/localtime): `mktime` is used then.
    public static func machine(environment: [String: String] = ProcessInfo.processInfo.environment,
                               localtime: String = "/etc/localtime") -> WallClockZone? {
        if var name = environment["TZ"] {
            if name.hasPrefix(":") { name.removeFirst() }
            if name.isEmpty { return named("UTC") }
            return name.hasPrefix("/") ? nil : named(name)
        }
        guard FileManager.default.fileExists(atPath: localtime) else { return named("UTC") }
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: localtime),
              let range = target.range(of: "zoneinfo/") else { return nil }
        return named(String(target[range.upperBound...]))
    }
}
