/// A clear, coded error for the command line.
public struct RealmMetricsError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case patternFile = "pattern-file"
        case input = "input"
        case usage = "usage"
        case check = "check"
        case state = "state"
        case source = "source"
        case config = "config"
        case output = "output"
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
