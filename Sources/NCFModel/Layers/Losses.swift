#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Mean squared error (rating task)
//
// Shapes: pred [B], target [B], dpred [B].  L = (1/B) Σ_b (pred_b − t_b)²,  ∂L/∂pred_b = 2 (pred_b − t_b) / B.

/// Returns the mean squared error and writes its gradient into `dpred` (overwrites); the gradient
/// is a mean over `meanOver` rows (default `B`: a slice of a larger batch passes the batch's size).
/// Accumulates in `Double` so the reported loss does not drift with the batch size.
/// - Complexity: O(B).
@inline(__always)
public func mseForwardBackward(
    dpred: UnsafeMutablePointer<Float>, pred: UnsafePointer<Float>, target: UnsafePointer<Float>, batch B: Int,
    meanOver total: Int? = nil
) -> Float {
    var sum = 0.0
    let scale = 2 / Float(total ?? B)
    for b in 0..<B {
        let e = pred[b] - target[b]
        sum += Double(e * e)
        dpred[b] = scale * e
    }
    return Float(sum / Double(B))
}

// MARK: - Sigmoid + binary cross-entropy, fused (implicit task)
//
// Derivation. With logit x, label t ∈ {0, 1} and σ(x) = 1 / (1 + e^(−x)):
//   ℓ(x, t) = −t·log σ(x) − (1 − t)·log(1 − σ(x)).
// Since log σ(x) = −log(1 + e^(−x)) and log(1 − σ(x)) = −x − log(1 + e^(−x)),
//   ℓ(x, t) = log(1 + e^(−x)) + (1 − t)·x.
// For large negative x, e^(−x) overflows; rewrite with |x| so every exponent is ≤ 0:
//   log(1 + e^(−x)) = max(−x, 0) + log(1 + e^(−|x|)),  hence
//   ℓ(x, t) = max(x, 0) − t·x + log1p(e^(−|x|)).
// The derivative: dℓ/dx = −e^(−x)/(1 + e^(−x)) + (1 − t) = σ(x) − 1 + 1 − t = σ(x) − t,
// computed as 1/(1 + e^(−x)) for x ≥ 0 and e^x/(1 + e^x) for x < 0 (again no overflow).
// The batch loss is the mean, so ∂L/∂x_b = (σ(x_b) − t_b) / B. The gradient checks verify this.

/// Numerically stable logistic function.
@inline(__always)
public func stableSigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}

/// Returns the mean binary cross-entropy of `sigmoid(logit)` against `target` and writes its
/// gradient with respect to the logits into `dlogit` (overwrites), as a mean over `meanOver` rows
/// (default `B`).
/// - Complexity: O(B).
@inline(__always)
public func sigmoidBCEForwardBackward(
    dlogit: UnsafeMutablePointer<Float>, logit: UnsafePointer<Float>, target: UnsafePointer<Float>, batch B: Int,
    meanOver total: Int? = nil
) -> Float {
    var sum = 0.0
    let inv = 1 / Float(total ?? B)
    for b in 0..<B {
        let x = logit[b], t = target[b]
        sum += Double(max(x, 0) - t * x + log1pf(expf(-abs(x))))
        dlogit[b] = (stableSigmoid(x) - t) * inv
    }
    return Float(sum / Double(B))
}

/// The loss of one prediction, without the gradient: squared error, or binary cross-entropy of a logit.
@inline(__always)
public func pointLoss(prediction x: Float, target t: Float, implicit: Bool) -> Double {
    if implicit { return Double(max(x, 0) - t * x + log1pf(expf(-abs(x)))) }
    let e = Double(x - t)
    return e * e
}
