#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// DogStatsD datagrams with timestamps.
final class DogStatsdSink: BucketWriter {
    let sink: StatsdSink
    let encoder: DogStatsdEncoder
    let maxPacketBytes: Int

    init(sink: StatsdSink, encoder: DogStatsdEncoder, maxPacketBytes: Int) {
        self.sink = sink
        self.encoder = encoder
        self.maxPacketBytes = maxPacketBytes
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        let datagrams = StatsdEncoder.pack(encoder.lines(bucket), maxBytes: maxPacketBytes)
        sink.send(datagrams)
        // Pace the datagrams a little so a local receiver's socket buffer keeps up.
        if datagrams.count > 8 { usleep(200) }
    }

    func finish() throws(RealmMetricsError) {
        if sink.sendErrors > 0 {
            throw RealmMetricsError(.output, "dogstatsd: \(sink.sendErrors) datagrams could not be sent (\(sink.lastError ?? "unknown error"))")
        }
    }
}
