/// W&B's hyperband early termination (engine 0.3.0 semantics, `reference/sweep-config.md` §6).
///
/// Bands count logged values of the metric. At each band b, the values of every run that logged
/// at least b values (its b-th value, 1-based) are sorted best-first and the threshold is the
/// value at position ⌊n/eta⌋, so about the top 1/eta pass; with no such run the threshold is +∞.
/// Only running runs are stopped: a run whose highest reached band is b stops when its metric is
/// strictly worse than b's threshold, where its metric is the value at the band (`strict`, the
/// default) or its best value so far. Maximised metrics are negated first; non-finite values are
/// dropped from histories, as the reference does.
///
/// Like every pruner it holds no state: thresholds are recomputed from the histories on each call.
public struct HyperbandPruner: Pruner {
    /// Band positions (numbers of logged values), ascending.
    public let bands: [Int]
    public let eta: Double
    public let strict: Bool

    /// The pruner of a hyperband config. A config with no band (neither `min_iter` nor `max_iter`
    /// with `s`, or bands that all vanish; validation refuses both) stops nothing.
    public init(_ config: SweepConfig.Hyperband) {
        self.bands = Self.bands(for: config)
        self.eta = config.eta
        self.strict = config.strict
    }

    /// The band positions of a hyperband config (empty when none survive, which validation rejects).
    ///
    /// - `min_iter`: ⌊min_iter · etaᵏ⌋ for k = 0…99 (bands past 2⁴⁰ are left out: no run gets there).
    /// - `max_iter` + `s`: max_iter/eta, max_iter/eta², … up to s times while ≥ 1, floored, ascending.
    public static func bands(for config: SweepConfig.Hyperband) -> [Int] {
        let limit = Double(1 << 40)
        if let maxIter = config.maxIter, let s = config.s {
            var band = Double(maxIter)
            var out: [Int] = []
            let steps = max(0, Int(s.rounded(.down)))
            for _ in 0..<steps {
                band /= config.eta
                if band < 1 { break }
                out.append(Int(band.rounded(.down)))
            }
            return out.sorted()
        }
        if let minIter = config.minIter {
            var band = Double(minIter)
            var out: [Int] = []
            for _ in 0..<100 {
                guard band < limit else { break }
                out.append(Int(band.rounded(.down)))
                band *= config.eta
            }
            return out
        }
        return []
    }

    /// The threshold at each band (minimisation units: negated for `maximize`), +∞ where no run
    /// has got that far.
    /// - Complexity: O(bands · runs · log runs).
    public func thresholds(_ runs: [RunRecord], metric: SweepConfig.Metric) -> [Double] {
        let histories = runs.map { Self.minimizationHistory($0, metric) }.filter { !$0.isEmpty }
        let r = 1 / eta
        return bands.map { band in
            guard band >= 1 else { return .infinity }
            let values = histories.filter { $0.count >= band }.map { $0[band - 1] }.sorted()
            guard !values.isEmpty else { return .infinity }
            return values[min(values.count - 1, Int(r * Double(values.count)))]
        }
    }

    public func runsToStop(_ runs: [RunRecord], metric: SweepConfig.Metric) -> [Int] {
        let thresholds = thresholds(runs, metric: metric)
        var stop: [Int] = []
        for run in runs where run.state == .running {
            let history = Self.minimizationHistory(run, metric)
            var reached: (band: Int, threshold: Double)?
            for (band, threshold) in zip(bands, thresholds) {
                guard band <= history.count else { break }
                reached = (band, threshold)
            }
            guard let (band, threshold) = reached, band >= 1 else { continue }
            let value = strict ? history[band - 1] : (history.min() ?? .infinity)
            if value > threshold { stop.append(run.id) }
        }
        return stop
    }

    /// The run's finite metric values, negated when maximising.
    static func minimizationHistory(_ run: RunRecord, _ metric: SweepConfig.Metric) -> [Double] {
        let finite = run.history.filter(\.isFinite)
        return metric.goal == .maximize ? finite.map { -$0 } : finite
    }
}
