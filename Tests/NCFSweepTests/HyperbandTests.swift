import XCTest

@testable import NCFSweep

final class HyperbandTests: XCTestCase {
    private let loss = SweepConfig.Metric(name: "loss")

    func testBandsFromMinIter() {
        XCTAssertEqual(Array(HyperbandPruner.bands(for: .init(minIter: 3, eta: 3)).prefix(4)), [3, 9, 27, 81])
        XCTAssertEqual(Array(HyperbandPruner.bands(for: .init(minIter: 2, eta: 1.5)).prefix(8)), [2, 3, 4, 6, 10, 15, 22, 34])
        XCTAssertEqual(HyperbandPruner.bands(for: .init(minIter: 2, eta: 1.5)).count, 67, "bands past 2⁴⁰ are dropped")
        XCTAssertEqual(HyperbandPruner.bands(for: .init(minIter: 1, eta: 1.05)).count, 100)
    }

    func testBandsFromMaxIter() {
        XCTAssertEqual(HyperbandPruner.bands(for: .init(maxIter: 27, s: 2, eta: 3)), [3, 9])
        XCTAssertEqual(HyperbandPruner.bands(for: .init(maxIter: 100, s: 4, eta: 2)), [6, 12, 25, 50])
        XCTAssertEqual(HyperbandPruner.bands(for: .init(maxIter: 2, s: 3, eta: 3)), [])
    }

    /// The reference's docstring example (max_iter 5, s 2, eta 2: bands 1, 2), under 0.3.0 rules.
    func testReferenceDocstringExample() {
        let runs = [
            RunRecord(id: 0, config: [:], state: .finished, history: [10, 9]),
            RunRecord(id: 1, config: [:], state: .running, history: [10, 10]),
            RunRecord(id: 2, config: [:], state: .running, history: [10, 8, 8]),
            RunRecord(id: 3, config: [:], state: .running, history: [10, 7, 7]),
            RunRecord(id: 4, config: [:], state: .finished, history: [10, 6, 6]),
        ]
        let pruner = HyperbandPruner(.init(maxIter: 5, s: 2, eta: 2))
        XCTAssertEqual(pruner.bands, [1, 2])
        // Band 1: five 10s → 10. Band 2: [6, 7, 8, 9, 10][⌊5/2⌋] = 8.
        XCTAssertEqual(pruner.thresholds(runs, metric: loss), [10, 8])
        // Run 2 sits exactly at the threshold: equal passes.
        XCTAssertEqual(pruner.runsToStop(runs, metric: loss), [1])
    }

    /// Eight runs, min_iter 3, eta 3: thresholds 8.0 / 2.0 at bands 3 / 9; stops r1, r3 and r4.
    private func probeRuns(sign: Double = 1) -> [RunRecord] {
        let histories: [(RunState, [Double])] = [
            (.finished, [12, 9, 5, 4, 3, 2, 1.5, 1.2, 1.0, 0.9, 0.9, 0.8]), // r0: band 3 = 5, band 9 = 1.0
            (.running, [9, 8.7, 8.5, 6, 4, 1.5, 2.6, 2.8, 3.0]),           // r1: band 9 = 3.0 > 2.0, but best 1.5
            (.finished, [10, 8, 6, 5, 4, 3, 2.5, 2.2, 2.0]),               // r2: band 3 = 6, band 9 = 2.0
            (.running, [11, 10, 9, 8.5]),                                  // r3: band 3 = 9 > 8
            (.running, [12, 11, 10]),                                      // r4: band 3 = 10 > 8
            (.running, [10, 9, 8, 7.5, 7]),                                // r5: band 3 = 8, equal passes
            (.stopped, [9, 8.5, 8, 6, 5, 4, 3, 2.7, 2.5]),                 // r6: band 3 = 8, band 9 = 2.5
            (.running, [3, 1]),                                            // r7: no band reached
        ]
        return histories.enumerated().map { i, h in
            RunRecord(id: i, config: [:], state: h.0, history: h.1.map { sign * $0 })
        }
    }

    func testEightRunProbeStrict() {
        let pruner = HyperbandPruner(.init(minIter: 3, eta: 3))
        let thresholds = pruner.thresholds(probeRuns(), metric: loss)
        XCTAssertEqual(Array(thresholds.prefix(3)), [8.0, 2.0, .infinity])
        XCTAssertEqual(pruner.runsToStop(probeRuns(), metric: loss), [1, 3, 4])
    }

    func testEightRunProbeNotStrictUsesBestSoFar() {
        let pruner = HyperbandPruner(.init(minIter: 3, eta: 3, strict: false))
        // r1's best so far (1.5) beats band 9's threshold; r3 (8.5) and r4 (10) do not beat 8.
        XCTAssertEqual(pruner.runsToStop(probeRuns(), metric: loss), [3, 4])
    }

    func testMaximizeNegates() {
        let pruner = HyperbandPruner(.init(minIter: 3, eta: 3))
        let accuracy = SweepConfig.Metric(name: "acc", goal: .maximize)
        XCTAssertEqual(Array(pruner.thresholds(probeRuns(sign: -1), metric: accuracy).prefix(2)), [8.0, 2.0])
        XCTAssertEqual(pruner.runsToStop(probeRuns(sign: -1), metric: accuracy), [1, 3, 4])
    }

    func testNonFiniteValuesAreDropped() {
        let pruner = HyperbandPruner(.init(minIter: 2, eta: 2))
        let runs = [
            RunRecord(id: 0, config: [:], state: .finished, history: [5, 1]),
            RunRecord(id: 1, config: [:], state: .finished, history: [5, 2]),
            // NaN dropped: its second value is 3, worse than band 2's threshold [1, 2, 3][1] = 2.
            RunRecord(id: 2, config: [:], state: .running, history: [5, .nan, 3]),
            RunRecord(id: 3, config: [:], state: .running, history: [5, .infinity]),
        ]
        XCTAssertEqual(pruner.thresholds(runs, metric: loss).first, 2)
        XCTAssertEqual(pruner.runsToStop(runs, metric: loss), [2])
    }

    func testOnlyRunningRunsStopAndNoRunsMeansNoThreshold() {
        let pruner = HyperbandPruner(.init(minIter: 1, eta: 3))
        XCTAssertEqual(pruner.thresholds([], metric: loss).first, .infinity)
        let runs = [
            RunRecord(id: 0, config: [:], state: .finished, history: [1]),
            RunRecord(id: 1, config: [:], state: .failed, history: [9]),
            RunRecord(id: 2, config: [:], state: .pending),
            RunRecord(id: 3, config: [:], state: .running, history: [9]),
        ]
        // Band 1 values [1, 9, 9], threshold at ⌊3/3⌋ = 1 → 9: equal passes, nothing stops.
        XCTAssertEqual(pruner.runsToStop(runs, metric: loss), [])
        let more = runs + [RunRecord(id: 4, config: [:], state: .finished, history: [2])]
        // [1, 2, 9, 9][1] = 2: run 3 stops; the failed run is not running, so it is left alone.
        XCTAssertEqual(pruner.runsToStop(more, metric: loss), [3])
    }

    func testConfigPrunerNeedsHyperbandAndMetric() {
        let parameters = [Parameter(name: "a", spec: .intUniform(min: 1, max: 2))]
        XCTAssertTrue(SweepConfig(method: .grid, parameters: parameters).pruner is NopPruner)
        XCTAssertTrue(SweepConfig(method: .grid, metric: loss, parameters: parameters,
                                  earlyTerminate: .init(minIter: 3)).pruner is HyperbandPruner)
    }

    /// The built-in trainer logs the start of a run from pre-trained parts (epoch 0, `Valid`
    /// metrics only) before training: the bands count the trained epochs after it.
    func testBandsCountTrainedEpochsOfPretrainedRuns() {
        let parameters = [Parameter(name: "alpha", spec: .intUniform(min: 1, max: 2))]
        let builtIn = SweepConfig(method: .grid, metric: .init(name: "Valid HR@10", goal: .maximize), parameters: parameters)
        var external = builtIn
        external.program = "./train.sh"
        let pretrained: [String: ParamValue] = ["alpha": .double(0.5), "init_gmf": .string("gmf.ncf"), "init_mlp": .string("mlp.ncf")]
        var onlyGMF = pretrained
        onlyGMF["init_mlp"] = nil
        let history = [0.70, 0.68, 0.71]
        XCTAssertEqual(builtIn.trainedHistory(history, runConfig: pretrained, metric: "Valid HR@10"), [0.68, 0.71])
        XCTAssertEqual(builtIn.trainedHistory(history, runConfig: pretrained, metric: "Train Loss"), history,
                       "the start logs no Train Loss")
        XCTAssertEqual(builtIn.trainedHistory(history, runConfig: onlyGMF, metric: "Valid HR@10"), history,
                       "a NeuMF from one part trains from epoch 1")
        var nullMLP = pretrained
        nullMLP["init_mlp"] = .null
        XCTAssertEqual(builtIn.trainedHistory(history, runConfig: nullMLP, metric: "Valid HR@10"), history,
                       "a null part leaves its flag out: the run trains from scratch")
        XCTAssertEqual(external.trainedHistory(history, runConfig: pretrained, metric: "Valid HR@10"), history,
                       "another program's epoch 0 is a trained epoch")

        // Two running pre-trained runs, maximised, a band at 1, eta 3 (the better of two passes):
        // started 0.70 and 0.60, then 0.68 and 0.72 after one epoch. On trained epochs the first is
        // behind and stops; on the logged values (the starts) the second would.
        let pruner = HyperbandPruner(SweepConfig.Hyperband(minIter: 1, eta: 3))
        let metric = SweepConfig.Metric(name: "Valid HR@10", goal: .maximize)
        let runs = [(1, [0.70, 0.68]), (2, [0.60, 0.72])].map { id, values in
            RunRecord(id: id, config: pretrained, state: .running, history: builtIn.trainedHistory(values, runConfig: pretrained, metric: metric.name))
        }
        XCTAssertEqual(pruner.runsToStop(runs, metric: metric), [1])
        let logged = [(1, [0.70, 0.68]), (2, [0.60, 0.72])].map { RunRecord(id: $0.0, config: pretrained, state: .running, history: $0.1) }
        XCTAssertEqual(pruner.runsToStop(logged, metric: metric), [2])
    }
}
