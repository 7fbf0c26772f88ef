// MARK: - Adam and SGD parameter updates, eight lanes at a time
//
// The textbook Adam step (torch.optim.Adam's formula), for gradient g, weight decay λ, step t:
//
//     g ← g + λ·p
//     m ← β₁·m + (1 − β₁)·g
//     v ← β₂·v + (1 − β₂)·g²
//     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//
// The kernels here keep r = √v instead of v, which changes nothing in exact arithmetic
// (r ← √(β₂·r² + (1 − β₂)·g²)) and lets a step with g = 0 — an embedding row that is not in the
// batch, under dense Adam — skip the square root: r ← √β₂ · r. They also compute √ with a
// vectorised Newton iteration (`sqrtApprox`, within 3 ulp of the correctly rounded root; the
// compiler lowers `Float.squareRoot` on SIMD vectors to one libm call per lane). So the results
// differ from the textbook formula by float rounding only; `Reference.adam` is that formula,
// element by element, and the kernel tests bound the difference.
//
// Every kernel writes 0 into the gradients it consumed, so the next backward pass can accumulate
// into clean memory without a separate zeroing pass.

/// The constants of one Adam step.
public struct AdamStep: Sendable, Equatable {
    /// lr / (1 − β₁ᵗ)
    public var stepSize: Float
    /// 1 / √(1 − β₂ᵗ)
    public var inverseBias2: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float

    /// The constants for step `t` (1-based) of Adam with these hyperparameters; bias corrections
    /// are computed in `Double` so that late steps (β^t near 0) stay exact.
    public init(t: Int, lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float) {
        precondition(t >= 1, "AdamStep: t starts at 1")
        let bc1 = 1 - Self.power(Double(beta1), t), bc2 = 1 - Self.power(Double(beta2), t)
        stepSize = Float(Double(lr) / bc1)
        inverseBias2 = Float(1 / bc2.squareRoot())
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// `x^n` by repeated squaring (n ≥ 0).
    static func power(_ x: Double, _ n: Int) -> Double {
        var r = 1.0, b = x, e = n
        while e > 0 {
            if e & 1 == 1 { r *= b }
            b *= b
            e >>= 1
        }
        return r
    }
}

public enum Kernels {
    typealias V8 = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V8 { UnsafeRawPointer(p).loadUnaligned(as: V8.self) }

    @inline(__always)
    static func store(_ x: V8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: x, as: V8.self) }

    /// √x for x ≥ 0 without a libm call: a bit-level first guess of 1/√x refined by three Newton
    /// steps y ← y·(1.5 − ½x·y²), then x·y. Within 3 ulp of the correctly rounded root for normal x;
    /// 0 for x = 0. Every lane computes exactly what the scalar overload computes.
    @inline(__always)
    static func sqrtApprox(_ x: V8) -> V8 {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        var y = unsafeBitCast(SIMD8<UInt32>(repeating: 0x5F37_5A86) &- (bits &>> 1), to: V8.self)
        let half = 0.5 * x
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        return x * y
    }

    /// The scalar twin of the vector `sqrtApprox` (same operations, same result).
    @inline(__always)
    public static func sqrtApprox(_ x: Float) -> Float {
        var y = Float(bitPattern: 0x5F37_5A86 &- (x.bitPattern &>> 1))
        let half = 0.5 * x
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        return x * y
    }

    // MARK: Adam

    /// One Adam step on `n` parameters with gradients `g`, first moments `m` and root second
    /// moments `r` (= √v); zeroes `g`.
    /// - Complexity: O(n), about 30 vector operations per 8 parameters.
    @inline(__always)
    public static func adam(
        p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        r: UnsafeMutablePointer<Float>, count n: Int, step s: AdamStep
    ) {
        let b1 = V8(repeating: s.beta1), c1 = V8(repeating: 1 - s.beta1)
        let b2 = V8(repeating: s.beta2), c2 = V8(repeating: 1 - s.beta2)
        let lr = V8(repeating: s.stepSize), ib2 = V8(repeating: s.inverseBias2)
        let eps = V8(repeating: s.eps), wd = V8(repeating: s.weightDecay)
        var j = 0
        while j + 8 <= n {
            let pj = load(p + j)
            let grad = load(g + j) + wd * pj
            let mj = b1 * load(m + j) + c1 * grad
            let rj0 = load(r + j)
            let rj = sqrtApprox(b2 * (rj0 * rj0) + c2 * (grad * grad))
            store(mj, m + j)
            store(rj, r + j)
            store(pj - lr * mj / (rj * ib2 + eps), p + j)
            store(V8(), g + j)
            j += 8
        }
        while j < n {
            let grad = g[j] + s.weightDecay * p[j]
            let mj = s.beta1 * m[j] + (1 - s.beta1) * grad
            let rj = sqrtApprox(s.beta2 * (r[j] * r[j]) + (1 - s.beta2) * (grad * grad))
            m[j] = mj
            r[j] = rj
            p[j] = p[j] - s.stepSize * mj / (rj * s.inverseBias2 + s.eps)
            g[j] = 0
            j += 1
        }
    }

    /// One Adam step with a zero gradient and no weight decay (dense Adam on rows outside the batch):
    /// m ← β₁·m, r ← √β₂·r, p ← p − stepSize · m / (r / √(1 − β₂ᵗ) + ε). Reads no gradient.
    /// - Complexity: O(n), no square root.
    @inline(__always)
    public static func adamDecay(
        p: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, r: UnsafeMutablePointer<Float>,
        count n: Int, step s: AdamStep
    ) {
        let rootBeta2 = s.beta2.squareRoot()
        let b1 = V8(repeating: s.beta1), sb2 = V8(repeating: rootBeta2)
        let lr = V8(repeating: s.stepSize), ib2 = V8(repeating: s.inverseBias2), eps = V8(repeating: s.eps)
        var j = 0
        while j + 8 <= n {
            let mj = b1 * load(m + j)
            let rj = sb2 * load(r + j)
            store(mj, m + j)
            store(rj, r + j)
            store(load(p + j) - lr * mj / (rj * ib2 + eps), p + j)
            j += 8
        }
        while j < n {
            let mj = s.beta1 * m[j]
            let rj = rootBeta2 * r[j]
            m[j] = mj
            r[j] = rj
            p[j] = p[j] - s.stepSize * mj / (rj * s.inverseBias2 + s.eps)
            j += 1
        }
    }

    // MARK: SGD

    /// p ← p − lr·(g + λ·p); zeroes `g`.
    /// - Complexity: O(n).
    @inline(__always)
    public static func sgd(p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, count n: Int, lr: Float, weightDecay: Float) {
        let rate = V8(repeating: lr), wd = V8(repeating: weightDecay)
        var j = 0
        while j + 8 <= n {
            let pj = load(p + j)
            store(pj - rate * (load(g + j) + wd * pj), p + j)
            store(V8(), g + j)
            j += 8
        }
        while j < n {
            p[j] -= lr * (g[j] + weightDecay * p[j])
            g[j] = 0
            j += 1
        }
    }
}

extension Reference {
    /// The textbook Adam step (torch.optim.Adam's arithmetic) on `n` parameters with second
    /// moments `v` (not their roots), one element at a time; leaves `g` alone.
    public static func adam(
        p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, count n: Int, lr: Float, beta1: Float, beta2: Float, eps: Float,
        weightDecay: Float, t: Int
    ) {
        let stepSize = lr / (1 - Float(AdamStep.power(Double(beta1), t)))
        let bc2Sqrt = (1 - Float(AdamStep.power(Double(beta2), t))).squareRoot()
        for j in 0..<n {
            let grad = g[j] + weightDecay * p[j]
            m[j] = beta1 * m[j] + (1 - beta1) * grad
            v[j] = beta2 * v[j] + (1 - beta2) * grad * grad
            p[j] -= stepSize * m[j] / (v[j].squareRoot() / bc2Sqrt + eps)
        }
    }
}
