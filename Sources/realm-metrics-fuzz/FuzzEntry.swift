import Foundation
import RealmMetricsCore

/// libFuzzer entry point (built with `swift build --sanitize=fuzzer --product realm-metrics-fuzz`).
///
/// The first byte picks the target:
/// - even: the rest is a pattern file; it must load or be refused with an error, never crash, and a
///   loaded set must process a few lines;
/// - odd: the rest is log input, split into lines as the readers split them (``LineSplitter``) and fed
///   to the built-in realm-sync-worker and ros1 pattern sets; the first rule found must be the first
///   whose regex matches (the prefilter skips nothing it should not), and the gauges must never go
///   negative.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if data[0] & 1 == 0 {
        let text = String(decoding: body, as: UTF8.self)
        let files = InMemoryPatternFiles(["fuzz.yaml": text, "realm-messages.yaml": FuzzFixtures.messages])
        if let set = try? PatternLoader(provider: files).load("fuzz.yaml") {
            let pipeline = LinePipeline(patterns: set, matchLimit: 10_000)
            let worker = pipeline.store.workerID("w")
            for line in FuzzFixtures.lines {
                Array(line.utf8).withUnsafeBufferPointer { _ = pipeline.process($0.baseAddress!, $0.count, worker: worker) }
            }
            _ = PatternChecker.check(set, file: "fuzz.yaml")
        }
    } else {
        for pipeline in FuzzFixtures.pipelines() {
            let worker = pipeline.store.workerID("w")
            let scratch = RegexScratch(maxCaptures: pipeline.patterns.maxCaptures)
            LineSplitter.forEachLine(body.baseAddress!, from: 0, to: body.count, maxLineBytes: 65536) { line, length in
                let outcome = pipeline.process(line, length, worker: worker)
                // The prefilter may only skip rules that cannot match: trying every rule in order must
                // find the same first match.
                guard outcome == .unmatched || { if case .matched = outcome { true } else { false } }() else { return }
                let message = pipeline.lastParts.message
                let first = pipeline.patterns.rules.firstIndex { scratch.match($0.regex, line + message.lowerBound, message.count) == .match }
                precondition(outcome == (first.map { LineOutcome.matched(rule: $0) } ?? .unmatched), "the prefilter hid a rule that matches")
            }
            for (id, _) in pipeline.store.gaugeNames.enumerated() {
                precondition(pipeline.store.gaugeValue(id) >= 0, "negative gauge")
            }
        }
    }
    return 0
}

enum FuzzFixtures {
    static let patternsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("patterns").path
    static let messages = (try? String(contentsOfFile: patternsDir + "/realm-messages.yaml", encoding: .utf8)) ?? ""
    nonisolated(unsafe) static var sets: [PatternSet]? = nil
    static let lines = [
        "2020-05-05T12:00:01.000: HTTP Connection[1]: Connection from 127.0.0.1:1",
        "Sync Connection[1]: Session[1]: Session initiated",
        "Sync Connection[1]: Session[1]: Session terminated",
        "x", "",
    ]

    /// Fresh pipelines over the built-in sets (loaded once).
    static func pipelines() -> [LinePipeline] {
        if sets == nil {
            var files: [String: String] = [:]
            for name in ["realm-messages.yaml", "realm-sync-worker.yaml", "ros1.yaml"] {
                files[name] = (try? String(contentsOfFile: patternsDir + "/" + name, encoding: .utf8)) ?? ""
            }
            let provider = InMemoryPatternFiles(files)
            sets = ["realm-sync-worker.yaml", "ros1.yaml"].compactMap { try? PatternLoader(provider: provider).load($0) }
            precondition(sets?.count == 2, "built-in pattern files did not load")
        }
        return sets!.map { LinePipeline(patterns: $0) }
    }
}
