import Testing
import Foundation
@testable import RealmMetricsIO

/// Real files in a temporary directory, rotated the ways logrotate and workers rotate them.
@Suite("File tailer")
struct FileTailerTests {
    final class Dir {
        let path = NSTemporaryDirectory() + "tailer-\(UUID().uuidString)"
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
        func append(_ name: String, _ text: String) {
            let p = file(name)
            if !FileManager.default.fileExists(atPath: p) { _ = FileManager.default.createFile(atPath: p, contents: nil) }
            let h = FileHandle(forWritingAtPath: p)!
            h.seekToEndOfFile()
            h.write(text.data(using: .utf8)!)
            h.closeFile()
        }
    }

    final class Collector {
        var lines: [(String, String)] = []
        var messages: [String] = []
        func poll(_ tailer: FileTailer) {
            tailer.poll { start, length, worker in
                self.lines.append((String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self), worker))
            }
        }
        var texts: [String] { lines.map(\.0) }
    }

    /// A clock the test moves by hand.
    final class Clock: @unchecked Sendable {
        var now = 1000.0
    }

    func tailer(_ dir: Dir, _ glob: String = "*.log", saved: [FilePosition] = [], collector: Collector, maxLineBytes: Int = 65536,
                rotateWait: Double = 0, clock: Clock? = nil) -> FileTailer {
        var now: (@Sendable () -> Double)? = nil
        if let clock { now = { clock.now } }
        return FileTailer(globs: [dir.file(glob)], maxLineBytes: maxLineBytes, rotateWait: rotateWait, saved: saved,
                          clock: now) { collector.messages.append($1) }
    }

    /// `cp` then truncate in place, as logrotate's copytruncate does.
    func copyTruncate(_ dir: Dir, _ name: String, to copy: String) throws {
        try FileManager.default.copyItem(atPath: dir.file(name), toPath: dir.file(copy))
        let h = FileHandle(forWritingAtPath: dir.file(name))!
        h.truncateFile(atOffset: 0)
        h.closeFile()
    }

    @Test("new lines are read as they are appended; a last line without newline waits for its end")
    func append() {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c)
        dir.append("w.log", "one\ntw")
        c.poll(t)
        #expect(c.texts == ["one"])
        dir.append("w.log", "o\nthree\n")
        c.poll(t)
        #expect(c.texts == ["one", "two", "three"])
        #expect(c.lines.allSatisfy { $0.1 == "file:\(dir.file("w.log"))" })
        #expect(t.positions.first?.offset == 14)
    }

    @Test("rename and create: the old file is read to its end, the new one from its start")
    func renameRotation() throws {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c)
        dir.append("w.log", "a1\n")
        c.poll(t)
        dir.append("w.log", "a2\na3-partial")
        try FileManager.default.moveItem(atPath: dir.file("w.log"), toPath: dir.file("w.log.1"))
        dir.append("w.log", "b1\n")
        c.poll(t)
        c.poll(t)
        #expect(c.texts == ["a1", "a2", "a3-partial", "b1"])
        #expect(t.rotations == 1)
    }

    @Test("copytruncate: a shorter file, or one whose first bytes changed, is read again from its start")
    func copyTruncate() throws {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c)
        dir.append("w.log", "first line of the old content\nsecond\n")
        c.poll(t)
        // Truncated and already written past the old offset with new content.
        try "new content line one that is long\nnew two\n".write(toFile: dir.file("w.log"), atomically: false, encoding: .utf8)
        c.poll(t)
        #expect(c.texts == ["first line of the old content", "second", "new content line one that is long", "new two"])
        #expect(t.truncations == 1)
        // Plain truncation to empty, then a short line.
        let h = FileHandle(forWritingAtPath: dir.file("w.log"))!
        h.truncateFile(atOffset: 0)
        h.closeFile()
        dir.append("w.log", "x\n")
        c.poll(t)
        #expect(c.texts.last == "x")
        #expect(t.truncations == 2)
    }

    @Test("delete and recreate; files that appear later are read from their start")
    func deleteRecreateLate() throws {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c)
        c.poll(t)
        #expect(c.texts.isEmpty)
        dir.append("w.log", "1\n")
        c.poll(t)
        try FileManager.default.removeItem(atPath: dir.file("w.log"))
        c.poll(t)
        dir.append("w.log", "2\n")
        dir.append("other.log", "3\n")
        c.poll(t)
        #expect(Set(c.texts) == ["1", "2", "3"])
        #expect(c.lines.first { $0.0 == "3" }?.1 == "file:\(dir.file("other.log"))")
    }

    @Test("a restart resumes at the saved offset, and a file rotated while stopped is finished first")
    func resume() throws {
        let dir = Dir(), c1 = Collector()
        let t1 = tailer(dir, collector: c1)
        dir.append("w.log", "l1\nl2\n")
        c1.poll(t1)
        let saved = t1.positions
        // While stopped: more lines, then rotation, then a new file.
        dir.append("w.log", "l3\n")
        try FileManager.default.moveItem(atPath: dir.file("w.log"), toPath: dir.file("w.log.1"))
        dir.append("w.log", "n1\n")
        let c2 = Collector()
        let t2 = tailer(dir, saved: saved, collector: c2)
        t2.drainRotatedWhileStopped { start, length, _ in
            c2.lines.append((String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self), ""))
        }
        c2.poll(t2)
        #expect(c2.texts == ["l3", "n1"])

        // Same file, not rotated: resumes exactly after l2.
        let dir2 = Dir(), c3 = Collector()
        let t3 = tailer(dir2, collector: c3)
        dir2.append("w.log", "l1\nl2\n")
        c3.poll(t3)
        dir2.append("w.log", "l3\n")
        let c4 = Collector()
        let t4 = tailer(dir2, saved: t3.positions, collector: c4)
        c4.poll(t4)
        #expect(c4.texts == ["l3"])
    }

    @Test("a file rewritten while stopped is read from its start, not from a stale offset")
    func rewrittenWhileStopped() throws {
        let dir = Dir(), c1 = Collector()
        let t1 = tailer(dir, collector: c1)
        dir.append("w.log", "old old old\n")
        c1.poll(t1)
        let saved = t1.positions
        let h = FileHandle(forWritingAtPath: dir.file("w.log"))!
        h.truncateFile(atOffset: 0)
        h.closeFile()
        dir.append("w.log", "NEW CONTENT HERE\n")
        let c2 = Collector()
        let t2 = tailer(dir, saved: saved, collector: c2)
        c2.poll(t2)
        #expect(c2.texts == ["NEW CONTENT HERE"])
    }

    @Test("long lines are cut and counted; invalid UTF-8 and NUL bytes pass")
    func hostileBytes() {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c, maxLineBytes: 100)
        dir.append("w.log", String(repeating: "z", count: 1000) + "\nok\n")
        let h = FileHandle(forWritingAtPath: dir.file("w.log"))!
        h.seekToEndOfFile()
        h.write(Data([0xFF, 0x00, 0x41, 0x0A]))
        h.closeFile()
        c.poll(t)
        #expect(c.lines.count == 3)
        #expect(c.lines[0].0.count == 100)
        #expect(c.lines[1].0 == "ok")
        #expect(t.truncatedLines == 1)
    }

    @Test("a file that cannot be opened is reported once and retried")
    func permissionDenied() throws {
        guard getuid() != 0 else {
            // root reads everything; check the retry path with a directory entry that is not a file instead
            let dir = Dir(), c = Collector()
            try FileManager.default.createDirectory(atPath: dir.file("d.log"), withIntermediateDirectories: true)
            let t = tailer(dir, collector: c)
            c.poll(t)
            #expect(t.followedPaths.isEmpty)
            return
        }
        let dir = Dir(), c = Collector()
        dir.append("w.log", "x\n")
        chmod(dir.file("w.log"), 0)
        let t = tailer(dir, collector: c)
        c.poll(t)
        c.poll(t)
        #expect(c.messages.filter { $0.contains("cannot open") }.count == 1)
        chmod(dir.file("w.log"), 0o644)
        c.poll(t)
        #expect(c.texts == ["x"])
    }

    @Test("a log directory removed and created again is followed again")
    func directoryRecreated() throws {
        let dir = Dir(), c = Collector()
        let logs = dir.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let t = FileTailer(globs: [logs + "/*.log"], saved: []) { c.messages.append($1) }
        dir.append("logs/w.log", "before\n")
        c.poll(t)
        try FileManager.default.removeItem(atPath: logs)
        c.poll(t)
        #expect(t.followedPaths.isEmpty)
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        dir.append("logs/w.log", "after\n")
        c.poll(t)
        #expect(c.texts == ["before", "after"])
    }

    @Test("a glob that also matches rotated names: the renamed file is the same file at the same offset, never a second worker; compressed rotations are never read")
    func wideGlob() throws {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, "w.log*", collector: c)
        dir.append("w.log", "a1\na2\n")
        c.poll(t)
        try FileManager.default.moveItem(atPath: dir.file("w.log"), toPath: dir.file("w.log.1"))
        dir.append("w.log", "b1\n")
        // An older rotation, compressed (gzip magic), and an uncompressed one with a .gz name.
        FileManager.default.createFile(atPath: dir.file("w.log.2.gz"), contents: Data([0x1F, 0x8B, 0x08, 0x00, 0x0A]))
        dir.append("w.log.3.gz", "plain text under a compressed name\n")
        for _ in 0..<3 { c.poll(t) }
        #expect(c.texts == ["a1", "a2", "b1"])
        #expect(Set(c.lines.map(\.1)) == ["file:\(dir.file("w.log"))"])
        #expect(t.followedPaths == [dir.file("w.log")])
        // A file that appears with a compressed name the glob matches on its own is not read either.
        let c2 = Collector()
        let t2 = tailer(dir, "*.gz", collector: c2)
        c2.poll(t2)
        #expect(c2.texts.isEmpty)
    }

    @Test("rotation names: numbered, dated, before the extension, compressed; other workers' logs are not rotations")
    func rotationNames() {
        #expect(FileTailer.isRotation("w.log.1", of: "w.log"))
        #expect(FileTailer.isRotation("w.log.2.gz", of: "w.log"))
        #expect(FileTailer.isRotation("w.log-20261201", of: "w.log"))
        #expect(FileTailer.isRotation("w.log-20261201-1796119251.gz", of: "w.log"))
        #expect(FileTailer.isRotation("w.2026-12-01.log", of: "w.log"))
        #expect(FileTailer.isRotation("w.1.log", of: "w.log"))
        #expect(!FileTailer.isRotation("w.log", of: "w.log"))
        #expect(!FileTailer.isRotation("w-2.log", of: "w.log"))
        #expect(!FileTailer.isRotation("w.logx", of: "w.log"))
        #expect(!FileTailer.isRotation("w.log.old", of: "w.log"))
        #expect(!FileTailer.isRotation("other.log.1", of: "w.log"))
    }

    @Test("create rotation while the worker writes to its old descriptor: the renamed file is read for the rotate wait and until it stops growing")
    func rotateWait() throws {
        let dir = Dir(), c = Collector(), clock = Clock()
        let t = tailer(dir, collector: c, rotateWait: 5, clock: clock)
        let old = FileHandle(forWritingAtPath: { dir.append("w.log", "a1\n"); return dir.file("w.log") }())!
        old.seekToEndOfFile()
        c.poll(t)
        try FileManager.default.moveItem(atPath: dir.file("w.log"), toPath: dir.file("w.log.1"))
        dir.append("w.log", "")
        c.poll(t)
        // The worker has not reopened yet: it goes on writing to the renamed file.
        old.write(Data("a2\na3-par".utf8))
        clock.now += 1
        c.poll(t)
        #expect(c.texts == ["a1", "a2"])
        #expect(t.drainingPaths == [dir.file("w.log.1")])
        old.write(Data("tial\n".utf8))
        clock.now += 3
        c.poll(t)
        // Past the wait but it grew in this poll: still read.
        old.write(Data("a4\n".utf8))
        clock.now += 2
        c.poll(t)
        #expect(t.drainingPaths == [dir.file("w.log.1")])
        // Reopened: new lines go to the new file; the old one stops growing and is finished.
        old.closeFile()
        dir.append("w.log", "b1\n")
        clock.now += 1
        c.poll(t)
        #expect(t.drainingPaths.isEmpty)
        #expect(c.texts == ["a1", "a2", "a3-partial", "a4", "b1"])
        #expect(Set(c.lines.map(\.1)) == ["file:\(dir.file("w.log"))"])
        // Its position is in the state while it is read, under its rotated name and its followed name.
        let dir2 = Dir()
        let c2 = Collector()
        let t2 = tailer(dir2, collector: c2, rotateWait: 5, clock: clock)
        dir2.append("w.log", "b2\n")
        c2.poll(t2)
        try FileManager.default.moveItem(atPath: dir2.file("w.log"), toPath: dir2.file("w.log.1"))
        c2.poll(t2)
        let saved = t2.positions
        #expect(saved.map(\.followedPath) == [dir2.file("w.log")])
        #expect(saved.map(\.path) == [dir2.file("w.log.1")])
        dir2.append("w.log.1", "b3\n")
        let c3 = Collector()
        let t3 = tailer(dir2, saved: saved, collector: c3, rotateWait: 0, clock: clock)
        t3.drainRotatedWhileStopped { start, length, worker in c3.lines.append((String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self), worker)) }
        c3.poll(t3)
        #expect(c3.texts == ["b3"])
    }

    @Test("copytruncate while running: the lines only the copy holds are read from it, then the file from its start")
    func copyTruncateRunning() throws {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c)
        dir.append("w.log", "2020-05-05T12:00:00.000: l1\n2020-05-05T12:00:00.001: l2\n")
        c.poll(t)
        // Written after the last read, then copied and truncated before the next one.
        dir.append("w.log", "2020-05-05T12:00:00.002: l3\n2020-05-05T12:00:00.003: l4-par")
        try copyTruncate(dir, "w.log", to: "w.log.1")
        dir.append("w.log", "2020-05-05T12:00:01.000: n1\n")
        c.poll(t)
        #expect(c.texts == ["2020-05-05T12:00:00.000: l1", "2020-05-05T12:00:00.001: l2", "2020-05-05T12:00:00.002: l3",
                            "2020-05-05T12:00:00.003: l4-par", "2020-05-05T12:00:01.000: n1"])
        #expect(t.truncations == 1)
        #expect(c.messages.contains { $0.contains("read its copy \(dir.file("w.log.1"))") })
        // A second rotation with delaycompress: .1 becomes .2.gz, a new copy is .1.
        dir.append("w.log", "2020-05-05T12:00:02.000: n2\n")
        c.poll(t)
        dir.append("w.log", "2020-05-05T12:00:02.001: n3\n")
        try FileManager.default.moveItem(atPath: dir.file("w.log.1"), toPath: dir.file("w.log.2.gz"))
        try copyTruncate(dir, "w.log", to: "w.log.1")
        c.poll(t)
        #expect(c.texts.suffix(2) == ["2020-05-05T12:00:02.000: n2", "2020-05-05T12:00:02.001: n3"])
        #expect(t.rotationLosses == 0)
        // Compressed at once (no delaycompress): the loss is reported and counted.
        dir.append("w.log", "2020-05-05T12:00:03.000: n4\n")
        c.poll(t)
        dir.append("w.log", "2020-05-05T12:00:03.001: n5\n")
        try copyTruncate(dir, "w.log", to: "w.log.3")
        try FileManager.default.removeItem(atPath: dir.file("w.log.3"))
        c.poll(t)
        #expect(t.rotationLosses == 1)
        #expect(c.messages.last?.contains("may be lost") == true)
    }

    @Test("copytruncate while stopped: the lines written before it are read from the copy at the saved offset")
    func copyTruncateStopped() throws {
        let dir = Dir(), c1 = Collector()
        let t1 = tailer(dir, "w.log*", collector: c1)
        let before = (0..<20).map { "2020-05-05T12:00:00.\(100 + $0): before \($0)" }
        dir.append("w.log", before.joined(separator: "\n") + "\n")
        c1.poll(t1)
        let saved = t1.positions
        let stopped = (0..<400).map { "2020-05-05T12:00:01.\(100 + $0 % 900): while stopped \($0)" }
        dir.append("w.log", stopped.joined(separator: "\n") + "\n")
        try copyTruncate(dir, "w.log", to: "w.log.1")
        dir.append("w.log", "2020-05-05T12:00:09.000: after\n")
        let c2 = Collector()
        let t2 = tailer(dir, "w.log*", saved: saved, collector: c2)
        t2.drainRotatedWhileStopped { _, _, _ in Issue.record("nothing was rotated away") }
        c2.poll(t2)
        #expect(c2.texts == stopped + ["2020-05-05T12:00:09.000: after"])
        #expect(c2.messages.contains { $0.contains("truncated while stopped (copytruncate)") })
    }

    @Test("a followed file renamed to another name the glob follows is the same file, at the same offset")
    func renamedToFollowedName() throws {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c, rotateWait: 5)
        dir.append("a.log", "x1\n")
        c.poll(t)
        try FileManager.default.moveItem(atPath: dir.file("a.log"), toPath: dir.file("b.log"))
        dir.append("b.log", "x2\n")
        c.poll(t)
        c.poll(t)
        #expect(c.texts == ["x1", "x2"])
        #expect(t.followedPaths == [dir.file("b.log")])
    }

    @Test("a glob that matches nothing is reported, and no longer once it matches")
    func emptyGlob() {
        let dir = Dir(), c = Collector()
        let t = tailer(dir, collector: c)
        c.poll(t)
        #expect(t.emptyGlobs == [dir.file("*.log")])
        dir.append("w.log", "x\n")
        c.poll(t)
        #expect(t.emptyGlobs.isEmpty)
    }
}
