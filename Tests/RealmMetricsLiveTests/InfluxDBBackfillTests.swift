import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An influxd (InfluxDB 1.x) of its own: loopback ports picked free, config, meta, data and WAL in a
/// temporary directory (never /etc/influxdb or /var/lib/influxdb, never the default ports 8086/8088),
/// stopped (SIGTERM, then SIGKILL) and removed by ``stop()``.
final class InfluxServer {
    let dir = TempDir()
    let port = freeTCPPort()
    let rpcPort = freeTCPPort()
    let process = Process()

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/influxd") else {
            throw TestFailure("influxdb is not installed: run `make deps-test` (apt-get install influxdb)")
        }
        try """
            reporting-enabled = false
            bind-address = "127.0.0.1:\(rpcPort)"
            [meta]
              dir = "\(dir.file("meta"))"
            [data]
              dir = "\(dir.file("data"))"
              wal-dir = "\(dir.file("wal"))"
              query-log-enabled = false
            [monitor]
              store-enabled = false
            [http]
              bind-address = "127.0.0.1:\(port)"
              log-enabled = false
            [continuous_queries]
              enabled = false

            """.write(toFile: dir.file("influxdb.conf"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/influxd")
        process.arguments = ["run", "-config", dir.file("influxdb.conf")]
        FileManager.default.createFile(atPath: dir.file("influxd.log"), contents: nil)
        let log = FileHandle(forWritingAtPath: dir.file("influxd.log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        guard waitUntil(30, { (try? sh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:\(port)/ping").1) == "204" }) else {
            stop()
            throw TestFailure("influxd did not answer /ping on \(port)")
        }
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if !waitUntil(10, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// `CREATE DATABASE name` (POST /query).
    func createDatabase(_ name: String) throws {
        let (status, out, err) = try sh("curl -sf -XPOST http://127.0.0.1:\(port)/query --data-urlencode 'q=CREATE DATABASE \"\(name)\"'")
        guard status == 0, !out.contains("\"error\"") else { throw TestFailure("CREATE DATABASE \(name): \(out) \(err)") }
    }

    /// One series of a query's answer: measurement, tags (GROUP BY *) and rows.
    struct Series {
        let name: String
        let tags: [String: String]
        let columns: [String]
        let values: [[Any]]
    }

    /// The series of InfluxQL `q` on `db`, times in seconds; an error in the answer is thrown.
    func query(_ db: String, _ q: String) throws -> [Series] {
        let escaped = q.replacingOccurrences(of: "'", with: "'\\''")
        let (status, out, err) = try sh("curl -sf -G http://127.0.0.1:\(port)/query --data-urlencode db=\(db) --data-urlencode epoch=s --data-urlencode 'q=\(escaped)'")
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any],
              let results = object["results"] as? [[String: Any]] else { throw TestFailure("query \(q): \(status) \(out) \(err)") }
        var series: [Series] = []
        for result in results {
            if let error = result["error"] as? String { throw TestFailure("query \(q): \(error)") }
            for s in result["series"] as? [[String: Any]] ?? [] {
                series.append(Series(name: s["name"] as? String ?? "", tags: s["tags"] as? [String: String] ?? [:],
                                     columns: s["columns"] as? [String] ?? [], values: s["values"] as? [[Any]] ?? []))
            }
        }
        return series
    }
}

/// A JSON number of a query's answer as an integer.
func integer(_ value: Any) -> Int64? { (value as? NSNumber)?.int64Value }

@Suite("Live: backfill into a real InfluxDB 1.x", .serialized)
struct InfluxDBBackfillTests {
    /// The key of a series as the statsd text of `--tags influx` names it, with the prefix's host
    /// taken out (`realm.protocol.used,version=24`): the measurement, then the rule's tags.
    /// (GROUP BY * gives every tag key of the database, empty where a series has none.)
    func key(_ s: InfluxServer.Series) -> String {
        ([s.name] + s.tags.filter { $0.key != "host" && $0.key != "metric_type" && !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            .joined(separator: ",")
    }

    @Test("replay --to influxdb:// of the sample log in 1 s buckets (several POSTs): the counters' sums are the replay's totals, the gauges' last values its values, every counter has a point in every bucket")
    func backfillSample() throws {
        let server = try InfluxServer()
        defer { server.stop() }
        try server.createDatabase("realm")
        let sample = Repo.sample("realm-sync-worker.sample.log")
        let (status, _, err) = try sh("'\(Repo.binary)' replay --prefix realm.web1 --bucket 1 --to influxdb://127.0.0.1:\(server.port)/realm '\(sample)'")
        #expect(status == 0, "\(err)")
        let counts = err.split(separator: ";").last ?? ""
        let buckets = Int64(counts.split(separator: " ").first { Int64($0) != nil } ?? "") ?? -1
        let points = Int64(counts.components(separatedBy: " buckets, ").last?.split(separator: " ").first ?? "") ?? -1
        #expect(buckets > 200 && points > 5000, "\(err)")

        // What replay says of the whole log: totals and gauges with the rule tags as tags.
        let (s2, text, err2) = try sh("'\(Repo.binary)' replay -q --tags influx --prefix realm.web1 '\(sample)'")
        #expect(s2 == 0, "\(err2)")
        var counters: [String: Int64] = [:], gauges: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "|")
            guard parts.count == 2, let colon = parts[0].lastIndex(of: ":"), let value = Int64(parts[0][parts[0].index(after: colon)...]) else { continue }
            let name = "realm." + parts[0][..<colon].dropFirst("realm.web1.".count)
            if parts[1] == "c" { counters[name] = value } else if parts[1] == "g" { gauges[name] = value }
        }
        let (s3, summary, _) = try sh("'\(Repo.binary)' replay -q --prefix realm.web1 --summary '\(sample)'")
        #expect(s3 == 0)
        let (declaredCounters, declaredGauges) = try parseSummary(summary)

        let sums = try server.query("realm", "SELECT sum(\"value\") FROM /^realm\\./ WHERE \"metric_type\" = 'counter' GROUP BY *")
        #expect(sums.count == declaredCounters.count, "one series per declared counter: \(sums.map(key))")
        #expect(sums.allSatisfy { $0.tags["host"] == "web1" })
        for s in sums {
            #expect(integer(s.values.first?[1] ?? 0) == counters[key(s)] ?? 0, "sum of \(key(s))")
        }
        #expect(Set(counters.keys).isSubset(of: Set(sums.map(key))), "every counter replay counted is in InfluxDB")

        let lasts = try server.query("realm", "SELECT last(\"value\") FROM /^realm\\./ WHERE \"metric_type\" = 'gauge' GROUP BY *")
        #expect(lasts.count == declaredGauges.count, "\(lasts.map(key))")
        for s in lasts {
            // The statsd text renames a gauge sharing a counter's name (<name>.gauge); InfluxDB keeps the
            // name, with metric_type=gauge.
            let want = gauges[key(s)] ?? gauges[key(s).replacingOccurrences(of: s.name, with: s.name + ".gauge")]
            #expect(want != nil && integer(s.values.first?[1] ?? -1) == want, "last of \(key(s))")
        }

        // Every declared series has one point per bucket: the counters 0 where they did not move. A
        // series of a rule's tags is known from the first line that names its value on.
        let pointCounts = try server.query("realm", "SELECT count(\"value\") FROM /^realm\\./ GROUP BY *")
        #expect(pointCounts.count == declaredCounters.count + declaredGauges.count)
        let untagged = pointCounts.filter { key($0) == $0.name }
        #expect(untagged.count > 30)
        #expect(untagged.allSatisfy { integer($0.values.first?[1] ?? 0) == buckets }, "\(untagged.map { "\(key($0)) \($0.tags["metric_type"] ?? ""): \($0.values)" })")
        #expect(pointCounts.allSatisfy { (integer($0.values.first?[1] ?? 0) ?? 0) <= buckets })
        #expect(pointCounts.reduce(0) { $0 + (integer($1.values.first?[1] ?? 0) ?? 0) } == points, "the points replay says it wrote")
        let zeros = try server.query("realm", "SELECT count(\"value\") FROM \"realm.blacklisted\" WHERE \"metric_type\" = 'counter' AND \"value\" = 0")
        #expect(integer(zeros.first?.values.first?[1] ?? 0) == buckets - 1, "blacklisted moved in one bucket")

        // Timers: the per-bucket figures add up to replay's.
        let timers = try server.query("realm", "SELECT sum(\"count\"), sum(\"sum\"), min(\"lower\"), max(\"upper\") FROM \"realm.ping.rtt\" WHERE \"metric_type\" = 'timing'")
        #expect(timers.first.map { $0.values[0].dropFirst().compactMap(integer) } == [2, 78, 37, 41])
    }

    @Test("a write InfluxDB refuses (no such database) stops replay with InfluxDB's message and exit status 1")
    func refusedWrite() throws {
        let server = try InfluxServer()
        defer { server.stop() }
        let (status, _, err) = try sh("'\(Repo.binary)' replay -q --prefix realm.web1 --to influxdb://127.0.0.1:\(server.port)/nodb '\(Repo.sample("realm-sync-worker.sample.log"))'")
        #expect(status == 1)
        #expect(err.contains("error [output]: influxdb: 127.0.0.1:\(server.port) refused the write to database 'nodb' (HTTP 404 Not Found): database not found: \"nodb\""), "\(err)")
    }

    @Test("influx:FILE with --influx-precision s is taken by /write?precision=s as written; the default ns file is refused there (time outside range) and taken with precision=ns")
    func precisionFile() throws {
        let server = try InfluxServer()
        defer { server.stop() }
        try server.createDatabase("s")
        try server.createDatabase("ns")
        let dir = TempDir()
        let sample = Repo.sample("realm-sync-worker.sample.log")
        let (s1, _, e1) = try sh("'\(Repo.binary)' replay -q --prefix realm.web1 --influx-precision s --to 'influx:\(dir.file("s.txt"))' '\(sample)'")
        let (s2, _, e2) = try sh("'\(Repo.binary)' replay -q --prefix realm.web1 --to 'influx:\(dir.file("ns.txt"))' '\(sample)'")
        #expect(s1 == 0 && s2 == 0, "\(e1) \(e2)")
        let lines = try String(contentsOfFile: dir.file("s.txt"), encoding: .utf8).split(separator: "\n")
        let valueLines = lines.filter { $0.contains(" value=") }.count
        #expect(lines.first == "realm.authentication.failed,host=web1,metric_type=counter value=2i 1588680000")
        func post(_ file: String, db: String, precision: String) throws -> String {
            try sh("curl -s -o '\(dir.file("answer"))' -w '%{http_code}' -XPOST 'http://127.0.0.1:\(server.port)/write?db=\(db)&precision=\(precision)' --data-binary '@\(dir.file(file))'").1
        }
        #expect(try post("s.txt", db: "s", precision: "s") == "204")
        #expect(try post("ns.txt", db: "s", precision: "s") == "400")
        #expect((try? String(contentsOfFile: dir.file("answer"), encoding: .utf8))?.contains("time outside range") == true)
        #expect(try post("ns.txt", db: "ns", precision: "ns") == "204")
        for db in ["s", "ns"] {
            let total = try server.query(db, "SELECT count(\"value\") FROM /^realm\\./ GROUP BY *").reduce(0) { $0 + (integer($1.values.first?[1] ?? 0) ?? 0) }
            #expect(total == Int64(valueLines), "\(db): every counter and gauge point")
            let timed = try server.query(db, "SELECT count(\"count\") FROM /^realm\\./ GROUP BY *").reduce(0) { $0 + (integer($1.values.first?[1] ?? 0) ?? 0) }
            #expect(timed == Int64(lines.count - valueLines) && timed > 0, "\(db): every timer and histogram point")
            let first = try server.query(db, "SELECT first(\"value\") FROM \"realm.authentication.failed\"")
            #expect(first.first.map { integer($0.values[0][0]) } == 1_588_680_000, "\(db): the bucket's time")
        }
    }
}
