import NCFKernels

/// Proposes the next parameter set of a sweep from its config and the runs so far.
///
/// A sampler holds no state between calls: everything it needs is in `(config, runs)`, so resuming
/// a sweep, or another agent joining it, is just reading the store again. Randomness comes from
/// the `rng` the caller derives from the sweep seed and the number of runs, so the same inputs and
/// seed give the same suggestion.
public protocol Sampler: Sendable {
    /// The next `count` parameter sets (fewer when a grid runs out; empty when it is exhausted).
    /// `runs` includes pending and running runs, which a sampler must account for (a grid skips
    /// their points; bayes treats them as pending observations).
    func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]]
}
