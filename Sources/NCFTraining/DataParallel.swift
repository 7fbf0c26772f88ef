import Foundation
import NCFData
import NCFKernels
import NCFModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Data-parallel training of one model on N threads (`--threads N`, N ≥ 2).
//
// Every mini-batch of B rows is cut into N contiguous slices of ⌊B/N⌋ or ⌈B/N⌉ rows. Thread k runs
// forward, loss and backward of slice k with its own model replica: the replicas share the one
// parameter buffer (read-only during this phase) and each has its own gradient buffer and
// activation workspace. The loss gradient of every slice is a mean over the whole batch
// (`NeuMF.loss(meanOver:)`), so the slices' gradients add up to the batch's gradient. After a
// barrier, each thread sums and applies the update for its own part of the parameters. An
// embedding row that several slices touched belongs to the lowest of them: thread k takes the rows
// of its slice that no lower slice touched, adds the higher slices' gradients of those rows into
// its own in slice order (g_k + g_j + … for the touching slices j > k, the same order whichever
// thread runs it), zeroes their copies, adds the embedding L2 term once, and runs the same
// Adam/SGD kernel as one thread would. Every dense tensor is split into N chunks of whole 8-float
// groups, summed into slice 0's buffer in slice order. A second barrier ends the step.
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
// - Lazy Adam's per-row state (m, √v) is written only by the thread that owns the row in that
//   step, once, between two barriers, so there are no races at all: nothing to tear, whatever the
//   data.
// The price is two barriers per mini-batch. They spin first (`SpinBarrier`): at batch 256 a step
// takes 150–400 µs, a spinning barrier under 1 µs when both threads are on a core. The serial
// work left is the progress check on thread 0. On a machine with more runnable threads than
// cores, a step waits for the slowest thread to get a core, so N threads can train slower than
// one there (docs/performance.md): agents fit trials × threads to the cores (`TrialSlots`).
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

    /// Per slice k, `userMark[k·users + u] == t` when slice k touched user u in step t (written
    /// only by thread k, before the first barrier); likewise for items.
    private let userMark: UnsafeMutablePointer<Int>
    private let itemMark: UnsafeMutablePointer<Int>
    private let barrier: SpinBarrier
    /// Rows per slice at most (⌈batch / N⌉).
    private let sliceCapacity: Int
    /// Per slice, `sliceCapacity` gathered rows (when the epoch is an order over the train rows).
    private let gatherUsers: UnsafeMutablePointer<Int32>
    private let gatherItems: UnsafeMutablePointer<Int32>
    private let gatherTargets: UnsafeMutablePointer<Float>
    /// Per slice: its loss summed over its rows, for the step.
    private let sliceLoss: UnsafeMutablePointer<Double>
    /// Per thread, the CPU seconds of its current phase when profiling: forward/backward at [k],
    /// the update at [N + k].
    private let phaseCPU: UnsafeMutablePointer<Double>
    /// Per thread, where `prefetchMarks` leaves what it loaded (at [16·k]).
    private let prefetchSinks: UnsafeMutablePointer<Int>
    /// The least time between two progress calls, in nanoseconds (`Trainer.progressInterval`).
    var progressInterval: UInt64 = 200_000_000
    /// Set by thread 0 before the step's last barrier when the epoch ends early.
    private var stopAfterStep = false

    // The update loops touch only these raw pointers and plain values: no reference counting
    // there, because two threads retaining the same object (a model, a view's name) would fight
    // over its reference count's cache line once per row.
    /// A tensor's place in the buffers: `offset`, and `cols` floats per row.
    private struct Span { let offset: Int, rows: Int, cols: Int }
    private let userSpans: UnsafeMutableBufferPointer<Span>
    private let itemSpans: UnsafeMutableBufferPointer<Span>
    private let denseSpans: UnsafeMutableBufferPointer<Span>
    private let numUsers: Int, numItems: Int
    private let params: UnsafeMutablePointer<Float>
    /// Per slice, its model's gradient buffer (slice 0's is the trainer's model's, where the sum goes).
    private let grads: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Adam's first moments and root second moments (nil under SGD).
    private let moments: (m: UnsafeMutablePointer<Float>, r: UnsafeMutablePointer<Float>)?
    private let kind: OptimizerKind
    private let weightDecay: Float
    /// Per slice, the unique user and item rows its backward touched in this step (empty when the
    /// slice had no rows), published before the first barrier.
    private let touchedUsers: UnsafeMutablePointer<UnsafeBufferPointer<Int32>>
    private let touchedItems: UnsafeMutablePointer<UnsafeBufferPointer<Int32>>

    /// - Parameters:
    ///   - model: the model to train; it keeps its parameters, the replicas read them.
    ///   - threads: N ≥ 2.
    ///   - batch: the largest mini-batch (each replica holds ⌈batch/N⌉ rows).
    ///   - embedL2: the embedding L2 (the models' own `embedL2` must be 0 while this trains).
    init(model: NeuMF, optimizer: Optimizer, threads: Int, batch: Int, embedL2: Float) {
        precondition(threads >= 2, "DataParallel: use the single-thread loop for one thread")
        let sliceCapacity = max(1, (batch + threads - 1) / threads)
        self.sliceCapacity = sliceCapacity
        var models = [model]
        for _ in 1..<threads {
            let replica = NeuMF(config: model.config, capacity: sliceCapacity, seed: 0, sharingParametersWith: model)
            // What the model's config does not carry, each slice must train with too.
            replica.embedDropout = model.embedDropout
            models.append(replica)
        }
        self.models = models
        self.optimizer = optimizer
        self.embedL2 = embedL2
        userMark = .allocate(capacity: max(1, threads * model.config.numUsers))
        userMark.initialize(repeating: 0, count: max(1, threads * model.config.numUsers))
        itemMark = .allocate(capacity: max(1, threads * model.config.numItems))
        itemMark.initialize(repeating: 0, count: max(1, threads * model.config.numItems))
        barrier = SpinBarrier(parties: threads)
        gatherUsers = .allocate(capacity: threads * sliceCapacity)
        gatherItems = .allocate(capacity: threads * sliceCapacity)
        gatherTargets = .allocate(capacity: threads * sliceCapacity)
        sliceLoss = .allocate(capacity: threads)
        sliceLoss.initialize(repeating: 0, count: threads)
        phaseCPU = .allocate(capacity: 2 * threads)
        phaseCPU.initialize(repeating: 0, count: 2 * threads)
        prefetchSinks = .allocate(capacity: 16 * threads)
        prefetchSinks.initialize(repeating: 0, count: 16 * threads)

        func spans(_ views: [TensorView]) -> UnsafeMutableBufferPointer<Span> {
            let out = UnsafeMutableBufferPointer<Span>.allocate(capacity: views.count)
            _ = out.initialize(from: views.map { Span(offset: $0.offset, rows: $0.rows, cols: $0.cols) })
            return out
        }
        userSpans = spans(model.userTables)
        itemSpans = spans(model.itemTables)
        denseSpans = spans(model.denseViews)
        numUsers = model.config.numUsers
        numItems = model.config.numItems
        params = model.params.pointer
        grads = .allocate(capacity: threads)
        for (k, m) in models.enumerated() { (grads + k).initialize(to: m.grads.pointer) }
        kind = optimizer.kind
        weightDecay = optimizer.weightDecay
        moments = kind == .sgd ? nil : (optimizer.m.pointer, optimizer.r.pointer)
        touchedUsers = .allocate(capacity: threads)
        touchedUsers.initialize(repeating: UnsafeBufferPointer(start: nil, count: 0), count: threads)
        touchedItems = .allocate(capacity: threads)
        touchedItems.initialize(repeating: UnsafeBufferPointer(start: nil, count: 0), count: threads)
    }

    deinit {
        gatherUsers.deallocate()
        gatherItems.deallocate()
        gatherTargets.deallocate()
        for spans in [userSpans, itemSpans, denseSpans] { spans.deallocate() }
        grads.deallocate()
        touchedUsers.deallocate()
        touchedItems.deallocate()
        phaseCPU.deallocate()
        prefetchSinks.deallocate()
        userMark.deallocate()
        itemMark.deallocate()
        sliceLoss.deallocate()
    }

    // MARK: - One epoch

    /// Where an epoch's rows are: the materialised epoch (row k of the epoch at offset k), or the
    /// train rows and an order over them (row k is row `order[k]`; `targets` nil: every target is
    /// 1), which each thread gathers for its own slice.
    struct EpochRows: @unchecked Sendable {
        let users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, targets: UnsafePointer<Float>?
        let order: UnsafePointer<UInt32>?

        static func pairs(_ users: UnsafePointer<Int32>, _ items: UnsafePointer<Int32>, _ targets: UnsafePointer<Float>) -> EpochRows {
            EpochRows(users: users, items: items, targets: targets, order: nil)
        }
    }

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
        _ rows: EpochRows, count n: Int,
        batch: Int, seed: UInt64, progress: (_ step: Int, _ samples: Int, _ lossSum: Double) -> Bool
    ) -> EpochResult {
        stopAfterStep = false
        let firstT = optimizer.t
        let done = DispatchGroup()
        for k in 1..<threads {
            done.enter()
            let job = SliceJob(owner: self, rows: rows, n: n, batch: batch, seed: seed, k: k)
            let thread = Thread {
                _ = job.owner.runSlice(job.k, rows: job.rows, count: job.n,
                                       batch: job.batch, seed: job.seed, firstT: firstT, reports: false) { _, _, _ in false }
                done.leave()
            }
            thread.name = "ncf-train-\(k)"
            thread.start()
        }
        let result = runSlice(0, rows: rows, count: n, batch: batch, seed: seed,
                              firstT: firstT, reports: true, progress: progress)
        done.wait()
        optimizer.t = firstT + result.steps
        return result
    }

    /// What a worker thread needs (raw pointers are not `Sendable`; the epoch outlives the threads).
    private struct SliceJob: @unchecked Sendable {
        let owner: DataParallel
        let rows: EpochRows
        let n: Int, batch: Int, seed: UInt64, k: Int
    }

    /// Thread k's loop over the epoch's steps. Every thread walks the same steps and meets the
    /// others at two barriers per step: after backward (all gradients written) and after the update
    /// (all parameters written). Each thread reads the slices' losses itself after the first
    /// barrier, so all agree on a non-finite loss without further messages.
    private func runSlice(
        _ k: Int, rows: EpochRows, count n: Int,
        batch: Int, seed: UInt64, firstT: Int, reports: Bool, progress: (Int, Int, Double) -> Bool
    ) -> EpochResult {
        let model = models[k]
        // With an order, this thread gathers its slice's rows into its own buffers.
        let gathered = (users: gatherUsers + k * sliceCapacity, items: gatherItems + k * sliceCapacity,
                        targets: gatherTargets + k * sliceCapacity)
        var rng = SplitMix64(seed: seed, stream: UInt64(k))
        var result = EpochResult()
        var offset = 0
        var lastReport = DispatchTime.now().uptimeNanoseconds
        let profiling = profile != nil
        var phaseStart = profiling ? threadCPUSeconds() : 0
        while offset < n {
            let t = firstT + result.steps + 1
            let b = min(batch, n - offset)
            let lo = offset + k * b / threads, hi = offset + (k + 1) * b / threads
            if hi > lo {
                let users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, targets: UnsafePointer<Float>
                if let order = rows.order {
                    NegativeSampler.gatherRows(order + lo, count: hi - lo, users: rows.users, items: rows.items, ratings: rows.targets,
                                               into: gathered.users, gathered.items, gathered.targets)
                    (users, items, targets) = (UnsafePointer(gathered.users), UnsafePointer(gathered.items), UnsafePointer(gathered.targets))
                } else {
                    // A materialised epoch always has its targets.
                    (users, items, targets) = (rows.users + lo, rows.items + lo, rows.targets.unsafelyUnwrapped + lo)
                }
                model.forward(users: users, items: items, count: hi - lo, training: true, rng: &rng)
                let loss = model.loss(targets: targets, count: hi - lo, meanOver: b)
                model.backward(users: users, items: items, count: hi - lo)
                sliceLoss[k] = Double(loss) * Double(hi - lo)
                publishTouched(k, users: model.touchedUsers, items: model.touchedItems, t: t)
            } else {
                sliceLoss[k] = 0
                touchedUsers[k] = UnsafeBufferPointer(start: nil, count: 0)
                touchedItems[k] = UnsafeBufferPointer(start: nil, count: 0)
            }
            if profiling { phaseCPU[k] = threadCPUSeconds() - phaseStart }
            barrier.wait()
            if profiling {
                phaseStart = threadCPUSeconds()
                if k == 0 { profile?.add(phase: 0, (0..<threads).map { phaseCPU[$0] }) }
            }

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
            update(part: k, t: t, adamStep(t: t))

            if reports && result.steps & 63 == 0 {
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastReport > progressInterval {
                    lastReport = now
                    if progress(result.steps, result.samples, result.lossSum) {
                        stopAfterStep = true
                        result.stoppedByObserver = true
                    }
                }
            }
            if profiling { phaseCPU[threads + k] = threadCPUSeconds() - phaseStart }
            barrier.wait()
            if profiling {
                phaseStart = threadCPUSeconds()
                if k == 0 { profile?.add(phase: 1, (0..<threads).map { phaseCPU[threads + $0] }) }
            }
            if stopAfterStep { break }
        }
        return result
    }

    // MARK: - Profile (ncf-bench threads)

    /// When set, each step's two phases are timed per thread in thread CPU time (which excludes
    /// time the thread waited for a core), so the critical path can be read on a busy machine.
    var profile: ThreadProfile?

    // MARK: - Reduction and update

    /// Thread k's share of step t: its rows of every embedding table and its chunk of every dense
    /// tensor, gradients summed over the slices in slice order, then updated (with `s` nil: summed
    /// only, for the tests).
    func update(part k: Int, t: Int, _ s: AdamStep?) {
        let lr = optimizer.lr
        for span in denseSpans {
            let part = chunk(span.rows * span.cols, k)
            guard !part.isEmpty else { continue }
            let o = span.offset + part.lowerBound
            for slice in 1..<threads { addRow(o, part.count, from: slice) }
            if let s { apply(o, part.count, s, lr: lr) }
        }
        updateTables(userSpans, rows: numUsers, touched: touchedUsers, mark: userMark, part: k, t: t, s, lr: lr)
        updateTables(itemSpans, rows: numItems, touched: touchedItems, mark: itemMark, part: k, t: t, s, lr: lr)
    }

    /// The Adam constants of step t.
    func adamStep(t: Int) -> AdamStep {
        AdamStep(t: t, lr: optimizer.lr, beta1: optimizer.beta1, beta2: optimizer.beta2, eps: optimizer.eps, weightDecay: weightDecay)
    }

    /// Part k of `0..<count` in whole 8-float groups (so the vector kernels see the same lanes
    /// as on one thread).
    @inline(__always)
    private func chunk(_ count: Int, _ k: Int) -> Range<Int> {
        let groups = (count + 7) / 8
        return min(count, groups * k / threads * 8)..<min(count, groups * (k + 1) / threads * 8)
    }

    /// Slice k's touched rows, for the update of step t.
    @inline(__always)
    private func publishTouched(_ k: Int, users: UnsafeBufferPointer<Int32>, items: UnsafeBufferPointer<Int32>, t: Int) {
        touchedUsers[k] = users
        touchedItems[k] = items
        let um = userMark + k * numUsers, im = itemMark + k * numItems
        for u in users { um[Int(u)] = t }
        for i in items { im[Int(i)] = t }
    }

    /// The tables `spans` (indexed alike by user or by item) for part k. A row that several slices
    /// touched belongs to the lowest of them, so thread k updates the rows of its own slice that no
    /// lower slice touched: most of what it reads it wrote itself in the backward pass (when rows
    /// were split by index, reading the other thread's gradients cost more than the update).
    /// For each such row: the gradients of the higher slices that touched it are added into slice
    /// k's, in slice order, and zeroed; then L2 and the update. Under dense Adam, rows
    /// ⌊k·R/N⌋ ..< ⌊(k+1)·R/N⌋ that no slice touched get the zero-gradient step.
    @inline(__always)
    private func updateTables(
        _ spans: UnsafeMutableBufferPointer<Span>, rows: Int, touched: UnsafeMutablePointer<UnsafeBufferPointer<Int32>>,
        mark: UnsafeMutablePointer<Int>, part k: Int, t: Int, _ s: AdamStep?, lr: Float
    ) {
        guard !spans.isEmpty else { return }
        let mine = touched[k], gk = grads[k], lambda = embedL2
        prefetchMarks(mine, marks: mark, rows: rows, part: k)
        rowLoop: for n in 0..<mine.count {
            if n + Kernels.prefetchRowsAhead < mine.count {
                // Not a row a lower slice owns: its thread is writing those lines now (marks cached by prefetchMarks).
                let ahead = Int(mine[n + Kernels.prefetchRowsAhead])
                var lowerOwns = false
                for j in 0..<k where mark[j * rows + ahead] == t { lowerOwns = true }
                if !lowerOwns { prefetchRow(ahead, spans, gradient: gk) }
            }
            let row = Int(mine[n])
            for j in 0..<k where mark[j * rows + row] == t { continue rowLoop }
            for span in spans {
                let o = span.offset + row * span.cols
                for j in (k + 1)..<max(k + 1, threads) where mark[j * rows + row] == t { addRow(o, span.cols, into: k, from: j) }
                if lambda > 0 {
                    let p = params + o, g = gk + o
                    for c in 0..<span.cols { g[c] += lambda * p[c] }
                }
                if let s { apply(o, span.cols, s, lr: lr, gradient: k) }
            }
        }
        guard let s, kind == .denseAdam, let (m, r) = moments else { return }
        // Rows outside the batch: zero gradient (or λ·p under weight decay), in ascending runs.
        let lo = rows * k / threads, hi = rows * (k + 1) / threads
        @inline(__always) func inBatch(_ row: Int) -> Bool {
            for j in 0..<threads where mark[j * rows + row] == t { return true }
            return false
        }
        var start = lo
        while start < hi {
            if inBatch(start) { start += 1; continue }
            var end = start + 1
            while end < hi && !inBatch(end) { end += 1 }
            for span in spans {
                let o = span.offset + start * span.cols, count = (end - start) * span.cols
                if weightDecay == 0 {
                    Kernels.adamDecay(p: params + o, m: m + o, r: r + o, count: count, step: s)
                } else {
                    Kernels.adam(p: params + o, g: grads[0] + o, m: m + o, r: r + o, count: count, step: s)
                }
            }
            start = end
        }
    }

    /// g_into[o..<o+count] += g_slice[o..<o+count]; then g_slice there is 0.
    @inline(__always)
    private func addRow(_ o: Int, _ count: Int, into target: Int = 0, from slice: Int) {
        let g0 = grads[target] + o, gs = grads[slice] + o
        for j in 0..<count {
            g0[j] += gs[j]
            gs[j] = 0
        }
    }

    /// Loads, for each of slice k's `rows`, the other slices' marks of it, so that their misses
    /// overlap in one pass of independent loads. The marks were written by the other threads in
    /// this step, so each is a transfer from another core; read inside the update loop, each
    /// waited for the row before it (profiled at 20M ratings on 2 threads: more than half of the
    /// update's own time went to those compares).
    @inline(__always)
    private func prefetchMarks(_ rows: UnsafeBufferPointer<Int32>, marks: UnsafeMutablePointer<Int>, rows rowCount: Int, part k: Int) {
        var sink = 0
        for row32 in rows {
            let row = Int(row32)
            for j in 0..<threads where j != k { sink &+= marks[j * rowCount + row] }
        }
        // Kept, so the loads are not optimised away; one slot per thread, 128 bytes apart.
        prefetchSinks[k * 16] = sink
    }

    /// Asks for the cache lines of `row` in every table of `spans`: its parameters, its gradient
    /// in slice `gradient`'s buffer and Adam's moments (`Kernels.prefetchUpdate`). (A pass of loads
    /// over all of the slice's rows first, as before, fetched about 1 MB at 20M ratings, more than
    /// the core's L2 keeps until the loop reaches the last rows.)
    @inline(__always)
    private func prefetchRow(_ row: Int, _ spans: UnsafeMutableBufferPointer<Span>, gradient g: UnsafeMutablePointer<Float>) {
        for span in spans {
            Kernels.prefetchUpdate(at: span.offset + row * span.cols, count: span.cols, params: params, gradient: g, moments: moments)
        }
    }

    /// The optimizer's kernel on `count` parameters from `o`; zeroes their (summed) gradient.
    @inline(__always)
    private func apply(_ o: Int, _ count: Int, _ s: AdamStep, lr: Float, gradient slice: Int = 0) {
        let g = grads[slice] + o
        if let (m, r) = moments {
            Kernels.adam(p: params + o, g: g, m: m + o, r: r + o, count: count, step: s)
        } else {
            Kernels.sgd(p: params + o, g: g, count: count, lr: lr, weightDecay: weightDecay)
        }
    }

    // MARK: - For tests

    /// Runs forward, loss and backward of one batch on the N slices (one after another on the
    /// caller's thread) and sums the gradients into `models[0].grads` the way a step does, without
    /// updating: the data-parallel gradient, for comparison with one model's gradient of the batch.
    /// Returns the batch's mean loss.
    func batchGradient(users: [Int32], items: [Int32], targets: [Float], seed: UInt64) -> Double {
        let b = users.count, t = optimizer.t + 1
        var lossSum = 0.0
        users.withUnsafeBufferPointer { u in items.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { y in
            for k in 0..<threads {
                var rng = SplitMix64(seed: seed, stream: UInt64(k))
                let lo = k * b / threads, hi = (k + 1) * b / threads
                touchedUsers[k] = UnsafeBufferPointer(start: nil, count: 0)
                touchedItems[k] = UnsafeBufferPointer(start: nil, count: 0)
                guard hi > lo else { continue }
                let u0 = u.baseAddress! + lo, i0 = i.baseAddress! + lo
                models[k].forward(users: u0, items: i0, count: hi - lo, training: true, rng: &rng)
                lossSum += Double(models[k].loss(targets: y.baseAddress! + lo, count: hi - lo, meanOver: b)) * Double(hi - lo)
                models[k].backward(users: u0, items: i0, count: hi - lo)
                publishTouched(k, users: models[k].touchedUsers, items: models[k].touchedItems, t: t)
            }
        }}}
        for k in 0..<threads { update(part: k, t: t, nil) }
        // Each row's sum is in its owner's buffer (the lowest slice that touched it); gather them
        // into slice 0's, which held zeros there, to compare with one model's gradient.
        for k in 1..<threads {
            for (spans, touched, mark, rows) in [(userSpans, touchedUsers, userMark, numUsers), (itemSpans, touchedItems, itemMark, numItems)] {
                rowLoop: for row32 in touched[k] {
                    let row = Int(row32)
                    for j in 0..<k where mark[j * rows + row] == t { continue rowLoop }
                    for span in spans { addRow(span.offset + row * span.cols, span.cols, into: 0, from: k) }
                }
            }
        }
        optimizer.t = t  // step t's marks are spent; the next step is t + 1
        return lossSum / Double(b)
    }
}

/// CPU seconds of the calling thread.
@inline(__always)
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Where the threads of data-parallel training spend their CPU time, summed over the steps:
/// per thread, its forward/backward phase and its update phase; and the critical path, the sum
/// over steps of the slowest thread's time in each phase. On a machine where every thread has a
/// core, a step takes its critical path plus two barriers; `steps · (1 thread's CPU per step) /
/// criticalPath` is the speed-up the threads could give, whatever else the machine was doing.
public final class ThreadProfile: @unchecked Sendable {
    public private(set) var steps = 0
    /// [phase][thread] CPU seconds; phase 0 is forward/loss/backward, phase 1 the update.
    public private(set) var seconds: [[Double]] = [[], []]
    public private(set) var criticalPath = 0.0

    public init() {}

    func add(phase: Int, _ perThread: [Double]) {
        if seconds[phase].count < perThread.count { seconds[phase] += Array(repeating: 0, count: perThread.count - seconds[phase].count) }
        for (k, x) in perThread.enumerated() { seconds[phase][k] += x }
        criticalPath += perThread.max() ?? 0
        if phase == 0 { steps += 1 }
    }
}
