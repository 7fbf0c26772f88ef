import NCFData
import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

@testable import NCFTraining

/// Fixed-seed training runs checked against figures recorded from the plain (unoptimised) kernels,
/// optimizer and per-case evaluator, before the fast paths replaced them.
///
/// Every speed change must keep these within `tolerance`: the fast kernels sum in a different order
/// (sgemm blocking, SIMD lanes, one division instead of two in Adam), which moves single floats by a
/// few ulps; over 4 epochs of ~100 steps that grows to ~1e-6 relative in the losses. A change that
/// alters what is computed (another dropout draw order, a dropped bias, a wrong Adam term) moves them
/// by 1e-2 or more. Ranking metrics are counts over cases, so they must match exactly unless a score
/// near-tie flips; the tiny model here has none.
final class GoldenTrajectoryTests: XCTestCase {
    /// Relative tolerance for losses (see the type's summary).
    private let tolerance = 2e-5

    private func dataset(task: Task, evalNegatives: EvalNegatives) throws -> Dataset {
        let interactions = SyntheticRatings.generate(users: 40, items: 60, ratings: 1200, seed: 11)
        var users = IDMap(), items = IDMap()
        for u in 0..<40 { _ = users.intern("u\(u)") }
        for i in 0..<60 { _ = items.intern("i\(i)") }
        let file = RatingsFile(path: "golden", format: .tsv, interactions: interactions, userIDs: users, itemIDs: items)
        let options = SplitOptions(kind: SplitKind.default(for: task), task: task, seed: 3,
                                   evalNegatives: evalNegatives, lossNegatives: 2)
        return try DatasetBuilder.make(from: file, options: options)
    }

    private func config(_ optimizer: OptimizerKind, batch: Int) -> TrainConfig {
        var c = TrainConfig()
        c.embed_dim = 8
        c.mlp_dims = [16, 8]
        c.batch_size = batch
        c.epochs = 4
        c.lr = 0.01
        c.dropout = 0.1
        c.optimizer = optimizer
        c.seed = 7
        // The golden figures were recorded when the kept (and tested) epoch was the lowest Valid Loss.
        c.select_metric = "Valid Loss"
        return c
    }

    /// Every epoch's metrics, then the test metrics, as (name, value) in order.
    private func run(_ config: TrainConfig, _ dataset: Dataset) throws -> [(String, Double)] {
        var out: [(String, Double)] = []
        let trainer = try Trainer(config: config, dataset: dataset)
        let summary = try trainer.run { event in
            if case let .epochEnded(r) = event { out += r.metrics.map { ("e\(r.epoch) \($0.name)", $0.value) } }
            return .proceed
        }
        out += summary.testMetrics.map { ($0.name, $0.value) }
        return out
    }

    private func check(_ label: String, _ actual: [(String, Double)], _ golden: [(String, Double)],
                       file: StaticString = #filePath, line: UInt = #line) {
        print("golden \(label): [" + actual.map { "(\"\($0.0)\", \($0.1))" }.joined(separator: ", ") + "]")
        XCTAssertEqual(actual.map(\.0), golden.map(\.0), "\(label): metric names", file: file, line: line)
        for ((name, a), (_, g)) in zip(actual, golden) {
            let isCount = name.contains("HR@") || name.contains("NDCG@") || name.contains("MRR") || name.contains("AUC")
            let tol = isCount ? 1e-9 : tolerance * max(1, abs(g))
            XCTAssertEqual(a, g, accuracy: tol, "\(label): \(name)", file: file, line: line)
        }
    }

    func testRatingLazyAdam() throws {
        let actual = try run(config(.adam, batch: 32), dataset(task: .rating, evalNegatives: .sampled(99)))
        check("rating adam", actual, Golden.ratingAdam)
    }

    func testRatingDenseAdam() throws {
        let actual = try run(config(.denseAdam, batch: 32), dataset(task: .rating, evalNegatives: .sampled(99)))
        check("rating dense_adam", actual, Golden.ratingDenseAdam)
    }

    func testImplicitLazyAdamSampledRanking() throws {
        let actual = try run(config(.adam, batch: 64), dataset(task: .implicit, evalNegatives: .sampled(20)))
        check("implicit adam sampled", actual, Golden.implicitSampled)
    }

    func testImplicitDenseAdamFullRanking() throws {
        let actual = try run(config(.denseAdam, batch: 64), dataset(task: .implicit, evalNegatives: .all))
        check("implicit dense_adam all", actual, Golden.implicitAll)
    }

    func testImplicitSGDFullRanking() throws {
        var c = config(.sgd, batch: 16)
        c.lr = 0.1
        let actual = try run(c, dataset(task: .implicit, evalNegatives: .all))
        check("implicit sgd all", actual, Golden.implicitSGDAll)
    }
}

/// Figures recorded from the unoptimised implementation (see `GoldenTrajectoryTests`).
private enum Golden {
    static let implicitAll: [(String, Double)] = [
        ("e1 Train Loss", 0.44783311435154505), ("e1 Valid Loss", 0.7010111578119298),
        ("e1 Valid HR@10", 0.475), ("e1 Valid NDCG@10", 0.23241711907387885),
        ("e1 Valid MRR", 0.1896602413574396), ("e1 Valid AUC", 0.6403229111759854),
        ("e2 Train Loss", 0.371900360754558), ("e2 Valid Loss", 0.7300904128234833),
        ("e2 Valid HR@10", 0.375), ("e2 Valid NDCG@10", 0.20650779758075907),
        ("e2 Valid MRR", 0.19131754672088583), ("e2 Valid AUC", 0.5779005812254543),
        ("e3 Train Loss", 0.31154343945639473), ("e3 Valid Loss", 0.8573003813391551),
        ("e3 Valid HR@10", 0.375), ("e3 Valid NDCG@10", 0.1646408804880682),
        ("e3 Valid MRR", 0.13524378469645437), ("e3 Valid AUC", 0.564825845314768),
        ("e4 Train Loss", 0.26924813721861157), ("e4 Valid Loss", 0.9676863739344602),
        ("e4 Valid HR@10", 0.35), ("e4 Valid NDCG@10", 0.18348646269651228),
        ("e4 Valid MRR", 0.1699853409946121), ("e4 Valid AUC", 0.5350289403307094),
        ("Test Loss", 0.6938444053133329), ("Test HR@10", 0.6),
        ("Test NDCG@10", 0.3257644780838672), ("Test MRR", 0.2568006014315415),
        ("Test AUC", 0.6521110265554754),
    ]
    static let implicitSampled: [(String, Double)] = [
        ("e1 Train Loss", 0.45334860052381243), ("e1 Valid Loss", 0.6959778434596956),
        ("e1 Valid HR@10", 0.7), ("e1 Valid NDCG@10", 0.3757970507435919),
        ("e1 Valid MRR", 0.3000988441168394), ("e1 Valid AUC", 0.6487499999999999),
        ("e2 Train Loss", 0.37475925547736033), ("e2 Valid Loss", 0.7261031874765952),
        ("e2 Valid HR@10", 0.55), ("e2 Valid NDCG@10", 0.2888384718217746),
        ("e2 Valid MRR", 0.24211265450236033), ("e2 Valid AUC", 0.5987499999999999),
        ("e3 Train Loss", 0.31863936901092527), ("e3 Valid Loss", 0.8425237472130296),
        ("e3 Valid HR@10", 0.5), ("e3 Valid NDCG@10", 0.2635211283907004),
        ("e3 Valid MRR", 0.2273125780952793), ("e3 Valid AUC", 0.5649999999999998),
        ("e4 Train Loss", 0.2782536292076111), ("e4 Valid Loss", 0.9455182453908492),
        ("e4 Valid HR@10", 0.475), ("e4 Valid NDCG@10", 0.25990127611642544),
        ("e4 Valid MRR", 0.22988718078017606), ("e4 Valid AUC", 0.53875),
        ("Test Loss", 0.6931113978847862), ("Test HR@10", 0.65),
        ("Test NDCG@10", 0.3969407404234949), ("Test MRR", 0.34003944735175384),
        ("Test AUC", 0.6562499999999999),
    ]
    static let implicitSGDAll: [(String, Double)] = [
        ("e1 Train Loss", 0.4959581655689648), ("e1 Valid Loss", 0.7026103576024373),
        ("e1 Valid HR@10", 0.525), ("e1 Valid NDCG@10", 0.2492724192105092),
        ("e1 Valid MRR", 0.1935855150202561), ("e1 Valid AUC", 0.6538703050688003),
        ("e2 Train Loss", 0.43495763774429047), ("e2 Valid Loss", 0.709106428300341),
        ("e2 Valid HR@10", 0.55), ("e2 Valid NDCG@10", 0.268631343723078),
        ("e2 Valid MRR", 0.210045023273278), ("e2 Valid AUC", 0.6363283655785515),
        ("e3 Train Loss", 0.4120847744601113), ("e3 Valid Loss", 0.7118696131122609),
        ("e3 Valid HR@10", 0.45), ("e3 Valid NDCG@10", 0.2301108207795946),
        ("e3 Valid MRR", 0.19624527036282718), ("e3 Valid AUC", 0.6303175232745528),
        ("e4 Train Loss", 0.40194534459284376), ("e4 Valid Loss", 0.7388191048055888),
        ("e4 Valid HR@10", 0.525), ("e4 Valid NDCG@10", 0.23686061543022668),
        ("e4 Valid MRR", 0.17887388354751338), ("e4 Valid AUC", 0.6380448178677359),
        ("Test Loss", 0.6893547961488367), ("Test HR@10", 0.55),
        ("Test NDCG@10", 0.3170614834197295), ("Test MRR", 0.26674691856639937),
        ("Test AUC", 0.6406739008377301),
    ]
    static let ratingDenseAdam: [(String, Double)] = [
        ("e1 Train Loss", 1.1177953982446924), ("e1 Valid Loss", 1.0555512451140938),
        ("e1 Valid RMSE", 1.0555512451140938), ("e1 Valid MAE", 0.8744826893011729),
        ("e2 Train Loss", 1.0138535970630547), ("e2 Valid Loss", 1.0255220861679102),
        ("e2 Valid RMSE", 1.0255220861679102), ("e2 Valid MAE", 0.8389210184415181),
        ("e3 Train Loss", 0.933702377958682), ("e3 Valid Loss", 1.0205170513501578),
        ("e3 Valid RMSE", 1.0205170513501578), ("e3 Valid MAE", 0.8226663211981455),
        ("e4 Train Loss", 0.8017374058556918), ("e4 Valid Loss", 1.0702906573355362),
        ("e4 Valid RMSE", 1.0702906573355362), ("e4 Valid MAE", 0.8543411602576574),
        ("Test Loss", 0.8681919774910258), ("Test RMSE", 0.8681919774910258),
        ("Test MAE", 0.7193466126918793),
    ]
    static let ratingAdam: [(String, Double)] = [
        ("e1 Train Loss", 1.1188712345620067), ("e1 Valid Loss", 1.0494770385473735),
        ("e1 Valid RMSE", 1.0494770385473735), ("e1 Valid MAE", 0.8762172440687815),
        ("e2 Train Loss", 1.019469899247521), ("e2 Valid Loss", 1.0350212872646594),
        ("e2 Valid RMSE", 1.0350212872646594), ("e2 Valid MAE", 0.8547779242197673),
        ("e3 Train Loss", 0.953857366677263), ("e3 Valid Loss", 1.030658647353086),
        ("e3 Valid RMSE", 1.030658647353086), ("e3 Valid MAE", 0.8312012990315755),
        ("e4 Train Loss", 0.8461138707918361), ("e4 Valid Loss", 1.041576364419237),
        ("e4 Valid RMSE", 1.041576364419237), ("e4 Valid MAE", 0.8394385377566019),
        ("Test Loss", 0.8641230277711078), ("Test RMSE", 0.8641230277711078),
        ("Test MAE", 0.7015330612659454),
    ]
}

/// The fast evaluator (batched scorer) against its per-pair reference path.
final class EvaluatorPathTests: XCTestCase {
    func testFastAndReferenceEvaluationAgree() throws {
        for (task, negatives) in [(Task.rating, EvalNegatives.sampled(5)), (.implicit, .sampled(15)), (.implicit, .all)] {
            let interactions = SyntheticRatings.generate(users: 35, items: 70, ratings: 900, seed: 2)
            var users = IDMap(), items = IDMap()
            for u in 0..<35 { _ = users.intern("u\(u)") }
            for i in 0..<70 { _ = items.intern("i\(i)") }
            let file = RatingsFile(path: "eval", format: .tsv, interactions: interactions, userIDs: users, itemIDs: items)
            let options = SplitOptions(kind: SplitKind.default(for: task), task: task, seed: 1,
                                       evalNegatives: negatives, lossNegatives: 3)
            let dataset = try DatasetBuilder.make(from: file, options: options)
            // [8, 4] runs the tower through gemms, [6, 16, 8] through the fused all-items kernel.
            for dims in [[8, 4], [6, 16, 8]] {
                let config = ModelConfig(kind: .neumf, task: task, numUsers: 35, numItems: 70, embedDim: 6,
                                         mlpDims: dims, dropout: 0)
                let model = NeuMF(config: config, capacity: 16, seed: 3)
                var rng = SplitMix64(seed: 5)
                for i in 0..<model.params.count { model.params[i] = Float(rng.nextGaussian()) * 0.5 }
                for ranking in [dataset.validRanking, dataset.testRanking] {
                    let evaluator = Evaluator(split: .valid, pairs: dataset.validPairs, ranking: ranking, dataset: dataset, k: 10)
                    let reference = evaluator.evaluateReference(model)
                    for threads in [1, 2] {
                        evaluator.threads = threads
                        let fast = evaluator.evaluate(model)
                        XCTAssertEqual(fast.map(\.name), reference.map(\.name), "\(task) \(negatives)")
                        for (f, r) in zip(fast, reference) {
                            XCTAssertEqual(f.value, r.value, accuracy: 1e-5 * max(1, abs(r.value)),
                                           "\(task) \(negatives) \(dims) \(f.name) threads \(threads)")
                        }
                    }
                }
            }
        }
    }

    /// The branch-free count against a direct walk, with ties, NaNs, a seen positive and a NaN positive.
    func testCountAboveMatchesADirectWalk() {
        let rows: [[Float]] = [
            [0.5, 0.9, 0.5, .nan, 0.1, 0.7, 0.5, 0.2],
            [.nan, 0.9, 0.5, 0.3, 0.1, 0.7, 0.5, 0.2],
            [1, 1, 1, 1, 1, 1, 1, 1],
        ]
        let seens: [[Int32]] = [[], [1, 5], [0, 2, 3], [2]]
        for row in rows {
            for pos in 0..<row.count {
                for seen in seens {
                    let sp = row[pos]
                    var g = 0, t = 0, n = 0
                    for j in row.indices where j != pos && !seen.contains(Int32(j)) {
                        n += 1
                        if sp.isNaN || row[j].isNaN || row[j] > sp { g += 1 } else if row[j] == sp { t += 1 }
                    }
                    let got = row.withUnsafeBufferPointer { Evaluator.countAbove($0, positive: pos, seen: seen[...]) }
                    XCTAssertEqual(got.greater, g, "row \(row) pos \(pos) seen \(seen)")
                    XCTAssertEqual(got.ties, t, "row \(row) pos \(pos) seen \(seen)")
                    XCTAssertEqual(got.negatives, n, "row \(row) pos \(pos) seen \(seen)")
                }
            }
        }
    }
}

/// The optimizer's vectorised step against its plain reference step (`Optimizer.stepReference`) on
/// the same gradients, for every kind, with and without weight decay.
final class OptimizerPathTests: XCTestCase {
    func testFastStepMatchesReferenceStep() {
        for kind in OptimizerKind.allCases {
            for wd in [0.0, 0.01] {
                let config = ModelConfig(kind: .neumf, task: .rating, numUsers: 11, numItems: 13, embedDim: 9,
                                         mlpDims: [7, 5], dropout: 0)
                let fast = NeuMF(config: config, capacity: 8, seed: 3)
                let slow = NeuMF(config: config, capacity: 8, seed: 3)
                let fastOpt = Optimizer(kind: kind, lr: 0.01, weightDecay: wd, model: fast)
                let slowOpt = Optimizer(kind: kind, lr: 0.01, weightDecay: wd, model: slow)
                var rng = SplitMix64(seed: 9)
                for _ in 0..<30 {
                    let users = (0..<6).map { _ in Int32(rng.nextInt(below: 11)) }
                    let items = (0..<6).map { _ in Int32(rng.nextInt(below: 13)) }
                    let targets = (0..<6).map { _ in Float(1 + rng.nextInt(below: 5)) }
                    for (model, opt, reference) in [(fast, fastOpt, false), (slow, slowOpt, true)] {
                        var g = SplitMix64(seed: 0)
                        model.forward(users: users, items: items, count: 6, training: true, rng: &g)
                        _ = model.loss(targets: targets, count: 6)
                        model.backward(users: users, items: items, count: 6)
                        if reference { opt.stepReference(model) } else { opt.step(model) }
                    }
                }
                assertClose(fast.params.array, slow.params.array, tolerance: 1e-5, "\(kind) wd \(wd) parameters")
                XCTAssertEqual(fast.grads.array, [Float](repeating: 0, count: fast.grads.count), "\(kind): gradients cleared")
                if kind != .sgd {
                    assertClose(fastOpt.secondMoments, slowOpt.secondMoments, tolerance: 1e-5, "\(kind) wd \(wd) v")
                }
            }
        }
    }
}
