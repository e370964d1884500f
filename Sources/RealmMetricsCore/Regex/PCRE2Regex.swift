import CPCRE2

/// A regex that failed to compile: the PCRE2 message and the byte offset in the pattern.
public struct RegexCompileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) (at offset \(offset) of the regex)" }
}

/// A compiled PCRE2 pattern matched against raw bytes (no UTF mode, so invalid UTF-8 and NUL bytes in a
/// line are ordinary bytes). Compiled code is immutable after JIT compilation and may be shared between
/// threads; per-thread match state lives in ``RegexScratch``.
public final class CompiledRegex: @unchecked Sendable {
    /// Owned `pcre2_code_8*`; freed in `deinit` with `pcre2_code_free_8`.
    let code: OpaquePointer
    /// The source text as written.
    public let source: String
    /// Named capture groups: name → group number.
    public let groupNumbers: [String: Int]
    /// Number of capture groups (not counting group 0).
    public let captureCount: Int
    /// Whether `pcre2_jit_compile_8` succeeded; without JIT the interpreter is used.
    public let isJITCompiled: Bool

    /// Compiles `pattern` with `pcre2_compile_8`, then `pcre2_jit_compile_8(PCRE2_JIT_COMPLETE)`.
    public init(_ pattern: String) throws(RegexCompileError) {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let bytes = Array(pattern.utf8)
        let compiled: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, 0, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw RegexCompileError(message: CompiledRegex.errorMessage(errorCode), offset: errorOffset)
        }
        code = compiled
        source = pattern
        isJITCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0

        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)

        var nameCount: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>? = nil
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_NAMECOUNT), &nameCount)
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_NAMETABLE), &table)
        var names: [String: Int] = [:]
        if let table, nameCount > 0 {
            for i in 0..<Int(nameCount) {
                let entry = table + i * Int(entrySize)
                let number = Int(entry[0]) << 8 | Int(entry[1])
                var length = 0
                while length < Int(entrySize) - 2 && entry[2 + length] != 0 { length += 1 }
                let name = String(decoding: UnsafeBufferPointer(start: entry + 2, count: length), as: UTF8.self)
                names[name] = number
            }
        }
        groupNumbers = names
    }

    deinit { pcre2_code_free_8(code) }

    /// The text of a PCRE2 error code, from `pcre2_get_error_message_8`.
    static func errorMessage(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "PCRE2 error \(code)"
    }
}

/// The outcome of one match attempt.
public enum RegexOutcome: Equatable, Sendable {
    case match
    case noMatch
    /// The match limit was hit (`PCRE2_ERROR_MATCHLIMIT`, `PCRE2_ERROR_DEPTHLIMIT` or `PCRE2_ERROR_HEAPLIMIT`):
    /// the line is given up on and counted, never allowed to stall the process.
    case limitExceeded
    /// Any other PCRE2 matching error (its code).
    case error(Int32)
}

/// Per-thread match state: match data sized for the largest pattern and a match context carrying the
/// backtracking limits. Not `Sendable`: create one per thread.
public final class RegexScratch {
    /// Owned `pcre2_match_data_8*` (`pcre2_match_data_create_8`).
    let matchData: OpaquePointer
    /// Owned `pcre2_match_context_8*` (`pcre2_match_context_create_8`).
    let context: OpaquePointer
    let ovector: UnsafeMutablePointer<Int>
    let pairs: Int

    /// Default backtracking budget per match attempt (`pcre2_set_match_limit_8`).
    public static let defaultMatchLimit: UInt32 = 200_000

    /// Creates match data for up to `maxCaptures` groups and a context with `pcre2_set_match_limit_8`,
    /// `pcre2_set_depth_limit_8` and `pcre2_set_heap_limit_8` applied.
    public init(maxCaptures: Int, matchLimit: UInt32 = RegexScratch.defaultMatchLimit) {
        pairs = maxCaptures + 1
        matchData = pcre2_match_data_create_8(UInt32(pairs), nil)
        context = pcre2_match_context_create_8(nil)
        pcre2_set_match_limit_8(context, matchLimit)
        pcre2_set_depth_limit_8(context, 10_000)
        pcre2_set_heap_limit_8(context, 20_000)  // KiB
        ovector = pcre2_get_ovector_pointer_8(matchData)
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_match_context_free_8(context)
    }

    /// Matches `regex` against `length` bytes at `start` with `pcre2_match_8` (JIT code when available).
    @inline(__always)
    public func match(_ regex: CompiledRegex, _ start: UnsafePointer<UInt8>, _ length: Int) -> RegexOutcome {
        match(code: regex.code, start, length)
    }

    /// As ``match(_:_:_:)``, with the compiled code pointer taken from ``CompiledRegex/code``.
    @inline(__always)
    func match(code: OpaquePointer, _ start: UnsafePointer<UInt8>, _ length: Int) -> RegexOutcome {
        outcome(pcre2_match_8(code, start, length, 0, 0, matchData, context))
    }

    /// As ``match(code:_:_:)`` through `pcre2_jit_match_8`, which skips `pcre2_match_8`'s argument checks
    /// and goes straight to the JIT code: only for code whose `pcre2_jit_compile_8` succeeded. The match
    /// limit of the context still applies.
    @inline(__always)
    func jitMatch(code: OpaquePointer, _ start: UnsafePointer<UInt8>, _ length: Int) -> RegexOutcome {
        outcome(pcre2_jit_match_8(code, start, length, 0, 0, matchData, context))
    }

    @inline(__always)
    func outcome(_ rc: Int32) -> RegexOutcome {
        if rc >= 0 { return .match }
        switch rc {
        case PCRE2_ERROR_NOMATCH: return .noMatch
        case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT:
            return .limitExceeded
        default: return .error(rc)
        }
    }

    /// The captures of the last successful match, in this scratch's match data.
    @inline(__always)
    var captures: CaptureVector { CaptureVector(UnsafePointer(ovector), pairs: pairs) }

    /// The byte range of capture `group` after a successful match, or nil when the group did not take part.
    @inline(__always)
    public func range(_ group: Int) -> Range<Int>? {
        captures.range(group)
    }
}

/// The captures of one match as PCRE2 leaves them in an ovector: `pairs` pairs of start and end
/// offsets, group 0 first. The vector is a match data's own or a copy of one (a line matched on
/// another thread); it must stay valid while this is used.
struct CaptureVector {
    let vector: UnsafePointer<Int>
    let pairs: Int

    @inline(__always)
    init(_ vector: UnsafePointer<Int>, pairs: Int) {
        self.vector = vector
        self.pairs = pairs
    }

    /// The byte range of capture `group`, or nil when the group did not take part in the match or is
    /// not one of the vector's pairs.
    @inline(__always)
    func range(_ group: Int) -> Range<Int>? {
        guard UInt(bitPattern: group) < UInt(bitPattern: pairs) else { return nil }
        let s = vector[2 * group]
        let e = vector[2 * group + 1]
        if s == Int(bitPattern: PCRE2_UNSET_VALUE) || s > e { return nil }
        return s..<e
    }
}

/// `PCRE2_UNSET` does not import; it is `~(PCRE2_SIZE)0`.
let PCRE2_UNSET_VALUE: UInt = ~0
