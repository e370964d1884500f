@testable import RealmMetricsCore

/// Builds a pattern set from in-memory files; the first name is loaded.
func patternSet(_ files: [String: String], load name: String = "main.yaml") throws -> PatternSet {
    try PatternLoader(provider: InMemoryPatternFiles(files)).load(name)
}

/// Runs lines through a pipeline for one worker.
@discardableResult
func feed(_ pipeline: LinePipeline, _ lines: [String], worker: String = "w") -> [LineOutcome] {
    let id = pipeline.store.workerID(worker)
    return lines.map { line in
        Array(line.utf8).withUnsafeBufferPointer { pipeline.process($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, worker: id) }
    }
}

func gauge(_ store: MetricStore, _ name: String) -> Int64 {
    store.gaugeValue(store.gaugeID(name))
}

func counter(_ store: MetricStore, _ name: String) -> Int64 {
    store.counterTotals[store.counterID(name)]
}

/// A small pattern file with the keyed gauges the reconciliation tests need.
let sessionPatterns = """
    rules:
      - name: started
        match: '^started'
        actions: [{worker: start}]
      - name: stopped
        match: '^stopped'
        actions: [{worker: end}]
      - name: conn-open
        match: '^C(?<c>\\d+) open'
        actions:
          - count: connection.started
          - open: connection.online
            key: '{c}'
      - name: conn-close
        match: '^C(?<c>\\d+) close'
        actions:
          - count: connection.terminated
          - close: connection.online
            key: '{c}'
          - close_prefix: session.online
            key: '{c}/'
      - name: sess-open
        match: '^C(?<c>\\d+) S(?<s>\\d+) open'
        actions:
          - open: session.online
            key: '{c}/{s}'
      - name: sess-close
        match: '^C(?<c>\\d+) S(?<s>\\d+) close'
        actions:
          - close: session.online
            key: '{c}/{s}'
      - name: bytes
        match: '^bytes (?<n>\\S+)'
        actions:
          - count: bytes
            by: n
          - add: bytes
            by: n
      - name: version
        match: '^version (?<v>[\\s\\S]*)'
        actions:
          - count: 'version.{v}.used'
            cardinality: 3
    """
