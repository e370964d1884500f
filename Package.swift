// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "realm-metrics",
    products: [
        .executable(name: "realm-metrics", targets: ["realm-metrics"]),
        .library(name: "RealmMetricsCore", targets: ["RealmMetricsCore"]),
        .library(name: "RealmMetricsIO", targets: ["RealmMetricsIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The Prometheus endpoint of `run` (HTTP/1.1 on its own event loop thread).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // PCRE2 (8-bit code units). Only RealmMetricsCore imports it, in Regex/PCRE2Regex.swift.
        .systemLibrary(
            name: "CPCRE2",
            path: "Sources/CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        // libsystemd's sd_journal and sd_notify APIs. Only RealmMetricsIO imports it, in
        // Journal/Journal.swift and Live/ServiceNotifier.swift.
        .systemLibrary(
            name: "CSystemdJournal",
            path: "Sources/CSystemdJournal",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // Pure core: pattern files, compiled matcher, metric state and reconciliation, encodings. No I/O.
        .target(
            name: "RealmMetricsCore",
            dependencies: ["CPCRE2", .product(name: "Yams", package: "Yams")]
        ),
        // I/O: reading files and stdin, writing outputs, locating pattern files.
        .target(
            name: "RealmMetricsIO",
            dependencies: [
                "RealmMetricsCore", "CSystemdJournal",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Thin executable: options → configuration → library calls.
        .executableTarget(
            name: "realm-metrics",
            dependencies: [
                "RealmMetricsCore",
                "RealmMetricsIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libFuzzer target for the pattern-file loader and the line pipeline (make fuzz, make fuzz-long).
        .executableTarget(name: "realm-metrics-fuzz", dependencies: ["RealmMetricsCore"]),
        // Test helpers shared by the test targets (a random generator whose seed is printed).
        .target(name: "RealmMetricsTestSupport", path: "Tests/RealmMetricsTestSupport"),
        .testTarget(name: "RealmMetricsCoreTests", dependencies: ["RealmMetricsCore", "RealmMetricsTestSupport"]),
        .testTarget(name: "RealmMetricsIOTests", dependencies: ["RealmMetricsIO", "RealmMetricsCore", "RealmMetricsTestSupport"]),
        // End-to-end: the built binary against a real journald, real files, real UDP and a real statsd server.
        .testTarget(name: "RealmMetricsLiveTests", dependencies: ["RealmMetricsIO", "RealmMetricsCore", "realm-metrics", "RealmMetricsTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
