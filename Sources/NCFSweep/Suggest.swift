import NCFKernels

// Ask/tell without running anything: the next parameter sets of a sweep as a pure function of
// (config, past runs, seed). `ncf sweep suggest` prints it; agents use the same samplers.

/// What a sweep would do next: parameter sets to run, or that it is finished.
public struct SuggestResult: Sendable, Equatable {
    /// The next configs (nested groups as `.map`, constants included); empty when `done`.
    public var suggestions: [[String: ParamValue]]
    /// True when no new run should start: the search space is exhausted, `run_cap` is reached, or a run
    /// reached `metric.target`.
    public var done: Bool
    /// Why the sweep is done (`search space exhausted`, `run_cap reached`, `target reached`), nil otherwise.
    public var reason: String?

    public init(suggestions: [[String: ParamValue]], done: Bool, reason: String? = nil) {
        self.suggestions = suggestions
        self.done = done
        self.reason = reason
    }

    /// `{"suggestions":[{...},...]}` or `{"done":true}`, canonical JSON (sorted keys, no spaces).
    public var json: String {
        if done { return #"{"done":true}"# }
        return #"{"suggestions":["# + suggestions.map { ParamValue.canonicalJSON($0) }.joined(separator: ",") + "]}"
    }
}

/// The next `n` parameter sets of a sweep, given its past runs.
///
/// - Sampler by `config.method` (`config.sampler`), drawing from
///   `SplitMix64(seed: seed, stream: UInt64(history.count))`: the same inputs and seed give the same
///   output, and each new run count gets fresh draws.
/// - Done (no suggestions) when a run reached `metric.target` (any run's best value at or past
///   it under the goal), when `run_cap` runs exist (stale runs do not count: their slot is given
///   back), or when a grid has nothing left. Otherwise `n` is trimmed to what `run_cap` leaves.
///
/// - Parameters:
///   - history: every run so far, in any state (pending and running runs are accounted for).
///   - n: how many parameter sets to return (at least 1 is asked for; fewer from a grid near its end).
public func suggest(config: SweepConfig, history: [RunRecord], seed: UInt64, n: Int = 1) -> SuggestResult {
    if let metric = config.metric, let target = metric.target, targetReached(history, metric: metric, target: target) {
        return SuggestResult(suggestions: [], done: true, reason: "target reached")
    }
    var count = max(1, n)
    if let cap = config.runCap {
        let used = history.filter { $0.state != .stale }.count
        if used >= cap { return SuggestResult(suggestions: [], done: true, reason: "run_cap reached") }
        count = min(count, cap - used)
    }
    var rng = SplitMix64(seed: seed, stream: UInt64(history.count))
    let suggestions = config.sampler.next(count, config: config, runs: history, rng: &rng)
    if suggestions.isEmpty { return SuggestResult(suggestions: [], done: true, reason: "search space exhausted") }
    return SuggestResult(suggestions: suggestions, done: false)
}

/// Whether any run's best value reached `target` under the goal (≤ for minimize, ≥ for maximize).
public func targetReached(_ runs: [RunRecord], metric: SweepConfig.Metric, target: Double) -> Bool {
    for run in runs {
        for v in run.history + (run.metric.map { [$0] } ?? []) where v.isFinite {
            if metric.goal == .minimize ? v <= target : v >= target { return true }
        }
    }
    return false
}

extension SweepConfig {
    /// The sampler of the config's method.
    public var sampler: any Sampler {
        switch method {
        case .grid: GridSampler()
        case .random: RandomSampler()
        case .bayes: BayesSampler()
        }
    }

    /// The pruner of the config: hyperband when `early_terminate` is set (and a metric exists),
    /// else one that never stops anything.
    public var pruner: any Pruner {
        if let hb = earlyTerminate, metric != nil { return HyperbandPruner(hb) }
        return NopPruner()
    }
}
