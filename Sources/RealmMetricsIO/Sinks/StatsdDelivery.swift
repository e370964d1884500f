#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Delivers one flush after another to a statsd receiver, and owns the counter deltas it has not
/// delivered yet, so that a refusal the kernel reports never loses a count.
///
/// statsd over UDP has no acknowledgement, but a connected socket hears the kernel's "port
/// unreachable" (and "host unreachable"): such a refusal of a flush is reported at the latest when the
/// next flush is sent (``StatsdSink/takeRefusal()``). A flush that was refused, or could not be sent at
/// all (an unresolvable name, no route), is merged into the next one: counter deltas add up per name,
/// gauges are sent as they are then (the latest value wins). Silent loss on the way (a receiver that
/// drops datagrams) stays possible; a refusal does not lose counts.
///
/// ``unsent`` is what the state file keeps, so a restart during an outage loses nothing either: the
/// deltas not sent, and while the receiver refuses, those of the last flush that is not yet known to
/// have arrived. A receiver that comes back in the middle of a flush of several datagrams may get part
/// of a flush twice. At most ``maxNames`` names are kept; deltas of further names are dropped and
/// counted in ``droppedDeltas``.
public final class StatsdDelivery {
    public let sink: StatsdSink
    public let maxPacketBytes: Int
    public static let maxNames = 100_000

    /// Not sent yet (restored from the state, refused, or failed), by full name.
    private var unsent: [String: Int64]
    /// Sent with the last flush, waiting for the kernel's verdict.
    private var inFlight: [String: Int64] = [:]
    /// The last flush failed or was refused (and nothing since arrived).
    public private(set) var failing = false
    public private(set) var droppedDeltas: Int64 = 0

    /// What became of one flush.
    public struct Outcome: Equatable, Sendable {
        /// Why it could not be delivered (nil: sent, and the previous flush was not refused).
        public var failure: String?
        /// A short name of the kind of failure (`refused`, `unresolvable`, `send`), for logging once per kind.
        public var kind: String?
        /// Counter names whose deltas are kept for the next flush.
        public var keptNames: Int
    }

    public init(sink: StatsdSink, maxPacketBytes: Int, unsent: [String: Int64] = [:]) {
        self.sink = sink
        self.maxPacketBytes = maxPacketBytes
        self.unsent = unsent
        failing = !unsent.isEmpty
    }

    /// The deltas the state file keeps (see the type's description).
    public var keptForState: [String: Int64] {
        failing ? merged(unsent, inFlight) : unsent
    }

    /// Sends `counters` (deltas, by full name) with what earlier flushes could not deliver, `gauges`
    /// (absolute values, by full name) and `values` (timer and histogram lines, `name:v|ms`), packed
    /// into datagrams. Zero deltas are left out. Timer and histogram values of a flush that fails are
    /// not kept (a sample cannot be merged into a later one).
    @discardableResult
    public func deliver(counters: [(String, Int64)], gauges: [(String, Int64)], values: [String] = []) -> Outcome {
        let refusal = takeVerdict()
        var batch = unsent
        for (name, value) in counters where value != 0 { batch[name, default: 0] &+= value }
        batch = batch.filter { $0.value != 0 }
        unsent = [:]
        var lines = batch.keys.sorted().map { StatsdEncoder.format(key: $0, value: batch[$0]!, type: "c") }
        lines += gauges.map { StatsdEncoder.format(key: $0.0, value: max(0, $0.1), type: "g") }
        lines += values
        let failed = sink.send(StatsdEncoder.pack(lines, maxBytes: maxPacketBytes))
        if failed > 0 || sink.refusedDuringLastSend {
            unsent = bounded(batch)
            failing = true
            let unresolvable = sink.lastError?.hasPrefix("cannot resolve") == true
            return Outcome(failure: sink.lastError ?? "send failed", kind: unresolvable ? "unresolvable" : (sink.refusedDuringLastSend ? "refused" : "send"),
                           keptNames: unsent.count)
        }
        inFlight = batch
        if let refusal {
            failing = true
            return Outcome(failure: refusal, kind: "refused", keptNames: inFlight.count)
        }
        failing = false
        return Outcome(failure: nil, kind: nil, keptNames: 0)
    }

    /// At the end: waits up to `seconds` for the kernel's verdict on the last flush, so that a refused
    /// last flush is kept in the state.
    public func settle(waiting seconds: Double = 0.1) {
        guard !inFlight.isEmpty else { return }
        let end = monotonicSeconds() + seconds
        while monotonicSeconds() < end {
            if takeVerdict() != nil {
                failing = true
                return
            }
            usleep(10_000)
        }
    }

    /// A refusal of the last flush moves its deltas back to `unsent`; returns its reason.
    private func takeVerdict() -> String? {
        guard let code = sink.takeRefusal() else { return nil }
        unsent = bounded(merged(unsent, inFlight))
        inFlight = [:]
        return "send to \(sink.host):\(sink.port): \(errnoText(code))"
    }

    private func merged(_ a: [String: Int64], _ b: [String: Int64]) -> [String: Int64] {
        var out = a
        for (k, v) in b { out[k, default: 0] &+= v }
        return out
    }

    private func bounded(_ deltas: [String: Int64]) -> [String: Int64] {
        guard deltas.count > StatsdDelivery.maxNames else { return deltas }
        let keep = deltas.keys.sorted().prefix(StatsdDelivery.maxNames)
        var out: [String: Int64] = [:]
        for k in keep { out[k] = deltas[k] }
        for (k, v) in deltas where out[k] == nil { droppedDeltas &+= abs(v) }
        return out
    }
}
