import Foundation
import NCFKernels
import NCFModel

// Data-parallel training of one model on N threads (`--threads N`, N ≥ 2).
//
// Every mini-batch of B rows is cut into N contiguous slices of ⌊B/N⌋ or ⌈B/N⌉ rows. Thread k runs
// forward, loss and backward of slice k with its own model replica: the replicas share the one
// parameter buffer (read-only during this phase) and each has its own gradient buffer and
// activation workspace. The loss gradient of every slice is a mean over the whole batch
// (`NeuMF.loss(meanOver:)`), so the slices' gradients add up to the batch's gradient. After a
// barrier, thread k reduces and applies the update for its own part of the parameters: rows
// ⌊k·R/N⌋ ..< ⌊(k+1)·R/N⌋ of every embedding table (R rows) and the k-th eighth-aligned chunk of
// every dense tensor. For each such element it sums the N gradients in a fixed order
// (g₀ + g₁ + … + g_{N−1}), zeroes the replicas' copies, adds the embedding L2 term for rows in the
// batch, and runs the same Adam/SGD kernel as one thread would. A second barrier ends the step.
//
// Why this and not Hogwild (threads training whole batches of their own on shared weights,
// lock-free):
// - The update is the single-thread update of the same batch, up to float rounding in the sums
//   (tested: `DataParallelTests`), so accuracy does not depend on the thread count and the
//   hyperparameters a sweep found keep their meaning. Hogwild with N threads is a different,
//   asynchronous optimizer (stale reads of the tower, lost Adam moment updates), and NCF's dense
//   tower, which every sample touches, is exactly where its races concentrate.
// - It is deterministic: the slices, the dropout streams (one per slice), the reduction order and
//   the partition of the update depend on N only, never on timing. The same seed and the same N
//   give bit-identical runs. N = 1 is the unchanged single-thread loop (`Trainer`), so the golden
//   trajectories hold; N ≥ 2 differs from N = 1 by rounding (a sum over two halves of the batch is
//   not rounded like a sum over the whole) and by the dropout draws.
// - Lazy Adam's per-row state (m, √v) is written only by the thread that owns the row, once per
//   step, so there are no races at all: nothing to tear, whatever the data.
// The price is two barriers per mini-batch. They spin (`SpinBarrier`): at batch 256 a step takes
// 150–400 µs, a spinning barrier under 1 µs when both threads are on a core. The serial work
// left is the loss sum and the progress check on thread 0.
//
// OpenBLAS runs single-threaded inside the workers (the trainer sets it for the epoch): N workers
// each calling a multi-threaded sgemm would oversubscribe the cores.

/// The state shared by the N threads of one data-parallel trainer.
@available(macOS 15.0, *)
final class DataParallel: @unchecked Sendable {
    /// `models[0]` is the trainer's model; the others are replicas sharing its parameters.
    let models: [NeuMF]
    let optimizer: Optimizer
    var threads: Int { models.count }
    /// λ of the embedding L2, applied once per unique row of the whole batch (in the update, not
    /// by each replica's `backward`, which would count a row that is in two slices twice).
    let embedL2: Float

    /// `userMark[u] == t` once user u has been updated in step t (written only by u's owner).
    private let userMark: UnsafeMutablePointer<Int>
    private let itemMark: UnsafeMutablePointer<Int>
    private let barrier: SpinBarrier
    /// Per slice: its loss summed over its rows, and whether it had any rows, for the step.
    private let sliceLoss: UnsafeMutablePointer<Double>
    private let sliceActive: UnsafeMutablePointer<Bool>
    /// Set by thread 0 before the step's last barrier when the epoch ends early.
    private var stopAfterStep = false

    /// - Parameters:
    ///   - model: the model to train; it keeps its parameters, the replicas read them.
    ///   - threads: N ≥ 2.
    ///   - batch: the largest mini-batch (each replica holds ⌈batch/N⌉ rows).
    ///   - embedL2: the embedding L2 (the models' own `embedL2` must be 0 while this trains).
    init(model: NeuMF, optimizer: Optimizer, threads: Int, batch: Int, embedL2: Float) {
        precondition(threads >= 2, "DataParallel: use the single-thread loop for one thread")
        let sliceCapacity = max(1, (batch + threads - 1) / threads)
        var models = [model]
        for _ in 1..<threads {
            models.append(NeuMF(config: model.config, capacity: sliceCapacity, seed: 0, sharingParametersWith: model))
        }
        self.models = models
        self.optimizer = optimizer
        self.embedL2 = embedL2
        userMark = .allocate(capacity: max(1, model.config.numUsers))
        userMark.initialize(repeating: 0, count: max(1, model.config.numUsers))
        itemMark = .allocate(capacity: max(1, model.config.numItems))
        itemMark.initialize(repeating: 0, count: max(1, model.config.numItems))
        barrier = SpinBarrier(parties: threads)
        sliceLoss = .allocate(capacity: threads)
        sliceLoss.initialize(repeating: 0, count: threads)
        sliceActive = .allocate(capacity: threads)
        sliceActive.initialize(repeating: false, count: threads)
    }

    deinit {
        userMark.deallocate()
        itemMark.deallocate()
        sliceLoss.deallocate()
        sliceActive.deallocate()
    }

    // MARK: - One epoch

    /// What an epoch on N threads did.
    struct EpochResult {
        var lossSum = 0.0
        var samples = 0
        var steps = 0
        /// The step whose batch loss was not finite (1-based), and that loss.
        var nonFinite: (step: Int, loss: Double)?
        var stoppedByObserver = false
    }

    /// Trains one pass over `count` pairs in mini-batches of `batch`, on `threads` threads (the
    /// caller's thread is thread 0). `progress(step, samples, lossSum)` is called on thread 0
    /// after a step, at most every 64 steps and 0.2 s; returning true ends the epoch after that step.
    /// Dropout draws come from one stream per slice, seeded from `seed`.
    func runEpoch(
        users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, targets: UnsafePointer<Float>, count n: Int,
        batch: Int, seed: UInt64, progress: (_ step: Int, _ samples: Int, _ lossSum: Double) -> Bool
    ) -> EpochResult {
        stopAfterStep = false
        let firstT = optimizer.t
        let done = DispatchGroup()
        for k in 1..<threads {
            done.enter()
            let job = SliceJob(owner: self, users: users, items: items, targets: targets, n: n, batch: batch, seed: seed, k: k)
            let thread = Thread {
                _ = job.owner.runSlice(job.k, users: job.users, items: job.items, targets: job.targets, count: job.n,
                                       batch: job.batch, seed: job.seed, firstT: firstT, reports: false) { _, _, _ in false }
                done.leave()
            }
            thread.name = "ncf-train-\(k)"
            thread.start()
        }
        let result = runSlice(0, users: users, items: items, targets: targets, count: n, batch: batch, seed: seed,
                              firstT: firstT, reports: true, progress: progress)
        done.wait()
        optimizer.t = firstT + result.steps
        return result
    }

    /// What a worker thread needs (raw pointers are not `Sendable`; the epoch outlives the threads).
    private struct SliceJob: @unchecked Sendable {
        let owner: DataParallel
        let users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, targets: UnsafePointer<Float>
        let n: Int, batch: Int, seed: UInt64, k: Int
    }

    /// Thread k's loop over the epoch's steps. Every thread walks the same steps and meets the
    /// others at two barriers per step: after backward (all gradients written) and after the update
    /// (all parameters written). Each thread reads the slices' losses itself after the first
    /// barrier, so all agree on a non-finite loss without further messages.
    private func runSlice(
        _ k: Int, users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, targets: UnsafePointer<Float>, count n: Int,
        batch: Int, seed: UInt64, firstT: Int, reports: Bool, progress: (Int, Int, Double) -> Bool
    ) -> EpochResult {
        let model = models[k]
        var rng = SplitMix64(seed: seed, stream: UInt64(k))
        var result = EpochResult()
        var offset = 0
        var lastReport = DispatchTime.now().uptimeNanoseconds
        while offset < n {
            let b = min(batch, n - offset)
            let lo = offset + k * b / threads, hi = offset + (k + 1) * b / threads
            if hi > lo {
                model.forward(users: users + lo, items: items + lo, count: hi - lo, training: true, rng: &rng)
                let loss = model.loss(targets: targets + lo, count: hi - lo, meanOver: b)
                model.backward(users: users + lo, items: items + lo, count: hi - lo)
                sliceLoss[k] = Double(loss) * Double(hi - lo)
                sliceActive[k] = true
            } else {
                sliceLoss[k] = 0
                sliceActive[k] = false
            }
            barrier.wait()

            var stepLoss = 0.0
            for s in 0..<threads { stepLoss += sliceLoss[s] }
            result.steps += 1
            if !stepLoss.isFinite {
                result.nonFinite = (result.steps, stepLoss / Double(b))
                break  // every thread sees the same sum and leaves here, no update
            }
            result.lossSum += stepLoss
            result.samples += b
            offset += b
            update(part: k, t: firstT + result.steps)

            if reports && result.steps & 63 == 0 {
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastReport > 200_000_000 {
                    lastReport = now
                    if progress(result.steps, result.samples, result.lossSum) {
                        stopAfterStep = true
                        result.stoppedByObserver = true
                    }
                }
            }
            barrier.wait()
            if stopAfterStep { break }
        }
        return result
    }

    // MARK: - Reduction and update

    /// Thread k's share of step t: its rows of every embedding table and its chunk of every dense
    /// tensor, gradients summed over the slices in slice order, then updated.
    func update(part k: Int, t: Int) {
        let opt = optimizer
        let s = AdamStep(t: t, lr: opt.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: opt.weightDecay)
        let master = models[0]
        for view in master.denseViews {
            let part = chunk(view.count, k)
            guard !part.isEmpty else { continue }
            reduce(view.offset + part.lowerBound, part.count)
            apply(view.offset + part.lowerBound, part.count, s)
        }
        updateTables(master.userTables, rows: master.config.numUsers, mark: userMark, part: k, t: t, s) { $0.touchedUsers }
        updateTables(master.itemTables, rows: master.config.numItems, mark: itemMark, part: k, t: t, s) { $0.touchedItems }
    }

    /// Part k of `0..<count` in whole 8-float groups (so the vector kernels see the same lanes
    /// as on one thread).
    @inline(__always)
    private func chunk(_ count: Int, _ k: Int) -> Range<Int> {
        let groups = (count + 7) / 8
        return min(count, groups * k / threads * 8)..<min(count, groups * (k + 1) / threads * 8)
    }

    /// The rows of `views` (tables indexed alike) owned by part k: those any slice touched, once
    /// each, in the order the slices list them; under dense Adam also every other owned row.
    /// With `s` nil the gradients are reduced (and L2 added) but nothing is updated.
    @inline(__always)
    private func updateTables(
        _ views: [TensorView], rows: Int, mark: UnsafeMutablePointer<Int>, part k: Int, t: Int, _ s: AdamStep?,
        touched: (NeuMF) -> UnsafeBufferPointer<Int32>
    ) {
        guard !views.isEmpty else { return }
        let lo = rows * k / threads, hi = rows * (k + 1) / threads
        for slice in 0..<threads where sliceActive[slice] {
            for row32 in touched(models[slice]) {
                let row = Int(row32)
                guard row >= lo && row < hi && mark[row] != t else { continue }
                mark[row] = t
                for view in views {
                    let o = view.offset + row * view.cols
                    reduce(o, view.cols)
                    if embedL2 > 0 {
                        let p = models[0].params.pointer + o, g = models[0].grads.pointer + o
                        for j in 0..<view.cols { g[j] += embedL2 * p[j] }
                    }
                    if let s { apply(o, view.cols, s) }
                }
            }
        }
        guard let s, optimizer.kind == .denseAdam else { return }
        // Rows outside the batch: zero gradient (or λ·p under weight decay), in ascending runs.
        var start = lo
        while start < hi {
            if mark[start] == t { start += 1; continue }
            var end = start + 1
            while end < hi && mark[end] != t { end += 1 }
            for view in views {
                let o = view.offset + start * view.cols, count = (end - start) * view.cols
                let p = models[0].params.pointer + o
                let m = optimizer.m.pointer + o, r = optimizer.r.pointer + o
                if optimizer.weightDecay == 0 {
                    Kernels.adamDecay(p: p, m: m, r: r, count: count, step: s)
                } else {
                    Kernels.adam(p: p, g: models[0].grads.pointer + o, m: m, r: r, count: count, step: s)
                }
            }
            start = end
        }
    }

    /// g₀[o..<o+count] += g₁ + … + g_{N−1} (in that order); the replicas' copies become 0.
    @inline(__always)
    private func reduce(_ o: Int, _ count: Int) {
        let g0 = models[0].grads.pointer + o
        for k in 1..<threads {
            let gk = models[k].grads.pointer + o
            for j in 0..<count {
                g0[j] += gk[j]
                gk[j] = 0
            }
        }
    }

    /// The optimizer's kernel on `count` parameters from `o`; zeroes their (reduced) gradient.
    @inline(__always)
    private func apply(_ o: Int, _ count: Int, _ s: AdamStep) {
        let p = models[0].params.pointer + o, g = models[0].grads.pointer + o
        if optimizer.kind == .sgd {
            Kernels.sgd(p: p, g: g, count: count, lr: optimizer.lr, weightDecay: optimizer.weightDecay)
        } else {
            Kernels.adam(p: p, g: g, m: optimizer.m.pointer + o, r: optimizer.r.pointer + o, count: count, step: s)
        }
    }

    // MARK: - For tests

    /// Runs forward, loss and backward of one batch on the N slices (one after another on the
    /// caller's thread) and sums the gradients into `models[0].grads` the way a step does, without
    /// updating: the data-parallel gradient, for comparison with one model's gradient of the batch.
    /// Returns the batch's mean loss.
    func batchGradient(users: [Int32], items: [Int32], targets: [Float], seed: UInt64) -> Double {
        let b = users.count
        var lossSum = 0.0
        users.withUnsafeBufferPointer { u in items.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { y in
            for k in 0..<threads {
                var rng = SplitMix64(seed: seed, stream: UInt64(k))
                let lo = k * b / threads, hi = (k + 1) * b / threads
                sliceActive[k] = hi > lo
                guard hi > lo else { continue }
                let u0 = u.baseAddress! + lo, i0 = i.baseAddress! + lo
                models[k].forward(users: u0, items: i0, count: hi - lo, training: true, rng: &rng)
                lossSum += Double(models[k].loss(targets: y.baseAddress! + lo, count: hi - lo, meanOver: b)) * Double(hi - lo)
                models[k].backward(users: u0, items: i0, count: hi - lo)
            }
        }}}
        let t = optimizer.t + 1
        for k in 0..<threads {
            for view in models[0].denseViews {
                let part = chunk(view.count, k)
                if !part.isEmpty { reduce(view.offset + part.lowerBound, part.count) }
            }
            updateTables(models[0].userTables, rows: models[0].config.numUsers, mark: userMark, part: k, t: t, nil) { $0.touchedUsers }
            updateTables(models[0].itemTables, rows: models[0].config.numItems, mark: itemMark, part: k, t: t, nil) { $0.touchedItems }
        }
        optimizer.t = t  // step t's marks are spent; the next step is t + 1
        return lossSum / Double(b)
    }
}
