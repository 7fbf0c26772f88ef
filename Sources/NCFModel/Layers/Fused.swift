import NCFKernels

// MARK: - Fused kernels of the training step
//
// The model's step uses these instead of the one-job kernels in Embedding.swift, Reference/GMF+Reference.swift,
// Reference/ReLUDropout+Reference.swift and Linear.swift (which stay as the plain versions: `FusedKernelTests` checks
// each fused kernel against the composition it replaces, element for element). What they save:
// the copies of gathered GMF rows, the intermediate gradient buffers and their zeroing, the
// pre-activation buffer, and the branch in the ReLU backward pass (the forward pass stores the
// combined mask `[x > 0] · dropout mask`, so the backward pass is one multiply).

// MARK: GMF

/// Gathers and multiplies in one pass: `out[b] = P[users[b]] ⊙ Q[items[b]]`.
/// Shapes: P [users, d], Q [items, d], out [B, d].
/// - Complexity: O(B·d).
@inline(__always)
public func gmfGatherForward(
    out: UnsafeMutablePointer<Float>, userTable P: UnsafePointer<Float>, itemTable Q: UnsafePointer<Float>,
    users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, batch B: Int, dim d: Int
) {
    for b in 0..<B {
        let ahead = b + Kernels.prefetchRowsAhead
        if ahead < B {
            Kernels.prefetch(P + Int(users[ahead]) * d, count: d, forWrite: false)
            Kernels.prefetch(Q + Int(items[ahead]) * d, count: d, forWrite: false)
        }
        let p = P + Int(users[b]) * d, q = Q + Int(items[b]) * d, o = out + b * d
        for j in 0..<d { o[j] = p[j] * q[j] }
    }
}

/// The GMF branch's backward pass from the logit gradient straight into the tables' gradients:
/// with `a_b = dlogit[b]·w` (the head's gradient with respect to the GMF output),
/// `dP[users[b]] += a_b ⊙ Q[items[b]]` and `dQ[items[b]] += a_b ⊙ P[users[b]]`, in batch order.
/// Shapes: dlogit [B], w [d] (head.gmf), P/dP [users, d], Q/dQ [items, d].
/// - Complexity: O(B·d).
@inline(__always)
public func gmfHeadBackward(
    dUserTable dP: UnsafeMutablePointer<Float>, dItemTable dQ: UnsafeMutablePointer<Float>,
    dlogit: UnsafePointer<Float>, w: UnsafePointer<Float>,
    userTable P: UnsafePointer<Float>, itemTable Q: UnsafePointer<Float>,
    users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, batch B: Int, dim d: Int
) {
    for b in 0..<B {
        let ahead = b + Kernels.prefetchRowsAhead
        if ahead < B {
            Kernels.prefetch(dP + Int(users[ahead]) * d, count: d, forWrite: true)
            Kernels.prefetch(dQ + Int(items[ahead]) * d, count: d, forWrite: true)
        }
        let u = Int(users[b]) * d, i = Int(items[b]) * d
        let g = dlogit[b]
        let dp = dP + u, dq = dQ + i, p = P + u, q = Q + i
        for j in 0..<d {
            let a = g * w[j]
            dp[j] += a * q[j]
            dq[j] += a * p[j]
        }
    }
}

// MARK: Bias, ReLU and dropout

/// In place over a [rows, cols] block that holds `x·Wᵀ + bias`: `x ← relu(x) ⊙ m` with `m` the
/// dropout mask (0 or 1/(1−p), one `rng.nextFloat()` per unit, row-major, drawn only when
/// `training && p > 0`; else 1), and `mask ← [x > 0] · m`, the factor the backward pass needs.
/// Draws exactly what `reluDropoutForward` draws, in the same order.
/// - Complexity: O(rows·cols).
@inline(__always)
public func reluDropoutForwardInPlace(
    _ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count n: Int,
    dropout p: Float, training: Bool, rng: inout SplitMix64
) {
    // Two passes, each of which the compiler vectorises (one pass that writes both `x` and `mask`
    // stays scalar: the two may alias as far as it knows). The draws vectorise too.
    if training && p > 0 {
        let scale = 1 / (1 - p)
        for i in 0..<n {
            let keep: Float = rng.nextFloat() >= p ? scale : 0
            mask[i] = x[i] > 0 ? keep : 0
        }
    } else {
        for i in 0..<n { mask[i] = x[i] > 0 ? 1 : 0 }
    }
    // Written with SIMD8 by hand: the compiler does not vectorise this in-place loop on its own.
    var i = 0
    while i + 8 <= n {
        let v = loadV8(x + i)
        storeV8((v * loadV8(mask + i)).replacing(with: 0, where: .!(v .> 0)), x + i)
        i += 8
    }
    while i < n {
        let v = x[i]
        x[i] = v > 0 ? v * mask[i] : 0
        i += 1
    }
}

@inline(__always)
func loadV8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func loadV8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func storeV8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }

/// In place over a [rows, cols] gradient block: `g ← g ⊙ mask` (the combined mask from
/// `reluDropoutForwardInPlace`), and `dbias[j] += Σ_b g[b, j]` (accumulates, rows in order).
/// - Complexity: O(rows·cols).
@inline(__always)
public func reluMaskBackwardInPlace(
    _ g: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, dbias: UnsafeMutablePointer<Float>,
    rows: Int, cols: Int
) {
    for b in 0..<rows {
        let gr = g + b * cols, mr = mask + b * cols
        for j in 0..<cols {
            let v = gr[j] * mr[j]
            gr[j] = v
            dbias[j] += v
        }
    }
}

/// The head's backward pass into its last hidden layer, through that layer's ReLU and dropout:
/// `dpre[b, j] = (dlogit[b]·w[j]) · mask[b, j]` (overwrites), and `dbias[j] += Σ_b dpre[b, j]`.
/// Shapes: dlogit [B], w [cols] (head.mlp), mask/dpre [B, cols], dbias [cols].
/// - Complexity: O(B·cols).
@inline(__always)
public func headReLUBackward(
    dpre: UnsafeMutablePointer<Float>, dlogit: UnsafePointer<Float>, w: UnsafePointer<Float>,
    mask: UnsafePointer<Float>, dbias: UnsafeMutablePointer<Float>, rows: Int, cols: Int
) {
    for b in 0..<rows {
        let g = dlogit[b]
        let dr = dpre + b * cols, mr = mask + b * cols
        for j in 0..<cols {
            let v = g * w[j] * mr[j]
            dr[j] = v
            dbias[j] += v
        }
    }
}

/// Outer product `out[b, j] = dlogit[b]·w[j]` (overwrites): the head's gradient with respect to an
/// input that has no activation (the MLP input itself, for a tower without hidden layers).
/// - Complexity: O(B·cols).
@inline(__always)
public func headOuterBackward(out: UnsafeMutablePointer<Float>, dlogit: UnsafePointer<Float>, w: UnsafePointer<Float>, rows: Int, cols: Int) {
    for b in 0..<rows {
        let g = dlogit[b], o = out + b * cols
        for j in 0..<cols { o[j] = g * w[j] }
    }
}
