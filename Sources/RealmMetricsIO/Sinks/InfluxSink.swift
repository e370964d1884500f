#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// InfluxDB line protocol to a file or standard output.
final class InfluxSink: BucketWriter {
    let writer: FDWriter
    let encoder: InfluxEncoder
    let ownsFD: Bool

    /// What the output is called in errors.
    let name: String

    init(path: String, encoder: InfluxEncoder) throws(RealmMetricsError) {
        self.encoder = encoder
        name = path == "-" ? "standard output" : path
        if path == "-" {
            writer = .standardOutput()
            ownsFD = false
        } else {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw RealmMetricsError(.output, "influx: \(path): cannot write: \(errnoText(errno))") }
            writer = FDWriter(fd: fd)
            ownsFD = true
        }
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) {
        for line in encoder.lines(bucket) { writer.write(line + "\n") }
        // A full disk or a closed pipe stops the job at once.
        if let error = writer.error { throw FDWriter.failure("influx: \(name)", error) }
    }

    func finish() throws(RealmMetricsError) {
        try writer.finish("influx: \(name)")
        if ownsFD && close(writer.fd) != 0 { throw FDWriter.failure("influx: \(name)", errno) }
    }
}
