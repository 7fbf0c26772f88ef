import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

@testable import NCFTraining

/// The epoch loop, the optimizers and the best-epoch bookkeeping, on tiny synthetic data.
final class TrainerTests: XCTestCase {
    /// 30 users × 40 items, 20 ratings each: small enough for a debug build.
    private func tinyDataset(task: Task = .rating, split: SplitKind? = nil, seed: UInt64 = 0) throws -> Dataset {
        let interactions = SyntheticRatings.generate(users: 30, items: 40, ratings: 600, seed: 5)
        var users = IDMap(), items = IDMap()
        for u in 0..<30 { _ = users.intern("u\(u)") }
        for i in 0..<40 { _ = items.intern("i\(i)") }
        let file = RatingsFile(path: "tiny", format: .tsv, interactions: interactions, userIDs: users, itemIDs: items)
        let options = SplitOptions(kind: split ?? SplitKind.default(for: task), task: task, seed: seed,
                                   evalNegatives: .sampled(10), lossNegatives: 2)
        return try DatasetBuilder.make(from: file, options: options)
    }

    private func tinyConfig(epochs: Int = 4) -> TrainConfig {
        var c = TrainConfig()
        c.embed_dim = 4
        c.mlp_dims = [8, 4]
        c.batch_size = 16
        c.epochs = epochs
        c.lr = 0.01
        return c
    }

    private func losses(_ config: TrainConfig, _ dataset: Dataset) throws -> ([EpochRecord], TrainSummary) {
        var records: [EpochRecord] = []
        let trainer = try Trainer(config: config, dataset: dataset)
        let summary = try trainer.run { event in
            if case let .epochEnded(r) = event { records.append(r) }
            return .proceed
        }
        return (records, summary)
    }

    func testTrainLossFalls() throws {
        let (records, summary) = try losses(tinyConfig(epochs: 6), tinyDataset())
        XCTAssertEqual(records.count, 6)
        let first = try XCTUnwrap(records.first?.metrics[metric: "Train Loss"])
        let last = try XCTUnwrap(records.last?.metrics[metric: "Train Loss"])
        XCTAssertLessThan(last, first, "Train Loss should fall over 6 epochs")
        XCTAssertNotNil(summary.testMetrics[metric: "Test RMSE"])
        XCTAssertNotNil(summary.testMetrics[metric: "Test MAE"])
        XCTAssertEqual(summary.testMetrics[metric: "Test Loss"], summary.testMetrics[metric: "Test RMSE"])
    }

    func testSameSeedGivesBitIdenticalMetrics() throws {
        for task in [Task.rating, .implicit] {
            let dataset = try tinyDataset(task: task)
            let (a, sa) = try losses(tinyConfig(), dataset)
            let (b, sb) = try losses(tinyConfig(), dataset)
            XCTAssertEqual(a.map(\.metrics), b.map(\.metrics), "\(task)")
            XCTAssertEqual(sa.testMetrics, sb.testMetrics, "\(task)")
        }
    }

    func testDifferentSeedGivesDifferentMetrics() throws {
        let dataset = try tinyDataset()
        var other = tinyConfig()
        other.seed = 1
        let (a, _) = try losses(tinyConfig(), dataset)
        let (b, _) = try losses(other, dataset)
        XCTAssertNotEqual(a.map(\.metrics), b.map(\.metrics))
    }

    func testBestEpochWeightsAreTheOnesKept() throws {
        var config = tinyConfig(epochs: 8)
        config.lr = 0.05  // overfits quickly, so the best epoch is not the last
        let dataset = try tinyDataset()
        var records: [EpochRecord] = []
        let trainer = try Trainer(config: config, dataset: dataset)
        let summary = try trainer.run { event in
            if case let .epochEnded(r) = event { records.append(r) }
            return .proceed
        }
        let validLosses = records.map { $0.metrics[metric: "Valid Loss"]! }
        let bestIndex = validLosses.indices.min { validLosses[$0] < validLosses[$1] }!
        XCTAssertEqual(summary.bestEpoch, bestIndex + 1)
        // Re-evaluating the kept weights reproduces the best epoch's validation metrics exactly.
        let evaluator = Evaluator(split: .valid, pairs: dataset.validPairs, ranking: dataset.validRanking,
                                  dataset: dataset, k: config.topk)
        XCTAssertEqual(evaluator.evaluate(trainer.model), summary.validMetrics)
        XCTAssertEqual(summary.validMetrics[metric: "Valid Loss"], validLosses[bestIndex])
    }

    /// The kept weights are the best epoch's wherever it falls: the first of several, one in the
    /// middle after earlier bests were replaced, the last (whose weights are never copied), one
    /// before the observer stopped the run after an epoch, or one before a stop in the middle of an
    /// epoch (Ctrl-C); on one thread and on two, for both tasks. The test metrics are those of
    /// the kept weights.
    func testBestEpochWeightsAreKeptWhereverTheBestFalls() throws {
        enum Stop { case none, afterEpoch(Int), inEpoch(Int) }
        var bestWas = Set<String>()
        for task in [Task.rating, .implicit] {
            let dataset = try tinyDataset(task: task)
            for threads in [1, 2] {
                for (lr, stop) in [(0.05, Stop.none), (0.0005, .none), (0.05, .afterEpoch(5)), (0.05, .inEpoch(4))] {
                    var config = tinyConfig(epochs: 6)
                    config.lr = lr
                    config.threads = threads
                    if case .inEpoch = stop { config.batch_size = 4 }  // ≥ 64 steps, so the epoch reports progress
                    let context = "\(task), \(threads) thread(s), lr \(lr), stop \(stop)"
                    var records: [EpochRecord] = []
                    let trainer = try Trainer(config: config, dataset: dataset)
                    trainer.progressInterval = 0
                    let summary = try trainer.run { event in
                        switch (event, stop) {
                        case let (.epochEnded(r), _):
                            records.append(r)
                            if case let .afterEpoch(n) = stop, records.count == n { return .stop }
                        case let (.progress(epoch, _, _, _, _), .inEpoch(n)) where epoch == n:
                            return .stop
                        default: break
                        }
                        return .proceed
                    }
                    switch stop {
                    case .none: XCTAssertEqual(records.count, 6, context)
                    case let .afterEpoch(n): XCTAssertEqual(records.count, n, context)
                    case let .inEpoch(n):
                        XCTAssertEqual(records.count, n - 1, context)
                        XCTAssertEqual(summary.epochsRun, n, context)
                    }
                    let selected = records.map { $0.metrics[metric: trainer.selection.metric]! }
                    let better: (Double, Double) -> Bool = trainer.selection.goal == .minimize ? { $0 < $1 } : { $0 > $1 }
                    let bestIndex = selected.indices.reduce(0) { better(selected[$1], selected[$0]) ? $1 : $0 }
                    XCTAssertEqual(summary.bestEpoch, bestIndex + 1, context)
                    if case .inEpoch = stop { bestWas.insert("before a stop in an epoch") }
                    else if bestIndex == records.count - 1 { bestWas.insert("last") }
                    else if bestIndex > 0 { bestWas.insert("in the middle") }
                    else { bestWas.insert("first") }
                    let valid = Evaluator(split: .valid, pairs: dataset.validPairs, ranking: dataset.validRanking,
                                          dataset: dataset, k: config.topk)
                    XCTAssertEqual(valid.evaluate(trainer.model), summary.validMetrics, context)
                    let test = Evaluator(split: .test, pairs: dataset.testPairs, ranking: dataset.testRanking,
                                         dataset: dataset, k: config.topk)
                    XCTAssertEqual(test.evaluate(trainer.model), summary.testMetrics, context)
                }
            }
        }
        XCTAssertEqual(bestWas, ["first", "in the middle", "last", "before a stop in an epoch"],
                       "the cases cover every place the best epoch can fall")
    }

    func testPatienceStopsEarly() throws {
        var config = tinyConfig(epochs: 30)
        config.lr = 0.05
        config.patience = 2
        let (records, summary) = try losses(config, tinyDataset())
        XCTAssertTrue(summary.stoppedEarly)
        XCTAssertLessThan(records.count, 30)
        XCTAssertEqual(summary.epochsRun, summary.bestEpoch + 2, "stops exactly `patience` epochs after the best")
    }

    func testObserverCanStop() throws {
        let trainer = try Trainer(config: tinyConfig(epochs: 10), dataset: tinyDataset())
        var epochs = 0
        let summary = try trainer.run { event in
            if case .epochEnded = event { epochs += 1; return epochs == 2 ? .stop : .proceed }
            return .proceed
        }
        XCTAssertEqual(summary.epochsRun, 2)
        XCTAssertTrue(summary.stoppedEarly)
        XCTAssertFalse(summary.testMetrics.isEmpty, "test metrics are still computed for the best epoch")
    }

    func testDivergenceIsReportedNotHidden() throws {
        var config = tinyConfig()
        config.optimizer = .sgd
        config.lr = 1e12
        XCTAssertThrowsError(try losses(config, tinyDataset())) { error in
            guard case TrainingError.nonFiniteLoss = error else { return XCTFail("expected nonFiniteLoss, got \(error)") }
            XCTAssertTrue(String(describing: error).contains("--lr"), "the message suggests what to change")
        }
    }

    func testInvalidConfigListsEveryProblem() throws {
        var config = tinyConfig()
        config.lr = -1
        config.batch_size = 0
        config.dropout = 1.5
        XCTAssertThrowsError(try Trainer(config: config, dataset: tinyDataset())) { error in
            guard case let TrainingError.invalidConfig(problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.count, 3)
            XCTAssertTrue(problems[0].contains("--lr -1"))
            XCTAssertTrue(problems[1].contains("--batch_size 0"))
            XCTAssertTrue(problems[2].contains("--dropout 1.5"))
        }
    }

    /// `lr_decay` γ: epoch e trains at lr·γ^(e−1), so after 4 epochs the optimizer holds lr·γ³;
    /// `embed_l2` reaches the model; MF trains on both tasks and its loss falls.
    func testLRDecayEmbedL2AndMF() throws {
        var config = tinyConfig(epochs: 4)
        config.model = .mf
        config.lr_decay = 0.5
        config.embed_l2 = 0.01
        config.init_std = 0.1
        for task in [Task.rating, .implicit] {
            let dataset = try tinyDataset(task: task)
            let trainer = try Trainer(config: config, dataset: dataset)
            XCTAssertEqual(trainer.model.embedL2, 0.01)
            var records: [EpochRecord] = []
            _ = try trainer.run { event in
                if case let .epochEnded(r) = event { records.append(r) }
                return .proceed
            }
            XCTAssertEqual(trainer.optimizer.lr, Float(0.01 * 0.125), accuracy: 1e-9, "\(task)")
            let first = try XCTUnwrap(records.first?.metrics[metric: "Train Loss"])
            let last = try XCTUnwrap(records.last?.metrics[metric: "Train Loss"])
            XCTAssertLessThan(last, first, "\(task): MF's Train Loss should fall")
        }
    }

    /// A config written before `embed_l2`, `lr_decay` and `init_std` existed (a model file's
    /// metadata) decodes with their defaults; a current one round-trips.
    func testConfigWithoutTheNewKeysDecodes() throws {
        var config = TrainConfig()
        config.embed_l2 = 0.002
        config.lr_decay = 0.9
        config.init_std = 0.05
        XCTAssertEqual(try JSONDecoder().decode(TrainConfig.self, from: JSONEncoder().encode(config)), config)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainConfig())) as? [String: Any])
        for key in ["embed_l2", "lr_decay", "init_std"] { XCTAssertNotNil(object.removeValue(forKey: key), key) }
        let old = try JSONSerialization.data(withJSONObject: object)
        XCTAssertEqual(try JSONDecoder().decode(TrainConfig.self, from: old), TrainConfig())
    }

    /// `init_std` scales the embeddings' initial values and leaves everything else alone.
    func testInitStdScalesOnlyTheEmbeddings() throws {
        let dataset = try tinyDataset()
        var config = tinyConfig()
        let plain = try Trainer(config: config, dataset: dataset).model
        config.init_std = 0.1
        let wide = try Trainer(config: config, dataset: dataset).model
        for view in plain.layout.views {
            let a = Array(UnsafeBufferPointer(start: view.pointer(in: plain.params), count: view.count))
            let b = Array(UnsafeBufferPointer(start: view.pointer(in: wide.params), count: view.count))
            if plain.userTables.contains(view) || plain.itemTables.contains(view) {
                for (x, y) in zip(a, b) { XCTAssertEqual(y, x * 10, accuracy: 1e-6 * max(1, abs(y)), view.name) }
            } else {
                XCTAssertEqual(a, b, view.name)
            }
        }
        config.init_std = -1
        config.embed_l2 = -1
        config.lr_decay = 1.5
        XCTAssertThrowsError(try Trainer(config: config, dataset: dataset)) { error in
            guard case let TrainingError.invalidConfig(problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.count, 3, "\(problems)")
        }
    }

    func testAbsurdModelIsRefusedWithItsSize() throws {
        var config = tinyConfig()
        config.embed_dim = 4096
        config.mlp_dims = [65536, 65536]
        XCTAssertThrowsError(try Trainer(config: config, dataset: tinyDataset())) { error in
            guard case TrainingError.tooLarge = error else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("GB"))
        }
    }

    func testImplicitMetricsAreInRange() throws {
        let (records, summary) = try losses(tinyConfig(), tinyDataset(task: .implicit))
        for name in ["Valid Loss", "Valid HR@10", "Valid NDCG@10", "Valid MRR", "Valid AUC"] {
            XCTAssertNotNil(records.last?.metrics[metric: name], name)
        }
        for name in ["Test HR@10", "Test NDCG@10", "Test MRR", "Test AUC"] {
            let v = try XCTUnwrap(summary.testMetrics[metric: name], name)
            XCTAssertTrue((0...1).contains(v), "\(name) = \(v)")
        }
        XCTAssertTrue(summary.protocolDescription.contains("10 sampled negatives"), summary.protocolDescription)
    }

    // MARK: - Optimizers

    /// One tiny model, one batch, gradients computed once; returns the model after `steps` updates.
    private func stepped(_ kind: OptimizerKind, weightDecay: Double = 0, steps: Int = 3)
        -> (before: [Float], after: [Float], grads: [[Float]], model: NeuMF)
    {
        let config = ModelConfig(kind: .neumf, task: .rating, numUsers: 6, numItems: 7, embedDim: 3, mlpDims: [4], dropout: 0)
        let model = NeuMF(config: config, capacity: 8, seed: 3)
        let before = model.params.array
        let users: [Int32] = [0, 2, 2], items: [Int32] = [1, 1, 5], targets: [Float] = [3, 4, 5]
        let optimizer = Optimizer(kind: kind, lr: 0.01, weightDecay: weightDecay, model: model)
        var rng = SplitMix64(seed: 0)
        var grads: [[Float]] = []
        for _ in 0..<steps {
            model.forward(users: users, items: items, count: 3, training: true, rng: &rng)
            _ = model.loss(targets: targets, count: 3)
            model.backward(users: users, items: items, count: 3)
            grads.append(model.grads.array)
            optimizer.step(model)
        }
        return (before, model.params.array, grads, model)
    }

    func testDenseAdamMatchesTheTextbookFormula() {
        let wd = 0.01
        let (before, after, grads, _) = stepped(.denseAdam, weightDecay: wd)
        var p = before.map(Double.init)
        var m = [Double](repeating: 0, count: p.count), v = m
        for (t, g) in grads.enumerated() {
            let step = Double(t + 1)
            for j in p.indices {
                let gj = Double(g[j]) + wd * p[j]
                m[j] = 0.9 * m[j] + 0.1 * gj
                v[j] = 0.999 * v[j] + 0.001 * gj * gj
                let mHat = m[j] / (1 - pow(0.9, step)), vHat = v[j] / (1 - pow(0.999, step))
                p[j] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        assertClose(after, p.map(Float.init), tolerance: 1e-5, "dense Adam vs the textbook update")
    }

    func testLazyAdamLeavesRowsOutsideTheBatchAlone() {
        let (before, after, _, model) = stepped(.adam)
        for view in model.userTables {
            for row in 0..<6 where ![0, 2].contains(row) {
                let range = (view.offset + row * view.cols)..<(view.offset + (row + 1) * view.cols)
                XCTAssertEqual(Array(after[range]), Array(before[range]), "\(view.name) row \(row) moved")
            }
            let touched = (view.offset + 2 * view.cols)..<(view.offset + 3 * view.cols)
            XCTAssertNotEqual(Array(after[touched]), Array(before[touched]), "\(view.name) row 2 should move")
        }
        for view in model.itemTables {
            for row in 0..<7 where ![1, 5].contains(row) {
                let range = (view.offset + row * view.cols)..<(view.offset + (row + 1) * view.cols)
                XCTAssertEqual(Array(after[range]), Array(before[range]), "\(view.name) row \(row) moved")
            }
        }
        XCTAssertEqual(model.grads.array, [Float](repeating: 0, count: model.grads.count), "gradients are cleared after a step")
    }

    func testLazyAdamEqualsDenseAdamOnRowsInEveryBatch() {
        // Rows present in every step see the same gradients under both optimizers, so their updates agree.
        let (_, lazy, _, model) = stepped(.adam)
        let (_, dense, _, _) = stepped(.denseAdam)
        for view in model.denseViews {
            let r = view.offset..<(view.offset + view.count)
            assertClose(Array(lazy[r]), Array(dense[r]), tolerance: 1e-6, view.name)
        }
        for view in model.userTables {
            let r = (view.offset + 2 * view.cols)..<(view.offset + 3 * view.cols)
            assertClose(Array(lazy[r]), Array(dense[r]), tolerance: 1e-6, "\(view.name) row 2")
        }
    }

    func testSGDStep() {
        let (before, after, grads, model) = stepped(.sgd, steps: 1)
        for view in model.denseViews {
            for j in view.offset..<(view.offset + view.count) {
                XCTAssertEqual(after[j], before[j] - 0.01 * grads[0][j], accuracy: 1e-7)
            }
        }
    }
}
