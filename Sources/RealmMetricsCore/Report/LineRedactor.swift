/// Hides credentials in lines a report shows (the unmatched lines' shapes and examples), before
/// anything is kept of them: the value of an `Authorization:`, `Proxy-Authorization:`, `Cookie:` or
/// `Set-Cookie:` header (the rest of the line), the word after `Bearer`, and the value of any key
/// whose name contains `token`, `secret` or `password` / `passwd` (`signed_user_token='…'`,
/// `client_file_ident_secret=…`), case-insensitive, each replaced by ``replacement``. Debug-level
/// workers write raw request headers (`Authorization: Bearer …`) as lines of their own: no rule
/// matches them, and a report must not carry a token out.
public final class LineRedactor {
    public static let replacement = Array("<redacted>".utf8)
    static let pattern = #"(?i)(?:((?:proxy-)?authorization\s*:\s*|(?:set-)?cookie\s*:\s*)(.+)|(\bbearer\s+)(\S+)|(\b[\w.-]*(?:token|secret|password|passwd)[\w.-]*\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s,)'"]+))"#
    let regex: CompiledRegex
    let scratch: RegexScratch

    public init() {
        // A fixed pattern: it compiles.
        regex = try! CompiledRegex(LineRedactor.pattern)
        scratch = RegexScratch(maxCaptures: regex.captureCount)
    }

    /// `line` with every credential replaced; nil when there is none (the line can be used as it is).
    /// A line the regex gives up on (its match limit) is replaced whole.
    public func redact(_ line: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let base = line.baseAddress, !line.isEmpty else { return nil }
        var out: [UInt8]? = nil
        var from = 0
        while from < line.count {
            switch scratch.match(regex, base + from, line.count - from) {
            case .noMatch:
                if out != nil { out!.append(contentsOf: line[from...]) }
                return out
            case .limitExceeded, .error:
                return LineRedactor.replacement
            case .match:
                var keep: Range<Int>? = nil, value: Range<Int>? = nil
                for (k, v) in [(1, 2), (3, 4), (5, 6)] {
                    if let r = scratch.range(k), let s = scratch.range(v) { keep = r; value = s; break }
                }
                guard let keep, let value else { return out }
                if out == nil { out = []; out!.reserveCapacity(line.count) }
                out!.append(contentsOf: line[from..<(from + keep.upperBound)])
                out!.append(contentsOf: LineRedactor.replacement)
                from += max(value.upperBound, keep.upperBound + 1)
            }
        }
        return out
    }

    /// The same for a string.
    public func redact(_ line: String) -> String {
        var copy = line
        return copy.withUTF8 { buffer in redact(buffer).map { String(decoding: $0, as: UTF8.self) } ?? line }
    }
}
