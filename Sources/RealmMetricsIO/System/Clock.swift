#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock (`clock_gettime(CLOCK_MONOTONIC)`), for intervals and timeouts.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Milliseconds since the epoch (`clock_gettime(CLOCK_REALTIME)`).
func wallClockMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Milliseconds since the epoch, for the command line.
public func wallClockMillisForCLI() -> Int64 { wallClockMillis() }

/// `seconds` without a trailing `.0`.
func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds))" : "\(seconds)"
}

/// This year in UTC: the year of log times written without one (syslog layouts).
func currentUTCYear() -> Int {
    var t = time(nil)
    var parts = tm()
    gmtime_r(&t, &parts)
    return Int(parts.tm_year) + 1900
}
