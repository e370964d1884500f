/// The metrics of one time bucket: counter deltas of the bucket and every gauge's value at its end,
/// stamped with the bucket's start (seconds since the epoch).
public struct Bucket: Sendable, Equatable {
    public var time: Int64
    public var samples: [MetricSample]
    /// The values timers and histograms recorded in the bucket.
    public var distributions: [Distribution]

    public init(time: Int64, samples: [MetricSample], distributions: [Distribution] = []) {
        self.time = time
        self.samples = samples
        self.distributions = distributions
    }
}

/// Cuts a time-ordered stream of lines into buckets of `seconds`, the way statsd flushes: call
/// ``advance(toMillis:)`` with each line's time *before* the line is processed; when the time enters the
/// window, or a new bucket that closes the one before, it says so, and the caller exports the store's
/// reading then (to sinks that each turn it into deltas with their own ``DeltaTracker``). Lines before
/// `sinceMillis` build state only: nothing of them is reported, but the gauges they open are (a window
/// that cuts through a worker life starts with the sessions already open). Holds no metric state.
public struct BucketClock: Sendable {
    public let seconds: Int64
    public let sinceMillis: Int64?
    public let untilMillis: Int64?
    /// Start (ms) of the bucket being filled; nil before the first reported line.
    public private(set) var current: Int64?
    /// The line is inside the window.
    public private(set) var inWindow = false

    public init(seconds: Int64, sinceMillis: Int64?, untilMillis: Int64?) {
        self.seconds = max(1, seconds)
        self.sinceMillis = sinceMillis
        self.untilMillis = untilMillis
    }

    /// Where a line at `time` (ms) falls: before the window (state only), in it, or after it (stop).
    public enum Position { case before, inside, after }

    /// What a move of the clock asks the caller to do before the line is processed.
    public enum Transition: Equatable, Sendable {
        /// The window starts: everything counted so far is history (each sink's baseline).
        case entered
        /// The bucket starting at this time (seconds since the epoch) is complete: export it.
        case closed(Int64)
    }

    /// Moves the clock to a line at `time` (nil: a line without a time, which belongs with the line
    /// before it).
    public mutating func advance(toMillis time: Int64?) -> (Position, Transition?) {
        guard let time else { return (inWindow ? .inside : (current == nil ? .before : .inside), nil) }
        if let untilMillis, time > untilMillis { return (.after, nil) }
        if let sinceMillis, time < sinceMillis { return (.before, nil) }
        let width = seconds * 1000
        let start = time - ((time % width) + width) % width
        if !inWindow {
            inWindow = true
            current = start
            return (.inside, .entered)
        }
        guard let current, start > current else { return (.inside, nil) }
        self.current = start
        return (.inside, .closed(current / 1000))
    }

    /// Closes the last bucket (at the end of the input): its start in seconds, nil when the window was
    /// never entered.
    public mutating func finish() -> Int64? {
        guard inWindow, let current else { return nil }
        self.current = nil
        return current / 1000
    }
}
