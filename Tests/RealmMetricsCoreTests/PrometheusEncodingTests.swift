import Testing
@testable import RealmMetricsCore

@Suite("Prometheus names, exposition and OpenMetrics")
struct PrometheusEncodingTests {
    let names = PrometheusNames(prefix: "realm.web1")

    @Test("realm.<host> gives the namespace and the host label; dots and other characters become _")
    func naming() {
        #expect(names.namespace == "realm")
        #expect(names.host == "web1")
        let s = names.series("session.online")
        #expect(s.family == "realm_session_online")
        #expect(s.labels == [.init(name: "host", value: "web1")])
        let deep = PrometheusNames(prefix: "prod.realm.web-1")
        #expect(deep.namespace == "prod_realm")
        #expect(deep.series("a.b-c").family == "prod_realm_a_b_c")
        #expect(deep.series("a.b-c").labels == [.init(name: "host", value: "web-1")])
        let single = PrometheusNames(prefix: "realm")
        #expect(single.host == nil)
        #expect(single.series("x.y").labels.isEmpty)
        #expect(PrometheusNames.sanitize("9lives") == "_9lives")
    }

    @Test("tags become labels, their values percent-decoded")
    func tags() {
        let s = names.series("user_sessions.user-alice", tagged: "user_sessions,identity=bob%40example%2Ecom")
        #expect(s.family == "realm_user_sessions")
        #expect(s.labels == [.init(name: "host", value: "web1"), .init(name: "identity", value: "bob@example.com")])
        #expect(PrometheusNames.percentDecoded("a%2") == "a%2")
        #expect(PrometheusNames.percentDecoded("%E2%82%AC") == "€")
    }

    @Test("the page: counters as _total, gauges clamped at 0, one HELP and TYPE per family, histograms cumulative, own metrics under sidecar")
    func exposition() {
        let exposition = PrometheusExposition(names: names) { $0 == "connection.started" ? "Connections accepted.\nback\\slash" : nil }
        var h = PrometheusHistogram(kind: .timer)
        h.add([1, 3, 70_000])
        let text = exposition.render([
            MetricSample(name: "connection.started", kind: .counter, value: 5),
            MetricSample(name: "protocol.24.used", kind: .counter, value: 2, tagged: "protocol.used,version=24"),
            MetricSample(name: "protocol.26.used", kind: .counter, value: 1, tagged: "protocol.used,version=26"),
            MetricSample(name: "session.online", kind: .gauge, value: -2),
            MetricSample(name: "connection.total", kind: .gauge, value: 7),
        ], distributions: [(name: "ping.rtt", tagged: nil, histogram: h)],
           own: [.init(name: "lines_read", kind: .counter, help: "lines read", value: 9)])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("# HELP realm_connection_started_total Connections accepted.\\nback\\\\slash"))
        #expect(lines.contains("# TYPE realm_connection_started_total counter"))
        #expect(lines.contains("realm_connection_started_total{host=\"web1\"} 5"))
        #expect(lines.filter { $0 == "# TYPE realm_protocol_used_total counter" }.count == 1)
        #expect(lines.contains("realm_protocol_used_total{host=\"web1\",version=\"24\"} 2"))
        #expect(lines.contains("realm_protocol_used_total{host=\"web1\",version=\"26\"} 1"))
        #expect(lines.contains("realm_session_online{host=\"web1\"} 0"))
        #expect(lines.contains("# TYPE realm_connection_total_gauge gauge"))
        #expect(lines.contains("realm_connection_total_gauge{host=\"web1\"} 7"))
        #expect(lines.contains("# HELP realm_session_online session.online (gauge)"))
        #expect(lines.contains("# TYPE realm_ping_rtt histogram"))
        #expect(lines.contains("realm_ping_rtt_bucket{host=\"web1\",le=\"1\"} 1"))
        #expect(lines.contains("realm_ping_rtt_bucket{host=\"web1\",le=\"5\"} 2"))
        #expect(lines.contains("realm_ping_rtt_bucket{host=\"web1\",le=\"60000\"} 2"))
        #expect(lines.contains("realm_ping_rtt_bucket{host=\"web1\",le=\"+Inf\"} 3"))
        #expect(lines.contains("realm_ping_rtt_count{host=\"web1\"} 3"))
        #expect(lines.contains("realm_ping_rtt_sum{host=\"web1\"} 70004"))
        #expect(lines.contains("realm_sidecar_lines_read_total{host=\"web1\"} 9"))
        // Families come sorted and whole: every TYPE line names a family not seen before.
        let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(types == types.sorted())
        #expect(Set(types).count == types.count)
    }

    @Test("label values are escaped")
    func escaping() {
        var t = PrometheusText(format: .exposition)
        t.sample("m", [.init(name: "l", value: "a\"b\\c\nd")], value: 1)
        #expect(t.finished() == "m{l=\"a\\\"b\\\\c\\nd\"} 1\n")
    }

    @Test("OpenMetrics backfill: counters cumulative per bucket, every series in every later bucket, families whole and in time order, # EOF")
    func openMetrics() {
        var backfill = OpenMetricsBackfill(names: names) { _ in nil }
        backfill.add(Bucket(time: 100, samples: [MetricSample(name: "c", kind: .counter, value: 2), MetricSample(name: "g", kind: .gauge, value: 4)],
                            distributions: [Distribution(name: "t", kind: .timer, values: [3])]))
        backfill.add(Bucket(time: 110, samples: [MetricSample(name: "g", kind: .gauge, value: 1), MetricSample(name: "d", kind: .counter, value: 5)]))
        backfill.add(Bucket(time: 120, samples: [MetricSample(name: "c", kind: .counter, value: 3)]))
        let text = backfill.text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.last == "# EOF")
        #expect(lines.contains("# TYPE realm_c counter"))
        let c = lines.filter { $0.hasPrefix("realm_c_total") }
        #expect(c == ["realm_c_total{host=\"web1\"} 2 100", "realm_c_total{host=\"web1\"} 2 110", "realm_c_total{host=\"web1\"} 5 120"])
        #expect(lines.filter { $0.hasPrefix("realm_d_total") } == ["realm_d_total{host=\"web1\"} 5 110", "realm_d_total{host=\"web1\"} 5 120"])
        #expect(lines.filter { $0.hasPrefix("realm_g{") } == ["realm_g{host=\"web1\"} 4 100", "realm_g{host=\"web1\"} 1 110", "realm_g{host=\"web1\"} 1 120"])
        #expect(lines.filter { $0.hasPrefix("realm_t_count") } == ["realm_t_count{host=\"web1\"} 1 100", "realm_t_count{host=\"web1\"} 1 110", "realm_t_count{host=\"web1\"} 1 120"])
        #expect(backfill.samples == 3 + 4 + 4)
    }
}
