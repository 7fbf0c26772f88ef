import NCFModel

/// Updates a model's parameters from its gradients, then clears the gradients it consumed.
///
/// Weight decay is L2 added to the gradient (`g ← g + λ·p`) before the update, as `torch.optim.Adam`
/// does. For `adam` and `sgd` it applies to the rows updated in that step only.
public final class Optimizer {
    public let kind: OptimizerKind
    public var lr: Float
    public let weightDecay: Float
    public let beta1: Float = 0.9
    public let beta2: Float = 0.999
    public let eps: Float = 1e-8
    /// Steps taken so far (Adam's bias correction uses it).
    public private(set) var t = 0
    private let m: FloatBuffer
    private let v: FloatBuffer
    /// lr/(1−β₁ᵗ) and √(1−β₂ᵗ) for the current step.
    private var stepSize: Float = 0
    private var bc2Sqrt: Float = 1

    public init(kind: OptimizerKind, lr: Double, weightDecay: Double, model: NeuMF) {
        self.kind = kind
        self.lr = Float(lr)
        self.weightDecay = Float(weightDecay)
        let stateCount = kind == .sgd ? 0 : model.layout.totalCount
        m = FloatBuffer(count: stateCount)
        v = FloatBuffer(count: stateCount)
    }

    /// One update from the gradients of the last `backward`, then zeroes those gradients.
    public func step(_ model: NeuMF) {
        t += 1
        // Bias corrections once per step, not per row.
        stepSize = lr / (1 - Float(Double(beta1).power(t)))
        bc2Sqrt = (1 - Float(Double(beta2).power(t))).squareRoot()
        switch kind {
        case .denseAdam:
            adamRange(model, 0, model.layout.totalCount)
            model.zeroGrad()
        case .adam, .sgd:
            for view in model.denseViews { update(model, view.offset, view.count) }
            for view in model.userTables { updateRows(model, view, model.touchedUsers) }
            for view in model.itemTables { updateRows(model, view, model.touchedItems) }
            model.zeroTouchedGrad()
        }
    }

    @inline(__always)
    private func updateRows(_ model: NeuMF, _ view: TensorView, _ rows: UnsafeBufferPointer<Int32>) {
        for r in rows { update(model, view.offset + Int(r) * view.cols, view.cols) }
    }

    @inline(__always)
    private func update(_ model: NeuMF, _ start: Int, _ count: Int) {
        if kind == .sgd { sgdRange(model, start, count) } else { adamRange(model, start, count) }
    }

    /// Adam on `params[start ..< start+count]`, written as `torch.optim.Adam` computes it:
    /// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε).
    @inline(__always)
    private func adamRange(_ model: NeuMF, _ start: Int, _ count: Int) {
        let p = model.params.pointer + start, g = model.grads.pointer + start
        let mp = m.pointer + start, vp = v.pointer + start
        let stepSize = self.stepSize, bc2Sqrt = self.bc2Sqrt
        let b1 = beta1, b2 = beta2, wd = weightDecay, e = eps
        for j in 0..<count {
            let grad = g[j] + wd * p[j]
            let mj = b1 * mp[j] + (1 - b1) * grad
            let vj = b2 * vp[j] + (1 - b2) * grad * grad
            mp[j] = mj
            vp[j] = vj
            p[j] -= stepSize * mj / (vj.squareRoot() / bc2Sqrt + e)
        }
    }

    @inline(__always)
    private func sgdRange(_ model: NeuMF, _ start: Int, _ count: Int) {
        let p = model.params.pointer + start, g = model.grads.pointer + start
        let rate = lr, wd = weightDecay
        for j in 0..<count { p[j] -= rate * (g[j] + wd * p[j]) }
    }
}

private extension Double {
    func power(_ n: Int) -> Double {
        var r = 1.0, b = self, e = n
        while e > 0 {
            if e & 1 == 1 { r *= b }
            b *= b
            e >>= 1
        }
        return r
    }
}
