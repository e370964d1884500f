import RealmMetricsCore

/// Receives closed buckets.
protocol BucketSink: AnyObject {
    func write(_ bucket: Bucket) throws(RealmMetricsError)
    func finish() throws(RealmMetricsError)
}
