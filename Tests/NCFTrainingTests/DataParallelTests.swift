import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

@testable import NCFTraining

/// `--threads N`: one batch split N ways (`DataParallel`). The invariants: the summed slice
/// gradients are the whole batch's gradient, a step is the single-thread step, a run is
/// deterministic for a given N, and it learns as well as one thread.
final class DataParallelTests: XCTestCase {
    /// 13 pairs whose users and items repeat within and across slices (users 2 and 5, item 3), so
    /// the reduction must add rows that two slices touched and count their L2 once.
    private let users: [Int32] = [2, 0, 5, 2, 7, 1, 5, 8, 2, 3, 6, 5, 4]
    private let items: [Int32] = [3, 1, 3, 10, 0, 3, 7, 2, 9, 3, 4, 6, 5]
    private let ratings: [Float] = [4, 3, 5, 2, 1, 4, 3, 5, 4, 2, 3, 5, 1]
    private let labels: [Float] = [1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0]

    private func modelConfig(_ kind: ModelKind, _ task: Task) -> ModelConfig {
        ModelConfig(kind: kind, task: task, numUsers: 9, numItems: 11, embedDim: 4,
                    mlpDims: kind.usesMLP ? [6, 3] : [], dropout: 0)
    }

    func testSlicedGradientEqualsTheWholeBatchGradient() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs the Synchronization module") }
        for kind in ModelKind.allCases {
            for task in [Task.rating, .implicit] {
                for threads in [2, 3, 13, 16] {  // 16 > batch: three slices stay empty
                    let name = "\(kind) \(task) \(threads) threads"
                    let targets = task == .rating ? ratings : labels
                    let single = NeuMF(config: modelConfig(kind, task), capacity: 13, seed: 7)
                    single.embedL2 = 0.5
                    var rng = SplitMix64(seed: 0)
                    single.forward(users: users, items: items, count: 13, training: true, rng: &rng)
                    let loss = single.loss(targets: targets, count: 13)
                    single.backward(users: users, items: items, count: 13)

                    let master = NeuMF(config: modelConfig(kind, task), capacity: 13, seed: 7)
                    let optimizer = Optimizer(kind: .adam, lr: 0.01, weightDecay: 0, model: master)
                    let parallel = DataParallel(model: master, optimizer: optimizer, threads: threads, batch: 13, embedL2: 0.5)
                    let parallelLoss = parallel.batchGradient(users: users, items: items, targets: targets, seed: 0)

                    XCTAssertEqual(parallelLoss, Double(loss), accuracy: 1e-6, name)
                    assertClose(master.grads.array, single.grads.array, tolerance: 1e-6, name)
                    XCTAssertNotEqual(single.grads.array.filter { $0 != 0 }.count, 0, name)
                    for replica in parallel.models.dropFirst() {
                        XCTAssertTrue(replica.grads.array.allSatisfy { $0 == 0 }, "\(name): a replica's gradient is consumed")
                        XCTAssertTrue(replica.params === master.params, "\(name): replicas share the parameters")
                    }
                }
            }
        }
    }

    /// Embedding dropout applies to every slice, not only to the trainer's own model's: with
    /// p = 0.9, the user rows that only the second of two slices looked up get a gradient that is
    /// mostly zero, as the first slice's do.
    func testEmbeddingDropoutReachesEverySlice() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs the Synchronization module") }
        let master = NeuMF(config: modelConfig(.gmf, .rating), capacity: 13, seed: 7)
        master.embedDropout = 0.9
        let optimizer = Optimizer(kind: .adam, lr: 0.01, weightDecay: 0, model: master)
        let parallel = DataParallel(model: master, optimizer: optimizer, threads: 2, batch: 13, embedL2: 0)
        _ = parallel.batchGradient(users: users, items: items, targets: ratings, seed: 0)
        // Slice 0 is rows 0..<7 (users 2, 0, 5, 7, 1), slice 1 rows 7..<13: users 8, 3, 6 and 4 are only in slice 1.
        let table = master.userTables[0], g = table.pointer(in: master.grads), d = table.cols
        let entries = [8, 3, 6, 4].flatMap { u in (0..<d).map { g[u * d + $0] } }
        let zeros = entries.filter { $0 == 0 }.count
        XCTAssertGreaterThanOrEqual(zeros, entries.count / 2, "slice 1 trained without embedding dropout: \(entries)")
        XCTAssertTrue(parallel.models.allSatisfy { $0.embedDropout == 0.9 }, "every replica has the model's dropout")
    }

    /// Three steps on one batch: the data-parallel epoch against `Optimizer.step`, for every
    /// optimizer, with weight decay and embedding L2.
    func testStepsEqualTheSingleThreadSteps() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs the Synchronization module") }
        for kind in [OptimizerKind.adam, .denseAdam, .sgd] {
            for threads in [2, 3] {
                let name = "\(kind) \(threads) threads"
                let config = modelConfig(.neumf, .implicit)
                let single = NeuMF(config: config, capacity: 13, seed: 11)
                single.embedL2 = 0.1
                let singleOptimizer = Optimizer(kind: kind, lr: 0.01, weightDecay: 0.01, model: single)
                var rng = SplitMix64(seed: 0)
                var singleLoss = 0.0
                for _ in 0..<3 {
                    single.forward(users: users, items: items, count: 13, training: true, rng: &rng)
                    singleLoss += Double(single.loss(targets: labels, count: 13)) * 13
                    single.backward(users: users, items: items, count: 13)
                    singleOptimizer.step(single)
                }

                let master = NeuMF(config: config, capacity: 13, seed: 11)
                let optimizer = Optimizer(kind: kind, lr: 0.01, weightDecay: 0.01, model: master)
                let parallel = DataParallel(model: master, optimizer: optimizer, threads: threads, batch: 13, embedL2: 0.1)
                let epochUsers = users + users + users, epochItems = items + items + items, epochLabels = labels + labels + labels
                let result = epochUsers.withUnsafeBufferPointer { u in epochItems.withUnsafeBufferPointer { i in
                    epochLabels.withUnsafeBufferPointer { y in
                        parallel.runEpoch(.pairs(u.baseAddress!, i.baseAddress!, y.baseAddress!), count: 39,
                                          batch: 13, seed: 0) { _, _, _ in false }
                    }
                }}
                XCTAssertEqual(result.steps, 3, name)
                XCTAssertEqual(result.samples, 39, name)
                XCTAssertNil(result.nonFinite, name)
                XCTAssertEqual(result.lossSum, singleLoss, accuracy: 1e-4, name)
                XCTAssertEqual(optimizer.t, 3, name)
                assertClose(master.params.array, single.params.array, tolerance: 1e-6, name)
                XCTAssertNotEqual(master.params.array, NeuMF(config: config, capacity: 13, seed: 11).params.array, "\(name): it trained")
                assertClose(optimizer.firstMoments, singleOptimizer.firstMoments, tolerance: 1e-6, name)
                XCTAssertTrue(master.grads.array.allSatisfy { $0 == 0 }, "\(name): gradients are cleared after a step")
            }
        }
    }

    /// An epoch given as an order over the train rows, each thread gathering its slice, trains
    /// exactly as the same epoch materialised: the same parameters bit for bit, with ratings and
    /// with implicit targets (all 1, no ratings given), batches that do not divide the epoch.
    func testAnEpochAsAnOrderTrainsAsTheMaterialisedEpoch() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs the Synchronization module") }
        let order: [UInt32] = [5, 0, 12, 3, 3, 9, 1, 11, 7, 2, 10, 4, 8, 6, 0, 12, 5]  // rows may repeat
        for task in [Task.rating, .implicit] {
            let targets = task == .rating ? ratings : [Float](repeating: 1, count: 13)
            func train(byOrder: Bool) -> [Float] {
                let master = NeuMF(config: modelConfig(.neumf, task), capacity: 5, seed: 3)
                master.embedDropout = 0.2
                let optimizer = Optimizer(kind: .adam, lr: 0.01, weightDecay: 0, model: master)
                let parallel = DataParallel(model: master, optimizer: optimizer, threads: 2, batch: 5, embedL2: 0.1)
                if byOrder {
                    _ = users.withUnsafeBufferPointer { u in items.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { y in
                        order.withUnsafeBufferPointer { o in
                            parallel.runEpoch(.init(users: u.baseAddress!, items: i.baseAddress!,
                                                    targets: task == .rating ? y.baseAddress! : nil, order: o.baseAddress!),
                                              count: order.count, batch: 5, seed: 9) { _, _, _ in false }
                        }
                    }}}
                } else {
                    let eu = order.map { users[Int($0)] }, ei = order.map { items[Int($0)] }, ey = order.map { targets[Int($0)] }
                    _ = eu.withUnsafeBufferPointer { u in ei.withUnsafeBufferPointer { i in ey.withUnsafeBufferPointer { y in
                        parallel.runEpoch(.pairs(u.baseAddress!, i.baseAddress!, y.baseAddress!), count: order.count,
                                          batch: 5, seed: 9) { _, _, _ in false }
                    }}}
                }
                return master.params.array
            }
            let materialised = train(byOrder: false)
            XCTAssertEqual(train(byOrder: true), materialised, "\(task)")
            XCTAssertNotEqual(materialised, NeuMF(config: modelConfig(.neumf, task), capacity: 5, seed: 3).params.array, "it trained")
        }
    }

    // MARK: - Through the trainer

    /// 120 users × 60 items, implicit: popularity makes it learnable, and it is small enough for
    /// a debug build.
    private func dataset() throws -> Dataset {
        let interactions = SyntheticRatings.generate(users: 120, items: 60, ratings: 3000, seed: 5)
        var users = IDMap(), items = IDMap()
        for u in 0..<120 { _ = users.intern("u\(u)") }
        for i in 0..<60 { _ = items.intern("i\(i)") }
        let file = RatingsFile(path: "synthetic", format: .tsv, interactions: interactions, userIDs: users, itemIDs: items)
        let options = SplitOptions(kind: .loo, task: .implicit, seed: 0, evalNegatives: .sampled(20), lossNegatives: 2)
        return try DatasetBuilder.make(from: file, options: options)
    }

    private func config(threads: Int, seed: UInt64) -> TrainConfig {
        var c = TrainConfig()
        c.embed_dim = 8
        c.mlp_dims = [16, 8]
        c.batch_size = 32
        c.epochs = 5
        c.lr = 0.005
        c.topk = 5
        c.seed = seed
        c.threads = threads
        return c
    }

    private func train(_ config: TrainConfig, _ data: Dataset) throws -> (records: [EpochRecord], summary: TrainSummary) {
        var records: [EpochRecord] = []
        let summary = try Trainer(config: config, dataset: data).run { event in
            if case let .epochEnded(r) = event { records.append(r) }
            return .proceed
        }
        return (records, summary)
    }

    func testTwoThreadsLearnAsWellAsOne() throws {
        let data = try dataset()
        var auc: [Int: [Double]] = [:], hr: [Int: [Double]] = [:], lastLoss: [Int: [Double]] = [:]
        for threads in [1, 2] {
            for seed: UInt64 in 0..<3 {
                let (records, summary) = try train(config(threads: threads, seed: seed), data)
                XCTAssertEqual(records.count, 5)
                auc[threads, default: []].append(try XCTUnwrap(summary.testMetrics[metric: "Test AUC"]))
                hr[threads, default: []].append(try XCTUnwrap(summary.testMetrics[metric: "Test HR@5"]))
                lastLoss[threads, default: []].append(try XCTUnwrap(records.last?.metrics[metric: "Train Loss"]))
            }
        }
        func mean(_ x: [Double]?) -> Double { (x ?? []).reduce(0, +) / Double(max(1, x?.count ?? 0)) }
        XCTAssertGreaterThan(mean(auc[1]), 0.6, "one thread learns (AUC of a random model: 0.5)")
        XCTAssertGreaterThan(mean(auc[2]), 0.6, "two threads learn")
        XCTAssertEqual(mean(auc[2]), mean(auc[1]), accuracy: 0.02, "Test AUC, mean of 3 seeds")
        XCTAssertEqual(mean(hr[2]), mean(hr[1]), accuracy: 0.05, "Test HR@5, mean of 3 seeds")
        XCTAssertEqual(mean(lastLoss[2]), mean(lastLoss[1]), accuracy: 0.01 * mean(lastLoss[1]), "last Train Loss within 1%")
    }

    func testTwoThreadsAreDeterministicAndNotTheOneThreadRun() throws {
        let data = try dataset()
        let a = try train(config(threads: 2, seed: 4), data)
        let b = try train(config(threads: 2, seed: 4), data)
        XCTAssertEqual(a.records.map(\.metrics), b.records.map(\.metrics), "same seed, same N: bit-identical")
        XCTAssertEqual(a.summary.testMetrics, b.summary.testMetrics)
        let one = try train(config(threads: 1, seed: 4), data)
        XCTAssertNotEqual(a.records.map(\.metrics), one.records.map(\.metrics),
                          "N = 2 rounds (and draws dropout) differently from N = 1, as documented")
        let three = try train(config(threads: 3, seed: 4), data)
        XCTAssertNotEqual(a.records.map(\.metrics), three.records.map(\.metrics))
    }

    func testDivergenceOnTwoThreadsIsReported() throws {
        var c = config(threads: 2, seed: 0)
        c.optimizer = .sgd
        c.lr = 1e12
        XCTAssertThrowsError(try train(c, dataset())) { error in
            guard case TrainingError.nonFiniteLoss = error else { return XCTFail("expected nonFiniteLoss, got \(error)") }
        }
    }

    func testMemoryEstimateCountsTheReplicas() throws {
        let data = try dataset()
        let one = config(threads: 1, seed: 0).memoryEstimate(dataset: data)
        let two = config(threads: 2, seed: 0).memoryEstimate(dataset: data)
        let four = config(threads: 4, seed: 0).memoryEstimate(dataset: data)
        XCTAssertEqual(two.parameterBytes, one.parameterBytes)
        XCTAssertGreaterThanOrEqual(two.totalBytes - one.totalBytes, one.parameterCount * 4, "a replica's gradient buffer")
        XCTAssertGreaterThan(four.totalBytes, two.totalBytes)
    }

    func testThreadCountIsValidated() {
        for bad in [0, -1, 257] {
            var c = TrainConfig()
            c.threads = bad
            XCTAssertEqual(c.problems(), ["--threads \(bad): must be 1...256"])
        }
        var c = TrainConfig()
        c.threads = 256
        XCTAssertEqual(c.problems(), [])
    }
}
