#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import RealmMetricsCore

/// Replays files through the pattern sets of a chain as a pipeline of threads, for `replay`:
///
///     reader ──chunks──▶ classifiers (one part of each chunk per thread) ──▶ applier (in file order)
///
/// The reader fills chunks of whole lines with `read(2)` (a line cut over two reads is carried into the
/// next chunk). Each classifier thread owns one ``LinePipeline`` per pattern set (over the same
/// immutable sets as the chain), splits its part of a chunk into lines, matches them (each set in turn,
/// by ``PipelineChain/inTurn(sets:_:)`` as the chain does) and keeps only what applying needs: the set
/// and rule, where the message starts, and a copy of the captures, plus the counts of every outcome.
/// The calling thread is the one owner of the metric state: it applies the matched lines chunk by chunk, part by part, so the
/// effects come in exactly the order of the file, as with a single thread. Chunks live in a ring; a
/// chunk goes back to the reader only after it was applied, so messages point into live bytes.
///
/// Lines are split by ``LineSplitter``, as ``LineReader`` splits them: the reader finds the whole lines
/// of each read (and a line already too long, to be cut), each classifier splits its part of a chunk;
/// a last line without newline is handed on at the end of each file.
final class ParallelReplay: @unchecked Sendable {
    /// Results of one part of a chunk: matched lines and the counts of all lines. Written by one
    /// classifier, then read by the applier after the chunk's semaphore: no access overlaps, so the
    /// per-line properties skip the run-time exclusivity checks.
    final class PartResult {
        @exclusivity(unchecked) var rules: UnsafeMutablePointer<Int32>
        @exclusivity(unchecked) var messages: UnsafeMutablePointer<Int32>
        @exclusivity(unchecked) var vectors: UnsafeMutablePointer<Int>
        @exclusivity(unchecked) var capacity: Int
        @exclusivity(unchecked) var count = 0
        @exclusivity(unchecked) var counts = PipelineStats()
        @exclusivity(unchecked) var truncated: Int64 = 0
        /// Placed in time (backfill): per line of the part, its time (ms, ``ParallelReplay/noTime`` for
        /// none), whether that is wall-clock time still to convert, and its outcome; per matched line,
        /// which line of the part it is. The line counts are then made by the applier (lines past the
        /// window are not counted), not in ``counts``.
        @exclusivity(unchecked) var lineTimes: UnsafeMutablePointer<Int64>
        /// ``ParallelReplay/outcomeCode(_:)`` of the line, plus ``ParallelReplay/localBit`` when its time is
        /// wall-clock time.
        @exclusivity(unchecked) var lineCodes: UnsafeMutablePointer<UInt8>
        @exclusivity(unchecked) var lineCount = 0
        @exclusivity(unchecked) var lineCapacity = 0
        /// Per matched line (as ``count``): its index among the part's lines.
        @exclusivity(unchecked) var matchedLine: UnsafeMutablePointer<Int32>
        /// Per matched line of a rule with spans, in plain replay: its time (wall-clock ms when
        /// `matchedLocal`), else ``ParallelReplay/noTime``.
        @exclusivity(unchecked) var matchedTimes: UnsafeMutablePointer<Int64>
        @exclusivity(unchecked) var matchedLocal: UnsafeMutablePointer<Bool>
        /// Placed in time, with an ``ParallelReplay/unmatchedObserver``: per line no rule matched, its
        /// index among the part's lines, where it starts in the chunk and its length; and the hash of
        /// its shape (``LineShape/hash(_:)``, made here, on the matching threads).
        @exclusivity(unchecked) var unmatched: [Int32] = []
        @exclusivity(unchecked) var unmatchedHashes: [UInt64] = []
        let stride: Int

        init(stride: Int, capacity: Int = 4096) {
            self.stride = stride
            self.capacity = capacity
            rules = .allocate(capacity: capacity)
            messages = .allocate(capacity: capacity)
            vectors = .allocate(capacity: capacity * stride)
            matchedLine = .allocate(capacity: capacity)
            matchedTimes = .allocate(capacity: capacity)
            matchedLocal = .allocate(capacity: capacity)
            lineTimes = .allocate(capacity: 1)
            lineCodes = .allocate(capacity: 1)
            lineCapacity = 1
        }

        deinit {
            rules.deallocate(); messages.deallocate(); vectors.deallocate(); matchedLine.deallocate(); matchedTimes.deallocate(); matchedLocal.deallocate()
            lineTimes.deallocate(); lineCodes.deallocate()
        }

        /// One more line placed in time.
        @inline(__always)
        func appendLine(time: Int64, code: UInt8) {
            if lineCount == lineCapacity {
                let bigger = lineCapacity * 2 + 4096
                PartResult.resize(&lineTimes, keeping: lineCount, to: bigger)
                PartResult.resize(&lineCodes, keeping: lineCount, to: bigger)
                lineCapacity = bigger
            }
            lineTimes[lineCount] = time
            lineCodes[lineCount] = code
            lineCount += 1
        }

        func reset() {
            count = 0
            counts = PipelineStats()
            truncated = 0
            lineCount = 0
            if !unmatched.isEmpty {
                unmatched.removeAll(keepingCapacity: true)
                unmatchedHashes.removeAll(keepingCapacity: true)
            }
        }

        /// Room for one more matched line; returns where its captures go.
        @inline(__always)
        func append(rule: Int, message: Int) -> UnsafeMutablePointer<Int> {
            if count == capacity { grow() }
            rules[count] = Int32(truncatingIfNeeded: rule)
            messages[count] = Int32(truncatingIfNeeded: message)
            matchedTimes[count] = ParallelReplay.noTime
            count += 1
            return vectors + (count - 1) * stride
        }

        private func grow() {
            let bigger = capacity * 2
            PartResult.resize(&rules, keeping: count, to: bigger)
            PartResult.resize(&messages, keeping: count, to: bigger)
            PartResult.resize(&matchedLine, keeping: count, to: bigger)
            PartResult.resize(&matchedTimes, keeping: count, to: bigger)
            PartResult.resize(&matchedLocal, keeping: count, to: bigger)
            PartResult.resize(&vectors, keeping: count * stride, to: bigger * stride)
            capacity = bigger
        }

        /// Moves the first `kept` values of `buffer` into a new one of `capacity` values.
        private static func resize<T>(_ buffer: inout UnsafeMutablePointer<T>, keeping kept: Int, to capacity: Int) {
            let bigger = UnsafeMutablePointer<T>.allocate(capacity: capacity)
            bigger.moveInitialize(from: buffer, count: kept)
            buffer.deallocate()
            buffer = bigger
        }
    }

    /// One slot of the ring: bytes [bounds.first, bounds.last) of `buffer` are whole lines (the last one
    /// may lack its newline when it ends a file or is cut), split into parts at line starts.
    final class Chunk {
        let buffer: UnsafeMutablePointer<UInt8>
        let capacity: Int
        var worker = 0
        var isLast = false
        /// Bytes read from the files up to the end of this chunk (for progress).
        var bytesSoFar: Int64 = 0
        var bounds: [Int]
        let parts: [PartResult]
        let done = DispatchSemaphore(value: 0)

        init(capacity: Int, parts: Int, stride: Int) {
            self.capacity = capacity
            buffer = .allocate(capacity: capacity)
            bounds = [Int](repeating: 0, count: parts + 1)
            self.parts = (0..<parts).map { _ in PartResult(stride: stride) }
        }

        deinit { buffer.deallocate() }
    }

    /// What the reader found wrong, if anything; set before it hands on the last chunk.
    struct ReadFailure: Error {
        let file: String
        let errno: Int32
    }

    let chain: PipelineChain
    let maxLineBytes: Int
    let chunkBytes: Int
    /// Per matching thread: one pipeline per pattern set of the chain.
    let classifiers: [[LinePipeline]]
    /// A matched line's rule is kept as `set << setShift | rule`.
    static let setShift = 20
    private let ring: [Chunk]
    private let free: DispatchSemaphore
    private let ready: [DispatchSemaphore]

    /// Written by the applier and by the reader respectively, read after both finished.
    @exclusivity(unchecked) private(set) var truncatedLines: Int64 = 0
    @exclusivity(unchecked) private(set) var bytesRead: Int64 = 0

    init(chain: PipelineChain, threads: Int, maxLineBytes: Int, chunkBytes: Int = 4 << 20, ringSize: Int = 4) {
        precondition(chain.pipelines.allSatisfy { $0.patterns.rules.count < 1 << ParallelReplay.setShift })
        self.chain = chain
        self.maxLineBytes = max(1, maxLineBytes)
        self.chunkBytes = max(1, chunkBytes)
        let sets = chain.pipelines.map(\.patterns)
        let pipelines = (0..<max(1, threads)).map { _ in sets.map { LinePipeline(patterns: $0, store: MetricStore()) } }
        for thread in pipelines {
            for (set, p) in thread.enumerated() { p.lineFallbackYear = chain.pipelines[set].lineFallbackYear }
        }
        let vectorLength = pipelines[0].map(\.captureVectorLength).max()!
        let capacity = self.chunkBytes + 2 * self.maxLineBytes + 2
        let chunks = (0..<max(2, ringSize)).map { _ in Chunk(capacity: capacity, parts: pipelines.count, stride: vectorLength) }
        classifiers = pipelines
        ring = chunks
        // Created at 0 and raised: libdispatch refuses to free a semaphore below its initial value.
        free = DispatchSemaphore(value: 0)
        for _ in chunks { free.signal() }
        ready = pipelines.map { _ in DispatchSemaphore(value: 0) }
    }

    /// How lines are placed in time (backfill): the classifier threads read each line's time (local
    /// times as wall-clock time); the applier converts those in `zone`, in line order, and hands each
    /// time to `place` before the line is counted and applied. `place` returns false once the time is
    /// past the window (nothing after it is applied or counted) and may throw (an output that failed).
    struct Placement {
        var fallbackYear: Int
        var zone: WallClockZone?
        var place: (Int64?) throws(RealmMetricsError) -> Bool
        /// Called after each chunk with the bytes read up to its end.
        var progress: ((Int64) -> Void)? = nil
    }

    /// A line's outcome as one byte (the rule is not needed to count it).
    @inline(__always)
    static func outcomeCode(_ outcome: LineOutcome) -> UInt8 {
        switch outcome {
        case .matched: 0
        case .ignored: 1
        case .unmatched: 2
        case .envelopeMismatch: 3
        case .matchLimit: 4
        case .matchError: 5
        }
    }

    /// Set in a line's code when its time is wall-clock time.
    static let localBit: UInt8 = 0x80

    /// Counts a line by its ``outcomeCode(_:)``.
    @inline(__always)
    static func count(code: UInt8, in counts: inout PipelineStats) {
        counts.linesRead += 1
        switch code & 0x7F {
        case 0: counts.matched += 1
        case 1: counts.ignored += 1
        case 2: counts.unmatched += 1
        case 3: counts.envelopeMismatch += 1
        case 4: counts.matchLimitHits += 1
        default: counts.matchErrors += 1
        }
    }

    /// A line without a time, in ``PartResult/lineTimes``.
    static let noTime = Int64.min

    private var placement: Placement? = nil
    /// Sees each line placed in time that no rule matched (``Driver/unmatchedObserver``), in order, on
    /// the applying thread, after the line was placed; set before ``run(files:placement:)``.
    var unmatchedObserver: ((UnsafePointer<UInt8>, Int, LineOutcome, UInt64) -> Void)? = nil
    /// Whether the classifiers keep where the unmatched lines are (an observer is set).
    private var keepUnmatched = false
    /// The error `place` threw, which stopped the applying.
    private(set) var placementError: RealmMetricsError? = nil

    /// Reads every file (an open descriptor, and the worker its lines belong to) to its end, in order,
    /// and applies its lines, placed in time first with `placement`. Returns the first read failure; the
    /// lines read before it are applied.
    func run(files: [LogInput], placement: Placement? = nil) -> ReadFailure? {
        self.placement = placement
        keepUnmatched = unmatchedObserver != nil && placement != nil
        let failure = FailureBox()
        let finished = DispatchSemaphore(value: 0)
        var threads: [Thread] = []
        for p in classifiers.indices {
            let thread = Thread { [self] in
                classifyLoop(part: p, classifier: classifiers[p])
                finished.signal()
            }
            thread.name = "match-\(p)"
            threads.append(thread)
        }
        let reader = Thread { [self] in
            failure.value = readLoop(files: files)
            finished.signal()
        }
        reader.name = "read"
        for t in threads { t.start() }
        reader.start()
        applyLoop()
        for _ in 0...classifiers.count { finished.wait() }
        return failure.value
    }

    /// The reader's outcome, read by the caller after the reader finished.
    private final class FailureBox: @unchecked Sendable {
        var value: ReadFailure? = nil
    }

    // MARK: reader

    private func readLoop(files: [LogInput]) -> ReadFailure? {
        var index = 0
        var chunk = ring[0]
        /// Bytes [begin, filled) of `chunk` are not handed on yet.
        var begin = 0
        var filled = 0
        var splitter = LineSplitter(maxLineBytes: maxLineBytes)
        var failure: ReadFailure? = nil

        free.wait()
        fileLoop: for file in files {
            begin = 0; filled = 0
            while true {
                // Keep room for a full read: move a long carried tail to the front.
                if chunk.capacity - filled < maxLineBytes + 1 && begin > 0 {
                    chunk.buffer.update(from: chunk.buffer + begin, count: filled - begin)
                    filled -= begin
                    begin = 0
                }
                let n = Glibc.read(file.fd, chunk.buffer + filled, chunk.capacity - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = ReadFailure(file: file.name, errno: errno)
                    break fileLoop
                }
                if n == 0 {
                    // End of file: the last line without newline goes too, unless it is the rest of a cut line.
                    let last = splitter.finish(from: begin, to: filled)
                    if !last.isEmpty {
                        hand(chunk, last.lowerBound, last.upperBound, worker: file.worker)
                        (chunk, index) = next(after: index, carrying: chunk, from: filled, to: filled)
                    }
                    begin = 0; filled = 0
                    continue fileLoop
                }
                bytesRead += Int64(n)
                filled += n
                guard let after = splitter.skipCutLine(chunk.buffer, from: begin, to: filled) else {
                    begin = 0; filled = 0
                    continue
                }
                begin = after
                if filled - begin < chunkBytes && chunk.capacity - filled > maxLineBytes {
                    // Too little for a chunk yet (a pipe hands out small pieces): read more first.
                    continue
                }
                // Whole lines, and a last line already longer than a line may be (the classifiers cut it).
                let (lines, held) = splitter.take(chunk.buffer, from: begin, scanned: begin, to: filled)
                if !lines.isEmpty {
                    hand(chunk, lines.lowerBound, lines.upperBound, worker: file.worker)
                    let carried = filled - held
                    (chunk, index) = next(after: index, carrying: chunk, from: held, to: filled)
                    begin = 0; filled = carried
                }
            }
        }
        // The end: an empty last chunk tells every thread to stop.
        chunk.isLast = true
        for r in ready { r.signal() }
        return failure
    }

    /// Splits bytes [begin, end) of `chunk` into one part per classifier at line starts and wakes them.
    private func hand(_ chunk: Chunk, _ begin: Int, _ end: Int, worker: Int) {
        chunk.worker = worker
        chunk.bytesSoFar = bytesRead
        chunk.isLast = false
        let parts = classifiers.count
        chunk.bounds[0] = begin
        for p in 1..<parts {
            var cut = begin + (end - begin) * p / parts
            cut = max(cut, chunk.bounds[p - 1])
            if cut > begin && cut < end {
                if let nl = memchr(chunk.buffer + cut - 1, 0x0A, end - cut + 1) {
                    cut = chunk.buffer.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
                } else {
                    cut = end
                }
            }
            chunk.bounds[p] = min(cut, end)
        }
        chunk.bounds[parts] = end
        for r in ready { r.signal() }
    }

    /// Takes the next chunk of the ring (waiting until it was applied) and copies the bytes
    /// [from, to) of `previous` (an unfinished line) to its front.
    private func next(after index: Int, carrying previous: Chunk, from: Int, to: Int) -> (Chunk, Int) {
        free.wait()
        let i = (index + 1) % ring.count
        let chunk = ring[i]
        if to > from { chunk.buffer.update(from: previous.buffer + from, count: to - from) }
        return (chunk, i)
    }

    // MARK: classifiers

    private func classifyLoop(part: Int, classifier pipelines: [LinePipeline]) {
        let first = pipelines[0]
        let chained = pipelines.count > 1
        let fallbackYear = placement?.fallbackYear
        var index = 0
        while true {
            ready[part].wait()
            let chunk = ring[index]
            index = (index + 1) % ring.count
            if chunk.isLast {
                chunk.done.signal()
                return
            }
            let result = chunk.parts[part]
            result.reset()
            let buffer = UnsafePointer(chunk.buffer)
            var counts = PipelineStats()
            let truncated = LineSplitter.forEachLine(buffer, from: chunk.bounds[part], to: chunk.bounds[part + 1], maxLineBytes: maxLineBytes) { line, length in
                let s = buffer.distance(to: line)
                if let fallbackYear {
                    classifyTimed(line, length, at: s, pipelines, into: result, fallbackYear: fallbackYear)
                    return
                }
                counts.linesRead += 1
                if !chained {
                    let (outcome, offset) = first.classify(line, length)
                    counts.count(outcome)
                    if case let .matched(rule) = outcome {
                        first.copyCaptures(into: result.append(rule: rule, message: s + offset))
                        if first.needsLineTime(rule: rule) { spanTime(first, line, length, result) }
                    }
                } else {
                    // As PipelineChain.process: each set in turn until one decides the line (a matching
                    // set is the last one run, so its match data still holds the captures).
                    var offset = 0
                    let (set, outcome) = PipelineChain.inTurn(sets: pipelines.count) { set in
                        let classified = pipelines[set].classify(line, length)
                        offset = classified.1
                        return classified.0
                    }
                    counts.count(outcome)
                    if case let .matched(rule) = outcome {
                        pipelines[set].copyCaptures(into: result.append(rule: set << ParallelReplay.setShift | rule, message: s + offset))
                        if pipelines[set].needsLineTime(rule: rule) { spanTime(pipelines[set], line, length, result) }
                    }
                }
            }
            result.counts = counts
            result.truncated = truncated
            chunk.done.signal()
        }
    }

    /// The time of a matched line whose rule has spans (plain replay), kept with the match.
    @inline(never)
    private func spanTime(_ pipeline: LinePipeline, _ line: UnsafePointer<UInt8>, _ length: Int, _ result: PartResult) {
        var time: Int64? = nil
        var local = false
        pipeline.envelopeTime(line, length, time: &time, local: &local, fallbackYear: pipeline.lineFallbackYear)
        result.matchedTimes[result.count - 1] = time ?? ParallelReplay.noTime
        result.matchedLocal[result.count - 1] = local
    }

    /// One line placed in time: its outcome and time are kept per line (``PartResult/lineTimes``), for
    /// the applier to place it before counting and applying it. The time is that of the first set, in
    /// order, whose envelope fits and has one (as ``PipelineChain/processTimed(_:_:worker:fallbackYear:zone:place:)``).
    @inline(__always)
    private func classifyTimed(_ line: UnsafePointer<UInt8>, _ length: Int, at s: Int, _ pipelines: [LinePipeline], into result: PartResult, fallbackYear: Int) {
        var time: Int64? = nil
        var local = false
        var offset = 0
        let (set, outcome) = PipelineChain.inTurn(sets: pipelines.count) { set in
            let classified = pipelines[set].classify(line, length, time: &time, local: &local, fallbackYear: fallbackYear)
            offset = classified.1
            return classified.0
        }
        if time == nil {
            for later in (set + 1)..<max(set + 1, pipelines.count) {
                pipelines[later].envelopeTime(line, length, time: &time, local: &local, fallbackYear: fallbackYear)
            }
        }
        if case let .matched(rule) = outcome {
            pipelines[set].copyCaptures(into: result.append(rule: set << ParallelReplay.setShift | rule, message: s + offset))
            result.matchedLine[result.count - 1] = Int32(truncatingIfNeeded: result.lineCount)
        }
        if keepUnmatched, outcome == .unmatched || outcome == .envelopeMismatch {
            result.unmatched.append(Int32(truncatingIfNeeded: result.lineCount))
            result.unmatched.append(Int32(truncatingIfNeeded: s))
            result.unmatched.append(Int32(truncatingIfNeeded: length))
            result.unmatchedHashes.append(LineShape.hash(UnsafeBufferPointer(start: line, count: length)))
        }
        result.appendLine(time: time ?? ParallelReplay.noTime, code: ParallelReplay.outcomeCode(outcome) | (local && time != nil ? ParallelReplay.localBit : 0))
    }

    // MARK: applier (the calling thread)

    private func applyLoop() {
        var index = 0
        while true {
            let chunk = ring[index]
            index = (index + 1) % ring.count
            for _ in classifiers { chunk.done.wait() }
            if chunk.isLast { return }
            let buffer = UnsafePointer(chunk.buffer)
            let worker = chunk.worker
            if let placement {
                applyPlaced(chunk, buffer, worker: worker, placement)
                free.signal()
                continue
            }
            for result in chunk.parts {
                for i in 0..<result.count {
                    let code = Int(result.rules[i])
                    let set = code >> ParallelReplay.setShift
                    var time: Int64? = nil
                    if result.matchedTimes[i] != ParallelReplay.noTime {
                        let t = result.matchedTimes[i]
                        // Wall-clock time in the zone spans read local times in (as UTC without one).
                        time = result.matchedLocal[i] ? chain.pipelines[set].lineZone.map { LinePipeline.utcMillis(wall: t, zone: $0) } ?? t : t
                    }
                    chain.applyMatched(set: set, rule: code & (1 << ParallelReplay.setShift - 1),
                                       message: buffer + Int(result.messages[i]),
                                       ovector: UnsafePointer(result.vectors + i * result.stride), worker: worker, lineTime: time)
                }
                chain.addLineCounts(result.counts)
                truncatedLines += result.truncated
            }
            free.signal()
        }
    }

    /// Past the window, or `place` threw: nothing more is applied or counted.
    private var stopped = false

    /// Applies a chunk whose lines are placed in time: each line's time to `place` first, in order
    /// (local times converted here, where the order is known), then its count and, when it matched,
    /// its rule.
    private func applyPlaced(_ chunk: Chunk, _ buffer: UnsafePointer<UInt8>, worker: Int, _ placement: Placement) {
        for result in chunk.parts {
            truncatedLines += result.truncated
            guard !stopped else { continue }
            var counts = PipelineStats()
            var m = 0
            var u = 0
            let times = result.lineTimes, codes = result.lineCodes, zone = placement.zone, place = placement.place
            for j in 0..<result.lineCount {
                let code = codes[j]
                var time: Int64? = times[j] == ParallelReplay.noTime ? nil : times[j]
                if let wall = time, code & ParallelReplay.localBit != 0, let zone { time = LinePipeline.utcMillis(wall: wall, zone: zone) }
                do throws(RealmMetricsError) {
                    guard try place(time) else { stopped = true; break }
                } catch {
                    placementError = error
                    stopped = true
                    break
                }
                ParallelReplay.count(code: code, in: &counts)
                if m < result.count && Int(result.matchedLine[m]) == j {
                    let code = Int(result.rules[m])
                    chain.applyMatched(set: code >> ParallelReplay.setShift, rule: code & (1 << ParallelReplay.setShift - 1),
                                       message: buffer + Int(result.messages[m]),
                                       ovector: UnsafePointer(result.vectors + m * result.stride), worker: worker, lineTime: time)
                    m += 1
                } else if u < result.unmatched.count && Int(result.unmatched[u]) == j, let unmatchedObserver {
                    unmatchedObserver(buffer + Int(result.unmatched[u + 1]), Int(result.unmatched[u + 2]), code & 0x7F == 2 ? .unmatched : .envelopeMismatch,
                                      result.unmatchedHashes[u / 3])
                    u += 3
                }
            }
            chain.addLineCounts(counts)
        }
        placement.progress?(chunk.bytesSoFar)
    }
}
