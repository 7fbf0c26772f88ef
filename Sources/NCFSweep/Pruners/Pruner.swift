/// Decides which running runs to stop early, from all runs' metric histories.
///
/// Like a sampler, a pruner holds no state: thresholds are recomputed from the histories on every call.
public protocol Pruner: Sendable {
    /// The ids of the running runs in `runs` that should stop now.
    func runsToStop(_ runs: [RunRecord], metric: SweepConfig.Metric) -> [Int]
}

/// The pruner that never stops anything (no `early_terminate` in the config).
public struct NopPruner: Pruner {
    public init() {}
    public func runsToStop(_ runs: [RunRecord], metric: SweepConfig.Metric) -> [Int] { [] }
}
