import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what a sidecar follows, whether it is healthy, where it stands, its worker lives, last flush, counts, warnings and last error.",
        discussion: """
            Reads <state-dir>/state.json, which `run` writes after every flush, and only reads it: it works \
            while a sidecar runs. The sidecar is healthy when the state was saved at most three flush \
            intervals ago (at least 30 s) and its last flush reached statsd. The last error is shown with \
            its time and whether it still held at the last flush; a refused reload (SIGHUP) with its reason.

            Exit status (usable as a health check):
              0  healthy
              1  no state, or a state that cannot be read (permission denied) or used (damaged)
              2  stale (older than three flush intervals, at least 30 s) or the last flush failed

            --json prints one JSON object instead (keys: state_file, following, saved_at, \
            saved_at_millis, age_seconds, flush_interval_seconds, stale_after_seconds, healthy, problems, \
            last_flush_failed, last_error {message, at, at_millis, current}, last_reload_error {message, \
            at, at_millis}, warnings, counts, workers [{key, lives, ended, log_level, open}], journal \
            {cursor_at}, files [{path, device, inode, offset}], unsent_counters); without a usable state \
            only state_file, healthy (false) and problems. The exit status is the same.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The sidecar's state directory.", valueName: "dir"))
    var stateDir = "/var/lib/realm-metrics"

    @Flag(name: .long, help: "Print one JSON object (for scripts) instead of text.")
    var json = false

    func run() throws {
        let file = StateFile(directory: stateDir)
        let out = FDWriter.standardOutput()
        let state: SidecarState
        do {
            guard let loaded = try file.load() else {
                throw unavailable(file, "no state: the sidecar has not run with this --state-dir yet (no \(file.path))", out)
            }
            state = loaded
        } catch let error as ExitCode {
            throw error
        } catch let error as StateFile.Unreadable where error.permissionDenied {
            throw unavailable(file, "\(error); run status as root or as the user the sidecar runs as", out)
        } catch {
            throw unavailable(file, "\(error)", out)
        }
        let now = wallClockMillisForCLI()
        out.write(json ? StatusReport.json(state, path: file.path, nowMillis: now) : StatusReport.render(state, path: file.path, nowMillis: now))
        out.flush()
        let status = StatusReport.health(state, nowMillis: now).exitStatus
        if status != 0 { throw ExitCode(status) }
    }

    /// Reports a state that cannot be used (also as JSON with --json) and gives exit status 1.
    private func unavailable(_ file: StateFile, _ problem: String, _ out: FDWriter) -> ExitCode {
        if json {
            out.write(StatusReport.json(unavailable: file.path, problem: problem))
            out.flush()
        }
        let stderr = FDWriter.standardError()
        stderr.write("realm-metrics: error [\(RealmMetricsError.Code.state.rawValue)]: \(problem)\n")
        stderr.flush()
        return ExitCode(StatusReport.ExitStatus.noState.rawValue)
    }
}
