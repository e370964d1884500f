import Testing
@testable import RealmMetricsCore

@Suite("Report buckets and their merging")
struct BucketMergeTests {
    @Test("the width is the smallest multiple of the bucket that covers the span in at most N aligned buckets")
    func width() {
        // 10 s buckets over 100 s: 10 slots fit.
        #expect(ReportRecorder.mergedWidth(base: 10, first: 1000, last: 1090, maxBuckets: 10) == 10)
        // 11 slots do not fit 10: 20 s gives 6 buckets (aligned at multiples of 20).
        #expect(ReportRecorder.mergedWidth(base: 10, first: 1000, last: 1100, maxBuckets: 10) == 20)
        // Alignment can need one more step: 30 s over 1010…1290 spans 1020/30=33 … 1290/30=43 → 11 > 10.
        let w = ReportRecorder.mergedWidth(base: 10, first: 1010, last: 1290, maxBuckets: 10)
        #expect(w == 40)
        #expect(ReportRecorder.count(first: 1010, last: 1290, width: 30) == 11)
        #expect(ReportRecorder.count(first: 1010, last: 1290, width: w) <= 10)
        // A day of 10 s buckets in at most 2000: 50 s (1728 buckets).
        #expect(ReportRecorder.mergedWidth(base: 10, first: 0, last: 86_390, maxBuckets: 2000) == 50)
    }

    @Test("merging sums counter deltas, keeps each gauge's value at the bucket's end and pools distribution values")
    func merge() throws {
        var r = ReportRecorder(bucketSeconds: 10)
        r.add(time: 100, counterDeltas: [("c", 1)], gauges: [("g", 5)], workers: [("w1", [("g", 5)])],
              distributions: [Distribution(name: "t", kind: .timer, values: [1, 9])])
        r.add(time: 110, counterDeltas: [("c", 2)], gauges: [("g", 7)], workers: [("w1", [("g", 7)])],
              distributions: [Distribution(name: "t", kind: .timer, values: [5])], events: [(.start, "w1")])
        // Nothing from 120 to 140; a second worker appears at 150.
        r.add(time: 150, counterDeltas: [("c", 4), ("zero", 0)], gauges: [("g", 3)], workers: [("w1", [("g", 1)]), ("w2", [("g", 2)])])
        let fine = try #require(r.timeline(maxBuckets: 100))
        #expect(fine.bucketSeconds == 10 && fine.start == 100 && fine.count == 6 && fine.recordedBuckets == 3)
        #expect(fine.counters.map(\.name) == ["c"])
        #expect(fine.counters[0].values == [1, 2, 0, 0, 0, 4])
        #expect(fine.gauges[0].host == [5, 7, 7, 7, 7, 3])
        #expect(fine.gauges[0].workers.map(\.name) == ["w1", "w2"])
        #expect(fine.gauges[0].workers[1].values == [nil, nil, nil, nil, nil, 2])
        #expect(fine.distributions[0].buckets[0] == BucketStats([1, 9]))
        #expect(fine.marks == [ReportTimeline.Mark(bucket: 1, event: WorkerLifeEvent(time: 110, worker: "w1", kind: .start))])

        let coarse = try #require(r.timeline(maxBuckets: 2))
        // 6 slots in 2: 30 s would need 3 aligned buckets (90, 120, 150); 40 s gives 80 and 120.
        #expect(coarse.bucketSeconds == 40 && coarse.start == 80 && coarse.count == 2)
        #expect(coarse.counters[0].values == [3, 4])
        #expect(coarse.gauges[0].host == [7, 3])
        #expect(coarse.distributions[0].buckets == [BucketStats([1, 9, 5]), nil])
        #expect(coarse.marks[0].bucket == 0)
    }

    @Test("percentiles are nearest-rank")
    func percentiles() throws {
        let s = try #require(BucketStats(Array(1...10).map(Int64.init)))
        #expect((s.count, s.min, s.p50, s.p90, s.max) == (10, 1, 5, 9, 10))
        let one = try #require(BucketStats([7]))
        #expect((one.p50, one.p90) == (7, 7))
        #expect(BucketStats([]) == nil)
    }

    @Test("no bucket, no time line")
    func empty() {
        #expect(ReportRecorder(bucketSeconds: 10).timeline(maxBuckets: 10) == nil)
    }
}
