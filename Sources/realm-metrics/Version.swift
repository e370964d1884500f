/// The release version, printed by --version.
let realmMetricsVersion = "0.1.0"
