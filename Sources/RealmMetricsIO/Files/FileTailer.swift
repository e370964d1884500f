#if canImport(Glibc)
import Glibc
#endif

/// Where reading of one file stopped, and how to recognise that file again: device, inode and its first
/// bytes, never its name alone.
public struct FilePosition: Codable, Sendable, Equatable {
    /// The file's name when the position was taken (a rotated file has its rotated name here).
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    /// Hex of the file's first bytes (up to ``FileTailer/fingerprintBytes``) when last read.
    public var fingerprint: String
    /// Bytes of complete lines already handed on.
    public var offset: Int64
    /// The name the file was followed under (its worker), when it has left that name; nil while it is
    /// still there. Absent in states of older versions.
    public var followedPath: String? = nil

    public init(path: String, device: UInt64, inode: UInt64, fingerprint: String, offset: Int64, followedPath: String? = nil) {
        self.path = path
        self.device = device
        self.inode = inode
        self.fingerprint = fingerprint
        self.offset = offset
        self.followedPath = followedPath
    }
}

/// Follows the files that some globs name, line by line, each line exactly once across everything log
/// rotation does. A file is its device, inode and first bytes, whatever its name:
/// - rename and create: the renamed file keeps being read (a worker writes to its old descriptor until
///   it reopens its log) for ``rotateWait`` seconds and until it stops growing, then it is finished; the
///   new file is followed from its start. A followed file that shows up under another name the globs
///   match is the same file, at the same offset, never a new one.
/// - rotated names (`w.log.1`, `w.log-20261201`, `w.2026-12-01.log`, ...) of a followed file are never
///   followed on their own, and compressed files (`.gz`, `.bz2`, `.xz`, `.zst`, ... or their magic
///   bytes) are never read as logs.
/// - copytruncate: when a followed file shrinks below its offset or its first bytes change, the copy
///   (a rotated sibling whose first bytes equal the saved fingerprint, as `copytruncate` with or
///   without `delaycompress` leaves it) is read from the saved offset to its end, then the file from
///   its start. Without a readable copy, what only the copy held is reported as lost.
/// - delete (and recreate): the deleted file is finished like a renamed one, a recreated one read from
///   its start; files that appear later are read from their start.
/// - with saved positions (a restart): each saved file is found by device and inode (at its name, or
///   renamed beside it while stopped) and resumed at its offset; one truncated while stopped is resumed
///   through its copy as above.
/// - a last line without newline is held until it is complete (or its file is finished); lines longer
///   than the limit are cut and counted.
/// Poll it; it reads what is new and hands each line on with the worker it belongs to
/// (`file:<followed path>`).
public final class FileTailer {
    public static let fingerprintBytes = 64

    final class Tracked {
        /// Current name (changes when the file is renamed).
        var path: String
        /// The name it was followed under: its worker is `file:<followedPath>`.
        let followedPath: String
        let worker: String
        let fd: Int32
        let device: UInt64
        let inode: UInt64
        var fingerprint: [UInt8]
        /// Offset at which `reader` started.
        var base: Int64
        var reader: LineReader
        /// Monotonic time until which a file that left its name is read at least.
        var drainUntil: Double = 0

        init(path: String, followedPath: String, fd: Int32, device: UInt64, inode: UInt64, fingerprint: [UInt8], base: Int64, reader: LineReader) {
            self.path = path
            self.followedPath = followedPath
            self.worker = "file:\(followedPath)"
            self.fd = fd
            self.device = device
            self.inode = inode
            self.fingerprint = fingerprint
            self.base = base
            self.reader = reader
        }

        /// Bytes of complete lines handed on.
        var offset: Int64 { base + reader.bytesRead - Int64(reader.pendingBytes) }
        /// Bytes read from the descriptor so far (complete lines and a held partial one).
        var readEnd: Int64 { base + reader.bytesRead }

        deinit { close(fd) }
    }

    public let globs: [String]
    public let maxLineBytes: Int
    /// Seconds a file that left its name (renamed or deleted) is still read, at least; it is finished
    /// once this has passed and a poll found nothing new in it.
    public let rotateWait: Double
    /// Files at the names they are followed under, by name.
    private var live: [String: Tracked] = [:]
    /// Files that left their name and are still read (rotated, deleted), oldest first.
    private var draining: [Tracked] = []
    /// Positions from the state file, used when their files are first seen.
    private var saved: [FilePosition]
    public private(set) var rotations: Int64 = 0
    public private(set) var truncations: Int64 = 0
    public private(set) var truncatedLines: Int64 = 0
    /// Times a rotation left lines that could not be read (a copy compressed at once, a file rotated
    /// away and compressed while stopped).
    public private(set) var rotationLosses: Int64 = 0
    public private(set) var lastError: String?
    /// How many errors were met (each open or read that failed, repeats included).
    public private(set) var errors: Int64 = 0
    /// The globs that matched no file at the last poll.
    public private(set) var emptyGlobs: [String] = []
    private var reportedErrors: Set<String> = []
    private var reportedCompressed: Set<String> = []
    private let report: (LogPriority, String) -> Void
    private let clock: () -> Double

    public init(globs: [String], maxLineBytes: Int = 65536, rotateWait: Double = 5, saved: [FilePosition] = [],
                clock: (@Sendable () -> Double)? = nil, report: @escaping (LogPriority, String) -> Void) {
        self.globs = globs
        self.maxLineBytes = maxLineBytes
        self.rotateWait = rotateWait
        self.saved = saved
        self.clock = clock ?? { monotonicSeconds() }
        self.report = report
    }

    /// Current positions, for the state file: the followed files, then those still read after leaving
    /// their name.
    public var positions: [FilePosition] {
        live.values.sorted { $0.path < $1.path }.map { position($0, rotated: false) }
            + draining.map { position($0, rotated: true) }
    }

    private func position(_ t: Tracked, rotated: Bool) -> FilePosition {
        FilePosition(path: t.path, device: t.device, inode: t.inode, fingerprint: hex(t.fingerprint), offset: t.offset,
                     followedPath: rotated || t.path != t.followedPath ? t.followedPath : nil)
    }

    /// Paths currently followed at their names.
    public var followedPaths: [String] { live.keys.sorted() }

    /// Names of files that left their name and are still read.
    public var drainingPaths: [String] { draining.map(\.path) }

    /// Reads everything new in every file; hands each complete line to `body` with its worker key. Files
    /// that left their name are read before the files now at the followed names (their lines are older).
    public func poll(_ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        let now = clock()
        let (matched, unmatchedGlobs) = FileTailer.expand(globs)
        emptyGlobs = unmatchedGlobs
        // Followed files no longer at their name (renamed, deleted, replaced).
        for path in live.keys.sorted() {
            let file = live[path]!
            if !isFile(path, device: file.device, inode: file.inode) {
                live[path] = nil
                leftName(file, now: now)
            }
        }
        // Files that left their name: read on until the wait has passed and a poll found nothing more
        // (a wait of 0: finished after this read).
        draining.removeAll { file in
            let before = file.readEnd
            read(file, body)
            guard now >= file.drainUntil && (rotateWait == 0 || file.readEnd == before) else { return false }
            file.reader.finish { body($0, $1, file.worker) }
            return true
        }
        // Files at their names: truncated, or grown.
        for path in live.keys.sorted() {
            let file = live[path]!
            checkTruncation(file, body)
            read(file, body)
        }
        // Names not followed yet: new, recreated, a followed file under a new name, or known from the state.
        let rotated = Set(matched.filter { isRotatedName($0, among: matched) })
        for path in matched where live[path] == nil {
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            let device = UInt64(st.st_dev), inode = UInt64(st.st_ino)
            if let index = draining.firstIndex(where: { $0.device == device && $0.inode == inode }) {
                let file = draining[index]
                file.path = path
                if !rotated.contains(path) {
                    // Renamed to a name that is followed in its own right: the same file, at the same offset.
                    draining.remove(at: index)
                    live[path] = file
                    read(file, body)
                }
                continue
            }
            if live.values.contains(where: { $0.device == device && $0.inode == inode }) { continue }  // another link
            if rotated.contains(path) || FileTailer.isCompressedName(path) { continue }
            guard let file = openFile(path, body) else { continue }
            live[path] = file
            read(file, body)
        }
    }

    /// At start with saved positions: every saved file that is no longer at the name it is followed
    /// under (rotated or deleted while the sidecar was stopped, or left its name just before the stop)
    /// is found by device and inode beside that name and read on from its saved offset, for the rotate
    /// wait and until it stops growing (the worker may still be writing to it). A saved file that
    /// cannot be found is reported: the lines after its offset could not be read.
    public func drainRotatedWhileStopped(_ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        let now = clock()
        var keep: [FilePosition] = []
        for position in saved {
            let followed = position.followedPath ?? position.path
            if position.followedPath == nil && isFile(position.path, device: position.device, inode: position.inode) {
                keep.append(position)  // still at its name: resumed when the globs find it
                continue
            }
            let candidates = [position.path, followed] + siblings(of: followed).map { directory(of: followed) + "/" + $0 }
            guard let candidate = candidates.first(where: { isFile($0, device: position.device, inode: position.inode) }),
                  !FileTailer.isCompressedName(candidate) else {
                if position.offset > 0 {
                    rotationLosses += 1
                    report(.warning, "file: \(followed) was rotated away while stopped and its rotated file is gone or compressed; lines after byte \(position.offset) could not be read")
                }
                continue
            }
            if candidate == followed {
                keep.append(position)
                continue
            }
            let fd = open(candidate, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let head = readHead(fd)
            guard fingerprintMatches(head, position.fingerprint) else { close(fd); continue }
            let file = Tracked(path: candidate, followedPath: followed, fd: fd, device: position.device, inode: position.inode,
                               fingerprint: head, base: position.offset, reader: LineReader(maxLineBytes: maxLineBytes))
            lseek(fd, off_t(position.offset), SEEK_SET)
            if position.followedPath == nil || position.path != candidate {
                report(.notice, "file: \(followed) was rotated to \(candidate) while stopped; reading its rest from byte \(position.offset)")
            }
            file.drainUntil = now + rotateWait
            draining.append(file)
            read(file, body)
            rotations += 1
        }
        saved = keep
    }

    /// A followed file no longer at its name: kept and read on for the rotate wait.
    private func leftName(_ file: Tracked, now: Double) {
        rotations += 1
        file.drainUntil = now + rotateWait
        let dir = directory(of: file.path)
        if let name = siblings(of: file.followedPath).first(where: { isFile(dir + "/" + $0, device: file.device, inode: file.inode) }) {
            file.path = dir + "/" + name
        }
        draining.append(file)
    }

    /// Shrunk below its offset, or its first bytes changed: copytruncate (or a rewrite). Reads the rest
    /// of the copy, if there is one, then starts the file again from its start.
    private func checkTruncation(_ file: Tracked, _ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { return }
        let size = Int64(st.st_size)
        var truncated = size < file.readEnd
        if !truncated && !file.fingerprint.isEmpty {
            truncated = readHead(file.fd, count: file.fingerprint.count) != file.fingerprint
        }
        guard truncated else { return }
        truncations += 1
        let offset = file.offset
        file.reader.finish { _, _ in }  // a held partial line is read again from the copy
        if let copy = readCopy(of: file.followedPath, fingerprint: file.fingerprint, from: offset, worker: file.worker, body) {
            report(.notice, "file: \(file.path) was truncated (copytruncate); read its copy \(copy) from byte \(offset), now reading \(file.path) from its start")
        } else if offset > 0 {
            rotationLosses += 1
            report(.warning, "file: \(file.path) was truncated or rewritten; no uncompressed copy with its first bytes beside it (use delaycompress with copytruncate), so lines after byte \(offset) may be lost; reading it from its start")
        } else {
            report(.notice, "file: \(file.path) was truncated or rewritten; reading it from its start")
        }
        lseek(file.fd, 0, SEEK_SET)
        file.base = 0
        file.reader = LineReader(maxLineBytes: maxLineBytes)
        file.fingerprint = []
    }

    /// Reads a copy of `path` (a rotated sibling, not compressed, whose first bytes equal
    /// `fingerprint`) from `offset` to its end; returns its name, nil when there is none.
    private func readCopy(of path: String, fingerprint: [UInt8], from offset: Int64, worker: String,
                          _ body: (UnsafePointer<UInt8>, Int, String) -> Void) -> String? {
        guard !fingerprint.isEmpty else { return nil }
        let dir = directory(of: path)
        // The newest copy first: logrotate names it .1 (or the latest date).
        let names = siblings(of: path).filter { !FileTailer.isCompressedName($0) }.map { name -> (String, Int) in
            var st = stat()
            return (name, stat(dir + "/" + name, &st) == 0 ? st.st_mtim.tv_sec : 0)
        }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map(\.0)
        for name in names {
            let candidate = dir + "/" + name
            let fd = open(candidate, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let head = readHead(fd, count: fingerprint.count)
            guard head == fingerprint else { close(fd); continue }
            var st = stat()
            fstat(fd, &st)
            let copy = Tracked(path: candidate, followedPath: path, fd: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
                               fingerprint: fingerprint, base: offset, reader: LineReader(maxLineBytes: maxLineBytes))
            if Int64(st.st_size) > offset {
                lseek(fd, off_t(offset), SEEK_SET)
                _ = copy.reader.read(fd: fd, flushPartialAtEOF: true) { body($0, $1, worker) }
                truncatedLines += copy.reader.truncatedLines
            }
            return candidate
        }
        return nil
    }

    private func read(_ file: Tracked, _ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        let before = file.reader.truncatedLines
        let worker = file.worker
        if let error = file.reader.read(fd: file.fd, flushPartialAtEOF: false, { body($0, $1, worker) }) {
            noteError("file: \(file.path): read failed: \(errnoText(error))")
        }
        truncatedLines += file.reader.truncatedLines - before
        if file.fingerprint.count < FileTailer.fingerprintBytes {
            file.fingerprint = readHead(file.fd)
        }
    }

    /// Opens a name not followed yet: resumed at its saved offset when the state knows the file (through
    /// its copy when it was truncated while stopped), else read from its start.
    private func openFile(_ path: String, _ body: (UnsafePointer<UInt8>, Int, String) -> Void) -> Tracked? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            noteError("file: \(path): cannot open: \(errnoText(errno))")
            return nil
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); return nil }
        reportedErrors = reportedErrors.filter { !$0.hasPrefix("file: \(path):") }
        let head = readHead(fd)
        if isCompressedContent(head) {
            close(fd)
            if reportedCompressed.insert(path).inserted {
                report(.warning, "file: \(path) is compressed; it is not read as a log (give a glob that leaves out compressed rotations)")
            }
            return nil
        }
        let device = UInt64(st.st_dev), inode = UInt64(st.st_ino)
        var base: Int64 = 0
        if let index = saved.firstIndex(where: { $0.device == device && $0.inode == inode }) {
            let position = saved.remove(at: index)
            if fingerprintMatches(head, position.fingerprint) && Int64(st.st_size) >= position.offset {
                base = position.offset
            } else {
                truncations += 1
                let fingerprint = unhex(position.fingerprint)
                if let copy = readCopy(of: path, fingerprint: fingerprint, from: position.offset, worker: "file:\(path)", body) {
                    report(.notice, "file: \(path) was truncated while stopped (copytruncate); read its copy \(copy) from byte \(position.offset), now reading \(path) from its start")
                } else if position.offset > 0 {
                    rotationLosses += 1
                    report(.warning, "file: \(path) changed while stopped (truncated or rewritten) and no uncompressed copy with its first bytes is beside it; lines after byte \(position.offset) may be lost; reading it from its start")
                } else {
                    report(.notice, "file: \(path) changed while stopped; reading it from its start")
                }
            }
        }
        lseek(fd, off_t(base), SEEK_SET)
        return Tracked(path: path, followedPath: path, fd: fd, device: device, inode: inode, fingerprint: head, base: base,
                       reader: LineReader(maxLineBytes: maxLineBytes))
    }

    private func noteError(_ message: String) {
        lastError = message
        errors += 1
        // Each distinct problem is reported once, not on every poll.
        if reportedErrors.insert(message).inserted { report(.warning, message) }
    }

    /// Regular files `globs` match (sorted, without repeats), and the globs that match none.
    static func expand(_ globs: [String]) -> (paths: [String], emptyGlobs: [String]) {
        var out = Set<String>()
        var empty: [String] = []
        for pattern in globs {
            var g = glob_t()
            defer { globfree(&g) }
            var any = false
            if glob(pattern, 0, nil, &g) == 0 {
                for i in 0..<Int(g.gl_pathc) {
                    guard let p = g.gl_pathv[i] else { continue }
                    let path = String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
                    var st = stat()
                    if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
                        out.insert(path)
                        any = true
                    }
                }
            }
            if !any { empty.append(pattern) }
        }
        return (out.sorted(), empty)
    }

    /// Whether `path` is a rotated name of another matched or followed file in its directory.
    private func isRotatedName(_ path: String, among matched: [String]) -> Bool {
        FileTailer.isRotatedName(path, among: matched) || FileTailer.isRotatedName(path, among: live.values.map(\.followedPath))
    }

    /// Whether `path` is a rotated name of another of `paths` in its directory.
    static func isRotatedName(_ path: String, among paths: [String]) -> Bool {
        let name = baseName(path), dir = directory(of: path)
        return paths.contains { other in other != path && directory(of: other) == dir && isRotation(name, of: baseName(other)) }
    }

    /// Whether the file at `path` is the one with this device and inode.
    private func isFile(_ path: String, device: UInt64, inode: UInt64) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// Names in the directory of `path` that are rotations of it.
    private func siblings(of path: String) -> [String] {
        let base = baseName(path)
        guard let d = opendir(directory(of: path)) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if FileTailer.isRotation(name, of: base) { out.append(name) }
        }
        return out.sorted()
    }

    static let compressedSuffixes = [".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lz", ".Z", ".zip", ".br"]

    /// Whether `name` is what logrotate makes of `base`: `base` followed by `.`/`-`/`_` and a number or
    /// date (digits with `.`, `-`, `_` between them), or the same inserted before `base`'s extension
    /// (logrotate's `extension`); either with a compression suffix.
    static func isRotation(_ name: String, of base: String) -> Bool {
        guard name != base else { return false }
        var name = Substring(name)
        for suffix in compressedSuffixes where name.hasSuffix(suffix) {
            name = name.dropLast(suffix.count)
            break
        }
        func isStamp(_ s: Substring) -> Bool {
            guard let first = s.first, ".-_".contains(first), s.count >= 2 else { return false }
            return s.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || ".-_".contains($0)) } && s.contains { $0.isNumber }
        }
        if name.hasPrefix(base) && isStamp(name.dropFirst(base.count)) { return true }
        if let dot = base.lastIndex(of: "."), dot != base.startIndex {
            let stem = base[..<dot], ext = base[dot...]
            if name.hasPrefix(stem) && name.hasSuffix(ext) && name.count > base.count {
                // Before the extension only `.N` or a date (6 or more digits): `worker-2.log` beside
                // `worker.log` is another worker's log, not a rotation.
                let stamp = name.dropFirst(stem.count).dropLast(ext.count)
                return isStamp(stamp) && (stamp.first == "." || stamp.filter(\.isNumber).count >= 6)
            }
        }
        return false
    }

    static func isCompressedName(_ path: String) -> Bool {
        compressedSuffixes.contains { path.hasSuffix($0) }
    }

    /// gzip, bzip2, xz, zstd, lz4 magic bytes.
    private func isCompressedContent(_ head: [UInt8]) -> Bool {
        let magics: [[UInt8]] = [[0x1F, 0x8B], [0x42, 0x5A, 0x68], [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], [0x28, 0xB5, 0x2F, 0xFD], [0x04, 0x22, 0x4D, 0x18]]
        return magics.contains { head.starts(with: $0) }
    }

    private func fingerprintMatches(_ head: [UInt8], _ saved: String) -> Bool {
        let current = hex(head)
        return current.hasPrefix(saved) || saved.hasPrefix(current)
    }

    private func readHead(_ fd: Int32, count: Int = FileTailer.fingerprintBytes) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : []
    }
}

func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

func baseName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

func unhex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var high: UInt8? = nil
    for c in text.utf8 {
        let v: UInt8
        switch c {
        case 0x30...0x39: v = c - 0x30
        case 0x61...0x66: v = c - 0x61 + 10
        default: return out
        }
        if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
    }
    return out
}
