import RealmMetricsCore

/// A backfill to an OpenMetrics file (`--to openmetrics:FILE`, or `openmetrics:-` for standard
/// output) for `promtool tsdb create-blocks-from openmetrics`: the buckets are gathered
/// (``OpenMetricsBackfill``) and the file written at the end, as OpenMetrics wants each family's
/// samples together. The file is opened at the start, so a path that cannot be written fails before
/// any line is read.
final class OpenMetricsSink: BucketWriter {
    let file: OutputFile
    private var backfill: OpenMetricsBackfill

    init(path: String, names: PrometheusNames, help: @escaping (String) -> String?) throws(RealmMetricsError) {
        backfill = OpenMetricsBackfill(names: names, help: help)
        file = try OutputFile(path: path, what: "openmetrics:")
    }

    func write(_ bucket: Bucket) throws(RealmMetricsError) { backfill.add(bucket) }

    func finish() throws(RealmMetricsError) {
        file.writer.write(backfill.text())
        try file.finish()
    }
}
