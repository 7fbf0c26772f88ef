import Foundation
import NCFKernels
import XCTest

@testable import NCFSweep

final class BayesTests: XCTestCase {
    private let loss = SweepConfig.Metric(name: "loss")

    // MARK: - Gaussian process

    func testHyperObjectiveGradientMatchesFiniteDifferences() {
        var rng = SplitMix64(seed: 2)
        let n = 9, dim = 3
        let x = (0..<(n * dim)).map { _ in rng.nextDouble() }
        let y = (0..<n).map { i in sin(6 * x[i * dim]) + x[i * dim + 1] }
        let mean = y.reduce(0, +) / Double(n)
        let objective = HyperObjective(x: x, y: y.map { $0 - mean }, n: n, dim: dim)
        let z = [0.3, -0.4, 0.1, 0.2, -0.5]
        let (_, grad) = objective.evaluate(z)
        for k in z.indices {
            var plus = z, minus = z
            plus[k] += 1e-5
            minus[k] -= 1e-5
            let numeric = (objective.evaluate(plus).0 - objective.evaluate(minus).0) / 2e-5
            XCTAssertEqual(grad[k], numeric, accuracy: 1e-5 * max(1, abs(numeric)), "coordinate \(k)")
        }
    }

    func testGaussianProcessInterpolatesAndIsUncertainFarAway() {
        var rng = SplitMix64(seed: 3)
        let points = (0..<12).map { i in [Double(i) / 11] }
        let values = points.map { 3 + 2 * sin(5 * $0[0]) }
        let gp = GaussianProcess.fit(points: points, values: values, dim: 1, rng: &rng)
        for (p, v) in zip(points, values) {
            XCTAssertEqual(gp.predict(p).mean, v, accuracy: 0.05)
        }
        XCTAssertEqual(gp.predict([0.5 / 11]).mean, 3 + 2 * sin(5 * 0.5 / 11), accuracy: 0.15)
        XCTAssertLessThan(gp.predict([0]).variance, gp.predict([0.5 / 11]).variance)
    }

    func testCholeskySolve() {
        // A = [[4, 2], [2, 3]]; A x = [2, 1] → x = [0.5, 0].
        var a = [4.0, 2, 2, 3]
        XCTAssertTrue(choleskyInPlace(&a, n: 2))
        let x = choleskySolve(a, n: 2, [2, 1])
        XCTAssertEqual(x[0], 0.5, accuracy: 1e-14)
        XCTAssertEqual(x[1], 0, accuracy: 1e-14)
        var singular = [1.0, 1, 1, 1 - 1e-17]
        XCTAssertFalse(choleskyInPlace(&singular, n: 2))
    }

    // MARK: - Encoding and data

    func testEncodingIsOneHotForCategoriesAndSnappedForIntegers() throws {
        let space = SearchSpace([
            Parameter(name: "act", spec: .categorical([.string("relu"), .string("tanh"), .string("gelu")], probabilities: nil)),
            Parameter(name: "layers", spec: .intUniform(min: 1, max: 4)),
            Parameter(name: "lr", spec: .logUniformValues(min: 1e-4, max: 1e-2)),
            Parameter(name: "model", spec: .constant(.string("NCF"))),
        ])
        XCTAssertEqual(space.dim, 5)
        let config: [String: ParamValue] = ["act": .string("tanh"), "layers": .int(2), "lr": .double(1e-3), "model": .string("NCF")]
        let point = try XCTUnwrap(space.encode(config))
        XCTAssertEqual(Array(point[0..<3]), [0, 1, 0])
        XCTAssertEqual(point[3], 0.375, accuracy: 1e-12)
        XCTAssertEqual(point[4], 0.5, accuracy: 1e-12)
        let decoded = space.decode(point)
        XCTAssertEqual(decoded["act"], .string("tanh"))
        XCTAssertEqual(decoded["layers"], .int(2))
        XCTAssertEqual(decoded["model"], .string("NCF"))
        try XCTAssertEqual(XCTUnwrap(decoded["lr"]?.numericValue), 1e-3, accuracy: 1e-15)
        XCTAssertNil(space.encode(["act": .string("elu"), "layers": .int(2), "lr": .double(1e-3)]))
        // Snapping: any coordinate in a cell moves to its centre; one-hot keeps the largest.
        let snapped = space.snap([0.2, 0.7, 0.1, 0.3, 0.5])
        XCTAssertEqual(Array(snapped[0..<4]), [0, 1, 0, 0.375])
    }

    func testWideUniformRangeIsModelledOnALogAxisWhileDrawsFollowThePrior() throws {
        let space = SearchSpace([
            Parameter(name: "lr", spec: .uniform(min: 1e-4, max: 1e-2)),
            Parameter(name: "x", spec: .uniform(min: 0, max: 1)),
            Parameter(name: "y", spec: .uniform(min: 0.5, max: 2)),
        ])
        guard case .logScale = space.axes[0] else { return XCTFail("lr spans two decades: expected a log axis, got \(space.axes[0])") }
        guard case .continuous = space.axes[1] else { return XCTFail("x starts at 0: expected a linear axis") }
        guard case .continuous = space.axes[2] else { return XCTFail("y spans 4×: expected a linear axis") }
        // Halfway along the log axis is the geometric mean, 1e-3.
        let point = try XCTUnwrap(space.encode(["lr": .double(1e-3), "x": .double(0.25), "y": .double(1.25)]))
        XCTAssertEqual(point[0], 0.5, accuracy: 1e-12)
        XCTAssertEqual(point[1], 0.25, accuracy: 1e-12)
        XCTAssertEqual(point[2], 0.5, accuracy: 1e-12)
        try XCTAssertEqual(XCTUnwrap(space.decode([0.5, 0.25, 0.5])["lr"]?.numericValue), 1e-3, accuracy: 1e-15)
        try XCTAssertEqual(XCTUnwrap(space.decode([0, 0, 0])["lr"]?.numericValue), 1e-4, accuracy: 1e-18)
        try XCTAssertEqual(XCTUnwrap(space.decode([1, 0, 0])["lr"]?.numericValue), 1e-2, accuracy: 1e-16)
        // Random points are draws from the uniform prior: a quarter of them below the first quartile.
        var rng = SplitMix64(seed: 4)
        let draws = (0..<4000).map { _ in space.decode(space.randomPoint(&rng))["lr"]!.numericValue! }
        XCTAssertTrue(draws.allSatisfy { (1e-4...1e-2).contains($0) })
        let belowQuartile = Double(draws.filter { $0 < 1e-4 + 0.25 * (1e-2 - 1e-4) }.count) / Double(draws.count)
        XCTAssertEqual(belowQuartile, 0.25, accuracy: 0.03)
    }

    func testBayesFindsASmallLearningRateInAWideUniformRange() {
        // The canonical sweep's shape: lr uniform over 1e-4…1e-2, best near 4e-4 (the bottom 3% of
        // the range), poor above 2e-3. A linear axis spends its trials where the loss is flat.
        let config = SweepConfig(method: .bayes, metric: loss, parameters: [
            Parameter(name: "lr", spec: .uniform(min: 1e-4, max: 1e-2)),
            Parameter(name: "batch", spec: .categorical([.int(32), .int(64), .int(128)], probabilities: nil)),
        ])
        func objective(_ c: [String: ParamValue]) -> Double {
            let u = log10(c["lr"]!.numericValue!) - log10(4e-4)
            let batch = c["batch"]!.numericValue!
            return 0.91 + 0.03 * u * u + 0.1 * max(0, u - 0.7) + (batch == 128 ? 0 : 0.003)
        }
        var sampler = BayesSampler()
        sampler.candidates = 500
        var linear = sampler
        linear.logScaleWideRanges = false
        var logTotal = 0.0, linearTotal = 0.0
        for seed: UInt64 in [1, 2, 3] {
            let best = bestAfter(20, sampler: sampler, config: config, seed: seed, objective: objective)
            XCTAssertLessThan(best, 0.9115, "seed \(seed): the best lr region (2.5e-4…6.5e-4 at batch 128) was not found")
            logTotal += best
            linearTotal += bestAfter(20, sampler: linear, config: config, seed: seed, objective: objective)
        }
        XCTAssertLessThan(logTotal, linearTotal, "the log axis should find lower values than a linear one")
    }

    func testLogOutputWarpingKeepsTheOrderAndShrinksABadTail() {
        let values = [0.912, 0.915, 0.913, 0.96, 0.99, 0.912]
        XCTAssertEqual(OutputWarping.none.apply(values), values)
        let warped = OutputWarping.log.apply(values)
        for i in values.indices {
            for j in values.indices where values[i] < values[j] {
                XCTAssertLessThan(warped[i], warped[j], "order of \(values[i]) and \(values[j])")
            }
        }
        XCTAssertEqual(warped[0], warped[5], "ties stay ties")
        // Raw, the good runs (0.912…0.915) span 4% of the range; warped, about a third of it.
        XCTAssertEqual((values[1] - values[0]) / (values.max()! - values.min()!), 0.038, accuracy: 0.001)
        XCTAssertGreaterThan((warped[1] - warped[0]) / (warped.max()! - warped.min()!), 0.3)
        XCTAssertEqual(OutputWarping.log.apply([0.9]), [0.9], "a single value is left alone")
        XCTAssertTrue(OutputWarping.log.apply([2, 2, 2]).allSatisfy(\.isFinite), "constant values stay finite")
    }

    func testTheLogWarpsJacobianIsItsDerivativesLogSum() {
        // lo = 1, range 3, δ = 0.03 (+1e-12): d/dy log(y − 1 + δ) = 1 / (y − 1 + δ).
        let delta = 0.03 + 1e-12
        let expected = -(log(delta) + log(1 + delta) + log(3 + delta))
        XCTAssertEqual(OutputWarping.log.logJacobian([1, 2, 4]), expected, accuracy: 1e-9)
        XCTAssertEqual(OutputWarping.none.logJacobian([1, 2, 4]), 0)
        XCTAssertEqual(OutputWarping.log.logJacobian([0.9]), 0, "a single value is left alone, as by apply")
    }

    /// `auto` keeps the log warp for values spread over orders of magnitude (a diverging tail),
    /// and the values as they are for a smooth surface of one scale.
    func testAutoWarpingChoosesByEvidence() {
        let space = SearchSpace([Parameter(name: "x", spec: .uniform(min: 0, max: 1))])
        let points = (0..<16).map { [Double($0) / 15] }
        let sampler = BayesSampler()
        XCTAssertEqual(sampler.outputWarping, .auto, "the default")
        var rng = SplitMix64(seed: 3)
        let tail = points.map { 0.9 + exp(12 * $0[0]) / 1000 }  // 0.901 … 163: a tail of diverged runs
        XCTAssertEqual(sampler.fitModel(points: points, values: tail, space: space, rng: &rng).1, .log)
        let smooth = points.map { 0.9 + 0.05 * sin(5 * $0[0]) }
        XCTAssertEqual(sampler.fitModel(points: points, values: smooth, space: space, rng: &rng).1, .none)
    }

    func testImputationRules() {
        let space = SearchSpace([Parameter(name: "a", spec: .uniform(min: 0, max: 1))])
        let runs = [
            RunRecord(id: 0, config: ["a": .double(0.1)], state: .finished, history: [5, 3, 4], metric: 3),
            RunRecord(id: 1, config: ["a": .double(0.2)], state: .stopped, history: [9, 7]),
            RunRecord(id: 2, config: ["a": .double(0.3)], state: .failed, history: [6, 12]),
            RunRecord(id: 3, config: ["a": .double(0.4)], state: .running, history: [8]),
            RunRecord(id: 4, config: ["a": .double(0.5)], state: .pending),
            RunRecord(id: 5, config: ["b": .double(0.5)], state: .finished, metric: 1),
        ]
        var metric = loss
        var data = BayesSampler.observations(runs, space: space, metric: metric)
        // Worst value logged by any run is 12 (the failed run's own).
        XCTAssertEqual(data.values, [3, 7, 12])
        XCTAssertEqual(data.pending.count, 2)
        metric.impute = .latest
        metric.imputeWhileRunning = .best
        data = BayesSampler.observations(runs, space: space, metric: metric)
        XCTAssertEqual(data.values, [3, 7, 12, 8])
        XCTAssertEqual(data.pending.count, 1)
        metric.impute = .best
        XCTAssertEqual(BayesSampler.observations(runs, space: space, metric: metric).values, [3, 7, 6, 8])
        let maximize = SweepConfig.Metric(name: "acc", goal: .maximize)
        XCTAssertEqual(BayesSampler.observations(runs, space: space, metric: maximize).values, [-3, -9, -1], "worst accuracy logged is 1")
    }

    // MARK: - Suggestions

    private func branin(_ c: [String: ParamValue]) -> Double {
        let x1 = c["x1"]!.numericValue!, x2 = c["x2"]!.numericValue!
        let b = 5.1 / (4 * Double.pi * Double.pi), cc = 5 / Double.pi, t = 1 / (8 * Double.pi)
        let u = x2 - b * x1 * x1 + cc * x1 - 6
        return u * u + 10 * (1 - t) * cos(x1) + 10
    }

    private let braninConfig = SweepConfig(method: .bayes, metric: SweepConfig.Metric(name: "loss"), parameters: [
        Parameter(name: "x1", spec: .uniform(min: -5, max: 10)),
        Parameter(name: "x2", spec: .uniform(min: 0, max: 15)),
    ])

    /// The best value after `trials` sequential suggestions.
    private func bestAfter(_ trials: Int, sampler: any Sampler, config: SweepConfig, seed: UInt64,
                           objective: ([String: ParamValue]) -> Double) -> Double {
        var runs: [RunRecord] = []
        for i in 0..<trials {
            var rng = SplitMix64(seed: seed, stream: UInt64(i))
            let c = sampler.next(1, config: config, runs: runs, rng: &rng)[0]
            let v = objective(c)
            runs.append(RunRecord(id: i, config: c, state: .finished, history: [v], metric: v))
        }
        return runs.compactMap(\.metric).min()!
    }

    func testBayesBeatsRandomOnBranin() {
        // Branin's minimum is 0.397887. Averaged over fixed seeds, so the comparison is deterministic.
        let seeds: [UInt64] = [1, 2, 3, 4]
        var bayes = 0.0, random = 0.0
        var sampler = BayesSampler()
        sampler.candidates = 500  // keeps the debug-build test quick
        for seed in seeds {
            bayes += bestAfter(16, sampler: sampler, config: braninConfig, seed: seed, objective: branin)
            random += bestAfter(16, sampler: RandomSampler(), config: braninConfig, seed: seed, objective: branin)
        }
        bayes /= Double(seeds.count)
        random /= Double(seeds.count)
        XCTAssertLessThan(bayes, random, "bayes \(bayes) vs random \(random)")
        XCTAssertLessThan(bayes, 1.5, "bayes should get close to the minimum 0.398 in 16 trials")
    }

    func testCategoricalAndIntegerParametersAreSearched() {
        // The best category is the last one, the best integer 7: one-hot finds it regardless of order.
        let config = SweepConfig(method: .bayes, metric: loss, parameters: [
            Parameter(name: "kind", spec: .categorical([.string("a"), .string("b"), .string("c"), .string("d")], probabilities: nil)),
            Parameter(name: "n", spec: .intUniform(min: 0, max: 15)),
            Parameter(name: "x", spec: .uniform(min: 0, max: 1)),
        ])
        let offsets: [String: Double] = ["a": 2, "b": 0.5, "c": 3, "d": 0]
        func objective(_ c: [String: ParamValue]) -> Double {
            guard case .string(let k)? = c["kind"], case .int(let n)? = c["n"], let x = c["x"]?.numericValue else {
                XCTFail("bad config \(c)")
                return .infinity
            }
            XCTAssertTrue((0...15).contains(n))
            return offsets[k]! + 0.05 * Double((n - 7) * (n - 7)) + (x - 0.3) * (x - 0.3)
        }
        var sampler = BayesSampler()
        sampler.candidates = 500
        let best = bestAfter(20, sampler: sampler, config: config, seed: 9, objective: objective)
        XCTAssertLessThan(best, 0.2)
    }

    func testPendingRunsGetDistinctSuggestions() throws {
        var runs: [RunRecord] = []
        var rng = SplitMix64(seed: 4)
        for i in 0..<6 {
            let c = RandomSampler().next(1, config: braninConfig, runs: [], rng: &rng)[0]
            runs.append(RunRecord(id: i, config: c, state: .finished, history: [branin(c)], metric: branin(c)))
        }
        var sampler = BayesSampler()
        sampler.candidates = 500
        var a = SplitMix64(seed: 7)
        let first = try XCTUnwrap(sampler.next(1, config: braninConfig, runs: runs, rng: &a).first)
        // A second agent asks while the first suggestion runs: it must get somewhere else.
        let pending = runs + [RunRecord(id: 6, config: first, state: .running)]
        var b = SplitMix64(seed: 7)
        let second = try XCTUnwrap(sampler.next(1, config: braninConfig, runs: pending, rng: &b).first)
        XCTAssertGreaterThan(distance(first, second), 0.5)
        // Three at once are spread out too.
        var c = SplitMix64(seed: 7)
        let three = sampler.next(3, config: braninConfig, runs: runs, rng: &c)
        XCTAssertEqual(three.count, 3)
        for i in 0..<3 { for j in 0..<i { XCTAssertGreaterThan(distance(three[i], three[j]), 0.5) } }
    }

    private func distance(_ a: [String: ParamValue], _ b: [String: ParamValue]) -> Double {
        let dx = a["x1"]!.numericValue! - b["x1"]!.numericValue!
        let dy = a["x2"]!.numericValue! - b["x2"]!.numericValue!
        return (dx * dx + dy * dy).squareRoot()
    }

    func testSmallDiscreteSpaceIsCoveredWithoutRepeats() {
        let config = SweepConfig(method: .bayes, metric: loss, parameters: [
            Parameter(name: "a", spec: .categorical([.int(1), .int(2), .int(3)], probabilities: nil)),
            Parameter(name: "b", spec: .intUniform(min: 0, max: 1)),
        ])
        var sampler = BayesSampler()
        sampler.candidates = 200
        var runs: [RunRecord] = []
        for i in 0..<6 {
            var rng = SplitMix64(seed: 1, stream: UInt64(i))
            let c = sampler.next(1, config: config, runs: runs, rng: &rng)[0]
            let v = Double(c["a"]!.numericValue! + c["b"]!.numericValue!)
            runs.append(RunRecord(id: i, config: c, state: .finished, history: [v], metric: v))
        }
        XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, 6, "all six points, none twice")
    }

    func testDeterministicForASeed() {
        var runs: [RunRecord] = []
        for i in 0..<5 {
            let c: [String: ParamValue] = ["x1": .double(Double(i) * 3 - 5), "x2": .double(Double(i * 2))]
            runs.append(RunRecord(id: i, config: c, state: .finished, history: [branin(c)], metric: branin(c)))
        }
        var sampler = BayesSampler()
        sampler.candidates = 300
        var r1 = SplitMix64(seed: 42), r2 = SplitMix64(seed: 42)
        XCTAssertEqual(sampler.next(2, config: braninConfig, runs: runs, rng: &r1),
                       sampler.next(2, config: braninConfig, runs: runs, rng: &r2))
    }

    func testWithoutMetricOrSearchableParameterFallsBackToRandom() {
        let constant = SweepConfig(method: .bayes, metric: loss, parameters: [Parameter(name: "a", spec: .constant(.int(1)))])
        var rng = SplitMix64(seed: 1)
        XCTAssertEqual(BayesSampler().next(2, config: constant, runs: [], rng: &rng), [["a": .int(1)], ["a": .int(1)]])
    }
}
