#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RealmMetricsCore

/// What the sidecar remembers between runs: where each source stands and the whole metric state.
public struct SidecarState: Codable, Sendable, Equatable {
    public struct JournalPosition: Codable, Sendable, Equatable {
        public var cursor: String?
        /// Source → the `_SYSTEMD_INVOCATION_ID` last seen for it (``JournalSource/invocations``).
        /// Absent in states of older versions.
        public var invocations: [String: String]? = nil
        /// Only in states of older versions, whose journal workers were sources alone: each source's last
        /// `_PID` (``JournalLives/upgrade(_:pids:)`` makes them lives of those processes).
        public var pids: [String: Int]? = nil
    }
    public var version = 1
    /// Wall-clock time of the flush this state belongs to (ms since the epoch).
    public var savedAtMillis: Int64
    public var journal: JournalPosition?
    public var files: [FilePosition]
    public var metrics: MetricSnapshot
    /// The sidecar's own counts (lines read, matched, send errors, ...).
    public var counts: [String: Int64]
    /// What is followed and where metrics go, for `status`.
    public var following: String
    /// The sources the state belongs to (journal location and filter, file globs): a restart reads the
    /// history of sources not in it silently. Absent in states of older versions: such a state is taken
    /// to belong to the sources of the run that loads it.
    public var sources: SourceSet? = nil
    public var lastError: String?
    /// Conditions that silently give zeros (a glob matching nothing, a filter matching no entry, ...),
    /// still current at this flush; shown by `status`. Absent in states of older versions.
    public var warnings: [String]? = nil
    /// Counter deltas (by full name) the statsd receiver has not taken: refused or not sent, sent with
    /// the next flush (see ``StatsdDelivery``). Absent when there are none.
    public var unsentCounters: [String: Int64]? = nil
    /// What the Prometheus endpoint has shown (``PrometheusState``); absent without the endpoint.
    public var prometheus: PrometheusState? = nil
    /// Seconds between flushes of the run that wrote the state: `status` calls a state stale after three
    /// of them (at least 30 s). Absent in states of older versions (10 s, the default, is taken).
    public var flushIntervalSeconds: Double? = nil
    /// When ``lastError`` last happened (ms since the epoch; to within a flush interval: the time of the
    /// checkpoint that first saw it). Absent when there is no error, and in states of older versions.
    public var lastErrorAtMillis: Int64? = nil
    /// Whether ``lastError`` still held at this flush (a statsd failure: this flush failed; a journal or
    /// file error: it happened again since the state before; a state-file error: never, since this state
    /// was written). Absent when there is no error, and in states of older versions.
    public var lastErrorCurrent: Bool? = nil
    /// Whether this flush did not reach statsd (refused, unresolvable or not sent; see ``StatsdDelivery``).
    /// Absent in states of older versions.
    public var lastFlushFailed: Bool? = nil
    /// Why the last reload (SIGHUP) was refused, while no later reload succeeded; the pattern files
    /// loaded before stay in use.
    public var lastReloadError: String? = nil
    /// When that reload was refused (ms since the epoch).
    public var lastReloadErrorAtMillis: Int64? = nil
}

/// The state file: `<dir>/state.json`, replaced atomically (temporary file, fsync, rename, fsync of the
/// directory) so a crash leaves either the old or the new state, never a torn one.
public struct StateFile: Sendable {
    public let directory: String
    public var path: String { directory + "/state.json" }

    public init(directory: String) { self.directory = directory }

    public struct Damaged: Error, CustomStringConvertible {
        public let description: String
    }

    /// The state file (or its directory) exists but cannot be read by this process.
    public struct Unreadable: Error, CustomStringConvertible {
        public let path: String
        /// The `errno` of the failed `open(2)` or `read(2)`.
        public let code: Int32
        /// `EACCES` or `EPERM`: the permissions of the state directory or file keep this user out.
        public var permissionDenied: Bool { code == EACCES || code == EPERM }
        public var description: String {
            permissionDenied ? "\(path): permission denied: this user (uid \(getuid())) may not read the state directory or file"
                : "\(path): cannot read: \(errnoText(code))"
        }
    }

    /// The saved state, nil when there is none (no state file, or no state directory). Throws
    /// ``Unreadable`` when the file or its directory cannot be read (a permission problem is not "no
    /// state"), ``Damaged`` when its contents cannot be used.
    public func load() throws -> SidecarState? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw Unreadable(path: path, code: code)
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n: Int
            do { n = try SystemCall.checked { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } } } catch {
                throw Unreadable(path: path, code: error.code)
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        do {
            let state = try JSONDecoder().decode(SidecarState.self, from: data)
            guard state.version == 1 else { throw Damaged(description: "\(path): unknown state version \(state.version)") }
            return state
        } catch let error as Damaged {
            throw error
        } catch {
            throw Damaged(description: "\(path): damaged (\(error))")
        }
    }

    /// Renames a damaged file to `state.json.damaged-<time>` and returns the new path.
    public func moveAside(now: Int64) -> String? {
        let target = "\(path).damaged-\(now / 1000)"
        return rename(path, target) == 0 ? target : nil
    }

    /// Writes `state` atomically. Creates the directory if needed.
    public func save(_ state: SidecarState) throws(RealmMetricsError) {
        try prepare(state).commit()
    }

    /// A state written and synced to a temporary file, not yet in place.
    public struct Prepared {
        let temp: String
        let file: StateFile

        /// Renames the temporary file over the state file and syncs the directory.
        public func commit() throws(RealmMetricsError) {
            guard rename(temp, file.path) == 0 else {
                let reason = errnoText(errno)
                unlink(temp)
                throw RealmMetricsError(.state, "\(file.path): cannot replace: \(reason) (the previous state is kept)")
            }
            let dirfd = open(file.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dirfd >= 0 {
                fsync(dirfd)
                close(dirfd)
            }
        }
    }

    /// Encodes `state` and writes it to a synced temporary file; ``Prepared/commit()`` puts it in place.
    /// Splitting the two lets the slow part happen before metrics are sent, so a crash between sending
    /// and saving has only a rename to miss.
    public func prepare(_ state: SidecarState) throws(RealmMetricsError) -> Prepared {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(state) } catch { throw RealmMetricsError(.state, "cannot encode state: \(error)") }
        if mkdir(directory, 0o750) != 0 && errno != EEXIST {
            throw RealmMetricsError(.state, "\(directory): cannot create: \(errnoText(errno))")
        }
        let temp = "\(path).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw RealmMetricsError(.state, "\(temp): cannot write: \(errnoText(errno))") }
        var writeErrno = data.withUnsafeBytes { SystemCall.writeAll($0) { write(fd, $0, $1) } }?.code ?? 0
        if writeErrno == 0 && fsync(fd) != 0 { writeErrno = errno }
        close(fd)
        guard writeErrno == 0 else {
            unlink(temp)
            throw RealmMetricsError(.state, "\(temp): cannot write: \(errnoText(writeErrno)) (the previous state is kept)")
        }
        return Prepared(temp: temp, file: self)
    }
}
