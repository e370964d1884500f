import Testing
import RealmMetricsTestSupport
import Foundation
@testable import RealmMetricsIO
import RealmMetricsCore

/// `replay` reads, matches and applies on separate threads; these tests hold it to the result of the
/// plain single-thread reader on inputs made to trip line splitting: chunk edges inside lines, `\r\n`,
/// over-long lines, empty lines, NUL bytes, files without a final newline, several files, pipes.
@Suite("Threaded replay")
struct ParallelReplayTests {
    /// Lines whose every byte matters: a word's count is the sum of its numbers, and keyed opens and
    /// closes make the gauge and the orphan count depend on the order of the lines.
    static let patterns = """
        format: words
        rules:
          - name: word
            match: '^(?<w>[a-d]+) (?<n>\\d+)$'
            actions:
              - count: 'w.{w}'
                by: n
                cardinality: 500
          - name: open
            match: '^open (?<k>\\d+)$'
            actions:
              - open: keys
                key: '{k}'
          - name: close
            match: '^close (?<k>\\d+)$'
            actions:
              - close: keys
                key: '{k}'
          - name: restart
            match: '^restart$'
            actions: [{worker: start}]
        """

    /// A second layout for replays with two pattern files: lines after "X: ", counted apart.
    static let xPatterns = """
        format: xwords
        envelope:
          match: '^X: (?<message>.*)'
        rules:
          - name: xword
            match: '^(?<w>[a-d]+) (?<n>\\d+)$'
            actions:
              - count: 'x.{w}'
                by: n
                cardinality: 500
          - name: xopen
            match: '^open (?<k>\\d+)$'
            actions:
              - open: keys
                key: 'x{k}'
        """

    struct Result: Equatable {
        var output: String
        var stats: PipelineStats
        var truncated: Int64
        var bytes: Int64
    }

    static func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "parallel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try patterns.write(toFile: dir + "/words.yaml", atomically: true, encoding: .utf8)
        try xPatterns.write(toFile: dir + "/xwords.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    static func replay(_ dir: String, files: [String], threads: Int, chunkBytes: Int, maxLineBytes: Int, perFile: Bool,
                       twoLayouts: Bool = false) throws -> Result {
        var configuration = ReplayConfiguration(prefix: "t", files: files)
        configuration.patterns = [dir + "/words.yaml"] + (twoLayouts ? [dir + "/xwords.yaml"] : [])
        configuration.printSummary = true
        configuration.threads = threads
        configuration.chunkBytes = chunkBytes
        configuration.maxLineBytes = maxLineBytes
        configuration.workerPerFile = perFile
        let job = try ReplayJob(configuration: configuration, provider: FilePatternProvider(builtInDirectories: []))
        let outPath = dir + "/out-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let fd = open(outPath, O_WRONLY)
        let report = try job.run(output: FDWriter(fd: fd))
        close(fd)
        return Result(output: try String(contentsOfFile: outPath, encoding: .utf8), stats: report.stats,
                      truncated: report.truncatedLines, bytes: report.bytesRead)
    }

    static func randomLine(_ g: inout some RandomNumberGenerator, maxLineBytes: Int) -> [UInt8] {
        let word = String((0..<Int.random(in: 1...3, using: &g)).map { _ in "abcd".randomElement(using: &g)! })
        switch Int.random(in: 0..<20, using: &g) {
        case 0..<8: return Array("\(word) \(Int.random(in: 0...999, using: &g))".utf8)
        case 8..<10: return Array("\(word) \(Int.random(in: 0...999, using: &g))\r".utf8)
        case 10..<12: return Array("open \(Int.random(in: 0...30, using: &g))".utf8)
        case 12..<14: return Array("close \(Int.random(in: 0...30, using: &g))".utf8)
        case 14: return []
        case 15: return Array("restart".utf8)
        case 16: return Array("\(Bool.random(using: &g) ? "X: \(word) 4" : "X: open \(Int.random(in: 0...9, using: &g))")".utf8)
        case 17: return Array((Bool.random(using: &g) ? "\(word) 7\r\r" : "\(word) 1\0 2").utf8)
        default:
            // Around the line limit: cut lines keep their first maxLineBytes bytes.
            let n = Int.random(in: max(0, maxLineBytes - 3)...(3 * maxLineBytes), using: &g)
            return Array("\(word) ".utf8) + (0..<n).map { _ in UInt8(ascii: "1") + UInt8.random(in: 0...8, using: &g) }
        }
    }

    @Test("threads give exactly the single-thread result, whatever the chunk size, with one layout or two")
    func sameAsOneThread() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = SeededRandom(#function)
        for round in 0..<24 {
            let maxLineBytes = [8, 40, 200][round % 3]
            let twoLayouts = round % 2 == 1
            let fileCount = Int.random(in: 1...3, using: &g)
            var files: [String] = []
            for f in 0..<fileCount {
                // With two layouts the second always has a line to count, whatever the random lines hold.
                var bytes: [UInt8] = twoLayouts && f == 0 ? Array("X: a 1\n".utf8) : []
                for _ in 0..<Int.random(in: 0...600, using: &g) {
                    bytes += Self.randomLine(&g, maxLineBytes: maxLineBytes) + [0x0A]
                }
                if Bool.random(using: &g) { bytes += Self.randomLine(&g, maxLineBytes: maxLineBytes) }  // no final newline
                let path = dir + "/in-\(round)-\(f).log"
                _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
                files.append(path)
            }
            let perFile = Bool.random(using: &g)
            let one = try Self.replay(dir, files: files, threads: 1, chunkBytes: 1 << 16, maxLineBytes: maxLineBytes, perFile: perFile,
                                      twoLayouts: twoLayouts)
            if twoLayouts { #expect(one.output.contains("t.x.a:")) }
            #expect(one.stats.linesRead > 0 || files.allSatisfy { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) == 0 })
            for chunkBytes in [1, 16, 97, 1000, 1 << 16] {
                let threads = Int.random(in: 2...3, using: &g)
                let many = try Self.replay(dir, files: files, threads: threads, chunkBytes: chunkBytes, maxLineBytes: maxLineBytes, perFile: perFile,
                                           twoLayouts: twoLayouts)
                #expect(many == one, "round \(round): \(threads) threads, chunks of \(chunkBytes), lines up to \(maxLineBytes), two layouts: \(twoLayouts)")
            }
        }
    }

    @Test("a pipe that delivers a few bytes at a time gives the same result as the file")
    func pipe() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = SeededRandom(#function)
        var bytes: [UInt8] = []
        for _ in 0..<3000 { bytes += Self.randomLine(&g, maxLineBytes: 40) + [0x0A] }
        let file = dir + "/in.log"
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        let fifo = dir + "/in.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let payload = bytes
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            var offset = 0
            var g = SeededRandom(#function)
            while offset < payload.count {
                let n = min(payload.count - offset, Int.random(in: 1...700, using: &g))
                _ = payload.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, n) }
                offset += n
                if Int.random(in: 0..<50, using: &g) == 0 { usleep(1000) }
            }
            close(fd)
        }
        writer.start()
        let piped = try Self.replay(dir, files: [fifo], threads: 2, chunkBytes: 4096, maxLineBytes: 40, perFile: true)
        var fromFile = try Self.replay(dir, files: [file], threads: 1, chunkBytes: 4096, maxLineBytes: 40, perFile: true)
        fromFile.output = fromFile.output.replacingOccurrences(of: file, with: fifo)
        #expect(piped == fromFile)
        #expect(piped.stats.linesRead == 3000)
    }

    @Test("a read error stops the threads and names the file")
    func readError() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/good.log"
        try "a 1\nb 2\n".write(toFile: good, atomically: true, encoding: .utf8)
        // A directory opens, but reading it fails with EISDIR.
        let error = #expect(throws: RealmMetricsError.self) {
            try Self.replay(dir, files: [good, dir], threads: 2, chunkBytes: 64, maxLineBytes: 40, perFile: false)
        }
        #expect(error?.code == .input)
        #expect(error?.message.contains("\(dir): read failed: Is a directory") == true)
    }
}
