import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A free TCP port on 127.0.0.1.
func freeTCPPort() -> UInt16 { freePort(SOCK_STREAM) }

func canConnect(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = port.bigEndian
    return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}

/// A carbon-cache of its own: a loopback port picked free, config and whisper files in a temporary
/// directory, every whisper series kept 10 s for 10 years (sparse files), so points of the 2020 sample
/// log are kept as written. Stopped (SIGKILL) and removed by ``stop()``.
final class CarbonServer {
    let dir = TempDir()
    let port = freeTCPPort()
    var storage: String { dir.file("storage") }
    let process = Process()

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/carbon-cache") else {
            throw TestFailure("graphite-carbon is not installed: run `make deps-test`")
        }
        try FileManager.default.createDirectory(atPath: dir.file("conf"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        try """
            [cache]
            STORAGE_DIR = \(storage)/
            LOCAL_DATA_DIR = \(storage)/whisper/
            LOG_DIR = \(storage)/log/
            PID_DIR = \(storage)/
            USER =
            MAX_CACHE_SIZE = inf
            MAX_UPDATES_PER_SECOND = inf
            MAX_CREATES_PER_MINUTE = inf
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = \(port)
            PICKLE_RECEIVER_PORT = 0
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = 0
            WHISPER_SPARSE_CREATE = True
            WHISPER_FALLOCATE_CREATE = False
            CARBON_METRIC_INTERVAL = 0

            """.write(toFile: dir.file("conf/carbon.conf"), atomically: true, encoding: .utf8)
        try "[all_10s]\npattern = .*\nretentions = 10s:10y\n".write(toFile: dir.file("conf/storage-schemas.conf"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/carbon-cache")
        process.arguments = ["--config=\(dir.file("conf/carbon.conf"))", "--nodaemon", "--logfile=\(dir.file("carbon.log"))", "start"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard waitUntil(20, { canConnect(port) }) else {
            stop()
            throw TestFailure("carbon-cache did not listen on \(port)")
        }
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    /// whisper-fetch of one series: time → value (nil for None); empty when there is no such file.
    func fetch(_ path: String, from: Int, until: Int) -> [Int: Double?] {
        let file = storage + "/whisper/" + path.replacingOccurrences(of: ".", with: "/") + ".wsp"
        guard FileManager.default.fileExists(atPath: file),
              let (status, out, _) = try? sh("whisper-fetch --from=\(from) --until=\(until) '\(file)'"), status == 0 else { return [:] }
        var rows: [Int: Double?] = [:]
        for line in out.split(separator: "\n") {
            let cols = line.split(separator: "\t")
            if cols.count == 2, let t = Int(cols[0]) { rows[t] = Double(cols[1]) }
        }
        return rows
    }
}

@Suite("Live: backfill into a real Graphite", .serialized)
struct GraphiteBackfillTests {
    @Test("replay --journal into graphite-carbon: the whisper series hold the bucket values at the original times")
    func backfillGraphite() throws {
        let carbon = try CarbonServer()
        defer { carbon.stop() }
        let dir = TempDir()
        let port = carbon.port

        // Two workers; worker a crashes without a line and its unit is started again (a new invocation,
        // a new _PID, no banner); the window cuts through its life.
        let t0 = Int(Date().timeIntervalSince1970) / 10 * 10 - 3600
        func e(_ id: String, _ pid: Int, _ dt: Int, _ m: String) -> ExportEntry {
            ExportEntry(identifier: id, pid: pid, seconds: t0 + dt, message: m, unit: "\(id).service",
                        invocation: String(repeating: pid == 200 ? "2" : "1", count: 32))
        }
        let entries = [
            e("realm-a", 100, 0, "Realm sync server started ([realm-core-5.23.8], [realm-sync-4.9.5])"),
            e("realm-a", 100, 1, "HTTP Connection[1]: Connection from 10.0.0.1:1"),
            e("realm-a", 100, 2, "Sync Connection[1]: Session[1]: Session initiated"),
            e("realm-a", 100, 3, "Sync Connection[1]: Session[2]: Session initiated"),
            e("realm-b", 300, 5, "Realm sync server started ([realm-core-5.23.8], [realm-sync-4.9.5])"),
            e("realm-b", 300, 6, "HTTP Connection[1]: Connection from 10.0.0.2:1"),
            e("realm-b", 300, 7, "Sync Connection[1]: Session[1]: Session initiated"),
            e("realm-a", 100, 12, "HTTP Connection[2]: Connection from 10.0.0.1:2"),
            e("realm-a", 100, 13, "Sync Connection[2]: Session[1]: Session initiated"),
            e("realm-a", 200, 25, "HTTP Connection[1]: Connection from 10.0.0.1:3"),
            e("realm-a", 200, 31, "Sync Connection[1]: Session[1]: Session initiated"),
            e("realm-a", 200, 45, "Sync Connection[1]: Session[2]: Session initiated"),
        ]
        try makeJournalFile(entries, at: dir.file("w.journal"))
        let (status, _, err) = try sh("'\(Repo.binary)' replay --journal --journal-file '\(dir.file("w.journal"))' --identifier realm-a --identifier realm-b "
                                      + "--since @\(t0 + 10) --until @\(t0 + 39) --prefix realm.t --to graphite://127.0.0.1:\(port)")
        #expect(status == 0, "\(err)")
        #expect(err.contains("3 buckets"), "\(err)")

        let from = t0 - 1, until = t0 + 50
        let wantOnline: [Int: Double?] = [t0: nil, t0 + 10: 4, t0 + 20: 1, t0 + 30: 2, t0 + 40: nil, t0 + 50: nil]
        // statsd writes 0 for a known counter in a bucket without events, and so does the backfill.
        let wantStarted: [Int: Double?] = [t0: nil, t0 + 10: 1, t0 + 20: 1, t0 + 30: 0, t0 + 40: nil, t0 + 50: nil]
        #expect(waitUntil(20) {
            carbon.fetch("stats.gauges.realm.t.session.online", from: from, until: until) == wantOnline
                && carbon.fetch("stats.counters.realm.t.connection.started.count", from: from, until: until) == wantStarted
        }, "session.online: \(carbon.fetch("stats.gauges.realm.t.session.online", from: from, until: until)), connection.started: \(carbon.fetch("stats.counters.realm.t.connection.started.count", from: from, until: until))")
        #expect(carbon.fetch("stats.gauges.realm.t.connection.online", from: from, until: until)[t0 + 20] == 2)
        #expect(carbon.fetch("stats.counters.realm.t.session.started.count", from: from, until: until)[t0 + 30] == 1)
        #expect(carbon.fetch("stats.counters.realm.t.connection.started.rate", from: from, until: until)[t0 + 10] == 0.1)
    }

    @Test("replay --journal --summary over a window, and influx output with nanosecond timestamps")
    func summaryAndInflux() throws {
        let dir = TempDir()
        let t0 = 1_709_251_200
        let entries = (0..<6).map { ExportEntry(identifier: "rb", pid: 9, seconds: t0 + $0 * 10, message: "HTTP Connection[\($0 + 1)]: Connection from 10.0.0.1:1") }
        try makeJournalFile(entries, at: dir.file("x.journal"))
        let (s1, out, err) = try sh("'\(Repo.binary)' replay -q --journal --journal-file '\(dir.file("x.journal"))' --since 2024-03-01T00:00:15Z --until 2024-03-01T00:00:45Z --prefix realm.t --summary")
        #expect(s1 == 0, "\(err)")
        let (counters, gauges) = try parseSummary(out)
        #expect(counters["realm.t.connection.started"] == 3)
        #expect(gauges["realm.t.connection.online"] == 5)
        let (s2, influx, _) = try sh("'\(Repo.binary)' replay -q --journal --journal-file '\(dir.file("x.journal"))' --prefix realm.t --to influx:-")
        #expect(s2 == 0)
        #expect(influx.contains("realm.connection.started,host=t,metric_type=counter value=1i \(t0 + 50)000000000\n"))
        #expect(influx.contains("realm.connection.online,host=t,metric_type=gauge value=6i \(t0 + 50)000000000\n"))
    }

    @Test("plain names: a counter and a gauge of one name (protocol.bytes.received) are two whisper series, <name> and <name>.gauge, each with its values")
    func plainNamesKeepBoth() throws {
        let carbon = try CarbonServer()
        defer { carbon.stop() }
        let sample = Repo.sample("realm-sync-worker.sample.log")
        let (status, _, err) = try sh("'\(Repo.binary)' replay -q --prefix realm.t --bucket 60 --graphite-naming plain --to graphite://127.0.0.1:\(carbon.port) '\(sample)'")
        #expect(status == 0, "\(err)")
        let (s2, summary, _) = try sh("'\(Repo.binary)' replay -q --prefix realm.t --summary '\(sample)'")
        #expect(s2 == 0)
        let (counters, gauges) = try parseSummary(summary)
        let name = "realm.t.protocol.bytes.received"
        #expect(counters[name] == 470 && gauges[name] == 50, "the sample has both kinds under one name: \(summary)")
        // 12:00 to 12:05:59 in 60 s buckets.
        let from = 1_588_680_000 - 1, until = 1_588_680_300
        var counter: [Int: Double?] = [:], gauge: [Int: Double?] = [:]
        #expect(waitUntil(20) {
            counter = carbon.fetch(name, from: from, until: until)
            gauge = carbon.fetch(name + ".gauge", from: from, until: until)
            return counter.values.compactMap { $0 }.reduce(0, +) == 470 && gauge[1_588_680_300] == 50
        }, "counter \(counter), gauge \(gauge)")
        let minutes = stride(from: 1_588_680_000, through: 1_588_680_300, by: 60)
        #expect(minutes.allSatisfy { counter[$0] ?? nil != nil }, "a point in every 60 s bucket, 0 too: \(counter)")
        #expect(minutes.map { counter[$0] ?? nil } == [420, 0, 0, 0, 0, 50], "\(counter)")
        #expect(minutes.map { gauge[$0] ?? nil } == [420, 420, 420, 420, 420, 50], "\(gauge)")
        #expect(counter[1_588_680_120] == 0, "no bytes from 12:02 to 12:02:59: \(counter)")
    }

    @Test("statsd-legacy names (legacyNamespace: true): stats_counts.<name> holds the count, stats.<name> the rate, stats.gauges.<name> the gauge; a counter that did not move is 0")
    func legacyNames() throws {
        let carbon = try CarbonServer()
        defer { carbon.stop() }
        let sample = Repo.sample("realm-sync-worker.sample.log")
        let (status, _, err) = try sh("'\(Repo.binary)' replay -q --prefix realm.t --bucket 60 --graphite-naming statsd-legacy --to graphite://127.0.0.1:\(carbon.port) '\(sample)'")
        #expect(status == 0, "\(err)")
        let from = 1_588_680_000 - 1, until = 1_588_680_300
        var started: [Int: Double?] = [:]
        #expect(waitUntil(20) {
            started = carbon.fetch("stats_counts.realm.t.connection.started", from: from, until: until)
            return started.values.compactMap { $0 }.reduce(0, +) == 18 && carbon.fetch("stats.gauges.realm.t.session.total", from: from, until: until)[1_588_680_300] == 8
        }, "stats_counts.realm.t.connection.started: \(started)")
        #expect(started[1_588_680_000] == 3, "three connections in the first minute: \(started)")
        #expect(started[1_588_680_120] == 0 && started[1_588_680_180] == 0, "nothing started from 12:02 to 12:03:59: \(started)")
        #expect(carbon.fetch("stats.realm.t.connection.started", from: from, until: until)[1_588_680_000] == 0.05, "the rate: 3 in 60 s")
        // A known timer without values in a bucket: statsd's count 0 and count_ps 0.
        let rtt = carbon.fetch("stats.timers.realm.t.ping.rtt.count", from: from, until: until)
        #expect(stride(from: 1_588_680_000, through: 1_588_680_300, by: 60).map { rtt[$0] ?? nil } == [0, 0, 0, 0, 0, 2], "\(rtt)")
        #expect(carbon.fetch("stats.timers.realm.t.ping.rtt.count_ps", from: from, until: until)[1_588_680_120] == 0)
        #expect(!FileManager.default.fileExists(atPath: carbon.storage + "/whisper/stats/counters"), "no statsd (non-legacy) names")
    }

    @Test("replay of a file to dogstatsd: counts and gauges per bucket with |T timestamps, over real UDP")
    func dogstatsd() throws {
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let (status, _, err) = try sh("'\(Repo.binary)' replay -q --prefix realm.t --bucket 60 --since 2020-05-05T12:00:00Z --until 2020-05-05T12:04:59Z "
                                      + "--to dogstatsd://127.0.0.1:\(receiver.port) '\(Repo.sample("realm-sync-worker.sample.log"))'")
        #expect(status == 0, "\(err)")
        // 12:00:00-12:00:59 is one bucket: three connections opened in it, one session still open at its end.
        // The gauges come after every counter of the bucket (zeros too), in later datagrams.
        #expect(waitUntil(5) { receiver.lines.contains("realm.t.connection.started:3|c|T1588680000") && receiver.lines.contains("realm.t.session.online:1|g|T1588680000") }, "\(receiver.lines)")
        #expect(receiver.lines.contains("realm.t.blacklisted:0|c|T1588680000"), "a declared counter that did not move is 0")
        #expect(!receiver.lines.contains { $0.hasSuffix("|T1588680300") }, "the second life (12:05) is after --until")
    }
}
