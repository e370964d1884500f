import RealmMetricsCore

/// The statsd receiver of `run`: every flush, the counters' deltas since the last flush and every
/// gauge, the store's under `prefix` and the sidecar's own (``OwnMetrics``) under `ownPrefix`, sent
/// through ``StatsdDelivery`` (which keeps what the receiver did not take). Owns what it has sent (one
/// ``DeltaTracker`` per prefix, saved in the state file) and logs its faults: a send failure once per
/// kind, a reminder at most every `faultReminderSeconds` (on ``clock``) while it lasts, and the recovery.
final class LiveStatsdSink: MetricSink {
    private(set) var delivery: StatsdDelivery
    private(set) var encoder: StatsdEncoder
    /// nil: no own metrics are sent.
    private(set) var ownEncoder: StatsdEncoder?
    /// What was sent of the store's counters (saved in the state with them).
    private(set) var tracker: DeltaTracker
    /// What was sent of the own counters (their totals are saved in the state).
    private(set) var ownTracker: DeltaTracker
    let own: OwnMetrics
    let log: SidecarLog
    var faultReminderSeconds: Double
    /// Seconds on a monotonic clock, for the reminders (``monotonicSeconds()`` unless one is given).
    let clock: () -> Double
    /// The send failure going on: its kind, since when, how many flushes, when it was last logged.
    private var sendFault: (kind: String, since: Int64, flushes: Int, lastLogged: Double)?

    /// One flush, encoded and counted as sent, ready for ``deliver(_:)``.
    struct Batch {
        var counters: [(String, Int64)] = []
        var gauges: [(String, Int64)] = []
        /// One statsd line per timer and histogram value (`name:v|ms`).
        var values: [String] = []
    }

    init(delivery: StatsdDelivery, prefix: String, tags: TagStyle = .none, ownPrefix: String, own: OwnMetrics, sent: DeltaTracker, ownSent: DeltaTracker,
         faultReminderSeconds: Double, log: SidecarLog, clock: (() -> Double)? = nil) {
        self.delivery = delivery
        encoder = StatsdEncoder(prefix: prefix, tags: tags)
        ownEncoder = ownPrefix.isEmpty ? nil : StatsdEncoder(prefix: ownPrefix)
        tracker = sent
        ownTracker = ownSent
        self.own = own
        self.faultReminderSeconds = faultReminderSeconds
        self.log = log
        self.clock = clock ?? { monotonicSeconds() }
    }

    var sink: StatsdSink { delivery.sink }

    /// New names from the next flush on (a reload); what was sent stays sent.
    func rename(prefix: String, tags: TagStyle = .none, ownPrefix: String) {
        encoder = StatsdEncoder(prefix: prefix, tags: tags)
        ownEncoder = ownPrefix.isEmpty ? nil : StatsdEncoder(prefix: ownPrefix)
    }

    /// Another receiver or packet size (a reload): the deltas the old one did not take go to the new one.
    func redirect(_ delivery: StatsdDelivery) {
        self.delivery = delivery
        sendFault = nil
    }

    func baseline(_ reading: [MetricSample]) { tracker.baseline(reading) }

    func write(_ reading: [MetricSample], distributions: [Distribution], time: Int64?) throws(RealmMetricsError) {
        deliver(batch(of: reading, distributions: distributions))
    }

    func finish() throws(RealmMetricsError) {}

    /// The flush of `reading` (and of the own metrics as they are now), counted as sent: a state saved
    /// after this and before ``deliver(_:)`` holds what the flush will have sent.
    func batch(of reading: [MetricSample], distributions: [Distribution] = []) -> Batch {
        var batch = Batch()
        batch.values = distributions.flatMap(encoder.lines)
        func add(_ samples: [MetricSample], _ encoder: StatsdEncoder) {
            for sample in samples {
                let key = encoder.key(sample.name, tagged: sample.tagged)
                if sample.kind == .counter { batch.counters.append((key, sample.value)) } else { batch.gauges.append((key, sample.value)) }
            }
        }
        // With tags, the receiver (Telegraf, statsd_exporter, the Datadog agent) keeps one kind per name.
        add(tracker.deltas(encoder.tags == .none ? reading : reading.separatingKinds()), encoder)
        let ownReading = own.reading()
        if let ownEncoder {
            add(ownTracker.deltas(ownReading), ownEncoder)
        } else {
            ownTracker.baseline(ownReading)
        }
        return batch
    }

    /// Sends a batch, and logs what became of it.
    @discardableResult
    func deliver(_ batch: Batch) -> StatsdDelivery.Outcome {
        let outcome = delivery.deliver(counters: batch.counters, gauges: batch.gauges, values: batch.values)
        note(outcome)
        return outcome
    }

    private func note(_ outcome: StatsdDelivery.Outcome) {
        let target = NetworkAddress(host: sink.host, port: sink.port)
        let now = clock()
        if let failure = outcome.failure, let kind = outcome.kind {
            if var fault = sendFault, fault.kind == kind {
                fault.flushes += 1
                if now - fault.lastLogged >= faultReminderSeconds {
                    log.say(.warning, "statsd: still cannot deliver to \(target) since \(formatUTC(fault.since)) (\(fault.flushes) flushes): \(failure); \(outcome.keptNames) counter deltas kept")
                    fault.lastLogged = now
                }
                sendFault = fault
            } else {
                log.say(.warning, "statsd: cannot deliver to \(target): \(failure); counter deltas are kept (\(outcome.keptNames) names now) and sent when it answers")
                sendFault = (kind, wallClockMillis(), 1, now)
            }
        } else if let fault = sendFault {
            log.say(.notice, "statsd: delivering to \(target) again after \(fault.flushes) failed flushes since \(formatUTC(fault.since)); the counts kept meanwhile were sent")
            sendFault = nil
        }
    }
}
