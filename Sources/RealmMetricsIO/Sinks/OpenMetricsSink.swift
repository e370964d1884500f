#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// A backfill to an OpenMetrics file (`--to openmetrics:FILE`, or `openmetrics:-` for standard
/// output) for `promtool tsdb create-blocks-from openmetrics`: the buckets are gathered
/// (``OpenMetricsBackfill``) and the file written at the end, as OpenMetrics wants each family's
/// samples together. The file is opened at the start, so a path that cannot be written fails before
/// any line is read.
final class OpenMetricsSink: BucketWriter {
    let writer: FDWriter
    let ownsFD: Bool
    let name: String
    private var backfill: OpenMetricsBackfill

    init(path: String, names: PrometheusNames, help: @escaping (String) -> String?) throws(RealmMetricsError) {
        backfill = OpenMetricsBackfill(names: names, help: help)
        name = path == "-" ? "standard output" : path
        if path == "-" {
            writer = .standardOutput()
            ownsFD = false
        } else {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw RealmMetricsError(.output, "openmetrics: \(path): cannot write: \(errnoText(errno))") }
            writer = FDWriter(fd: fd)
            ownsFD = true
        }
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) { backfill.add(bucket) }

    func finish() throws(RealmMetricsError) {
        writer.write(backfill.text())
        try writer.finish("openmetrics: \(name)")
        if ownsFD && close(writer.fd) != 0 { throw FDWriter.failure("openmetrics: \(name)", errno) }
    }
}
