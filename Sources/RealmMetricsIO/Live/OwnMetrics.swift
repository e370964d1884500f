import RealmMetricsCore

/// The sidecar's own metrics, registered in one place: each counter and gauge with what it means and
/// the part whose count it reads. Counters are totals across restarts and reloads: what earlier runs
/// counted (kept in the state file) and what parts replaced by a reload had counted are carried
/// (``carry(_:_:)``) and added to what the parts count now. `run` sends them with its statsd flushes
/// (``LiveStatsdSink``) and saves ``counts()`` in the state.
final class OwnMetrics {
    struct Metric {
        let name: String
        let kind: MetricKind
        let help: String
        /// Sent to statsd (false: kept in the state only).
        let sent: Bool
        let read: () -> Int64
    }

    private(set) var metrics: [Metric] = []
    private var carried: [String: Int64]

    /// Own metrics continuing from the counts of earlier runs (`carried`, by name).
    init(carried: [String: Int64] = [:]) {
        self.carried = carried
    }

    /// Registers counter `name`, whose present part counts `read()`.
    func counter(_ name: String, _ help: String, sent: Bool = true, _ read: @escaping () -> Int64) {
        precondition(!metrics.contains { $0.name == name }, "own metric \(name) registered twice")
        metrics.append(Metric(name: name, kind: .counter, help: help, sent: sent, read: read))
    }

    /// Registers gauge `name`, whose value is `read()` at each flush.
    func gauge(_ name: String, _ help: String, _ read: @escaping () -> Int64) {
        precondition(!metrics.contains { $0.name == name }, "own metric \(name) registered twice")
        metrics.append(Metric(name: name, kind: .gauge, help: help, sent: true, read: read))
    }

    /// Keeps `value` of counter `name` that a part about to be replaced has counted.
    func carry(_ name: String, _ value: Int64) {
        carried[name, default: 0] &+= value
    }

    /// Every counter's total (the present parts' counts plus what is carried), for the state file.
    func counts() -> [String: Int64] {
        var out = carried
        for metric in metrics where metric.kind == .counter { out[metric.name, default: 0] &+= metric.read() }
        return out
    }

    /// The totals of the counters that are sent, sorted by name, then every gauge in the order
    /// registered (as ``MetricStore/totals()`` reads the store).
    func reading() -> [MetricSample] {
        let totals = counts()
        let counters = metrics.filter { $0.kind == .counter && $0.sent }.map { MetricSample(name: $0.name, kind: .counter, value: totals[$0.name] ?? 0) }
        let gauges = metrics.filter { $0.kind == .gauge }.map { MetricSample(name: $0.name, kind: .gauge, value: $0.read()) }
        return counters.sorted { $0.name < $1.name } + gauges
    }
}
