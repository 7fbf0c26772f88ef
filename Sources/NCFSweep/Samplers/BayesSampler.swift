import Foundation
import NCFKernels

/// Bayesian optimisation: a Gaussian process with expected improvement (`reference/sweep-config.md` §5),
/// with the reference's weak spots fixed.
///
/// **Encoding.** Each searchable leaf becomes coordinates in [0, 1]:
/// - continuous forms (uniform, log, normal, beta): one axis, the value's CDF (so log forms are
///   searched in log space and normal forms by their quantiles), decoded by the inverse CDF;
///   except a `uniform` range over a decade or more (0 < min, max ≥ 10·min, a learning rate say),
///   which gets a log axis, log(v / min) / log(max / min): the model then resolves the bottom of
///   the range, where such parameters usually have their optimum, as finely as the top. Random
///   draws and candidates still follow the uniform prior;
/// - `int_uniform` and the `q_*` forms: one axis, *snapped* to the centre of the value's cell
///   (ints) or to the CDF of the rounded value (q forms), so the acquisition is evaluated at the
///   point that will actually run and two candidates that decode alike are alike to the model;
/// - categoricals: one-hot, one axis per value (the reference uses a single ordinal axis, which
///   makes list order matter); candidates always hold exactly one 1. A one-value list has no axis.
///
/// **Data.** Finished runs count by their best value (`RunRecord.metric`, else the best of their
/// history). Stopped (early-terminated or interrupted) runs count by their best value too, and
/// stale runs that logged anything likewise. Failed runs, and finished or stopped runs that never
/// logged the metric, are imputed by `metric.impute`: `worst` is the worst value logged by any
/// run, `best` and `latest` are the run's own best and last value, each falling back to `worst`
/// (the reference falls back to 0.0, which is meaningless for a loss). With no logged value
/// anywhere, such runs are left out. Running and pending runs are *pending points* unless
/// `metric.impute_while_running` gives them a value from their history. `maximize` negates.
///
/// **Start.** Until there are `initialPoints` observations (max(2, searchable leaves + 1), at most
/// 10), suggestions are seeded random draws through each leaf's inverse CDF, the best-spread of a
/// few (farthest from every used and pending point), so parallel agents do not collide.
///
/// **Model and acquisition.** `GaussianProcess` (Matérn 5/2 ARD, fitted noise, MAP
/// hyper-parameters, a longer prior length-scale on one-hot axes) on standardised values, log-warped
/// when that makes them more probable (`OutputWarping.auto`: a tail of diverged runs no longer
/// flattens the good region, and a smooth surface is not distorted);
/// expected improvement over the best observation, maximised over 2000 seeded random candidates
/// plus perturbations of the five best observations at three scales, then refined by a short
/// seeded local search. Pending points and the suggestions already made
/// in the same call enter as fantasies at their predicted mean (kriging believer), so their
/// neighbourhood loses its expected improvement and `n` suggestions, or several agents, get
/// distinct points. A candidate equal to a used point is never chosen while any other remains.
///
/// **No repeats.** A config that a run already has (in any state but `stale`) is never proposed
/// again: with its config-derived seed it would train the same model (`RunConfigs`). In a small
/// discrete space the unused configs are enumerated, and when none is left `next` returns fewer
/// suggestions (none): the sweep ends as an exhausted grid does.
///
/// At most `maxObservations` observations are modelled: the best third and a seeded sample of the rest.
///
/// - Complexity: a fit is O(restarts · iterations · n³); the acquisition O(candidates · n²).
public struct BayesSampler: Sampler {
    /// Random candidates per suggestion for the acquisition.
    public var candidates = 2000
    /// Observations modelled at most (the fit is cubic in their number).
    public var maxObservations = 120
    /// Exploration offset of expected improvement, in standard deviations of the observed values.
    /// 0 (plain expected improvement) converged best on the quality benchmark.
    public var xi = 0.0
    /// Random restarts of the hyper-parameter fit (besides the default start).
    public var restarts = 1
    /// The prior median length-scale of one-hot coordinates (numeric axes: 0.5). Longer than for
    /// numeric axes, so that what one category teaches carries over to the others until the data
    /// say otherwise; 1.5 did best on the categorical-heavy NCF space of the quality benchmark.
    public var categoricalLengthScale = 1.5
    /// How observed values are transformed before the model sees them (see `OutputWarping`).
    /// `.auto` chooses between the values as they are and their log warp at every suggestion; on
    /// `ncf-bench sweep-quality` it keeps most of what `.log` gains on the NCF-shaped and
    /// Rosenbrock functions without `.log`'s loss on Hartmann-6 (README, "Results").
    public var outputWarping: OutputWarping = .auto
    /// Model `uniform` parameters whose range spans a decade or more (0 < min, max ≥ 10·min) on a
    /// log axis, as `SearchSpace` describes; suggestions still follow the uniform prior.
    public var logScaleWideRanges = true

    public init() {}

    public func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
        guard count > 0 else { return [] }
        let space = SearchSpace(config.parameters, logScale: logScaleWideRanges)
        guard let metric = config.metric, space.dim > 0 else {
            return RandomSampler().next(count, config: config, runs: runs, rng: &rng)
        }
        let data = Self.observations(runs, space: space, metric: metric)
        var configs = RunConfigs(config: config, runs: runs)
        var used = data.points + data.pending
        var out: [[Double]] = []

        if data.points.count < space.initialPoints {
            for _ in 0..<count {
                guard let point = freshRandomPoint(space, avoiding: used, configs: configs, rng: &rng) else { break }
                out.append(point)
                used.append(point)
                configs.insert(space.decode(point))
            }
            return out.map(space.decode)
        }

        var (points, values) = (data.points, data.values)
        if points.count > maxObservations {
            (points, values) = subsample(points, values, rng: &rng)
        }
        var (gp, _) = fitModel(points: points, values: values, space: space, rng: &rng)
        let incumbent = gp.bestStandardized
        for p in data.pending { gp.append(point: p, value: gp.predict(p).mean) }
        for _ in 0..<count {
            var point = maximizeEI(gp, incumbent: incumbent, space: space, observed: points, used: used, rng: &rng)
            if configs.isUsed(space.decode(point)) {
                if let fresh = bestUnusedPoint(gp, incumbent: incumbent, space: space, near: point, configs: configs, rng: &rng) {
                    point = fresh
                } else if configs.isEnumerable {
                    break  // every config of the space has run: the sweep is done
                }
                // Otherwise no new config was found nearby: keep the point rather than end the
                // sweep on a guess.
            }
            out.append(point)
            used.append(point)
            configs.insert(space.decode(point))
            gp.append(point: point, value: gp.predict(point).mean)
        }
        return out.map(space.decode)
    }

    /// The Gaussian process of the observations under `outputWarping`, and the warping used
    /// (for `auto`: of `none` and `log`, the one under which the observed values are more
    /// probable, each fit's evidence plus its warp's log-Jacobian).
    func fitModel(points: [[Double]], values: [Double], space: SearchSpace, rng: inout SplitMix64)
        -> (GaussianProcess, OutputWarping)
    {
        let priors = space.lengthScalePriors(categorical: categoricalLengthScale)
        func fit(_ warping: OutputWarping, _ rng: inout SplitMix64) -> GaussianProcess {
            GaussianProcess.fit(points: points, values: warping.apply(values), dim: space.dim,
                                lengthScalePriors: priors, restarts: restarts, rng: &rng)
        }
        guard outputWarping == .auto else { return (fit(outputWarping, &rng), outputWarping) }
        var plainRNG = rng
        let plain = fit(.none, &plainRNG)
        let logged = fit(.log, &rng)
        let plainScore = plain.logEvidence, loggedScore = logged.logEvidence + OutputWarping.log.logJacobian(values)
        return loggedScore > plainScore || !plainScore.isFinite ? (logged, .log) : (plain, .none)
    }

    /// The number of observations below which suggestions are random.
    public static func initialPoints(for config: SweepConfig) -> Int { SearchSpace(config.parameters).initialPoints }

    // MARK: - Data

    struct Observations {
        var points: [[Double]] = []
        /// Minimisation units (negated for `maximize`).
        var values: [Double] = []
        var pending: [[Double]] = []
    }

    static func observations(_ runs: [RunRecord], space: SearchSpace, metric: SweepConfig.Metric) -> Observations {
        let sign = metric.goal == .maximize ? -1.0 : 1.0
        // Worst value logged by any run, in minimisation units.
        var worst: Double?
        for run in runs {
            for v in run.history + (run.metric.map { [$0] } ?? []) where v.isFinite {
                worst = max(worst ?? sign * v, sign * v)
            }
        }
        func best(_ run: RunRecord) -> Double? {
            if let m = run.metric, m.isFinite { return sign * m }
            return run.history.filter(\.isFinite).map { sign * $0 }.min()
        }
        func latest(_ run: RunRecord) -> Double? { run.history.last(where: \.isFinite).map { sign * $0 } }
        func own(_ rule: SweepConfig.Impute, _ run: RunRecord) -> Double? {
            switch rule {
            case .worst: return worst
            case .best: return best(run) ?? worst
            case .latest: return latest(run) ?? worst
            }
        }
        var data = Observations()
        for run in runs {
            guard let point = space.encode(run.config) else { continue }
            let value: Double?
            switch run.state {
            case .finished, .stopped:
                value = best(run) ?? own(metric.impute, run)
            case .failed:
                value = own(metric.impute, run)
            case .stale:
                value = best(run)
            case .running, .pending:
                if let rule = metric.imputeWhileRunning, !run.history.filter(\.isFinite).isEmpty {
                    value = own(rule, run)
                } else {
                    data.pending.append(point)
                    continue
                }
            }
            guard let v = value, v.isFinite else { continue }
            data.points.append(point)
            data.values.append(v)
        }
        return data
    }

    /// The best third of the observations plus a seeded sample of the rest, `maxObservations` in all.
    private func subsample(_ points: [[Double]], _ values: [Double], rng: inout SplitMix64) -> ([[Double]], [Double]) {
        let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
        let keepBest = maxObservations / 3
        var rest = Array(order[keepBest...])
        rng.shuffle(&rest)
        let chosen = (Array(order[..<keepBest]) + rest.prefix(maxObservations - keepBest)).sorted()
        return (chosen.map { points[$0] }, chosen.map { values[$0] })
    }

    // MARK: - Acquisition

    /// A random point (through the leaves' inverse CDFs), the farthest from `used` of a few draws.
    private func spreadRandomPoint(_ space: SearchSpace, avoiding used: [[Double]], rng: inout SplitMix64) -> [Double] {
        var best: [Double] = space.randomPoint(&rng)
        guard !used.isEmpty else { return best }
        var bestDistance = minDistance(best, used)
        for _ in 0..<7 {
            let p = space.randomPoint(&rng)
            let d = minDistance(p, used)
            if d > bestDistance { best = p; bestDistance = d }
        }
        return best
    }

    /// A random point whose config no run has used (`spreadRandomPoint`, redrawn on a repeat);
    /// in an enumerable space, the best-spread unused config when draws keep repeating, and nil
    /// when every config has been used; in any other space the last draw, even a repeat.
    private func freshRandomPoint(_ space: SearchSpace, avoiding used: [[Double]], configs: RunConfigs,
                                  rng: inout SplitMix64) -> [Double]? {
        var p = spreadRandomPoint(space, avoiding: used, rng: &rng)
        for _ in 0..<32 where configs.isUsed(space.decode(p)) {
            p = spreadRandomPoint(space, avoiding: used, rng: &rng)
        }
        if !configs.isUsed(space.decode(p)) { return p }
        // Still a repeat: an enumerated space offers its unused configs (none left: done); any
        // other space keeps the point rather than end the sweep on a guess.
        guard let unused = configs.unused else { return p }
        let candidates = unused.compactMap(space.encode)
        guard !candidates.isEmpty else { return nil }
        guard !used.isEmpty else { return candidates[rng.nextInt(below: candidates.count)] }
        return candidates.max { minDistance($0, used) < minDistance($1, used) }
    }

    /// An alternative to `point`, whose config a run already has: in an enumerable space the
    /// unused config of highest expected improvement (nil when none is left), otherwise the best
    /// of nearby and random points whose configs are new (nil if a few hundred draws find none).
    private func bestUnusedPoint(_ gp: GaussianProcess, incumbent: Double, space: SearchSpace, near point: [Double],
                                 configs: RunConfigs, rng: inout SplitMix64) -> [Double]? {
        var candidates: [[Double]]
        if let unused = configs.unused {
            candidates = unused.compactMap(space.encode)
        } else {
            candidates = []
            for i in 0..<400 where candidates.count < 50 {
                let p = i % 2 == 0 ? space.perturb(point, scale: 0.05, rng: &rng) : space.randomPoint(&rng)
                if !configs.isUsed(space.decode(p)) { candidates.append(p) }
            }
        }
        return candidates.max {
            expectedImprovement(gp, $0, incumbent: incumbent) < expectedImprovement(gp, $1, incumbent: incumbent)
        }
    }

    private func minDistance(_ p: [Double], _ others: [[Double]]) -> Double {
        var best = Double.infinity
        for o in others {
            var s = 0.0
            for k in p.indices { s += (p[k] - o[k]) * (p[k] - o[k]) }
            best = min(best, s)
        }
        return best
    }

    private func expectedImprovement(_ gp: GaussianProcess, _ point: [Double], incumbent: Double) -> Double {
        let (mean, variance) = gp.predictStandardized(point)
        let sd = variance.squareRoot()
        let improvement = incumbent - mean - xi
        guard sd > 1e-9 else { return max(improvement, 0) }
        let z = improvement / sd
        return improvement * normalCDF(z) + sd * normalPDF(z)
    }

    private func maximizeEI(_ gp: GaussianProcess, incumbent: Double, space: SearchSpace, observed: [[Double]],
                            used: [[Double]], rng: inout SplitMix64) -> [Double] {
        let usedSet = Set(used)
        func score(_ p: [Double]) -> Double {
            usedSet.contains(p) ? -1 : expectedImprovement(gp, p, incumbent: incumbent)
        }
        var pool: [([Double], Double)] = []
        pool.reserveCapacity(candidates + 200)
        for _ in 0..<candidates {
            let p = space.randomPoint(&rng)
            pool.append((p, score(p)))
        }
        // Perturbations of the best observations.
        let predicted = observed.map { gp.predictStandardized($0).mean }
        let bestObserved = observed.indices.sorted { predicted[$0] < predicted[$1] || (predicted[$0] == predicted[$1] && $0 < $1) }
            .prefix(5)
        for i in bestObserved {
            for scale in [0.1, 0.03, 0.01] {
                for _ in 0..<10 {
                    let p = space.perturb(observed[i], scale: scale, rng: &rng)
                    pool.append((p, score(p)))
                }
            }
        }
        pool.sort { $0.1 > $1.1 }
        // Local refinement of the top few distinct candidates.
        var best = pool[0]
        var starts: [[Double]] = []
        for (p, _) in pool where !starts.contains(p) {
            starts.append(p)
            if starts.count == 3 { break }
        }
        for start in starts {
            var current = (start, score(start))
            for step in 0..<40 {
                let scale = 0.05 * (1 - Double(step) / 40) + 0.005
                let p = space.perturb(current.0, scale: scale, rng: &rng)
                let s = score(p)
                if s > current.1 { current = (p, s) }
            }
            if current.1 > best.1 { best = current }
        }
        if best.1 < 0 {
            // Every candidate repeats a used point (a small discrete space, nearly exhausted):
            // fall back to the best-spread random point.
            return spreadRandomPoint(space, avoiding: used, rng: &rng)
        }
        return best.0
    }
}

// MARK: - Output warping

/// A monotone transform of the observed values before the Gaussian process is fitted. Expected
/// improvement is computed in the transformed units; as the transform keeps the order of values,
/// the incumbent and the direction of improvement are unchanged.
public enum OutputWarping: String, Sendable, CaseIterable {
    /// The values as they are.
    case none
    /// log(y − min + δ), δ = 1% of the range plus a tiny absolute floor: a long tail of bad
    /// values (a learning rate that diverges) no longer dominates the scale, so the model resolves
    /// the differences among good runs.
    case log
    /// `none` or `log`, chosen at every suggestion by which makes the observed values more
    /// probable: a Gaussian process is fitted to each and their evidence compared, the log warp's
    /// Jacobian included (a likelihood-ratio choice of transform, as in Box–Cox).
    case auto

    /// The transformed values, in the same order (`auto` transforms nothing by itself).
    /// - Complexity: O(n).
    func apply(_ values: [Double]) -> [Double] {
        guard values.count > 1 else { return values }
        switch self {
        case .none, .auto:
            return values
        case .log:
            let (lo, delta) = logShift(values)
            return values.map { Foundation.log($0 - lo + delta) }
        }
    }

    /// Σ log |d warp(y) / dy| over the values: what the warp adds to their log density.
    func logJacobian(_ values: [Double]) -> Double {
        guard values.count > 1, self == .log else { return 0 }
        let (lo, delta) = logShift(values)
        return values.reduce(0) { $0 - Foundation.log($1 - lo + delta) }
    }

    /// The log warp's offset: the smallest value, and δ = 1% of the range plus a tiny floor.
    private func logShift(_ values: [Double]) -> (lo: Double, delta: Double) {
        let lo = values.min() ?? 0, hi = values.max() ?? 0
        return (lo, 0.01 * (hi - lo) + 1e-12 * max(1, abs(lo)))
    }
}

// MARK: - Search space

/// The encoding of a sweep's leaves onto [0, 1]^dim (see `BayesSampler`).
struct SearchSpace {
    enum Axis {
        /// One coordinate: the value's CDF.
        case continuous
        /// One coordinate: log(v / min) / log(max / min), for a `uniform` range over orders of
        /// magnitude modelled in log space (see `logScaleCandidates`). Draws still follow the prior.
        case logScale(min: Double, max: Double)
        /// One coordinate, snapped onto the values the form can take.
        case discrete
        /// `count` one-hot coordinates (none for a single value).
        case categorical([ParamValue])
        /// No coordinate.
        case constant(ParamValue)
    }

    let leaves: [ParameterLeaf]
    let axes: [Axis]
    /// First coordinate of each leaf.
    let offsets: [Int]
    let dim: Int
    let searchableLeaves: Int

    /// - Parameter logScale: model `uniform` leaves with 0 < min and max ≥ 10·min on a log axis.
    init(_ parameters: [Parameter], logScale: Bool = true) {
        leaves = flattenParameters(parameters)
        var axes: [Axis] = []
        var offsets: [Int] = []
        var dim = 0
        for leaf in leaves {
            offsets.append(dim)
            switch leaf.spec {
            case .constant(let v):
                axes.append(.constant(v))
            case .categorical(let values, _):
                axes.append(.categorical(values))
                dim += values.count > 1 ? values.count : 0
            case .intUniform, .qUniform, .qLogUniformValues, .qNormal, .qLogNormal, .qBeta:
                axes.append(.discrete)
                dim += 1
            case .uniform(let lo, let hi) where logScale && lo > 0 && hi >= 10 * lo:
                axes.append(.logScale(min: lo, max: hi))
                dim += 1
            default:
                axes.append(.continuous)
                dim += 1
            }
        }
        self.axes = axes
        self.offsets = offsets
        self.dim = dim
        searchableLeaves = leaves.filter { $0.spec.isSearchable }.count
    }

    /// Whether any leaf would get a log axis with `logScale: true`.
    var hasLogScaleCandidates: Bool {
        leaves.contains { if case .uniform(let lo, let hi) = $0.spec { return lo > 0 && hi >= 10 * lo } else { return false } }
    }

    private static func logCoordinate(_ v: Double, _ lo: Double, _ hi: Double) -> Double {
        min(max(Foundation.log(v / lo) / Foundation.log(hi / lo), 0), 1)
    }

    /// The prior median length-scale of each coordinate: `categorical` for one-hot ones, 0.5 otherwise.
    func lengthScalePriors(categorical: Double) -> [Double] {
        var priors = [Double](repeating: 0.5, count: dim)
        for (i, axis) in axes.enumerated() {
            if case .categorical(let list) = axis, list.count > 1 {
                for j in 0..<list.count { priors[offsets[i] + j] = categorical }
            }
        }
        return priors
    }

    var initialPoints: Int { max(2, min(searchableLeaves + 1, 10)) }

    /// The coordinates of a run config; nil when a leaf is missing or not a value of its form.
    func encode(_ config: [String: ParamValue]) -> [Double]? {
        var point = [Double](repeating: 0, count: dim)
        for (i, leaf) in leaves.enumerated() {
            let o = offsets[i]
            switch axes[i] {
            case .constant:
                continue
            case .categorical(let values):
                guard values.count > 1 else { continue }
                guard let v = leafValue(in: config, at: leaf.path) else { return nil }
                let key = v.gridIdentity
                guard let k = values.firstIndex(where: { $0.gridIdentity == key }) else { return nil }
                point[o + k] = 1
            case .continuous:
                guard let v = leafValue(in: config, at: leaf.path), let u = leaf.spec.cdf(v) else { return nil }
                point[o] = u
            case .logScale(let lo, let hi):
                guard let v = leafValue(in: config, at: leaf.path), leaf.spec.cdf(v) != nil,
                      let x = v.numericValue else { return nil }
                point[o] = Self.logCoordinate(x, lo, hi)
            case .discrete:
                guard let v = leafValue(in: config, at: leaf.path), let u = discreteCoordinate(leaf.spec, v) else { return nil }
                point[o] = u
            }
        }
        return point
    }

    /// int_uniform: the centre of the value's cell; q forms: the CDF of the (rounded) value.
    private func discreteCoordinate(_ spec: ParameterSpec, _ value: ParamValue) -> Double? {
        if case .intUniform(let lo, let hi) = spec {
            guard let v = value.numericValue else { return nil }
            let n = Double(hi) - Double(lo) + 1
            return min(max((v.rounded() - Double(lo) + 0.5) / n, 0), 1)
        }
        return spec.cdf(value)
    }

    /// The run config at a point: continuous and discrete axes through the inverse CDF, one-hot
    /// groups by their largest coordinate.
    func decode(_ point: [Double]) -> [String: ParamValue] {
        var values: [ParamValue] = []
        for (i, leaf) in leaves.enumerated() {
            let o = offsets[i]
            switch axes[i] {
            case .constant(let v):
                values.append(v)
            case .categorical(let list):
                if list.count <= 1 { values.append(list[0]); continue }
                var k = 0
                for j in 1..<list.count where point[o + j] > point[o + k] { k = j }
                values.append(list[k])
            case .continuous, .discrete:
                values.append(leaf.spec.ppf(point[o]))
            case .logScale(let lo, let hi):
                values.append(.double(min(max(lo * Foundation.pow(hi / lo, point[o]), lo), hi)))
            }
        }
        return unflattenConfig(leaves, values)
    }

    /// `point` with discrete axes moved onto legal values and one-hot groups made exactly one-hot.
    func snap(_ point: [Double]) -> [Double] {
        var p = point
        for (i, leaf) in leaves.enumerated() {
            let o = offsets[i]
            switch axes[i] {
            case .constant, .continuous, .logScale:
                if case .constant = axes[i] { continue }
                p[o] = min(max(p[o], 0), 1)
            case .categorical(let list):
                guard list.count > 1 else { continue }
                var k = 0
                for j in 1..<list.count where p[o + j] > p[o + k] { k = j }
                for j in 0..<list.count { p[o + j] = j == k ? 1 : 0 }
            case .discrete:
                let u = min(max(p[o], 0), 1)
                p[o] = discreteCoordinate(leaf.spec, leaf.spec.ppf(u)) ?? u
            }
        }
        return p
    }

    /// A random point: each leaf at a uniform quantile through its inverse CDF (so categorical
    /// probabilities are honoured), encoded.
    func randomPoint(_ rng: inout SplitMix64) -> [Double] {
        var p = [Double](repeating: 0, count: dim)
        for (i, leaf) in leaves.enumerated() {
            let o = offsets[i]
            switch axes[i] {
            case .constant:
                continue
            case .categorical(let list):
                guard list.count > 1 else { continue }
                guard case .categorical(_, let probabilities) = leaf.spec else { continue }
                p[o + categoricalIndex(rng.nextDouble(), count: list.count, probabilities: probabilities)] = 1
            case .continuous:
                p[o] = rng.nextDouble()
            case .logScale(let lo, let hi):
                // A draw from the prior (uniform in the value), placed on the log axis.
                p[o] = Self.logCoordinate(lo + rng.nextDouble() * (hi - lo), lo, hi)
            case .discrete:
                p[o] = rng.nextDouble()
            }
        }
        return snap(p)
    }

    /// A neighbour of `point`: Gaussian steps of size `scale` on the numeric axes (reflected into
    /// [0, 1]), and each categorical switched to a random value with probability 1/leaves.
    func perturb(_ point: [Double], scale: Double, rng: inout SplitMix64) -> [Double] {
        var p = point
        let switchProbability = 1 / Double(max(searchableLeaves, 1))
        for (i, _) in leaves.enumerated() {
            let o = offsets[i]
            switch axes[i] {
            case .constant:
                continue
            case .categorical(let list):
                guard list.count > 1, rng.nextDouble() < switchProbability else { continue }
                let k = rng.nextInt(below: list.count)
                for j in 0..<list.count { p[o + j] = j == k ? 1 : 0 }
            case .continuous, .discrete, .logScale:
                var v = p[o] + scale * rng.nextGaussian()
                if v < 0 { v = -v }
                if v > 1 { v = 2 - v }
                p[o] = min(max(v, 0), 1)
            }
        }
        return snap(p)
    }
}
