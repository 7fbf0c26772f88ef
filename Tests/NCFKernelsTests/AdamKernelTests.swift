import Foundation
import NCFKernels
import NCFTestSupport
import XCTest

/// The vectorised optimizer kernels against `Reference.adam`, the textbook formula element by element.
///
/// Tolerance: the kernels keep r = √v and take √ by Newton iteration (≤ 3 ulp), so each step's
/// update differs from the reference by a few ulp of the update; parameters move by ~lr per step,
/// so after 50 steps the parameters agree to ~1e-6 absolute. 1e-5 relative to max(1, |value|)
/// leaves room and still catches a wrong term (β, bias correction, ε placement: ≥ 1e-3).
final class AdamKernelTests: XCTestCase {
    func testSqrtApproxIsWithinThreeUlpAndZeroAtZero() {
        var rng = SplitMix64(seed: 1)
        var worst: Float = 0
        for _ in 0..<200_000 {
            // Normal floats from 1e-30 to 1e30, the range second moments live in.
            let x = Float(pow(10, rng.nextDouble() * 60 - 30))
            let err = abs(Kernels.sqrtApprox(x) - x.squareRoot()) / x.squareRoot().ulp
            worst = max(worst, err)
        }
        XCTAssertLessThanOrEqual(worst, 3, "worst error in ulp")
        XCTAssertEqual(Kernels.sqrtApprox(0), 0)
        XCTAssertEqual(Kernels.sqrtApprox(1), 1, accuracy: 1e-7)
        XCTAssertEqual(Kernels.sqrtApprox(4), 2, accuracy: 2e-7)
    }

    /// 50 steps on 37 parameters (four 8-lane blocks and a 5-element tail), with and without weight
    /// decay, against the reference on the same gradients.
    func testAdamMatchesTheTextbookStep() {
        for wd: Float in [0, 0.01] {
            let n = 37
            var rng = SplitMix64(seed: 2)
            var p = (0..<n).map { _ in Float(rng.nextGaussian()) }
            var pRef = p
            var m = [Float](repeating: 0, count: n), r = m, mRef = m, vRef = m
            for t in 1...50 {
                // Gradients of mixed scale, some exactly zero.
                let grads = (0..<n).map { j -> Float in j % 7 == 3 ? 0 : Float(rng.nextGaussian()) * (j % 2 == 0 ? 1e-3 : 1) }
                var g = grads
                let step = AdamStep(t: t, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd)
                Kernels.adam(p: &p, g: &g, m: &m, r: &r, count: n, step: step)
                XCTAssertEqual(g, [Float](repeating: 0, count: n), "the kernel zeroes the gradient")
                Reference.adam(p: &pRef, g: grads, m: &mRef, v: &vRef, count: n, lr: 0.01, beta1: 0.9, beta2: 0.999,
                               eps: 1e-8, weightDecay: wd, t: t)
            }
            assertClose(p, pRef, tolerance: 1e-5, "parameters, wd \(wd)")
            assertClose(m, mRef, tolerance: 1e-5, "first moments, wd \(wd)")
            assertClose(r.map { $0 * $0 }, vRef, tolerance: 1e-5, "second moments, wd \(wd)")
        }
    }

    /// The zero-gradient step equals the full step with a zero gradient.
    func testDecayStepEqualsAFullStepWithZeroGradient() {
        let n = 21
        var rng = SplitMix64(seed: 3)
        let p0 = (0..<n).map { _ in Float(rng.nextGaussian()) }
        let m0 = (0..<n).map { _ in Float(rng.nextGaussian()) * 0.01 }
        let r0 = (0..<n).map { _ in Float(abs(rng.nextGaussian())) * 0.01 + 1e-4 }
        var (p1, m1, r1) = (p0, m0, r0)
        var (p2, m2, r2) = (p0, m0, r0)
        var g = [Float](repeating: 0, count: n)
        let step = AdamStep(t: 7, lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0)
        Kernels.adam(p: &p1, g: &g, m: &m1, r: &r1, count: n, step: step)
        Kernels.adamDecay(p: &p2, m: &m2, r: &r2, count: n, step: step)
        assertClose(p2, p1, tolerance: 1e-7, "parameters")
        assertClose(m2, m1, tolerance: 1e-7, "first moments")
        assertClose(r2, r1, tolerance: 1e-6, "root second moments")
    }

    func testSGDStep() {
        let n = 19
        var rng = SplitMix64(seed: 4)
        var p = (0..<n).map { _ in Float(rng.nextGaussian()) }
        let before = p
        let grads = (0..<n).map { _ in Float(rng.nextGaussian()) }
        var g = grads
        Kernels.sgd(p: &p, g: &g, count: n, lr: 0.1, weightDecay: 0.5)
        for j in 0..<n { XCTAssertEqual(p[j], before[j] - 0.1 * (grads[j] + 0.5 * before[j]), accuracy: 1e-6) }
        XCTAssertEqual(g, [Float](repeating: 0, count: n))
    }
}
