/// Notices a worker whose lines the chosen pattern sets hardly recognise while another layout would:
/// the usual sign of the wrong `--patterns`, which otherwise shows only as metrics that stay at zero.
///
/// The rule. A line is *recognised* by a layout when its envelope fits the line and then a rule matches
/// it or an ignore rule drops it (an envelope that fits is not enough: the realm-sync-worker envelope
/// fits any line). For the first ``sampleSize`` lines of each worker the probe counts the lines the
/// chosen sets recognised (the outcome the caller got from its pipeline) and those each alternative
/// layout recognises (classified only: no metric state is touched). At the worker's ``sampleSize``th
/// line it decides, once: a ``Finding`` when fewer than 10 % of those lines were recognised by the
/// chosen sets and more than half by one alternative (the one recognising most is named; the first
/// given wins a tie). After the decision the worker's lines are not looked at again, so the cost is
/// bounded by ``sampleSize`` lines per worker.
///
/// Owned by one thread, like the pipelines it holds.
public final class LayoutProbe {
    /// A worker that looks like it writes another layout than the chosen one(s).
    public struct Finding: Sendable, Equatable {
        public var worker: Int
        /// Formats of the chosen pattern sets.
        public var chosen: [String]
        /// Lines of the sample the chosen sets recognised.
        public var recognised: Int
        public var sample: Int
        /// Format of the alternative that recognised the most lines.
        public var suggestion: String
        public var suggestionRecognised: Int

        /// The warning, for a worker known as `workerKey`.
        public func message(workerKey: String) -> String {
            let layouts = chosen.count == 1 ? "the \(chosen[0]) layout" : "the layouts \(chosen.joined(separator: ", "))"
            return "worker \(workerKey): its lines match almost nothing of \(layouts) (\(recognised) of its first \(sample) lines recognised); they look like \(suggestion) (\(suggestionRecognised) of \(sample)): try --patterns \(suggestion)"
        }
    }

    public static let defaultSampleSize = 200

    public let sampleSize: Int
    public let chosen: [String]
    /// The alternatives' formats, in the order given.
    public let alternativeFormats: [String]
    let alternatives: [LinePipeline]
    /// Per worker: decided already (nothing more to look at).
    @exclusivity(unchecked) @usableFromInline var decided: [Bool] = []
    /// Per worker, while sampling: lines seen, lines the chosen sets recognised, and per alternative
    /// the lines it recognised.
    var seen: [Int] = []
    var recognised: [Int] = []
    var alternativeRecognised: [[Int]] = []

    /// Alternatives with the format of a chosen set are left out; nil when none remains.
    public init?(chosen: [PatternSet], alternatives: [PatternSet], sampleSize: Int = LayoutProbe.defaultSampleSize) {
        precondition(sampleSize > 0, "a layout sample needs at least one line")
        let chosenFormats = chosen.map(\.format)
        let others = alternatives.filter { !chosenFormats.contains($0.format) }
        guard !others.isEmpty else { return nil }
        self.sampleSize = sampleSize
        self.chosen = chosenFormats
        alternativeFormats = others.map(\.format)
        // Classifying touches no metric state; the store only takes the names the rules declare.
        let scratchStore = MetricStore()
        self.alternatives = others.map { LinePipeline(patterns: $0, store: scratchStore) }
    }

    /// Looks at one line of `worker` and the `outcome` the chosen sets gave it; returns a finding at
    /// most once per worker, at its ``sampleSize``th line. Once a worker is decided this is one array
    /// read.
    @inlinable
    public func observe(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, outcome: LineOutcome) -> Finding? {
        if worker < decided.count && decided[worker] { return nil }
        return sample(start, length, worker: worker, outcome: outcome)
    }

    /// Whether `worker` has been decided (its sample is complete).
    public func isDecided(_ worker: Int) -> Bool { worker < decided.count && decided[worker] }

    @usableFromInline
    func sample(_ start: UnsafePointer<UInt8>, _ length: Int, worker: Int, outcome: LineOutcome) -> Finding? {
        while decided.count <= worker {
            decided.append(false)
            seen.append(0)
            recognised.append(0)
            alternativeRecognised.append([])
        }
        if alternativeRecognised[worker].isEmpty { alternativeRecognised[worker] = Array(repeating: 0, count: alternatives.count) }
        seen[worker] += 1
        if LayoutProbe.isRecognised(outcome) { recognised[worker] += 1 }
        for (i, pipeline) in alternatives.enumerated() where LayoutProbe.isRecognised(pipeline.classify(start, length).0) {
            alternativeRecognised[worker][i] += 1
        }
        guard seen[worker] >= sampleSize else { return nil }
        decided[worker] = true
        let counts = alternativeRecognised[worker]
        alternativeRecognised[worker] = []
        var best = 0
        for i in counts.indices where counts[i] > counts[best] { best = i }
        // Fewer than 10 % for the chosen sets, more than half for the best alternative.
        guard recognised[worker] * 10 < sampleSize, counts[best] * 2 > sampleSize else { return nil }
        return Finding(worker: worker, chosen: chosen, recognised: recognised[worker], sample: sampleSize,
                       suggestion: alternativeFormats[best], suggestionRecognised: counts[best])
    }

    static func isRecognised(_ outcome: LineOutcome) -> Bool {
        switch outcome {
        case .matched, .ignored: true
        default: false
        }
    }
}
