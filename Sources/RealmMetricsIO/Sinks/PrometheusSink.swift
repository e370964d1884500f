import RealmMetricsCore

/// What the Prometheus endpoint has shown, kept in the state file so that a restart continues it:
/// each counter's exposed value and the store total it was taken at, and each timer's and histogram's
/// cumulative buckets. Absent in states of older versions and of runs without the endpoint.
public struct PrometheusState: Codable, Sendable, Equatable {
    /// Counter name → its value on the page (only goes up).
    public var counters: [String: Int64] = [:]
    /// Counter name → the store total the value was last taken at.
    public var taken: [String: Int64] = [:]
    /// Distribution key (name, or its tagged form) → its histogram.
    public var histograms: [String: PrometheusHistogram] = [:]
    /// The tagged form of each histogram, by key.
    public var tagged: [String: String]? = nil

    public init() {}
}

/// The Prometheus output of `run`: at each flush, every counter's value (the store's new counts added
/// to what it showed before: history read silently is left out, as for statsd), every gauge, every
/// timer and histogram as a cumulative histogram, and the sidecar's own metrics, rendered to the
/// Prometheus text format and published to the ``MetricsPage`` its ``MetricsEndpoint`` serves. Owns
/// what it has shown (``PrometheusState``, saved in the state): counters never go back, across
/// restarts and reloads.
final class PrometheusSink: MetricSink {
    /// Counter name → its value on the page (only goes up).
    private var counters: [String: Int64]
    /// The store totals the values were last taken at (``PrometheusState/taken``).
    private var tracker: DeltaTracker
    /// Distribution key (name, or its tagged form) → its histogram, and the tagged form of each key.
    private var histograms: [String: PrometheusHistogram]
    private var tagged: [String: String]
    private(set) var exposition: PrometheusExposition
    let page: MetricsPage
    let own: OwnMetrics

    /// What to save in the state.
    var state: PrometheusState {
        var state = PrometheusState()
        state.counters = counters
        state.taken = tracker.sent
        state.histograms = histograms
        state.tagged = tagged.isEmpty ? nil : tagged
        return state
    }

    /// `state`: what an earlier run showed (nil: nothing yet; the counters start at 0 from the totals
    /// of `reading`, the restored store's). `help`: a metric's description by its base name.
    init(prefix: String, help: @escaping (String) -> String?, page: MetricsPage, own: OwnMetrics, state: PrometheusState?, reading: [MetricSample]) {
        exposition = PrometheusExposition(names: PrometheusNames(prefix: prefix), help: help)
        self.page = page
        self.own = own
        counters = state?.counters ?? [:]
        histograms = state?.histograms ?? [:]
        tagged = state?.tagged ?? [:]
        tracker = DeltaTracker(sent: state?.taken ?? [:])
        if state == nil { tracker.baseline(reading) }
    }

    /// New names and descriptions from the next page on (a reload); the values go on.
    func rename(prefix: String, help: @escaping (String) -> String?) {
        exposition = PrometheusExposition(names: PrometheusNames(prefix: prefix), help: help)
    }

    func baseline(_ reading: [MetricSample]) { tracker.baseline(reading) }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        write(reading, distributions: distributions)
    }

    /// Takes a flush's reading and values, and publishes the page.
    func write(_ reading: [MetricSample], distributions: [Distribution]) {
        var shown: [MetricSample] = []
        shown.reserveCapacity(reading.count)
        for s in tracker.deltas(reading, includeZero: true) {
            switch s.kind {
            case .counter:
                // A total below what was taken (a counter the state lost) adds nothing: never back.
                let value = (counters[s.name] ?? 0) &+ max(0, s.value)
                counters[s.name] = value
                shown.append(MetricSample(name: s.name, kind: .counter, value: value, tagged: s.tagged))
            case .gauge:
                shown.append(s)
            }
        }
        for d in distributions {
            let key = d.tagged ?? d.name
            histograms[key, default: PrometheusHistogram(kind: d.kind)].add(d.values)
            if let form = d.tagged { tagged[key] = form }
        }
        publish(shown)
    }

    /// The page of `shown` (counters as shown, gauges) with the histograms and the own metrics now.
    private func publish(_ shown: [MetricSample]) {
        let drawn = histograms.keys.sorted().map { key in (name: key, tagged: tagged[key], histogram: histograms[key]!) }
        let totals = own.counts()
        let ownSamples = own.metrics.map { m in
            PrometheusExposition.Own(name: m.name, kind: m.kind, help: m.help, value: m.kind == .counter ? totals[m.name] ?? 0 : m.read())
        }
        page.publish(exposition.render(shown, distributions: drawn, own: ownSamples))
    }

    func finish() throws(RealmMetricsError) {}
}
