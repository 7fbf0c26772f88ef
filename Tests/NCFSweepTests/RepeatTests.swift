import Foundation
import NCFKernels
import XCTest

@testable import NCFSweep

/// Random and bayes search never run a config twice (its seed, derived from the config, would
/// train the same model again), and a small discrete space ends the sweep when every point ran.
final class RepeatTests: XCTestCase {
    /// 2 × 2 = 4 configs.
    private func discreteConfig(_ method: SweepConfig.Method) -> SweepConfig {
        SweepConfig(method: method, metric: SweepConfig.Metric(name: "loss"), parameters: [
            Parameter(name: "a", spec: .categorical([.int(1), .int(2)], probabilities: nil)),
            Parameter(name: "b", spec: .categorical([.string("x"), .string("y")], probabilities: [0.9, 0.1])),
        ])
    }

    /// A loss that depends on the config only, as a real trial with a config-derived seed does.
    private func loss(_ config: [String: ParamValue]) -> Double {
        let a = config["a"]?.numericValue ?? 0
        let b = config["b"] == .string("x") ? 0.0 : 0.5
        return 1 + a + b
    }

    /// Claims one config at a time, as agents do, finishing each run before the next claim;
    /// stops at `limit` claims or when the sampler has nothing left.
    private func sweep(_ config: SweepConfig, _ sampler: any Sampler, limit: Int, seed: UInt64 = 7) -> [RunRecord] {
        var runs: [RunRecord] = []
        for i in 0..<limit {
            var rng = SplitMix64(seed: seed, stream: UInt64(i))
            guard let next = sampler.next(1, config: config, runs: runs, rng: &rng).first else { break }
            let value = loss(next)
            runs.append(RunRecord(id: i + 1, config: next, state: .finished, history: [value], metric: value))
        }
        return runs
    }

    private func keys(_ runs: [RunRecord]) -> [String] { runs.map { ParamValue.canonicalJSON($0.config) } }

    func testBayesRunsEachPointOfADiscreteSpaceOnceThenStops() {
        for seed: UInt64 in 0..<5 {
            let runs = sweep(discreteConfig(.bayes), BayesSampler(), limit: 10, seed: seed)
            XCTAssertEqual(runs.count, 4, "seed \(seed): 4 configs, then the space is exhausted")
            XCTAssertEqual(Set(keys(runs)).count, 4, "seed \(seed): no config twice: \(keys(runs))")
        }
    }

    func testRandomRunsEachPointOfADiscreteSpaceOnceThenStops() {
        for seed: UInt64 in 0..<5 {
            let runs = sweep(discreteConfig(.random), RandomSampler(), limit: 10, seed: seed)
            XCTAssertEqual(runs.count, 4, "seed \(seed)")
            XCTAssertEqual(Set(keys(runs)).count, 4, "seed \(seed): \(keys(runs))")
        }
    }

    func testTheClaimSaysTheSpaceIsExhausted() {
        let config = discreteConfig(.bayes)
        var stored: [StoredRun] = []
        var histories: [Int: [Double]] = [:]
        var outcomes: [String] = []
        for i in 0..<6 {
            switch ClaimPolicy.decide(config: config, sweepSeed: 3, runs: stored, histories: histories, sampler: BayesSampler()) {
            case .run(let point):
                let now = Date()
                let run = StoredRun(id: i + 1, sweepID: "s", state: .finished, config: point, seed: 0, agent: "test",
                                    heartbeatEvery: 10, startedAt: now, endedAt: now, heartbeatAt: now)
                stored.append(run)
                histories[run.id] = [loss(point)]
                outcomes.append("run")
            case .done(let why):
                outcomes.append(why.description)
            }
        }
        XCTAssertEqual(outcomes.prefix(4), ["run", "run", "run", "run"])
        XCTAssertEqual(outcomes[4], SweepDone.exhausted.description)
        XCTAssertTrue(SweepDone.exhausted.description.contains("search space"), SweepDone.exhausted.description)
    }

    func testAStaleRunsPointIsOfferedAgain() {
        let config = discreteConfig(.bayes)
        var runs = sweep(config, BayesSampler(), limit: 10)
        XCTAssertEqual(runs.count, 4)
        runs[2].state = .stale
        var rng = SplitMix64(seed: 1)
        let next = BayesSampler().next(1, config: config, runs: runs, rng: &rng)
        XCTAssertEqual(next.map(ParamValue.canonicalJSON), [ParamValue.canonicalJSON(runs[2].config)])
    }

    func testSuggestionsInOneCallAreDistinct() {
        var rng = SplitMix64(seed: 2)
        let config = discreteConfig(.bayes)
        let runs = Array(sweep(config, BayesSampler(), limit: 1))
        let next = BayesSampler().next(5, config: config, runs: runs, rng: &rng)
        XCTAssertEqual(next.count, 3, "the 3 unused configs, no more")
        XCTAssertEqual(Set(next.map(ParamValue.canonicalJSON)).count, 3)
    }

    func testMixedSpacesNeverRepeatARunConfig() {
        // An int axis of 3 values and a 2-value list beside a continuous one: the continuous value
        // makes exact repeats rare, but a config equal to a run's is never proposed.
        let config = SweepConfig(method: .bayes, metric: SweepConfig.Metric(name: "loss"), parameters: [
            Parameter(name: "a", spec: .intUniform(min: 1, max: 3)),
            Parameter(name: "b", spec: .categorical([.string("x"), .string("y")], probabilities: nil)),
            Parameter(name: "c", spec: .qUniform(min: 0, max: 1, q: 0.5, integerQ: false)),
        ])
        let runs = sweep(config, BayesSampler(), limit: 14)
        XCTAssertEqual(Set(keys(runs)).count, runs.count, "no config twice: \(keys(runs))")
    }

    /// A discrete space that is not enumerated (a q form) never ends the sweep on failed redraws:
    /// only an enumerated space can be known to be exhausted.
    func testOnlyAnEnumeratedSpaceEndsTheSweep() {
        for method in [SweepConfig.Method.random, .bayes] {
            let config = SweepConfig(method: method, metric: SweepConfig.Metric(name: "loss"), parameters: [
                Parameter(name: "a", spec: .qUniform(min: 0, max: 1, q: 0.5, integerQ: false)),
            ])
            let runs = sweep(config, method == .random ? RandomSampler() as any Sampler : BayesSampler(), limit: 8)
            XCTAssertEqual(runs.count, 8, "\(method): a q_uniform space of a few values is not declared exhausted")
        }
    }
}
