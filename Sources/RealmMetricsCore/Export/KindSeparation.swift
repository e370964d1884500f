extension Array where Element == MetricSample {
    /// The reading for an output that keeps one kind per name (plain Graphite names, DogStatsD and
    /// Datadog, statsd_exporter and Telegraf behind `--tags influx`/`dogstatsd`, InfluxDB
    /// measurements): a gauge whose name is also a counter's (`protocol.bytes.received`, documented as
    /// both) is renamed `<name>.gauge`, its tagged form `<base>.gauge,<tags>`; the counter keeps its
    /// name. statsd itself, and Graphite through statsd (`stats.counters.` / `stats.gauges.`), keep
    /// the two apart and get the reading as it is.
    public func separatingKinds() -> [MetricSample] {
        let counters = Set(lazy.filter { $0.kind == .counter }.map(\.name))
        guard contains(where: { $0.kind == .gauge && counters.contains($0.name) }) else { return self }
        return map { sample in
            guard sample.kind == .gauge, counters.contains(sample.name) else { return sample }
            var tagged = sample.tagged
            if let t = tagged {
                let comma = t.firstIndex(of: ",") ?? t.endIndex
                tagged = t[..<comma] + ".gauge" + t[comma...]
            }
            return MetricSample(name: sample.name + ".gauge", kind: .gauge, value: sample.value, tagged: tagged)
        }
    }
}
