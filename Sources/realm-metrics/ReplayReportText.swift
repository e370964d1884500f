import RealmMetricsCore
import RealmMetricsIO

enum ReplayReportText {
    /// The line counts of a replay or backfill: matched, ignored, unmatched, then each kind of trouble
    /// that happened (lines outside the envelope, cut to the limit, given up, ...).
    static func counts(_ s: PipelineStats, truncatedLines: Int64) -> [String] {
        var parts = ["\(s.matched) matched", "\(s.ignored) ignored", "\(s.unmatched) unmatched"]
        if s.envelopeMismatch > 0 { parts.append("\(s.envelopeMismatch) outside the envelope") }
        if truncatedLines > 0 { parts.append("\(truncatedLines) cut to the line limit") }
        if s.matchLimitHits > 0 { parts.append("\(s.matchLimitHits) given up at the match limit") }
        if s.matchErrors > 0 { parts.append("\(s.matchErrors) match errors") }
        if s.orphanCloses > 0 { parts.append("\(s.orphanCloses) orphan closes") }
        if s.badNumbers > 0 { parts.append("\(s.badNumbers) bad numbers") }
        if s.cardinalityOverflows > 0 { parts.append("\(s.cardinalityOverflows) values folded into 'other'") }
        return parts
    }

    static func render(_ report: ReplayReport) -> String {
        let s = report.stats
        let rate = report.linesPerSecond
        let rateText = rate >= 1_000_000 ? "\(Double(Int(rate / 10_000)) / 100) M" : rate >= 1000 ? "\(Int(rate / 1000)) k" : "\(Int(rate))"
        let parts = counts(s, truncatedLines: report.truncatedLines)
        let seconds = Double(Int(report.seconds * 1000)) / 1000
        return "replay: \(s.linesRead) lines in \(seconds) s (\(rateText) lines/s): " + parts.joined(separator: ", ")
    }
}
