import ArgumentParser
import RealmMetricsCore
import RealmMetricsIO

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what a sidecar follows, where it stands, its worker lives, last flush, counts, warnings and last error.",
        discussion: "Reads <state-dir>/state.json, which `run` writes after every flush. Exit status 1 when there is none."
    )

    @Option(name: .long, help: ArgumentHelp("The sidecar's state directory.", valueName: "dir"))
    var stateDir = "/var/lib/realm-metrics"

    func run() throws {
        let file = StateFile(directory: stateDir)
        let state: SidecarState?
        do { state = try file.load() } catch {
            throw fail(RealmMetricsError(.state, "\(error)"))
        }
        guard let state else { throw fail(RealmMetricsError(.state, "\(file.path): no state: the sidecar has not run with this --state-dir yet")) }
        let out = FDWriter.standardOutput()
        out.write(StatusReport.render(state, path: file.path, nowMillis: wallClockMillisForCLI()))
        out.flush()
    }
}
