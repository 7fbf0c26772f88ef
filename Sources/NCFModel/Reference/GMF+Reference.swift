// MARK: - Reference: generalized matrix factorisation, element-wise product of two embeddings
//
// The plain one-job kernel that the fused training step (`gmfGatherForward`/`gmfHeadBackward`
// in Layers/Fused.swift) is checked against; the model does not call it.
//
// Shapes: p [B, d] (user rows), q [B, d] (item rows), out [B, d]. Same as Hadamard on n = B·d floats.

/// `out = p ⊙ q`.
/// - Complexity: O(n).
@inline(__always)
public func gmfForward(out: UnsafeMutablePointer<Float>, p: UnsafePointer<Float>, q: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n { out[i] = p[i] * q[i] }
}

/// `dp += dout ⊙ q`, `dq += dout ⊙ p`.
/// - Complexity: O(n).
@inline(__always)
public func gmfBackward(
    dp: UnsafeMutablePointer<Float>, dq: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, p: UnsafePointer<Float>, q: UnsafePointer<Float>, count n: Int
) {
    for i in 0..<n {
        dp[i] += dout[i] * q[i]
        dq[i] += dout[i] * p[i]
    }
}
