import CSystemdJournal

/// The sidecar's messages to the service manager that started it (systemd's `Type=notify` and
/// `WatchdogSec=`), sent with `sd_notify` to the socket `$NOTIFY_SOCKET` names. Without
/// `$NOTIFY_SOCKET` (started by hand, or by a unit of another type) every call sends nothing.
/// Failures to send are ignored: the sidecar works the same whether the manager hears it or not.
public struct ServiceNotifier: Sendable {
    /// Seconds between two `WATCHDOG=1`, nil when the service manager expects none. It is a quarter of
    /// `$WATCHDOG_USEC`, so that a keep-alive arrives at least every half of it, as
    /// `sd_watchdog_enabled(3)` asks, even when one pass of the main loop is slow.
    public let watchdogInterval: Double?

    /// Reads the watchdog setting with `sd_watchdog_enabled` (which also checks that `$WATCHDOG_PID`,
    /// when set, is this process); the environment is left as it is.
    public init() {
        var usec: UInt64 = 0
        if sd_watchdog_enabled(0, &usec) > 0 && usec > 0 {
            watchdogInterval = Double(usec) / 1_000_000 / 4
        } else {
            watchdogInterval = nil
        }
    }

    /// `READY=1` (`sd_notify`): start-up is over and the sidecar follows its sources.
    public func ready() { send("READY=1") }

    /// `STOPPING=1` (`sd_notify`): the sidecar is ending (final flush and checkpoint).
    public func stopping() { send("STOPPING=1") }

    /// `WATCHDOG=1` (`sd_notify`): the main loop is alive.
    public func watchdog() { send("WATCHDOG=1") }

    private func send(_ state: String) { _ = sd_notify(0, state) }
}
