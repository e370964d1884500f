import Foundation
import Testing
@testable import RealmMetricsIO
@testable import RealmMetricsCore

@Suite("Status report and health")
struct StatusReportTests {
    let now: Int64 = 1_800_000_000_000

    func state(savedSecondsAgo: Int64, flushInterval: Double? = 10) -> SidecarState {
        var state = SidecarState(savedAtMillis: now - savedSecondsAgo * 1000, journal: nil,
                                 files: [FilePosition(path: "/var/log/w.log", device: 1, inode: 7, fingerprint: "61", offset: 42)],
                                 metrics: MetricSnapshot(counters: [], gauges: ["session.online"],
                                                         workers: [.init(key: "file:/var/log/w.log", lives: 2, logLevel: "debug",
                                                                         open: ["session.online": ["1/1", "1/2"]], totals: [:])],
                                                         templates: [:]),
                                 counts: ["lines_read": 62, "send_errors": 0], following: "realm-metrics 0.1.0: following files /var/log/w.log",
                                 lastError: nil)
        state.flushIntervalSeconds = flushInterval
        state.lastFlushFailed = false
        return state
    }

    @Test("a state saved within three flush intervals (at least 30 s) whose last flush went out is healthy: exit status 0")
    func healthy() {
        let health = StatusReport.health(state(savedSecondsAgo: 5), nowMillis: now)
        #expect(health.healthy)
        #expect(health.problems.isEmpty)
        #expect(health.ageSeconds == 5)
        #expect(health.staleAfterSeconds == 30)
        #expect(health.exitStatus == 0)
        // Three intervals of 60 s: 100 s is not stale yet.
        #expect(StatusReport.health(state(savedSecondsAgo: 100, flushInterval: 60), nowMillis: now).healthy)
        #expect(StatusReport.health(state(savedSecondsAgo: 100, flushInterval: 60), nowMillis: now).staleAfterSeconds == 180)
    }

    @Test("a state older than three flush intervals (at least 30 s) is stale: exit status 2, and the problem says why")
    func stale() {
        let health = StatusReport.health(state(savedSecondsAgo: 31), nowMillis: now)
        #expect(!health.healthy)
        #expect(health.exitStatus == 2)
        #expect(health.problems == ["stale: the last flush was 31 s ago, more than 30 s (3 flush intervals of 10 s, at least 30 s): is the sidecar running, and can it write its state file?"])
        // 3 × 0.2 s is less than 30 s: the floor holds.
        #expect(StatusReport.health(state(savedSecondsAgo: 29, flushInterval: 0.2), nowMillis: now).healthy)
        #expect(!StatusReport.health(state(savedSecondsAgo: 181, flushInterval: 60), nowMillis: now).healthy)
        // A state of an older version records no interval: the default (10 s) is taken.
        #expect(!StatusReport.health(state(savedSecondsAgo: 31, flushInterval: nil), nowMillis: now).healthy)
        #expect(StatusReport.health(state(savedSecondsAgo: 29, flushInterval: nil), nowMillis: now).healthy)
    }

    @Test("a last flush that failed is a problem (exit status 2) naming the error")
    func failing() {
        var s = state(savedSecondsAgo: 1)
        s.lastFlushFailed = true
        s.lastError = "send to localhost:8125: Connection refused"
        s.lastErrorAtMillis = s.savedAtMillis
        s.lastErrorCurrent = true
        let health = StatusReport.health(s, nowMillis: now)
        #expect(health.exitStatus == 2)
        #expect(health.problems == ["failing: the last flush did not reach statsd (send to localhost:8125: Connection refused); its counter deltas are kept and sent with the next one that does"])
        let text = StatusReport.render(s, path: "/s/state.json", nowMillis: now)
        #expect(text.contains("\nhealth: failing: the last flush did not reach statsd"), "\(text)")
    }

    @Test("the text names health, the last error with its time and whether it is current, and a refused reload")
    func text() {
        var s = state(savedSecondsAgo: 4)
        #expect(StatusReport.render(s, path: "/s/state.json", nowMillis: now).contains("\nhealth: ok\n"))
        #expect(StatusReport.render(s, path: "/s/state.json", nowMillis: now).contains("\nlast error: none\n"))
        s.lastError = "file: /var/log/w.log: cannot open: Permission denied"
        s.lastErrorAtMillis = now - 3_600_000
        s.lastErrorCurrent = false
        #expect(StatusReport.render(s, path: "/s/state.json", nowMillis: now)
            .contains("\nlast error: file: /var/log/w.log: cannot open: Permission denied (at \(formatUTC(now - 3_600_000)), 3600 s ago; over by the last flush)\n"))
        s.lastErrorAtMillis = s.savedAtMillis
        s.lastErrorCurrent = true
        #expect(StatusReport.render(s, path: "/s/state.json", nowMillis: now)
            .contains("\nlast error: file: /var/log/w.log: cannot open: Permission denied (at \(formatUTC(s.savedAtMillis)), 4 s ago; still current at the last flush)\n"))
        // States of older versions carry no time.
        s.lastErrorAtMillis = nil
        s.lastErrorCurrent = nil
        #expect(StatusReport.render(s, path: "/s/state.json", nowMillis: now)
            .contains("\nlast error: file: /var/log/w.log: cannot open: Permission denied (time not recorded by the version that wrote the state)\n"))
        s.lastReloadError = "/etc/p.yaml:3:5: rule: unknown key 'actionz'"
        s.lastReloadErrorAtMillis = now - 60_000
        #expect(StatusReport.render(s, path: "/s/state.json", nowMillis: now)
            .contains("\nlast reload refused: at \(formatUTC(now - 60_000)) (60 s ago): /etc/p.yaml:3:5: rule: unknown key 'actionz'; the configuration loaded before is still in use\n"))
        let stale = StatusReport.render(state(savedSecondsAgo: 95), path: "/s/state.json", nowMillis: now)
        #expect(stale.contains("\nhealth: stale: the last flush was 95 s ago"), "\(stale)")
    }

    @Test("--json is one object with stable keys that scripts can read")
    func json() throws {
        var s = state(savedSecondsAgo: 4)
        s.warnings = ["--file '/x/*.log' matches no file; nothing is read from it until it does"]
        s.lastError = "send to localhost:8125: Connection refused"
        s.lastErrorAtMillis = now - 20_000
        s.lastErrorCurrent = false
        s.unsentCounters = ["realm.a.x": 3]
        let text = StatusReport.json(s, path: "/s/state.json", nowMillis: now)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["state_file", "following", "saved_at", "saved_at_millis", "age_seconds", "flush_interval_seconds",
                                     "stale_after_seconds", "healthy", "problems", "last_flush_failed", "last_error", "last_reload_error",
                                     "warnings", "counts", "workers", "journal", "files", "unsent_counters"])
        #expect(object["healthy"] as? Bool == true)
        #expect(object["state_file"] as? String == "/s/state.json")
        #expect(object["saved_at"] as? String == formatUTC(now - 4000))
        #expect(object["age_seconds"] as? Int == 4)
        #expect(object["stale_after_seconds"] as? Int == 30)
        #expect((object["problems"] as? [Any])?.isEmpty == true)
        #expect(object["last_flush_failed"] as? Bool == false)
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["message"] as? String == "send to localhost:8125: Connection refused")
        #expect(error["at"] as? String == formatUTC(now - 20_000))
        #expect(error["current"] as? Bool == false)
        #expect(object["last_reload_error"] is NSNull)
        #expect(object["journal"] is NSNull)
        #expect(object["warnings"] as? [String] == s.warnings)
        #expect((object["counts"] as? [String: Any])?["lines_read"] as? Int == 62)
        #expect(object["unsent_counters"] as? Int == 1)
        let worker = try #require((object["workers"] as? [[String: Any]])?.first)
        #expect(worker["key"] as? String == "file:/var/log/w.log")
        #expect(worker["lives"] as? Int == 2)
        #expect(worker["log_level"] as? String == "debug")
        #expect((worker["open"] as? [String: Any])?["session.online"] as? Int == 2)
        let file = try #require((object["files"] as? [[String: Any]])?.first)
        #expect(file["path"] as? String == "/var/log/w.log")
        #expect(file["offset"] as? Int == 42)

        let stale = try #require(try JSONSerialization.jsonObject(with: Data(StatusReport.json(state(savedSecondsAgo: 40), path: "/s/state.json", nowMillis: now).utf8)) as? [String: Any])
        #expect(stale["healthy"] as? Bool == false)
        #expect((stale["problems"] as? [String])?.first?.hasPrefix("stale: ") == true)
        #expect(stale["last_error"] is NSNull)
    }

    @Test("--json without a state: healthy false and the problem, for scripts as well")
    func jsonWithoutState() throws {
        let text = StatusReport.json(unavailable: "/s/state.json", problem: "no state: the sidecar has not run with this --state-dir yet")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["healthy"] as? Bool == false)
        #expect(object["state_file"] as? String == "/s/state.json")
        #expect(object["problems"] as? [String] == ["no state: the sidecar has not run with this --state-dir yet"])
    }
}

@Suite("Last error record")
struct LastErrorsTests {
    @Test("the newest error wins, a repeat is dated anew, and a part without an error keeps its older one")
    func newest() {
        var errors = LastErrors()
        errors.observe("journal", message: "journal: gone", occurrences: 1, holds: nil, nowMillis: 1000)
        errors.observe("statsd", message: nil, occurrences: 0, holds: false, nowMillis: 1000)
        #expect(errors.last == LastErrors.Report(message: "journal: gone", atMillis: 1000, current: true))
        errors.saved()
        errors.observe("journal", message: "journal: gone", occurrences: 1, holds: nil, nowMillis: 2000)
        #expect(errors.last == LastErrors.Report(message: "journal: gone", atMillis: 1000, current: false))
        errors.observe("statsd", message: "send to h:1: Connection refused", occurrences: 3, holds: true, nowMillis: 2000)
        #expect(errors.last == LastErrors.Report(message: "send to h:1: Connection refused", atMillis: 2000, current: true))
        errors.saved()
        // The same message again, one more occurrence: dated anew and newest again.
        errors.observe("journal", message: "journal: gone", occurrences: 2, holds: nil, nowMillis: 3000)
        errors.observe("statsd", message: "send to h:1: Connection refused", occurrences: 3, holds: false, nowMillis: 3000)
        #expect(errors.last == LastErrors.Report(message: "journal: gone", atMillis: 3000, current: true))
    }

    @Test("a part that says whether its error holds decides; others are current until a state with them is saved")
    func current() {
        var errors = LastErrors()
        errors.observe("state", message: "cannot replace", occurrences: 1, holds: false, nowMillis: 10)
        #expect(errors.last?.current == false)
        errors.observe("files", message: "cannot open", occurrences: 1, holds: nil, nowMillis: 20)
        // Not saved: observed again, still new to the saved state.
        errors.observe("files", message: "cannot open", occurrences: 1, holds: nil, nowMillis: 30)
        #expect(errors.last == LastErrors.Report(message: "cannot open", atMillis: 20, current: true))
        errors.saved()
        errors.observe("files", message: "cannot open", occurrences: 1, holds: nil, nowMillis: 40)
        #expect(errors.last?.current == false)
    }
}
