import Dispatch
import RealmMetricsCore

/// Classifies batches of lines on two threads, then applies them in order on the calling thread.
///
/// Matching (envelope, prefilter, regexes) needs no metric state, so it can run on both cores: each
/// thread has its own classifier pipeline (PCRE2 match data is per thread) over the same immutable
/// pattern set and writes to its own half of the result arrays. The metric state is then changed by
/// the one owner, line by line in file order, exactly as a single thread would.
final class ParallelClassifier: @unchecked Sendable {
    let classifiers: [LinePipeline]
    let chain: PipelineChain
    let stride: Int
    private(set) var starts: [UnsafePointer<UInt8>] = []
    private(set) var lengths: [Int] = []
    private var workers: [Int] = []
    private var outcomes: [LineOutcome] = []
    private var messageOffsets: [Int] = []
    private var vectors: [Int] = []

    /// Only for a chain over one pattern set.
    init(chain: PipelineChain, threads: Int = 2) {
        precondition(chain.pipelines.count == 1)
        self.chain = chain
        let set = chain.pipelines[0].patterns
        classifiers = (0..<threads).map { _ in LinePipeline(patterns: set, store: MetricStore()) }
        stride = classifiers[0].captureVectorLength
        starts.reserveCapacity(16_384)
        lengths.reserveCapacity(16_384)
        workers.reserveCapacity(16_384)
    }

    @inline(__always)
    func add(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int) {
        starts.append(start)
        lengths.append(length)
        workers.append(worker)
    }

    /// Classifies and applies every line added since the last call.
    func flush() {
        let n = starts.count
        guard n > 0 else { return }
        if outcomes.count < n {
            outcomes = [LineOutcome](repeating: .unmatched, count: n)
            messageOffsets = [Int](repeating: 0, count: n)
            vectors = [Int](repeating: 0, count: n * stride)
        }
        let threads = classifiers.count
        starts.withUnsafeBufferPointer { starts in
            lengths.withUnsafeBufferPointer { lengths in
                outcomes.withUnsafeMutableBufferPointer { outcomes in
                    messageOffsets.withUnsafeMutableBufferPointer { offsets in
                        vectors.withUnsafeMutableBufferPointer { vectors in
                            let s = UnsafeSendable((starts, lengths, outcomes, offsets, vectors))
                            DispatchQueue.concurrentPerform(iterations: threads) { part in
                                let (starts, lengths, outcomes, offsets, vectors) = s.value
                                let classifier = self.classifiers[part]
                                let lower = n * part / threads, upper = n * (part + 1) / threads
                                for i in lower..<upper {
                                    let (outcome, offset) = classifier.classify(starts[i], lengths[i])
                                    outcomes[i] = outcome
                                    offsets[i] = offset
                                    if case .matched = outcome { classifier.copyCaptures(into: vectors.baseAddress! + i * self.stride) }
                                }
                            }
                            for i in 0..<n {
                                chain.applyClassified(outcomes[i], message: starts[i] + offsets[i],
                                                      ovector: UnsafePointer(vectors.baseAddress! + i * stride), worker: workers[i])
                            }
                        }
                    }
                }
            }
        }
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        workers.removeAll(keepingCapacity: true)
    }
}

/// Hands raw buffers to `concurrentPerform`; each thread touches only its own index range.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
