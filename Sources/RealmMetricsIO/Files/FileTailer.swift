#if canImport(Glibc)
import Glibc
#endif

/// Where reading of one file stopped, and how to recognise that file again: device, inode and its first
/// bytes, never its name alone.
public struct FilePosition: Codable, Sendable, Equatable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    /// Hex of the file's first bytes (up to ``FileTailer/fingerprintBytes``) when last read.
    public var fingerprint: String
    /// Bytes of complete lines already handed on.
    public var offset: Int64
}

/// Follows the files that some globs name, line by line, across everything log rotation does:
/// - rename and create: the old file is read to its end before the new one is followed from its start;
/// - copytruncate: a size below the offset, or changed first bytes, restarts at the start;
/// - delete (and recreate): the deleted file is finished, a recreated one read from its start;
/// - files that appear later are read from their start;
/// - a last line without newline is held until it is complete (or its file is rotated away);
/// - lines longer than the limit are cut and counted.
/// Poll it; it reads what is new and hands each line on with the worker it belongs to (the path).
public final class FileTailer {
    public static let fingerprintBytes = 64

    final class Tracked {
        let path: String
        let fd: Int32
        let device: UInt64
        let inode: UInt64
        var fingerprint: [UInt8]
        /// Offset at which `reader` started.
        var base: Int64
        var reader: LineReader

        init(path: String, fd: Int32, device: UInt64, inode: UInt64, fingerprint: [UInt8], base: Int64, reader: LineReader) {
            self.path = path
            self.fd = fd
            self.device = device
            self.inode = inode
            self.fingerprint = fingerprint
            self.base = base
            self.reader = reader
        }

        /// Bytes of complete lines handed on.
        var offset: Int64 { base + reader.bytesRead - Int64(reader.pendingBytes) }

        deinit { close(fd) }
    }

    public let globs: [String]
    public let maxLineBytes: Int
    private var tracked: [String: Tracked] = [:]
    /// Positions from the state file, used when a file is first seen.
    private var saved: [FilePosition]
    public private(set) var rotations: Int64 = 0
    public private(set) var truncations: Int64 = 0
    public private(set) var truncatedLines: Int64 = 0
    public private(set) var openErrors: Int64 = 0
    public private(set) var lastError: String?
    private var reportedErrors: Set<String> = []
    private let report: (String) -> Void

    public init(globs: [String], maxLineBytes: Int = 65536, saved: [FilePosition] = [], report: @escaping (String) -> Void) {
        self.globs = globs
        self.maxLineBytes = maxLineBytes
        self.saved = saved
        self.report = report
    }

    /// Current positions, for the state file.
    public var positions: [FilePosition] {
        tracked.values.sorted { $0.path < $1.path }.map {
            FilePosition(path: $0.path, device: $0.device, inode: $0.inode, fingerprint: hex($0.fingerprint), offset: $0.offset)
        }
    }

    /// Paths currently followed.
    public var followedPaths: [String] { tracked.keys.sorted() }

    /// Reads everything new in every file; hands each complete line to `body` with its worker key.
    public func poll(_ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        let current = expandGlobs()
        // Files already followed: rotation, truncation, new data.
        for path in tracked.keys.sorted() {
            let file = tracked[path]!
            let worker = "file:\(path)"
            var st = stat()
            let gone = stat(path, &st) != 0
            if gone || UInt64(st.st_dev) != file.device || UInt64(st.st_ino) != file.inode {
                // Renamed, deleted or replaced: finish the old file, then let the new one be picked up.
                read(file, worker: worker, body)
                file.reader.finish { body($0, $1, worker) }
                tracked[path] = nil
                rotations += 1
                continue
            }
            checkTruncation(file)
            read(file, worker: worker, body)
        }
        // Files not followed yet (new, recreated, or known from the state file).
        for path in current where tracked[path] == nil {
            guard let file = openFile(path) else { continue }
            tracked[path] = file
            read(file, worker: "file:\(path)", body)
        }
    }

    /// At start with saved positions: a saved file whose inode has moved to another name (rotated while
    /// the sidecar was stopped) is read from its saved offset to its end first.
    public func drainRotatedWhileStopped(_ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        for position in saved {
            var st = stat()
            if stat(position.path, &st) == 0 && UInt64(st.st_dev) == position.device && UInt64(st.st_ino) == position.inode { continue }
            let dir = position.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            guard let candidate = findInode(position.device, position.inode, in: dir.isEmpty ? "." : dir) else { continue }
            let fd = open(candidate, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let head = readHead(fd)
            guard hex(head).hasPrefix(position.fingerprint) || position.fingerprint.hasPrefix(hex(head)) else { close(fd); continue }
            let file = Tracked(path: candidate, fd: fd, device: position.device, inode: position.inode, fingerprint: head,
                               base: position.offset, reader: LineReader(maxLineBytes: maxLineBytes))
            lseek(fd, off_t(position.offset), SEEK_SET)
            let worker = "file:\(position.path)"
            report("file: \(position.path) was rotated to \(candidate) while stopped; reading its rest from byte \(position.offset)")
            read(file, worker: worker, body)
            file.reader.finish { body($0, $1, worker) }
            rotations += 1
        }
    }

    private func checkTruncation(_ file: Tracked) {
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { return }
        let size = Int64(st.st_size)
        var truncated = size < file.offset
        if !truncated && !file.fingerprint.isEmpty {
            let head = readHead(file.fd, count: file.fingerprint.count)
            truncated = head != file.fingerprint
        }
        if truncated {
            truncations += 1
            report("file: \(file.path) was truncated or rewritten (copytruncate); reading it again from its start")
            lseek(file.fd, 0, SEEK_SET)
            file.base = 0
            file.reader = LineReader(maxLineBytes: maxLineBytes)
            file.fingerprint = []
        }
    }

    private func read(_ file: Tracked, worker: String, _ body: (UnsafePointer<UInt8>, Int, String) -> Void) {
        let before = file.reader.truncatedLines
        if let error = file.reader.read(fd: file.fd, flushPartialAtEOF: false, { body($0, $1, worker) }) {
            noteError("file: \(file.path): read failed: \(errnoText(error))")
        }
        truncatedLines += file.reader.truncatedLines - before
        if file.fingerprint.count < FileTailer.fingerprintBytes {
            file.fingerprint = readHead(file.fd)
        }
    }

    private func openFile(_ path: String) -> Tracked? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            openErrors += 1
            noteError("file: \(path): cannot open: \(errnoText(errno))")
            return nil
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); return nil }
        reportedErrors = reportedErrors.filter { !$0.hasPrefix("file: \(path):") }
        let head = readHead(fd)
        let device = UInt64(st.st_dev), inode = UInt64(st.st_ino)
        var base: Int64 = 0
        if let index = saved.firstIndex(where: { $0.path == path && $0.device == device && $0.inode == inode }) {
            let position = saved.remove(at: index)
            let fingerprintMatches = hex(head).hasPrefix(position.fingerprint) || position.fingerprint.hasPrefix(hex(head))
            if fingerprintMatches && Int64(st.st_size) >= position.offset {
                base = position.offset
            } else {
                truncations += 1
                report("file: \(path) changed while stopped (truncated or rewritten); reading it from its start")
            }
        }
        lseek(fd, off_t(base), SEEK_SET)
        return Tracked(path: path, fd: fd, device: device, inode: inode, fingerprint: head, base: base, reader: LineReader(maxLineBytes: maxLineBytes))
    }

    private func noteError(_ message: String) {
        lastError = message
        // Each distinct problem is reported once, not on every poll.
        if reportedErrors.insert(message).inserted { report(message) }
    }

    private func expandGlobs() -> [String] {
        var out = Set<String>()
        for pattern in globs {
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(pattern, 0, nil, &g) == 0 else { continue }
            for i in 0..<Int(g.gl_pathc) {
                guard let p = g.gl_pathv[i] else { continue }
                let path = String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
                var st = stat()
                if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { out.insert(path) }
            }
        }
        return out.sorted()
    }

    private func readHead(_ fd: Int32, count: Int = FileTailer.fingerprintBytes) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : []
    }

    private func findInode(_ device: UInt64, _ inode: UInt64, in dir: String) -> String? {
        guard let d = opendir(dir) else { return nil }
        defer { closedir(d) }
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = dir + "/" + name
            var st = stat()
            if stat(path, &st) == 0 && UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode { return path }
        }
        return nil
    }
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
