import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus server (Debian's `prometheus`) on loopback ports of the test's own, with its data
/// in a temporary directory; stopped when dropped.
final class PrometheusServer {
    let process = Process()
    let port = freeTCPPort()
    let log: String

    /// `scrape`: the port of a target scraped every second; `data`: the storage directory (blocks
    /// made by promtool are read from it).
    init(_ dir: TempDir, scrape: UInt16?, data: String, extra: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
            throw TestFailure("prometheus is not installed: run `make deps-test`")
        }
        let config = dir.file("prometheus.yml")
        var text = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        if let scrape {
            text += "scrape_configs:\n  - job_name: realm\n    static_configs:\n      - targets: [\"127.0.0.1:\(scrape)\"]\n"
        }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        log = dir.file("prometheus.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = ["--config.file=\(config)", "--storage.tsdb.path=\(data)", "--web.listen-address=127.0.0.1:\(port)"] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        guard waitUntil(30, { (try? sh("curl -fs 127.0.0.1:\(port)/-/ready"))?.0 == 0 }) else {
            throw TestFailure("prometheus did not get ready: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    /// The result of an instant query (at `time`, seconds, when given): labels → value.
    func query(_ promql: String, time: Int64? = nil) throws -> [[String: String]: Double] {
        var command = "curl -fsS 127.0.0.1:\(port)/api/v1/query --data-urlencode 'query=\(promql)'"
        if let time { command += " --data-urlencode time=\(time)" }
        let (status, out, err) = try sh(command)
        guard status == 0 else { throw TestFailure("query \(promql): \(err)") }
        let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        let data = object?["data"] as? [String: Any]
        var results: [[String: String]: Double] = [:]
        for item in data?["result"] as? [[String: Any]] ?? [] {
            let metric = item["metric"] as? [String: String] ?? [:]
            let value = item["value"] as? [Any] ?? []
            if value.count == 2, let text = value[1] as? String, let v = Double(text) { results[metric] = v }
        }
        return results
    }

    /// A range query: labels → [(time, value)].
    func queryRange(_ promql: String, start: Int64, end: Int64, step: Int) throws -> [[String: String]: [(Int64, Double)]] {
        let (status, out, err) = try sh("curl -fsS 127.0.0.1:\(port)/api/v1/query_range --data-urlencode 'query=\(promql)' --data-urlencode start=\(start) --data-urlencode end=\(end) --data-urlencode step=\(step)s")
        guard status == 0 else { throw TestFailure("query_range \(promql): \(err)") }
        let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        var results: [[String: String]: [(Int64, Double)]] = [:]
        for item in (object?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? [] {
            let metric = item["metric"] as? [String: String] ?? [:]
            results[metric] = (item["values"] as? [[Any]] ?? []).compactMap { pair in
                guard pair.count == 2, let t = pair[0] as? Double, let s = pair[1] as? String, let v = Double(s) else { return nil }
                return (Int64(t), v)
            }
        }
        return results
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// The Prometheus series name of a `--summary` name under `realm.web1` (the README's rule), with the
/// labels the two tagged families get.
func prometheusSeries(_ summaryName: String, counter: Bool) -> (name: String, labels: [String: String]) {
    var name = String(summaryName.dropFirst("realm.web1.".count))
    var labels = ["host": "web1"]
    let parts = name.split(separator: ".").map(String.init)
    if parts.count == 3, parts[0] == "protocol", parts[2] == "used", Int(parts[1]) != nil {
        name = "protocol.used"
        labels["version"] = parts[1]
    } else if parts.first == "user_sessions" {
        labels["identity"] = parts.dropFirst().joined(separator: ".")
        name = "user_sessions"
    }
    var metric = "realm_" + name.replacingOccurrences(of: ".", with: "_")
    if counter { metric += "_total" } else if metric.hasSuffix("_total") { metric += "_gauge" }
    return (metric, labels)
}

@Suite("Live: a real Prometheus scrapes run --prometheus-listen, and reads an OpenMetrics backfill", .serialized)
struct PrometheusTests {
    @Test("after a known log, Prometheus's query API gives the --summary values; after a restart and a reload of the sidecar resets() over every counter is 0")
    func scrapeAndRestart() throws {
        let dir = TempDir()
        let listen = freeTCPPort()
        let prometheus = try PrometheusServer(dir, scrape: listen, data: dir.file("data"))
        defer { prometheus.stop() }
        let log = dir.file("worker.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let lines = try sampleLines()
        let half = lines.count / 2
        func start(_ n: Int) throws -> Sidecar {
            let s = try Sidecar(["run", "--file", log, "--state-dir", dir.file("state"), "--statsd", "127.0.0.1:\(freePort(SOCK_DGRAM))",
                                 "--flush-interval", "1", "--prefix", "realm.web1", "--prometheus-listen", "127.0.0.1:\(listen)"],
                                stderrPath: dir.file("err\(n)"))
            try s.waitForStderr("Prometheus metrics at http://127.0.0.1:\(listen)/metrics")
            // A first start reads the history silently: lines written before it is done would be history.
            if n == 0 { try s.waitForStderr("reporting from now on") }
            return s
        }
        func expect(_ upTo: Int) throws {
            let part = dir.file("part\(upTo).log")
            try (lines[0..<upTo].joined(separator: "\n") + "\n").write(toFile: part, atomically: true, encoding: .utf8)
            let (counters, gauges) = try replaySummary(part, prefix: "realm.web1")
            var expected: [String: (labels: [String: String], value: Double)] = [:]
            for (name, v) in counters { let s = prometheusSeries(name, counter: true); expected[s.name + "\(s.labels.sorted { $0.key < $1.key })"] = (s.labels.merging(["__name__": s.name]) { $1 }, Double(v)) }
            for (name, v) in gauges { let s = prometheusSeries(name, counter: false); expected[s.name + "\(s.labels.sorted { $0.key < $1.key })"] = (s.labels.merging(["__name__": s.name]) { $1 }, Double(v)) }
            #expect(counters.values.contains { $0 > 0 })
            var got: [[String: String]: Double] = [:]
            // The summary's folded user names keep letters, digits, - and _ only.
            func folded(_ labels: [String: String]) -> [String: String] {
                labels.filter { $0.key != "job" && $0.key != "instance" }.mapValues { $0 }.merging(labels["identity"].map { ["identity": String($0.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })] } ?? [:]) { $1 }
            }
            let reached = waitUntil(40) {
                got = (try? prometheus.query("{job=\"realm\",__name__=~\"realm_.+\",__name__!~\"realm_sidecar_.+\"}")) ?? [:]
                return expected.values.allSatisfy { e in got.first { folded($0.key) == e.labels }?.value == e.value }
            }
            let missing = expected.values.filter { e in got.first { folded($0.key) == e.labels }?.value != e.value }
            #expect(reached, "Prometheus did not get the summary's values; differing: \(missing.map { "\($0.labels) = \($0.value)" }.sorted().prefix(10))")
        }

        var sidecar = try start(0)
        let appender = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        appender.seekToEndOfFile()
        appender.write(Data((lines[0..<half].joined(separator: "\n") + "\n").utf8))
        try expect(half)
        // Every declared timer and histogram is there, and the own metrics.
        #expect(try !prometheus.query("realm_ping_rtt_count{host=\"web1\"}").isEmpty)
        #expect(try prometheus.query("realm_sidecar_lines_read_total{host=\"web1\"}").values.first == Double(half))

        #expect(sidecar.terminate() == 0)
        usleep(1_500_000)  // a scrape or more finds nothing
        sidecar = try start(1)
        // A reload (SIGHUP) on the way resets nothing either.
        sidecar.signal(SIGHUP)
        try sidecar.waitForStderr("reloaded the configuration")
        appender.write(Data((lines[half...].joined(separator: "\n") + "\n").utf8))
        try appender.close()
        try expect(lines.count)
        // resets() drops the name: one query per counter.
        let counterNames = Set(try prometheus.query("{job=\"realm\",__name__=~\"realm_.+_total\"}").keys.compactMap { $0["__name__"] })
        #expect(counterNames.count > 20)
        var reset: [String] = []
        for name in counterNames.sorted() {
            for (labels, value) in try prometheus.query("resets(\(name){job=\"realm\"}[5m])") where value != 0 { reset.append("\(name)\(labels) = \(value)") }
        }
        #expect(reset.isEmpty, "counters reset across the restart: \(reset)")
        // Every metric the alert rules read is on the page (an alert on a name that is never there never fires).
        let rules = try String(contentsOfFile: Repo.root.appendingPathComponent("packaging/prometheus/realm-alerts.yml").path, encoding: .utf8)
        let used = Set(rules.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init).filter { $0.hasPrefix("realm_") })
        let exposed = Set(try prometheus.query("{job=\"realm\"}").keys.compactMap { $0["__name__"] })
        #expect(used.count >= 10)
        #expect(used.subtracting(exposed).isEmpty, "alert rules read metrics the sidecar does not expose: \(used.subtracting(exposed).sorted())")
        #expect(sidecar.terminate() == 0)
    }

    @Test("replay --to openmetrics: promtool builds blocks, and Prometheus on them answers a range query with the per-bucket values")
    func openMetricsBackfill() throws {
        let dir = TempDir()
        let file = dir.file("backfill.om")
        let (status, _, err) = try sh("'\(Repo.binary)' replay -q --prefix realm.web1 --timezone UTC --bucket 60 --to openmetrics:\(file) '\(Repo.sample("realm-sync-worker.sample.log"))'")
        #expect(status == 0, "\(err)")
        let (checked, _, checkErr) = try sh("promtool tsdb create-blocks-from openmetrics '\(file)' '\(dir.file("data"))'")
        #expect(checked == 0, "\(checkErr)")
        // The file's own samples of two series, to compare with what Prometheus answers.
        let text = try String(contentsOfFile: file, encoding: .utf8)
        func samples(_ series: String) -> [(Int64, Double)] {
            text.split(separator: "\n").filter { $0.hasPrefix(series + " ") }.map { line in
                let cols = line.split(separator: " ")
                return (Int64(cols[2])!, Double(cols[1])!)
            }
        }
        let started = samples("realm_connection_started_total{host=\"web1\"}")
        let online = samples("realm_connection_online{host=\"web1\"}")
        #expect(started.count >= 2)
        let (counters, _) = try replaySummary(Repo.sample("realm-sync-worker.sample.log"), prefix: "realm.web1")
        #expect(started.last?.1 == Double(counters["realm.web1.connection.started"] ?? -1))
        let prometheus = try PrometheusServer(dir, scrape: nil, data: dir.file("data"), extra: ["--storage.tsdb.retention.time=100y", "--query.lookback-delta=1m"])
        defer { prometheus.stop() }
        // Each bucket's value at its own time, as stored (the lookback is shorter than a bucket).
        for (series, expected) in [("realm_connection_started_total", started), ("realm_connection_online", online)] {
            var answered: [(Int64, Double)] = []
            _ = waitUntil(20) {
                answered = expected.compactMap { t, _ in (try? prometheus.query("\(series){host=\"web1\"}", time: t))?.values.first.map { (t, $0) } }
                return answered.count == expected.count
            }
            #expect(answered.map(\.1) == expected.map(\.1), "\(series): Prometheus \(answered), file \(expected)")
        }
        // A range query over the whole backfill gives the same values at the bucket times.
        let range = try prometheus.queryRange("realm_connection_started_total{host=\"web1\"}", start: started.first!.0, end: started.last!.0, step: 60)
        let stored = Dictionary(uniqueKeysWithValues: (range.values.first ?? []).map { ($0.0, $0.1) })
        #expect(started.allSatisfy { stored[$0.0] == $0.1 }, "range: \(stored)")
    }
}
