import NCFKernels

// MARK: - Reference: ReLU followed by inverted dropout
//
// The plain one-job kernel that the fused bias + ReLU + dropout of the training step
// (Layers/Fused.swift) is checked against; the model does not call it.
//
// Shapes: inp [n], out [n], mask [n] (n = B·C). The mask holds 0 or 1/(1−p), so out = relu(inp) ⊙ mask
// and the expected activation is the same in training and inference (inverted dropout).
// At inference, or when p = 0, the mask is all ones and out = relu(inp).

/// `out = max(inp, 0) ⊙ mask`; when `training` and `p > 0`, first draws `mask` from `rng`.
/// `inp` and `out` may be the same buffer.
/// - Complexity: O(n).
@inline(__always)
public func reluDropoutForward(
    out: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    count n: Int, dropout p: Float, training: Bool, rng: inout SplitMix64
) {
    if training && p > 0 {
        let scale = 1 / (1 - p)
        for i in 0..<n {
            let keep = rng.nextFloat() >= p
            let m: Float = keep ? scale : 0
            mask[i] = m
            out[i] = inp[i] > 0 ? inp[i] * m : 0
        }
    } else {
        for i in 0..<n {
            mask[i] = 1
            out[i] = inp[i] > 0 ? inp[i] : 0
        }
    }
}

/// `dinp = dout ⊙ mask ⊙ [inp > 0]` (overwrites `dinp`: the input is produced by a Linear whose
/// output gradient has no other contributor).
/// - Complexity: O(n).
@inline(__always)
public func reluDropoutBackward(
    dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, mask: UnsafePointer<Float>,
    inp: UnsafePointer<Float>, count n: Int
) {
    for i in 0..<n { dinp[i] = inp[i] > 0 ? dout[i] * mask[i] : 0 }
}
