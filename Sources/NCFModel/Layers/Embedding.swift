import NCFKernels

// MARK: - Embedding lookup
//
// Shapes: table [rows, d], indices [B], out [B, ldOut] (the d columns start at `out`; `ldOut ≥ d`
// lets two lookups write side by side into one [B, 2d] MLP input without a copy).

/// Gathers `out[b, 0..<d] = table[indices[b], 0..<d]`.
/// - Complexity: O(B·d).
@inline(__always)
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, ldOut: Int,
    indices: UnsafePointer<Int32>, table: UnsafePointer<Float>,
    batch: Int, dim: Int
) {
    for b in 0..<batch {
        if b + Kernels.prefetchRowsAhead < batch { Kernels.prefetch(table + Int(indices[b + Kernels.prefetchRowsAhead]) * dim, count: dim, forWrite: false) }
        (out + b * ldOut).update(from: table + Int(indices[b]) * dim, count: dim)
    }
}

/// Scatter-adds `dtable[indices[b], :] += dout[b, :]` (accumulates; rows repeated in the batch add up).
/// - Complexity: O(B·d).
@inline(__always)
public func embeddingBackward(
    dtable: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, ldOut: Int, indices: UnsafePointer<Int32>,
    batch: Int, dim: Int
) {
    for b in 0..<batch {
        if b + Kernels.prefetchRowsAhead < batch { Kernels.prefetch(dtable + Int(indices[b + Kernels.prefetchRowsAhead]) * dim, count: dim, forWrite: true) }
        let row = dtable + Int(indices[b]) * dim
        let g = dout + b * ldOut
        for j in 0..<dim { row[j] += g[j] }
    }
}
