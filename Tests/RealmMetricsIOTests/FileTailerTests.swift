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

    func tailer(_ dir: Dir, _ glob: String = "*.log", saved: [FilePosition] = [], collector: Collector, maxLineBytes: Int = 65536) -> FileTailer {
        FileTailer(globs: [dir.file(glob)], maxLineBytes: maxLineBytes, saved: saved) { collector.messages.append($0) }
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
        let t = FileTailer(globs: [logs + "/*.log"], saved: []) { c.messages.append($0) }
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
}
