import NCFKernels
import NCFModel

// The reference optimizer step: slow and obvious, the oracle that `Optimizer.step` is tested
// against (as `Reference.gemm` is for `BLAS.gemm`).

extension Optimizer {
    /// The same algorithm written plainly, element by element, with the textbook second moments v
    /// (kept here as r = √v between steps) and libm's square root: for every parameter the
    /// optimizer updates in this step, `Reference.adam` (or p ← p − lr·(g + λ·p)), then the
    /// gradients are cleared with `zeroGrad`/`zeroTouchedGrad`. The tests run both on the same
    /// gradients and bound the difference.
    public func stepReference(_ model: NeuMF) {
        t += 1
        var ranges: [(Int, Int)] = model.denseViews.map { ($0.offset, $0.count) }
        switch kind {
        case .adam, .sgd:
            for view in model.userTables { ranges += model.touchedUsers.map { (view.offset + Int($0) * view.cols, view.cols) } }
            for view in model.itemTables { ranges += model.touchedItems.map { (view.offset + Int($0) * view.cols, view.cols) } }
        case .denseAdam:
            ranges += (model.userTables + model.itemTables).map { ($0.offset, $0.count) }
        }
        for (start, count) in ranges {
            let p = model.params.pointer + start, g = model.grads.pointer + start
            if kind == .sgd {
                for j in 0..<count { p[j] -= lr * (g[j] + weightDecay * p[j]) }
                continue
            }
            var v = (0..<count).map { r[start + $0] * r[start + $0] }
            v.withUnsafeMutableBufferPointer { v in
                Reference.adam(p: p, g: g, m: m.pointer + start, v: v.baseAddress!, count: count, lr: lr, beta1: beta1,
                               beta2: beta2, eps: eps, weightDecay: weightDecay, t: t)
            }
            for j in 0..<count { r[start + j] = v[j].squareRoot() }
        }
        if kind == .denseAdam { model.zeroGrad() } else { model.zeroTouchedGrad() }
    }
}
