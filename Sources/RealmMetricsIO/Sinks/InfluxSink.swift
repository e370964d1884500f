import RealmMetricsCore

/// InfluxDB line protocol to a file or standard output.
final class InfluxSink: BucketWriter {
    let file: OutputFile
    let encoder: InfluxEncoder

    init(path: String, encoder: InfluxEncoder) throws(RealmMetricsError) {
        self.encoder = encoder
        file = try OutputFile(path: path, what: "influx:")
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        for line in encoder.lines(bucket) { file.writer.write(line + "\n") }
        try file.check()
    }

    func finish() throws(RealmMetricsError) { try file.finish() }
}
