import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFRunContract

/// The epoch loop: sample, step through mini-batches, validate, keep the best epoch, test once.
///
/// Training never looks at the test split: the best epoch is chosen by the selection metric
/// (`TrainConfig.selection`: `Valid Loss` for ratings, `Valid HR@K` for implicit data unless
/// `select_metric` says otherwise), and the test metrics are computed once, at the end, with that
/// epoch's weights. Events go to an observer
/// closure, which may ask to stop (a sweep's early termination, or Ctrl-C).
public final class Trainer {
    public let config: TrainConfig
    public let dataset: Dataset
    public let model: NeuMF
    public let optimizer: Optimizer
    /// A model's parameters, gradients, (Adam) two moment buffers and the gradient buffers of
    /// `threads` − 1 replicas may take at most this much.
    public static let memoryLimitBytes = 8 << 30

    /// The epoch metric that chooses the kept epoch, and which way it is better.
    public let selection: (metric: MetricName, goal: MetricGoal)

    private var sampler: NegativeSampler
    private let validEvaluator: Evaluator
    private let testEvaluator: Evaluator

    public init(config: TrainConfig, dataset: Dataset) throws {
        let problems = config.problems()
        if !problems.isEmpty { throw TrainingError.invalidConfig(problems) }
        if dataset.train.isEmpty {
            throw TrainingError.emptyData("the training split is empty. Hint: use a larger data file or lower --valid_ratio/--test_ratio.")
        }
        selection = try config.selection(task: dataset.task)
        let modelConfig = config.modelConfig(task: dataset.task, numUsers: dataset.numUsers, numItems: dataset.numItems)
        // Parameters and gradients (+ Adam's two moments), and one more gradient buffer per extra thread.
        let needed = modelConfig.makeLayout().totalCount * 4 * ((config.optimizer == .sgd ? 2 : 4) + max(0, config.threads - 1))
        if needed > Self.memoryLimitBytes { throw TrainingError.tooLarge(bytes: needed, limit: Self.memoryLimitBytes) }

        self.config = config
        self.dataset = dataset
        // OpenBLAS threads; while `threads` ≥ 2 workers train, each calls it single-threaded (`run`).
        BLAS.setThreads(config.threads)
        // Evaluation scores through its own `BatchScorer` workspace, so the model's holds one batch.
        model = NeuMF(config: modelConfig, capacity: config.batch_size, seed: config.seed, embedInitStd: config.init_std)
        if dataset.task == .rating { model.setOutputBias(dataset.meanTrainRating) }
        model.embedL2 = Float(config.embed_l2)
        model.embedDropout = Float(config.embed_dropout)
        if let pretrained = config.pretrained {
            try pretrained.apply(to: model, userIDs: dataset.userIDs.rawIDs, itemIDs: dataset.itemIDs.rawIDs)
        }
        optimizer = Optimizer(kind: config.optimizer, lr: config.lr, weightDecay: config.weight_decay, model: model)
        sampler = NegativeSampler(dataset: dataset, negatives: config.negatives)
        validEvaluator = Evaluator(split: .valid, pairs: dataset.validPairs, ranking: dataset.validRanking, dataset: dataset, k: config.topk)
        testEvaluator = Evaluator(split: .test, pairs: dataset.testPairs, ranking: dataset.testRanking, dataset: dataset, k: config.topk)
        validEvaluator.threads = config.threads
        testEvaluator.threads = config.threads
        testEvaluator.shareScorers(with: validEvaluator)
    }

    /// Set before `run` to time the threads' phases (`ncf-bench threads`); only with `threads` ≥ 2.
    public var threadProfile: ThreadProfile?

    /// The least time between two progress events, in nanoseconds (they are also at most one
    /// per 64 steps); the tests set 0 to stop a run in the middle of an epoch.
    var progressInterval: UInt64 = 200_000_000

    /// The data-parallel workers for `threads` ≥ 2 (see `DataParallel`); nil for one thread, which
    /// runs the original loop below unchanged.
    private lazy var parallel: AnyObject? = {
        guard config.threads > 1, #available(macOS 15.0, *) else { return nil }
        return DataParallel(model: model, optimizer: optimizer, threads: config.threads, batch: config.batch_size,
                            embedL2: Float(config.embed_l2))
    }()

    /// Trains for `config.epochs` epochs (or until early stopping or the observer says stop) and
    /// returns the summary; the model then holds the best epoch's weights.
    /// - Throws: `TrainingError.nonFiniteLoss` when the loss becomes NaN or infinite.
    public func run(observer: (TrainingEvent) -> TrainingControl = { _ in .proceed }) throws -> TrainSummary {
        var rng = SplitMix64(seed: config.seed, stream: 0x7EA1)
        // An epoch that is only the train rows reordered (the rating task) is walked as an order
        // over the rows, each batch (each thread's slice of it) gathered from the rows: 4 bytes a
        // row instead of a 12-byte copy (64 MB instead of 192 MB at 16M rows). The pairs and the
        // draws are fillEpoch's. The epoch's pairs or order live only while it trains: they are
        // released before validation, whose scorer would otherwise come on top of them at the
        // run's peak (64 MB of order at 16M rows; 60 MB of pairs for ML-1M with 4 negatives).
        let byOrder = sampler.epochIsPermutation
        var epochPairs = LabeledPairs()
        var epochOrder: [UInt32] = []
        var batchPairs = LabeledPairs()
        func fillEpoch() {
            if byOrder { sampler.fillOrder(&epochOrder, rng: &rng) } else { sampler.fillEpoch(&epochPairs, rng: &rng) }
        }
        func releaseEpoch() {
            epochOrder = []
            epochPairs = LabeledPairs()
            batchPairs = LabeledPairs()
        }
        let batch = config.batch_size
        let steps = (sampler.epochSize + batch - 1) / batch
        _ = observer(.started(epochs: config.epochs, stepsPerEpoch: steps, parameters: model.layout.totalCount))

        var best = (value: Double.nan, epoch: 0, metrics: [MetricValue]())
        var hasBest = false
        // The best epoch's weights are copied only when the next epoch is about to change them:
        // while they are the model's own, no copy is needed (a one-epoch run from random weights
        // never makes one, a run from pre-trained parts copies its start when epoch 1 begins; the
        // last epoch's weights are never copied).
        var bestParams: FloatBuffer?
        var modelHoldsBest = false
        var sinceBest = 0
        var stoppedEarly = false
        var epochsRun = 0
        var trainSeconds = 0.0
        var samplesSeen = 0
        let implicit = dataset.task == .implicit
        _ = parallel  // the workers and their buffers are made before the first epoch's clock starts

        // A run from pre-trained parts first validates where it starts, as "epoch 0" (logged like
        // an epoch, without Train Loss): further training must beat the start on the selection
        // metric to be kept, so the kept and tested weights are never worse on Valid than the parts'
        // mix the run began with.
        var stoppedAtStart = false
        if config.pretrained != nil {
            let metrics = validEvaluator.evaluate(model)
            validEvaluator.releaseScorers()
            best = (metrics[metric: selection.metric] ?? .nan, 0, metrics)
            hasBest = true
            modelHoldsBest = true
            if case .stop = observer(.epochEnded(EpochRecord(epoch: 0, metrics: metrics, seconds: 0, samplesPerSecond: 0))) {
                stoppedEarly = true
                stoppedAtStart = true
            }
        }

        epochLoop: for epoch in 1...config.epochs where !stoppedAtStart {
            if modelHoldsBest {
                let copy = bestParams ?? FloatBuffer(count: model.params.count)
                copy.pointer.update(from: model.params.pointer, count: model.params.count)
                bestParams = copy
                modelHoldsBest = false
            }
            fillEpoch()
            if config.lr_decay != 1 { optimizer.lr = Float(config.lr * pow(config.lr_decay, Double(epoch - 1))) }
            let n = sampler.epochSize
            let start = DispatchTime.now().uptimeNanoseconds
            var lossSum = 0.0
            var lastReport = start
            var askedToStop = false
            if #available(macOS 15.0, *), let parallel = parallel as? DataParallel {
                // N threads, one batch split N ways (DataParallel.swift). OpenBLAS runs one thread
                // in each worker; the models' own L2 is off (the reduction adds it once per row).
                let epochSeed = rng.next()
                parallel.profile = threadProfile
                parallel.progressInterval = progressInterval
                BLAS.setThreads(1)
                model.embedL2 = 0
                defer { BLAS.setThreads(config.threads); model.embedL2 = Float(config.embed_l2) }
                func progress(_ step: Int, _ samples: Int, _ lossSum: Double) -> Bool {
                    let now = DispatchTime.now().uptimeNanoseconds
                    let mean = lossSum / Double(max(samples, 1))
                    let control = observer(.progress(
                        epoch: epoch, step: step, steps: steps, seconds: Double(now - start) / 1e9,
                        trainLoss: implicit ? mean : mean.squareRoot()))
                    if case .stop = control { return true }
                    return false
                }
                let result: DataParallel.EpochResult
                if byOrder {
                    result = epochOrder.withUnsafeBufferPointer { order in
                        sampler.withTrainRows { users, items, ratings in
                            parallel.runEpoch(.init(users: users, items: items, targets: ratings, order: order.baseAddress),
                                              count: n, batch: batch, seed: epochSeed, progress: progress)
                        }
                    }
                } else {
                    result = epochPairs.users.withUnsafeBufferPointer { users in
                        epochPairs.items.withUnsafeBufferPointer { items in
                            epochPairs.targets.withUnsafeBufferPointer { targets in
                                parallel.runEpoch(.pairs(users.baseAddress!, items.baseAddress!, targets.baseAddress!),
                                                  count: n, batch: batch, seed: epochSeed, progress: progress)
                            }
                        }
                    }
                }
                if let bad = result.nonFinite {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: bad.step, value: bad.loss)
                }
                lossSum = result.lossSum
                samplesSeen += result.samples
                askedToStop = result.stoppedByObserver
            } else {
                /// Forward, loss, backward and the optimizer's step on the `b` pairs at `u`, `i`, `y`.
                func trainStep(_ u: UnsafePointer<Int32>, _ i: UnsafePointer<Int32>, _ y: UnsafePointer<Float>,
                               _ b: Int, _ step: Int) throws {
                    model.forward(users: u, items: i, count: b, training: true, rng: &rng)
                    let loss = model.loss(targets: y, count: b)
                    guard loss.isFinite else {
                        throw TrainingError.nonFiniteLoss(epoch: epoch, step: step + 1, value: Double(loss))
                    }
                    lossSum += Double(loss) * Double(b)
                    model.backward(users: u, items: i, count: b)
                    optimizer.step(model)
                }
                var step = 0
                var offset = 0
                while offset < n {
                    let b = min(batch, n - offset)
                    if byOrder {
                        // The batch gathered from the order (see `byOrder`).
                        sampler.gather(epochOrder[offset..<(offset + b)], into: &batchPairs)
                        try batchPairs.users.withUnsafeBufferPointer { u in
                            try batchPairs.items.withUnsafeBufferPointer { i in
                                try batchPairs.targets.withUnsafeBufferPointer { y in
                                    try trainStep(u.baseAddress!, i.baseAddress!, y.baseAddress!, b, step)
                                }
                            }
                        }
                    } else {
                        try epochPairs.users.withUnsafeBufferPointer { u in
                            try epochPairs.items.withUnsafeBufferPointer { i in
                                try epochPairs.targets.withUnsafeBufferPointer { y in
                                    try trainStep(u.baseAddress! + offset, i.baseAddress! + offset, y.baseAddress! + offset, b, step)
                                }
                            }
                        }
                    }
                    offset += b
                    step += 1
                    if step & 63 == 0 {
                        let now = DispatchTime.now().uptimeNanoseconds
                        if now - lastReport > progressInterval {
                            lastReport = now
                            let mean = lossSum / Double(offset)
                            let control = observer(.progress(
                                epoch: epoch, step: step, steps: steps, seconds: Double(now - start) / 1e9,
                                trainLoss: implicit ? mean : mean.squareRoot()))
                            if case .stop = control { askedToStop = true; break }
                        }
                    }
                }
                samplesSeen += offset
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            releaseEpoch()  // after the clock: freeing is not training time
            trainSeconds += seconds
            epochsRun = epoch
            if askedToStop { stoppedEarly = true; break epochLoop }

            // Train Loss: RMSE over the epoch's batches (rating) or mean log loss (implicit),
            // measured with dropout on, as the optimizer saw it.
            let meanLoss = lossSum / Double(max(n, 1))
            var metrics = [MetricValue(.trainLoss, implicit ? meanLoss : meanLoss.squareRoot())]
            metrics += validEvaluator.evaluate(model)
            validEvaluator.releaseScorers()
            let record = EpochRecord(epoch: epoch, metrics: metrics, seconds: seconds,
                                     samplesPerSecond: Double(n) / max(seconds, 1e-9))
            // The first epoch, then any strictly better one (a NaN metric is never better).
            let value = metrics[metric: selection.metric] ?? .nan
            let better = selection.goal == .minimize ? value < best.value : value > best.value
            if !hasBest || better || (best.value.isNaN && !value.isNaN) {
                hasBest = true
                best = (value, epoch, Array(metrics.dropFirst()))
                modelHoldsBest = true
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            if case .stop = observer(.epochEnded(record)) { stoppedEarly = true; break }
            if config.patience > 0 && sinceBest >= config.patience { stoppedEarly = epoch < config.epochs; break }
        }

        if hasBest && !modelHoldsBest {
            // A later epoch started after the best one, and the copy is taken when one starts.
            guard let copy = bestParams else { preconditionFailure("Trainer: the best epoch's weights were never copied") }
            model.params.pointer.update(from: copy.pointer, count: model.params.count)
        }
        bestParams = nil  // not held while the test evaluation builds its scorer
        let test = testEvaluator.evaluate(model)
        let summary = TrainSummary(
            bestEpoch: best.epoch, selectMetric: selection.metric.description, selectGoal: selection.goal,
            epochsRun: epochsRun, stoppedEarly: stoppedEarly,
            validMetrics: best.metrics, testMetrics: test,
            protocolDescription: dataset.protocolDescription,
            trainSeconds: trainSeconds, samplesPerSecond: Double(samplesSeen) / max(trainSeconds, 1e-9),
            peakMemoryBytes: peakResidentBytes())
        _ = observer(.finished(summary))
        return summary
    }
}
