import Testing
import Foundation
import RealmMetricsTestSupport
@testable import RealmMetricsIO
import RealmMetricsCore

/// The `run` job in process: a ``LiveRunner`` over a log file in a temporary directory, with its state
/// there too, sending statsd to a loopback port the test reads. The tests call ``LiveRunner/readSources(limit:)``
/// and ``LiveRunner/flush()`` themselves, or run the loop with requests written into a pipe of their own.
@Suite("Live job in process")
struct LiveJobTests {
    typealias F = JobFixture

    /// A clock the test moves by hand.
    final class ManualClock {
        var now = 1000.0
    }

    /// The temporary directory, the log file, the receiver and the configuration of one test.
    final class Setup {
        let dir = TemporaryDirectory("rm-livejob")
        let receiver: UDPReceiver
        let logPath: String
        let sidecarLogPath: String
        var configuration: RunConfiguration
        private var logWriters: [FDWriter] = []

        init() throws {
            receiver = try UDPReceiver()
            logPath = dir.append("w.log", "")
            sidecarLogPath = dir.file("sidecar.log")
            configuration = RunConfiguration(prefix: "realm.t")
            configuration.patterns = ["timed"]
            configuration.files = [logPath]
            configuration.statsdHost = "127.0.0.1"
            configuration.statsdPort = receiver.port
            configuration.stateDirectory = dir.file("state")
        }

        deinit { logWriters.forEach(closeWriter) }

        /// A runner on the configuration as it is now, logging to ``sidecarLogPath``.
        func runner(clock: (() -> Double)? = nil) throws -> LiveRunner {
            let writer = FDWriter(fd: open(sidecarLogPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644))
            logWriters.append(writer)
            return try LiveRunner(configuration: configuration, provider: F.provider, log: writer, clock: clock)
        }

        func append(_ lines: [String]) { dir.append("w.log", lines: lines) }

        /// What the runner sent with one flush.
        func flush(_ runner: LiveRunner) -> StatsdReading {
            runner.flush()
            return StatsdReading(receiver.collect(waiting: 2))
        }

        var sidecarLog: String { contents(sidecarLogPath) }

        func state() throws -> SidecarState? { try StateFile(directory: configuration.stateDirectory).load() }

        var logSize: Int64 { Int64((try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? -1) }
    }

    @Test("counter deltas are sent once, gauges as they are at each flush; the state after a flush holds the counters, what was sent of them and the file's position")
    func deltasOnceGaugesAbsolute() throws {
        let s = try Setup()
        let runner = try s.runner()
        s.append([F.line(0, "hit"), F.line(1, "hit"), F.line(2, "open a"), F.line(3, "open b"), F.line(4, "bytes 40")])
        runner.readSources()
        #expect(s.flush(runner).except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.bytes": 40, "realm.t.hits": 2], gauges: ["realm.t.online": 2]))
        #expect(s.flush(runner).except("realm.t.sidecar.") == StatsdReading(gauges: ["realm.t.online": 2]), "nothing new: no counter, the gauge again")
        s.append([F.line(5, "hit"), F.line(6, "close a")])
        runner.readSources()
        #expect(s.flush(runner).except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.hits": 1], gauges: ["realm.t.online": 1]))

        let state = try #require(try s.state())
        #expect(Dictionary(uniqueKeysWithValues: state.metrics.counters.map { ($0.name, [$0.total, $0.flushed]) }) == ["bytes": [40, 40], "hits": [3, 3]])
        #expect(state.metrics.workers.map(\.key) == ["file:\(s.logPath)"])
        #expect(state.metrics.workers.first?.open == ["online": ["b"]])
        #expect(state.files.map(\.path) == [s.logPath])
        #expect(state.files.map(\.offset) == [s.logSize])
        #expect(state.counts["lines_read"] == 7)
        #expect(state.counts["flushes"] == 3)
        #expect(state.unsentCounters == nil)
        #expect(state.lastFlushFailed == false)
    }

    @Test("a new runner on the same state directory goes on where the last flush was: no history sent again, gauges restored, own counters continue as deltas")
    func restartContinues() throws {
        let s = try Setup()
        var first: LiveRunner? = try s.runner()
        s.append([F.line(0, "hit"), F.line(1, "open a"), F.line(2, "bytes 10")])
        first?.readSources()
        let sent = s.flush(first!)
        #expect(sent.except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.bytes": 10, "realm.t.hits": 1], gauges: ["realm.t.online": 1]))
        #expect(sent.deltas["realm.t.sidecar.lines_read"] == [3])
        #expect(sent.deltas["realm.t.sidecar.lines_matched"] == [3])
        first = nil  // lets go of the state directory's lock

        let second = try s.runner()
        second.readSources()
        let resumed = s.flush(second)
        #expect(resumed.except("realm.t.sidecar.") == StatsdReading(gauges: ["realm.t.online": 1]), "\(resumed)")
        #expect(resumed.counters["realm.t.sidecar.lines_read"] == nil, "no line was read since the last flush")
        #expect(resumed.gauges["realm.t.sidecar.open_keys"] == 1)
        s.append([F.line(3, "hit"), F.line(4, "hit")])
        second.readSources()
        let later = s.flush(second)
        #expect(later.except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.hits": 2], gauges: ["realm.t.online": 1]))
        #expect(later.deltas["realm.t.sidecar.lines_read"] == [2])
        #expect(try s.state()?.counts["lines_read"] == 5)
        #expect(try s.state()?.counts["flushes"] == 3)
    }

    @Test("a reload with another prefix: what was counted before goes out under the old names with the reload's flush, the next flush under the new ones")
    func reloadRenames() throws {
        let s = try Setup()
        let runner = try s.runner()
        s.append([F.line(0, "hit"), F.line(1, "open a")])
        runner.readSources()
        #expect(s.flush(runner).except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.hits": 1], gauges: ["realm.t.online": 1]))
        s.append([F.line(2, "hit")])
        runner.readSources()
        var next = s.configuration
        next.prefix = "realm.u"
        try runner.apply(next)
        let atReload = StatsdReading(s.receiver.collect(waiting: 2))
        #expect(atReload.except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.hits": 1], gauges: ["realm.t.online": 1]))
        #expect(atReload.deltas["realm.t.sidecar.lines_read"] == [1])

        s.append([F.line(3, "hit"), F.line(4, "bytes 3")])
        runner.readSources()
        let after = s.flush(runner)
        #expect(after.except("realm.u.sidecar.") == StatsdReading(counters: ["realm.u.bytes": 3, "realm.u.hits": 1], gauges: ["realm.u.online": 1]))
        #expect(after.deltas["realm.u.sidecar.lines_read"] == [2])
        #expect(after.except("realm.u.").counters.isEmpty && after.except("realm.u.").gauges.isEmpty, "nothing under the old names: \(after)")
        #expect(s.sidecarLog.contains("reloaded the configuration"))
    }

    @Test("a reload to another receiver: the own send counters go on from their totals (never a negative delta), and the new receiver gets the next flush")
    func reloadRedirects() throws {
        let s = try Setup()
        let other = try UDPReceiver()
        let runner = try s.runner()
        for n in 0..<2 {
            s.append([F.line(n, "hit")])
            runner.readSources()
            runner.flush()
        }
        var next = s.configuration
        next.statsdPort = other.port
        try runner.apply(next)  // its flush still goes to the first receiver
        s.append([F.line(2, "hit")])
        runner.readSources()
        runner.flush()
        let atFirst = s.receiver.collect(waiting: 2)
        let atOther = other.collect(waiting: 2)
        #expect(StatsdReading(atFirst).counters["realm.t.hits"] == 2)
        #expect(StatsdReading(atOther).except("realm.t.sidecar.") == StatsdReading(counters: ["realm.t.hits": 1], gauges: ["realm.t.online": 0]))

        // Every datagram the first receiver got was sent before the flush to the other one: all are counted by now.
        let own = StatsdReading(atFirst + atOther)
        let firstDatagrams = s.receiver.datagrams
        #expect(own.deltas["realm.t.sidecar.datagrams_sent"]?.allSatisfy { $0 > 0 } == true, "\(own.deltas)")
        #expect(own.counters["realm.t.sidecar.datagrams_sent"] == Int64(firstDatagrams.count))
        #expect(own.counters["realm.t.sidecar.bytes_sent"] == Int64(firstDatagrams.reduce(0) { $0 + $1.utf8.count }))
        #expect(own.counters["realm.t.sidecar.send_errors"] == nil)
        #expect(runner.counts()["datagrams_sent"] == Int64(firstDatagrams.count + other.datagrams.count))
    }

    @Test("checkpoint_age_seconds is the time since the state file was last written on the runner's clock, growing while saves fail")
    func checkpointAge() throws {
        let s = try Setup()
        let clock = ManualClock()
        let runner = try s.runner(clock: { clock.now })
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 0)
        clock.now += 42
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 42)
        clock.now += 10
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 10)

        // A directory where the temporary state file goes: every save fails from now on.
        #expect(mkdir(s.configuration.stateDirectory + "/state.json.tmp", 0o755) == 0)
        clock.now += 5
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 5)
        clock.now += 30
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 35)
        #expect(s.sidecarLog.contains("cannot save state"))
        rmdir(s.configuration.stateDirectory + "/state.json.tmp")
        clock.now += 1
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 36)
        clock.now += 2
        #expect(s.flush(runner).gauges["realm.t.sidecar.checkpoint_age_seconds"] == 2)
        #expect(s.sidecarLog.contains("the state file is written again"))
    }

    @Test("a receiver that refuses: the failure is logged once, reminded after faultReminderSeconds on the runner's clock, and the counts kept meanwhile arrive when it is back")
    func faultReminder() throws {
        let s = try Setup()
        let port = try UDPReceiver.closedPort()
        s.configuration.statsdPort = port
        s.configuration.faultReminderSeconds = 300
        let clock = ManualClock()
        let runner = try s.runner(clock: { clock.now })
        func occurrences(_ text: String) -> Int { s.sidecarLog.components(separatedBy: text).count - 1 }
        func flush(_ lines: [String]) {
            s.append(lines)
            runner.readSources()
            runner.flush()
            usleep(50_000)  // the kernel's "port unreachable"
        }
        flush([F.line(0, "hit")])
        flush([F.line(1, "hit")])  // hears of the first flush's refusal
        #expect(occurrences("cannot deliver to 127.0.0.1:\(port)") == 1, "\(s.sidecarLog)")
        clock.now += 299
        flush([F.line(2, "hit")])
        #expect(occurrences("cannot deliver") == 1, "no reminder before faultReminderSeconds")
        clock.now += 1
        flush([F.line(3, "hit")])
        #expect(occurrences("still cannot deliver to 127.0.0.1:\(port)") == 1, "\(s.sidecarLog)")
        #expect(s.sidecarLog.contains("(3 flushes)"))
        clock.now += 100
        flush([F.line(4, "hit")])
        #expect(occurrences("still cannot deliver") == 1, "the next reminder is faultReminderSeconds after this one")
        #expect(try s.state()?.lastFlushFailed == true)

        let receiver = try UDPReceiver(port: port)
        flush([F.line(5, "hit")])  // hears of the refusal of the flush before: kept again
        flush([F.line(6, "hit")])
        #expect(occurrences("delivering to 127.0.0.1:\(port) again") == 1, "\(s.sidecarLog)")
        let received = StatsdReading(receiver.collect(waiting: 2))
        #expect(received.counters["realm.t.hits"] == 7, "\(received)")
        #expect(try s.state()?.lastFlushFailed == false)
    }

    @Test("the loop on a request pipe: a first start reads the history silently, SIGHUP reloads, SIGTERM ends it with a final flush of what was read and the state saved")
    func loopOnRequests() throws {
        let s = try Setup()
        s.append([F.line(0, "hit"), F.line(1, "hit"), F.line(2, "open a")])  // history
        s.configuration.flushInterval = 0.1
        s.configuration.tickInterval = 0.01
        var reloaded = s.configuration
        reloaded.prefix = "realm.u"
        reloaded.flushInterval = 3600  // after the reload only the final flush sends what is read
        let runner = try s.runner()
        runner.reloadConfiguration = { reloaded }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)

        /// The runner and what its thread reports: the lines the driver has applied, the run's result.
        final class Job: @unchecked Sendable {
            let runner: LiveRunner
            let done = DispatchSemaphore(value: 0)
            var result: Bool?
            private let lock = NSLock()
            private var applied = 0
            var linesApplied: Int { lock.withLock { applied } }
            init(_ runner: LiveRunner) {
                self.runner = runner
                let observer = runner.driver.observer
                runner.driver.observer = { [unowned self] start, length, worker, outcome in
                    observer?(start, length, worker, outcome)
                    lock.withLock { applied += 1 }
                }
            }
        }
        let job = Job(runner)
        let requests = fds[0]
        Thread {
            job.result = job.runner.run(requests: requests)
            job.done.signal()
        }.start()
        func request(_ signal: Int32) {
            var byte = UInt8(signal)
            _ = write(fds[1], &byte, 1)
        }
        func eventually(_ condition: () -> Bool) -> Bool {
            let end = Date().addingTimeInterval(10)
            while Date() < end {
                if condition() { return true }
                s.receiver.collect(waiting: 0.01)
            }
            return condition()
        }
        /// Everything received so far.
        var received: StatsdReading { StatsdReading(s.receiver.lines) }

        #expect(eventually { s.sidecarLog.contains("no saved state: rebuilt the gauges from 3 lines of history; reporting from now on") }, "\(s.sidecarLog)")
        s.append([F.line(3, "hit")])
        #expect(eventually { received.counters["realm.t.hits"] == 1 && received.gauges["realm.t.online"] == 1 }, "\(received)")
        request(SIGHUP)
        #expect(eventually { s.sidecarLog.contains("reloaded the configuration") }, "\(s.sidecarLog)")
        // The flush the loop had planned comes under the new names; the next one is an hour away.
        #expect(eventually { received.gauges["realm.u.online"] == 1 }, "\(received)")
        s.append([F.line(4, "hit"), F.line(5, "hit"), F.line(6, "bytes 8")])
        #expect(eventually { job.linesApplied == 7 }, "\(job.linesApplied) lines applied")
        request(SIGTERM)
        #expect(job.done.wait(timeout: .now() + 10) == .success)
        #expect(job.result == true)
        #expect(s.sidecarLog.contains("stopped after a final flush; state saved in \(s.configuration.stateDirectory)/state.json"))
        #expect(eventually { received.counters["realm.u.hits"] == 2 && received.counters["realm.u.bytes"] == 8 }, "the final flush: \(received)")
        #expect(received.counters["realm.t.hits"] == 1, "the history was not counted")
        let state = try #require(try s.state())
        #expect(state.counts["lines_read"] == 7)
        // The final flush's own send counts are in the state too (they were missed before: the state
        // was prepared before that flush's datagrams went).
        s.receiver.collect(waiting: 0.2)
        #expect(state.counts["datagrams_sent"] == Int64(s.receiver.datagrams.count), "\(s.receiver.datagrams.count) datagrams received")
        #expect(state.files.map(\.offset) == [s.logSize])
        #expect(Dictionary(uniqueKeysWithValues: state.metrics.counters.map { ($0.name, [$0.total, $0.flushed]) }) == ["bytes": [8, 8], "hits": [5, 5]])
    }
}
