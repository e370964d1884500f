/// The release version, printed by --version.
public let realmMetricsVersion = "0.1.0"
