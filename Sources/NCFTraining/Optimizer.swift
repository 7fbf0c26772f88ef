import NCFKernels
import NCFModel

/// Updates a model's parameters from its gradients, then clears the gradients it consumed.
///
/// Weight decay is L2 added to the gradient (`g ← g + λ·p`) before the update, as `torch.optim.Adam`
/// does. For `adam` and `sgd` it applies to the rows updated in that step only.
///
/// The arithmetic runs in `Kernels.adam` / `Kernels.adamDecay` / `Kernels.sgd` (eight lanes at a
/// time, the gradient zeroed in the same pass). Adam keeps m and r = √v per parameter; under
/// `dense_adam` an embedding row outside the batch has a zero gradient, so its step needs neither
/// the gradient nor a square root (`Kernels.adamDecay`), unless weight decay makes its gradient
/// λ·p. `stepReference` is the plain element-by-element version of the same algorithm, kept as the
/// oracle for the tests.
public final class Optimizer {
    public let kind: OptimizerKind
    public var lr: Float
    public let weightDecay: Float
    public let beta1: Float = 0.9
    public let beta2: Float = 0.999
    public let eps: Float = 1e-8
    /// Steps taken so far (Adam's bias correction uses it).
    public internal(set) var t = 0
    /// First moments.
    let m: FloatBuffer
    /// Root second moments r = √v (see `Kernels.adam`).
    let r: FloatBuffer
    /// `userMark[u] == t` when user u is in step t's batch (likewise items).
    private var userMark: [Int]
    private var itemMark: [Int]

    public init(kind: OptimizerKind, lr: Double, weightDecay: Double, model: NeuMF) {
        self.kind = kind
        self.lr = Float(lr)
        self.weightDecay = Float(weightDecay)
        let stateCount = kind == .sgd ? 0 : model.layout.totalCount
        m = FloatBuffer(count: stateCount)
        r = FloatBuffer(count: stateCount)
        userMark = [Int](repeating: 0, count: model.config.numUsers)
        itemMark = [Int](repeating: 0, count: model.config.numItems)
    }

    /// The second moments v = r² as the textbook algorithm holds them (for tests and inspection).
    public var secondMoments: [Float] { r.array.map { $0 * $0 } }
    /// The first moments m.
    public var firstMoments: [Float] { m.array }

    /// One update from the gradients of the last `backward`, then zeroes those gradients.
    ///
    /// Relies on the model's invariant that gradients outside the touched rows and the dense
    /// tensors are zero (every step zeroes what the backward pass wrote).
    /// - Complexity: `adam`, `sgd`: O(touched rows · d + dense parameters); `dense_adam`: O(all parameters).
    public func step(_ model: NeuMF) {
        t += 1
        let s = AdamStep(t: t, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        for view in model.denseViews { update(model, view.offset, view.count, s) }
        for u in model.touchedUsers { userMark[Int(u)] = t }
        for i in model.touchedItems { itemMark[Int(i)] = t }
        for view in model.userTables { updateTable(model, view, model.touchedUsers, userMark, s) }
        for view in model.itemTables { updateTable(model, view, model.touchedItems, itemMark, s) }
    }

    /// One table: under `adam`/`sgd` the touched rows only — one at a time when they are few, else
    /// in ascending runs found by scanning the marks (sequential memory, fewer calls); under
    /// `dense_adam` every row, the touched ones with their gradient and the others with the
    /// zero-gradient step (or the full one, whose gradient is then λ·p, under weight decay).
    @inline(__always)
    private func updateTable(_ model: NeuMF, _ view: TensorView, _ touched: UnsafeBufferPointer<Int32>, _ mark: [Int], _ s: AdamStep) {
        let d = view.cols, t = t
        if kind != .denseAdam && touched.count * 8 < view.rows {
            let moments = kind == .sgd ? nil : (m: m.pointer, r: r.pointer)
            for n in 0..<touched.count {
                if n + Kernels.prefetchRowsAhead < touched.count {
                    let ahead = view.offset + Int(touched[n + Kernels.prefetchRowsAhead]) * d
                    Kernels.prefetchUpdate(at: ahead, count: d, params: model.params.pointer, gradient: model.grads.pointer, moments: moments)
                }
                update(model, view.offset + Int(touched[n]) * d, d, s)
            }
            return
        }
        let p = model.params.pointer + view.offset, g = model.grads.pointer + view.offset
        let mp = m.pointer + view.offset, rp = r.pointer + view.offset
        let decayOnly = weightDecay == 0
        mark.withUnsafeBufferPointer { mark in
            var start = 0
            while start < view.rows {
                let isTouched = mark[start] == t
                var end = start + 1
                while end < view.rows && (mark[end] == t) == isTouched { end += 1 }
                let o = start * d, n = (end - start) * d
                if isTouched {
                    update(model, view.offset + o, n, s)
                } else if kind == .denseAdam {
                    if decayOnly {
                        Kernels.adamDecay(p: p + o, m: mp + o, r: rp + o, count: n, step: s)
                    } else {
                        Kernels.adam(p: p + o, g: g + o, m: mp + o, r: rp + o, count: n, step: s)
                    }
                }
                start = end
            }
        }
    }

    @inline(__always)
    private func update(_ model: NeuMF, _ start: Int, _ count: Int, _ s: AdamStep) {
        let p = model.params.pointer + start, g = model.grads.pointer + start
        if kind == .sgd {
            Kernels.sgd(p: p, g: g, count: count, lr: lr, weightDecay: weightDecay)
        } else {
            Kernels.adam(p: p, g: g, m: m.pointer + start, r: r.pointer + start, count: count, step: s)
        }
    }
}
