import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Live: the layout warning", .serialized)
struct LayoutWarningTests {
    @Test("ros1 lines read with the default layout: one warning naming ros1, in stderr and in status; counts go on")
    func wrongLayout() throws {
        let dir = TempDir()
        // 29 ros1 lines, every one matched or ignored by ros1: seven rounds are past the 200-line sample.
        let ros1 = try sampleLines("ros1.sample.log")
        let lines = Array(repeating: ros1, count: 7).flatMap { $0 }
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        let receiver = try StatsdReceiver()
        defer { receiver.stop() }
        let args = ["run", "--file", dir.file("w.log"), "--statsd", "127.0.0.1:\(receiver.port)", "--flush-interval", "0.2",
                    "--state-dir", dir.file("state"), "--prefix", "realm.t"]
        let sidecar = try Sidecar(args, stderrPath: dir.file("err"))
        try sidecar.waitForStderr("reporting from now on")
        let warning = "worker file:\(dir.file("w.log")): its lines match almost nothing of the realm-sync-worker layout (0 of its first 200 lines recognised); they look like ros1 (200 of 200): try --patterns ros1"
        try sidecar.waitForStderr("realm-metrics: warning: \(warning)\n", seconds: 5)
        appendText(dir.file("w.log"), lines.joined(separator: "\n") + "\n")
        #expect(waitUntil(10) { stateCounts(dir)["lines_read"] == Int64(2 * lines.count) })
        #expect(sidecar.stderr.components(separatedBy: "look like ros1").count == 2, "warned once: \(sidecar.stderr)")
        let (status, out, _) = try sh("'\(Repo.binary)' status --state-dir '\(dir.file("state"))'")
        #expect(status == 0)
        #expect(out.contains("warnings:\n  \(warning)\n"), "\(out)")
        #expect(sidecar.terminate() == 0)
    }
}
