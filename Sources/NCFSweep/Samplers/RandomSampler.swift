import NCFKernels

/// Random search: every parameter drawn on its own through its inverse CDF, `ppf(u)` with
/// u ~ U[0, 1) from the caller's seeded generator (`reference/sweep-config.md` §3).
///
/// Past runs are ignored (no de-duplication) and the search never ends by itself: `--count`,
/// `run_cap` or `metric.target` end the sweep. Leaves are drawn depth first in name order, so
/// the same generator state gives the same configs.
public struct RandomSampler: Sampler {
    public init() {}

    public func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
        let leaves = flattenParameters(config.parameters)
        return (0..<max(0, count)).map { _ in Self.draw(leaves, rng: &rng) }
    }

    /// One random config: each leaf at an independent uniform quantile.
    /// - Complexity: O(leaves), plus the inverse CDF's cost (a bisection for beta forms).
    public static func draw(_ leaves: [ParameterLeaf], rng: inout SplitMix64) -> [String: ParamValue] {
        unflattenConfig(leaves, leaves.map { leaf in
            if case .constant(let value) = leaf.spec { return value }
            return leaf.spec.ppf(rng.nextDouble())
        })
    }
}
