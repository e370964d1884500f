/// The offsets of a time zone from UTC over time, as a time zone database gives them.
public protocol ZoneOffsets {
    /// Seconds east of UTC in effect at `utcSeconds` (seconds since the epoch).
    func offset(atUTC utcSeconds: Int64) -> Int
    /// The first instant after `utcSeconds` at which the offset changes; nil when none follows.
    func nextTransition(afterUTC utcSeconds: Int64) -> Int64?
}

/// A zone that is always the same offset from UTC (UTC itself: 0).
public struct FixedZoneOffset: ZoneOffsets, Sendable {
    public let seconds: Int
    public init(seconds: Int) { self.seconds = seconds }
    public func offset(atUTC utcSeconds: Int64) -> Int { seconds }
    public func nextTransition(afterUTC utcSeconds: Int64) -> Int64? { nil }
}

/// Turns wall-clock times of one time zone (times written without an offset) into UTC.
///
/// The zone's rules (``ZoneOffsets``) are asked once per hour of wall-clock time, for the offsets in
/// effect around that hour; each time is then converted with arithmetic only (no system call, no
/// lookup), so a log of many lines per hour costs one question per hour.
///
/// Times that do not exist or exist twice, where the offset changes:
/// - A time the clocks skip (02:30 on the day Berlin goes from +01:00 to +02:00) is read with the offset
///   before the change (02:30 is then 01:30Z, shown as 03:30 +02:00), as `mktime(3)` reads it.
/// - A time that happens twice (the hour repeated when the clocks go back) is its first occurrence,
///   unless the time converted before was already later than that, less ``reorderSlackSeconds``
///   (lines written slightly out of order): then the next occurrence that is not. So a log that runs
///   through the repeated hour gets both passes right.
///
/// Not for use from several threads at once: it keeps the hour it last looked up and the time it last
/// converted.
public final class WallClockZone {
    /// The zone's name as given (`Europe/Berlin`, `UTC`).
    public let name: String
    let offsets: ZoneOffsets
    /// Lines may go back in time this much without being taken for the second pass of a repeated hour.
    public static let reorderSlackSeconds: Int64 = 60
    /// The widest distance of an offset from UTC allowed for (tz offsets stay within ±15 h).
    static let maxOffsetSeconds: Int64 = 16 * 3600

    /// The wall-clock hour (seconds / 3600) whose offsets are held.
    private var hour = Int64.min
    /// The offset when no change is near that hour.
    private var steady: Int64? = nil
    /// Near a change: the UTC instants from which each offset applies (the first from the start of
    /// time), and the offsets.
    private var starts: [Int64] = []
    private var offsetsNear: [Int64] = []
    /// The UTC time last returned.
    private var previous: Int64? = nil

    public init(name: String, offsets: ZoneOffsets) {
        self.name = name
        self.offsets = offsets
    }

    /// The UTC instant (seconds since the epoch) of wall-clock time `wall`: seconds since 1970-01-01
    /// 00:00:00 of the wall clock, counted as if it were UTC.
    @inline(__always)
    public func utcSeconds(wall: Int64) -> Int64 {
        let h = wall >= 0 ? wall / 3600 : (wall - 3599) / 3600
        if h != hour { load(hour: h) }
        let result: Int64
        if let steady { result = wall - steady } else { result = resolve(wall) }
        previous = result
        return result
    }

    /// Asks the zone's rules for the offsets that can apply to wall-clock times of hour `h`.
    private func load(hour h: Int64) {
        hour = h
        let low = h * 3600 - WallClockZone.maxOffsetSeconds - 1
        let high = (h + 1) * 3600 + WallClockZone.maxOffsetSeconds
        starts = [Int64.min]
        offsetsNear = [Int64(offsets.offset(atUTC: low))]
        var cursor = low
        while let next = offsets.nextTransition(afterUTC: cursor), next > cursor, next <= high {
            starts.append(next)
            offsetsNear.append(Int64(offsets.offset(atUTC: next)))
            cursor = next
        }
        steady = starts.count == 1 ? offsetsNear[0] : nil
    }

    /// Near a change: the instant each offset gives that falls within that offset's time, chosen as the
    /// type's description says.
    private func resolve(_ wall: Int64) -> Int64 {
        var candidates: [Int64] = []
        for i in starts.indices {
            let utc = wall - offsetsNear[i]
            if utc >= starts[i] && (i + 1 == starts.count || utc < starts[i + 1]) { candidates.append(utc) }
        }
        if candidates.count == 1 { return candidates[0] }
        if candidates.isEmpty {
            // Skipped by the clocks: the offset before the change that skips it.
            var chosen = wall - offsetsNear[0]
            for i in starts.indices.dropFirst() where wall - offsetsNear[i - 1] >= starts[i] { chosen = wall - offsetsNear[i - 1] }
            return chosen
        }
        candidates.sort()
        guard let previous else { return candidates[0] }
        return candidates.first { $0 >= previous - WallClockZone.reorderSlackSeconds } ?? candidates[candidates.count - 1]
    }
}
