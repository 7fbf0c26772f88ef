import NCFKernels

/// Random search: every parameter drawn on its own through its inverse CDF, `ppf(u)` with
/// u ~ U[0, 1) from the caller's seeded generator (`reference/sweep-config.md` §3).
///
/// A draw whose config a past run already has (in any state but `stale`) is drawn again: with its
/// config-derived seed it would train the same model (`RunConfigs`). In a small discrete space,
/// when redraws keep repeating, an unused config is picked uniformly, and when every config has
/// been used the search ends (`next` returns fewer suggestions), as an exhausted grid does.
/// Otherwise the search never ends by itself: `--count`, `run_cap` or `metric.target` end the
/// sweep. Suggestions within one call are independent draws (they may coincide). Leaves are drawn
/// depth first in name order, so the same generator state gives the same configs.
public struct RandomSampler: Sampler {
    public init() {}

    public func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
        let leaves = flattenParameters(config.parameters)
        guard !runs.isEmpty else { return (0..<max(0, count)).map { _ in Self.draw(leaves, rng: &rng) } }
        let configs = RunConfigs(config: config, runs: runs)
        var out: [[String: ParamValue]] = []
        for _ in 0..<max(0, count) {
            var draw = Self.draw(leaves, rng: &rng)
            var attempts = 0
            while configs.isUsed(draw) && attempts < 64 {
                draw = Self.draw(leaves, rng: &rng)
                attempts += 1
            }
            // Still a repeat: in an enumerated space pick an unused config (none left: the sweep
            // is done); in any other space a repeat after 64 draws is kept rather than ending the
            // sweep on a guess.
            if configs.isUsed(draw), let unused = configs.unused {
                guard !unused.isEmpty else { break }
                draw = unused[rng.nextInt(below: unused.count)]
            }
            out.append(draw)
        }
        return out
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
