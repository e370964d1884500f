import Foundation

/// A random number generator for tests whose seed is printed, so a failure can be replayed:
/// `REALM_METRICS_TEST_SEED=<seed> swift test --filter <test>` runs it again with the same numbers.
/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
public struct SeededRandom: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    /// The seed from `REALM_METRICS_TEST_SEED`, else a new one; printed with `test`'s name.
    public init(_ test: String) {
        let given = ProcessInfo.processInfo.environment["REALM_METRICS_TEST_SEED"].flatMap { UInt64($0) }
        var system = SystemRandomNumberGenerator()
        seed = given ?? system.next()
        state = seed
        print("\(test): random seed \(seed) (replay with REALM_METRICS_TEST_SEED=\(seed))")
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
