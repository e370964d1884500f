import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import RealmMetricsIO

@Suite("State directory lock")
struct StateLockTests {
    func tempDir() -> String {
        NSTemporaryDirectory() + "lock-\(UUID().uuidString)"
    }

    @Test("the lock is taken once: a second taker is told the holder's pid; it is free again once dropped")
    func exclusive() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try takeAndRefuseSecond(dir)
        // The first lock's object is gone with the function above (its descriptor closed): free again.
        #expect(throws: Never.self) { try StateLock.acquire(directory: dir).get() }
    }

    /// Takes the lock, checks that a second taker is refused, and drops it on return.
    func takeAndRefuseSecond(_ dir: String) throws {
        let first = try StateLock.acquire(directory: dir).get()
        #expect(try String(contentsOfFile: dir + "/lock", encoding: .utf8) == "\(getpid())\n")
        // flock belongs to the open file: a second open in the same process conflicts like another process.
        switch StateLock.acquire(directory: dir) {
        case .success: Issue.record("taken twice")
        case let .failure(failure): #expect(failure == .held(by: getpid()))
        }
        withExtendedLifetime(first) {}
    }

    @Test("a lock file that cannot be opened is reported with its path and reason")
    func unavailable() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/lock", withIntermediateDirectories: true)
        switch StateLock.acquire(directory: dir) {
        case .success: Issue.record("a directory was taken as the lock file")
        case let .failure(failure): #expect(failure == .unavailable("\(dir)/lock: cannot open: Is a directory"))
        }
    }
}
