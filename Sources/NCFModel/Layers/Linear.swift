import NCFKernels

// MARK: - Fully connected layer
//
// Shapes: inp [B, C], weight [OC, C] (PyTorch's layout: one row per output), bias [OC], out [B, OC].

/// `out = inp · weightᵀ + bias`, through one sgemm.
/// - Complexity: 2·B·C·OC flops.
@inline(__always)
public func linearForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    batch B: Int, inDim C: Int, outDim OC: Int
) {
    for b in 0..<B { (out + b * OC).update(from: bias, count: OC) }
    BLAS.gemm(transA: false, transB: true, m: B, n: OC, k: C, alpha: 1,
              a: inp, lda: C, b: weight, ldb: C, beta: 1, c: out, ldc: OC)
}

/// Accumulates `dweight += doutᵀ · inp`, `dbias += Σ_b dout[b]` and, when `dinp` is given,
/// `dinp += dout · weight`.
/// - Complexity: 4·B·C·OC flops (2·B·C·OC without `dinp`).
@inline(__always)
public func linearBackward(
    dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    batch B: Int, inDim C: Int, outDim OC: Int
) {
    if let dinp {
        BLAS.gemm(transA: false, transB: false, m: B, n: C, k: OC, alpha: 1,
                  a: dout, lda: OC, b: weight, ldb: C, beta: 1, c: dinp, ldc: C)
    }
    BLAS.gemm(transA: true, transB: false, m: OC, n: C, k: B, alpha: 1,
              a: dout, lda: OC, b: inp, ldb: C, beta: 1, c: dweight, ldc: C)
    for b in 0..<B {
        let g = dout + b * OC
        for o in 0..<OC { dbias[o] += g[o] }
    }
}

// MARK: - Prediction head over two inputs
//
// NeuMF's last layer is a Linear with one output over the concatenation [a; c]. Rather than copying
// the two inputs side by side, the head keeps their weights apart:
// Shapes: a [B, A], c [B, Cc], wa [A], wc [Cc], bias [1], out [B].

/// `out[b] = a[b]·wa + c[b]·wc + bias` (either input may be absent, as in the GMF or MLP models).
/// - Complexity: 2·B·(A + Cc) flops.
@inline(__always)
public func headForward(
    out: UnsafeMutablePointer<Float>,
    a: UnsafePointer<Float>?, wa: UnsafePointer<Float>?, aDim A: Int,
    c: UnsafePointer<Float>?, wc: UnsafePointer<Float>?, cDim Cc: Int,
    bias: UnsafePointer<Float>, batch B: Int
) {
    out.update(repeating: bias[0], count: B)
    if let a, let wa, A > 0 {
        BLAS.gemv(trans: false, m: B, n: A, alpha: 1, a: a, lda: A, x: wa, beta: 1, y: out)
    }
    if let c, let wc, Cc > 0 {
        BLAS.gemv(trans: false, m: B, n: Cc, alpha: 1, a: c, lda: Cc, x: wc, beta: 1, y: out)
    }
}

/// Accumulates the head's gradients: `dwa += aᵀ·dout`, `dwc += cᵀ·dout`, `dbias += Σ dout`,
/// `da += dout ⊗ wa`, `dc += dout ⊗ wc`.
/// - Complexity: 4·B·(A + Cc) flops.
@inline(__always)
public func headBackward(
    da: UnsafeMutablePointer<Float>?, dwa: UnsafeMutablePointer<Float>?,
    dc: UnsafeMutablePointer<Float>?, dwc: UnsafeMutablePointer<Float>?,
    dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
    a: UnsafePointer<Float>?, wa: UnsafePointer<Float>?, aDim A: Int,
    c: UnsafePointer<Float>?, wc: UnsafePointer<Float>?, cDim Cc: Int,
    batch B: Int
) {
    var s: Float = 0
    for b in 0..<B { s += dout[b] }
    dbias[0] += s
    if let a, let wa, let da, let dwa, A > 0 {
        BLAS.gemv(trans: true, m: B, n: A, alpha: 1, a: a, lda: A, x: dout, beta: 1, y: dwa)
        for b in 0..<B {
            let g = dout[b], row = da + b * A
            for j in 0..<A { row[j] += g * wa[j] }
        }
    }
    if let c, let wc, let dc, let dwc, Cc > 0 {
        BLAS.gemv(trans: true, m: B, n: Cc, alpha: 1, a: c, lda: Cc, x: dout, beta: 1, y: dwc)
        for b in 0..<B {
            let g = dout[b], row = dc + b * Cc
            for j in 0..<Cc { row[j] += g * wc[j] }
        }
    }
}
