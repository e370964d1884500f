/// Everything a report shows, gathered by the report sink at the end of the input: the time line
/// (nil when the lines carry no time), the totals of the window (the `--summary` numbers), each
/// worker's lives and announced log level with the metrics that level cannot feed, the line counts,
/// and the lines no rule matched by shape. ``json`` is the page's data section.
public struct ReportData {
    public struct Worker: Sendable, Equatable {
        public var key: String
        public var lives: Int
        public var logLevel: String?
        /// `counter name`, `gauge name`, … of metrics whose lines are written below `logLevel`.
        public var unfed: [String]

        public init(key: String, lives: Int, logLevel: String?, unfed: [String]) {
            self.key = key
            self.lives = lives
            self.logLevel = logLevel
            self.unfed = unfed
        }
    }

    public struct DistributionTotal: Sendable, Equatable {
        public var name: String
        public var kind: DistributionKind
        public var count: Int
        public var sum: Int64
        public var min: Int64?
        public var max: Int64?

        public init(name: String, kind: DistributionKind, count: Int, sum: Int64, min: Int64?, max: Int64?) {
            self.name = name
            self.kind = kind
            self.count = count
            self.sum = sum
            self.min = min
            self.max = max
        }
    }

    /// The most shapes the page lists (the rest are counted).
    public static let listedShapes = 200
    /// The most buckets a chart has (see ``ReportRecorder/mergedWidth(base:first:last:maxBuckets:)``).
    public static let maxBuckets = 2000

    public var prefix: String
    public var timeline: ReportTimeline?
    /// Counter deltas of the window (zeros included) and gauge values at its end, sorted by kind and name.
    public var totals: [MetricSample]
    public var distributionTotals: [DistributionTotal]
    public var workers: [Worker]
    public var lines: PipelineStats
    public var untimedLines: Int64
    public var shapes: LineShapeTally

    public init(prefix: String, timeline: ReportTimeline?, totals: [MetricSample], distributionTotals: [DistributionTotal],
                workers: [Worker], lines: PipelineStats, untimedLines: Int64, shapes: LineShapeTally) {
        self.prefix = prefix
        self.timeline = timeline
        self.totals = totals
        self.distributionTotals = distributionTotals
        self.workers = workers
        self.lines = lines
        self.untimedLines = untimedLines
        self.shapes = shapes
    }

    /// The data section: one JSON object, one top-level member per line, members in a fixed order and
    /// object keys sorted, so that the same input gives the same bytes. `<`, `>`, `&`, U+2028 and
    /// U+2029 are written as `\u` escapes, so the text can stand inside a `<script>` element.
    public var json: String {
        var members: [(String, String)] = []
        members.append(("prefix", JSONText.string(prefix)))
        if let t = timeline {
            var m: [(String, String)] = [
                ("baseSeconds", "\(t.baseSeconds)"), ("bucketSeconds", "\(t.bucketSeconds)"), ("start", "\(t.start)"),
                ("count", "\(t.count)"), ("recordedBuckets", "\(t.recordedBuckets)"),
            ]
            m.append(("counters", JSONText.object(t.counters.map { ($0.name, JSONText.numbers($0.values)) })))
            m.append(("gauges", JSONText.object(t.gauges.map { g in
                (g.name, JSONText.object([("host", JSONText.numbers(g.host)),
                                          ("workers", JSONText.object(g.workers.map { ($0.name, JSONText.numbers($0.values)) }))]))
            })))
            m.append(("distributions", JSONText.object(t.distributions.map { d in
                (d.name, JSONText.object([
                    ("kind", JSONText.string(d.kind.rawValue)),
                    ("count", JSONText.numbers(d.buckets.map { $0.map { Int64($0.count) } })),
                    ("min", JSONText.numbers(d.buckets.map { $0?.min })),
                    ("p50", JSONText.numbers(d.buckets.map { $0?.p50 })),
                    ("p90", JSONText.numbers(d.buckets.map { $0?.p90 })),
                    ("max", JSONText.numbers(d.buckets.map { $0?.max })),
                ]))
            })))
            m.append(("marks", JSONText.array(t.marks.map { mark in
                JSONText.object([("bucket", "\(mark.bucket)"), ("kind", JSONText.string(mark.event.kind.rawValue)),
                                 ("time", "\(mark.event.time)"), ("worker", JSONText.string(mark.event.worker))])
            })))
            members.append(("timeline", JSONText.object(m, sorted: false)))
        } else {
            members.append(("timeline", "null"))
        }
        members.append(("totals", JSONText.object([
            ("counters", JSONText.object(totals.filter { $0.kind == .counter }.map { ($0.name, "\($0.value)") })),
            ("gauges", JSONText.object(totals.filter { $0.kind == .gauge }.map { ($0.name, "\($0.value)") })),
            ("distributions", JSONText.object(distributionTotals.map { d in
                (d.name, JSONText.object([("count", "\(d.count)"), ("kind", JSONText.string(d.kind.rawValue)),
                                          ("max", d.max.map { "\($0)" } ?? "null"), ("min", d.min.map { "\($0)" } ?? "null"),
                                          ("sum", "\(d.sum)")]))
            })),
        ])))
        members.append(("workers", JSONText.array(workers.map { w in
            JSONText.object([("key", JSONText.string(w.key)), ("lives", "\(w.lives)"),
                             ("logLevel", w.logLevel.map({ JSONText.string($0) }) ?? "null"),
                             ("unfed", JSONText.array(w.unfed.map({ JSONText.string($0) })))])
        })))
        members.append(("lines", JSONText.object([
            ("read", "\(lines.linesRead)"), ("matched", "\(lines.matched)"), ("ignored", "\(lines.ignored)"),
            ("unmatched", "\(lines.unmatched)"), ("envelopeMismatch", "\(lines.envelopeMismatch)"),
            ("matchLimit", "\(lines.matchLimitHits)"), ("matchErrors", "\(lines.matchErrors)"), ("untimed", "\(untimedLines)"),
        ])))
        let listed = shapes.sorted.prefix(ReportData.listedShapes)
        members.append(("unmatched", JSONText.object([
            ("shapes", "\(shapes.entries.count)"),
            ("linesOfUnlistedShapes", "\(shapes.sorted.dropFirst(ReportData.listedShapes).reduce(0) { $0 + $1.count } + shapes.linesOfDroppedShapes)"),
            ("listed", JSONText.array(listed.map { e in
                JSONText.object([("count", "\(e.count)"), ("example", JSONText.string(e.example)),
                                 ("outcome", JSONText.string(e.outcome)), ("shape", JSONText.string(e.shape))])
            })),
        ])))
        return "{\n" + members.map { "\(JSONText.string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}

/// Compact JSON text for the report's data section and the `--summary` object.
public enum JSONText {
    /// A JSON string: `"`, `\` and control characters escaped, as JSON requires; with `scriptSafe`
    /// (the default: the report) also `<`, `>`, `&`, `'`, DEL, U+2028 and U+2029 (`\u003c` …), so the
    /// text can neither end a `<script>` element nor start markup, wherever it is embedded.
    public static func string(_ s: String, scriptSafe: Bool = true) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "'", "\u{2028}", "\u{2029}" where scriptSafe:
                out += hex(scalar.value)
            default:
                if scalar.value < 0x20 || (scalar.value == 0x7F && scriptSafe) { out += hex(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// An array of numbers, `null` for nil.
    public static func numbers(_ values: [Int64?]) -> String {
        var out = "["
        out.reserveCapacity(values.count * 3 + 2)
        for (i, v) in values.enumerated() {
            if i > 0 { out += "," }
            if let v { out += String(v) } else { out += "null" }
        }
        return out + "]"
    }

    public static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    /// An object of already encoded values; keys sorted unless `sorted` is false.
    public static func object(_ members: [(String, String)], sorted: Bool = true) -> String {
        let ordered = sorted ? members.sorted { $0.0 < $1.0 } : members
        return "{" + ordered.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
