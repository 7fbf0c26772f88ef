import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

/// Every layer's backward against central finite differences of the scalar objective
/// L = Σ out ⊙ R (R random and fixed, so ∂L/∂out = R is fed to the backward as its upstream
/// gradient). Tolerances and step size are `GradientChecker`'s defaults; its doc comment explains
/// them for Float code. Inputs are of order 1, where those defaults apply.
final class LayerGradientTests: XCTestCase {
    private let checker = GradientChecker()
    /// Written into slots a kernel must neither read nor write.
    private let sentinel: Float = 777

    // MARK: - Embedding

    func testEmbeddingForwardGathersRowsAndBackwardAccumulatesRepeatedRows() {
        var rng = SplitMix64(seed: 11)
        let rows = 5, dim = 3, batch = 6, ldOut = 5
        let indices: [Int32] = [1, 3, 1, 0, 4, 1]  // row 1 three times, row 2 never
        let table = TinyInput.buffer(TinyInput.uniform(rows * dim, rng: &rng))
        let out = TinyInput.buffer(repeating: sentinel, count: batch * ldOut)

        embeddingForward(out: out.pointer, ldOut: ldOut, indices: indices, table: table.pointer, batch: batch, dim: dim)
        for b in 0..<batch {
            for j in 0..<ldOut {
                let expected = j < dim ? table[Int(indices[b]) * dim + j] : sentinel
                XCTAssertEqual(out[b * ldOut + j], expected, "out[\(b), \(j)]")
            }
        }

        // R is zero on the padding columns (so they do not enter L); the upstream gradient holds
        // garbage there, which the backward must not read.
        var r = TinyInput.uniform(batch * ldOut, rng: &rng)
        var dout = r
        for b in 0..<batch {
            for j in dim..<ldOut { r[b * ldOut + j] = 0; dout[b * ldOut + j] = sentinel }
        }
        let dtable = FloatBuffer(count: rows * dim)
        embeddingBackward(dtable: dtable.pointer, dout: dout, ldOut: ldOut, indices: indices, batch: batch, dim: dim)
        let analytic = dtable.array

        assertGradient(checker.check("embedding dtable", analytic: analytic, at: table) {
            embeddingForward(out: out.pointer, ldOut: ldOut, indices: indices, table: table.pointer, batch: batch, dim: dim)
            return weightedSum(out.pointer, r)
        })
        // Row 2 is not in the batch: its gradient is exactly zero, not merely small.
        XCTAssertEqual(Array(analytic[2 * dim..<3 * dim]), [0, 0, 0])

        // Backward accumulates: a second call doubles the gradient.
        embeddingBackward(dtable: dtable.pointer, dout: dout, ldOut: ldOut, indices: indices, batch: batch, dim: dim)
        assertClose(dtable.array, analytic.map { 2 * $0 }, tolerance: 1e-6, "embedding accumulation")
    }

    // MARK: - GMF product

    func testGMFProductGradient() {
        var rng = SplitMix64(seed: 12)
        let n = 4 * 3
        let p = TinyInput.buffer(TinyInput.uniform(n, rng: &rng))
        let q = TinyInput.buffer(TinyInput.uniform(n, rng: &rng))
        let out = FloatBuffer(count: n)
        let r = TinyInput.uniform(n, rng: &rng)

        gmfForward(out: out.pointer, p: p.pointer, q: q.pointer, count: n)
        for i in 0..<n { XCTAssertEqual(out[i], p[i] * q[i]) }

        let dp = FloatBuffer(count: n), dq = FloatBuffer(count: n)
        gmfBackward(dp: dp.pointer, dq: dq.pointer, dout: r, p: p.pointer, q: q.pointer, count: n)
        let objective = {
            gmfForward(out: out.pointer, p: p.pointer, q: q.pointer, count: n)
            return weightedSum(out.pointer, r)
        }
        assertGradient(checker.check("gmf dp", analytic: dp.array, at: p, objective: objective))
        assertGradient(checker.check("gmf dq", analytic: dq.array, at: q, objective: objective))

        let dp1 = dp.array, dq1 = dq.array
        gmfBackward(dp: dp.pointer, dq: dq.pointer, dout: r, p: p.pointer, q: q.pointer, count: n)
        assertClose(dp.array, dp1.map { 2 * $0 }, tolerance: 1e-6, "gmf dp accumulation")
        assertClose(dq.array, dq1.map { 2 * $0 }, tolerance: 1e-6, "gmf dq accumulation")
    }

    // MARK: - Linear

    func testLinearGradientsOnOddShapes() {
        var rng = SplitMix64(seed: 13)
        for (B, C, OC) in [(5, 7, 3), (1, 1, 4), (4, 2, 1), (3, 6, 6)] {
            let inp = TinyInput.buffer(TinyInput.uniform(B * C, rng: &rng))
            let weight = TinyInput.buffer(TinyInput.uniform(OC * C, rng: &rng))
            let bias = TinyInput.buffer(TinyInput.uniform(OC, rng: &rng))
            let out = FloatBuffer(count: B * OC)
            let r = TinyInput.uniform(B * OC, rng: &rng)
            let shape = "B=\(B) C=\(C) OC=\(OC)"

            // Forward against the definition out[b, o] = Σ_c inp[b, c]·weight[o, c] + bias[o].
            linearForward(out: out.pointer, inp: inp.pointer, weight: weight.pointer, bias: bias.pointer,
                          batch: B, inDim: C, outDim: OC)
            var expected = [Float](repeating: 0, count: B * OC)
            for b in 0..<B {
                for o in 0..<OC {
                    var s = Double(bias[o])
                    for c in 0..<C { s += Double(inp[b * C + c]) * Double(weight[o * C + c]) }
                    expected[b * OC + o] = Float(s)
                }
            }
            assertClose(out.array, expected, tolerance: 1e-5, "linear forward \(shape)")

            let dinp = FloatBuffer(count: B * C), dweight = FloatBuffer(count: OC * C), dbias = FloatBuffer(count: OC)
            linearBackward(dinp: dinp.pointer, dweight: dweight.pointer, dbias: dbias.pointer, dout: r,
                           inp: inp.pointer, weight: weight.pointer, batch: B, inDim: C, outDim: OC)
            let objective = {
                linearForward(out: out.pointer, inp: inp.pointer, weight: weight.pointer, bias: bias.pointer,
                              batch: B, inDim: C, outDim: OC)
                return weightedSum(out.pointer, r)
            }
            assertGradient(checker.check("linear dinp \(shape)", analytic: dinp.array, at: inp, objective: objective))
            assertGradient(checker.check("linear dweight \(shape)", analytic: dweight.array, at: weight, objective: objective))
            assertGradient(checker.check("linear dbias \(shape)", analytic: dbias.array, at: bias, objective: objective))

            // Without dinp the weight and bias gradients are unchanged.
            let dweight2 = FloatBuffer(count: OC * C), dbias2 = FloatBuffer(count: OC)
            linearBackward(dinp: nil, dweight: dweight2.pointer, dbias: dbias2.pointer, dout: r,
                           inp: inp.pointer, weight: weight.pointer, batch: B, inDim: C, outDim: OC)
            XCTAssertEqual(dweight2.array, dweight.array, "linear dweight without dinp \(shape)")
            XCTAssertEqual(dbias2.array, dbias.array, "linear dbias without dinp \(shape)")

            // Accumulation into all three.
            let snapshot = (dinp.array, dweight.array, dbias.array)
            linearBackward(dinp: dinp.pointer, dweight: dweight.pointer, dbias: dbias.pointer, dout: r,
                           inp: inp.pointer, weight: weight.pointer, batch: B, inDim: C, outDim: OC)
            assertClose(dinp.array, snapshot.0.map { 2 * $0 }, tolerance: 1e-5, "linear dinp accumulation \(shape)")
            assertClose(dweight.array, snapshot.1.map { 2 * $0 }, tolerance: 1e-5, "linear dweight accumulation \(shape)")
            assertClose(dbias.array, snapshot.2.map { 2 * $0 }, tolerance: 1e-5, "linear dbias accumulation \(shape)")
        }
    }

    // MARK: - Prediction head

    /// One head over [a; c], checked with both inputs, with only `a` (GMF) and with only `c` (MLP).
    func testHeadGradientsWithBothAndWithOneInput() {
        var rng = SplitMix64(seed: 14)
        let B = 5, A = 3, Cc = 4
        for (useA, useC) in [(true, true), (true, false), (false, true)] {
            let label = "head a=\(useA) c=\(useC)"
            let a = TinyInput.buffer(TinyInput.uniform(B * A, rng: &rng))
            let wa = TinyInput.buffer(TinyInput.uniform(A, rng: &rng))
            let c = TinyInput.buffer(TinyInput.uniform(B * Cc, rng: &rng))
            let wc = TinyInput.buffer(TinyInput.uniform(Cc, rng: &rng))
            let bias = TinyInput.buffer(TinyInput.uniform(1, rng: &rng))
            let out = FloatBuffer(count: B)
            let r = TinyInput.uniform(B, rng: &rng)
            let forward = {
                headForward(out: out.pointer,
                            a: useA ? UnsafePointer(a.pointer) : nil, wa: useA ? UnsafePointer(wa.pointer) : nil, aDim: useA ? A : 0,
                            c: useC ? UnsafePointer(c.pointer) : nil, wc: useC ? UnsafePointer(wc.pointer) : nil, cDim: useC ? Cc : 0,
                            bias: bias.pointer, batch: B)
            }

            forward()
            var expected = [Float](repeating: 0, count: B)
            for b in 0..<B {
                var s = Double(bias[0])
                if useA { for j in 0..<A { s += Double(a[b * A + j]) * Double(wa[j]) } }
                if useC { for j in 0..<Cc { s += Double(c[b * Cc + j]) * Double(wc[j]) } }
                expected[b] = Float(s)
            }
            assertClose(out.array, expected, tolerance: 1e-5, "\(label) forward")

            let da = FloatBuffer(count: B * A), dwa = FloatBuffer(count: A)
            let dc = FloatBuffer(count: B * Cc), dwc = FloatBuffer(count: Cc)
            let dbias = FloatBuffer(count: 1)
            headBackward(da: useA ? da.pointer : nil, dwa: useA ? dwa.pointer : nil,
                         dc: useC ? dc.pointer : nil, dwc: useC ? dwc.pointer : nil,
                         dbias: dbias.pointer, dout: r,
                         a: useA ? UnsafePointer(a.pointer) : nil, wa: useA ? UnsafePointer(wa.pointer) : nil, aDim: useA ? A : 0,
                         c: useC ? UnsafePointer(c.pointer) : nil, wc: useC ? UnsafePointer(wc.pointer) : nil, cDim: useC ? Cc : 0,
                         batch: B)
            let objective = { forward(); return weightedSum(out.pointer, r) }
            assertGradient(checker.check("\(label) dbias", analytic: dbias.array, at: bias, objective: objective))
            if useA {
                assertGradient(checker.check("\(label) da", analytic: da.array, at: a, objective: objective))
                assertGradient(checker.check("\(label) dwa", analytic: dwa.array, at: wa, objective: objective))
            } else {
                XCTAssertEqual(da.array, [Float](repeating: 0, count: B * A), "\(label): absent input's gradient written")
            }
            if useC {
                assertGradient(checker.check("\(label) dc", analytic: dc.array, at: c, objective: objective))
                assertGradient(checker.check("\(label) dwc", analytic: dwc.array, at: wc, objective: objective))
            } else {
                XCTAssertEqual(dc.array, [Float](repeating: 0, count: B * Cc), "\(label): absent input's gradient written")
            }
        }
    }

    // MARK: - ReLU + dropout

    /// Training mode with p = 0.4. The mask is drawn once from a seeded generator; every
    /// perturbed forward replays the same mask from a copy of that generator. Inputs are at least
    /// 0.2 away from 0, twenty times the finite-difference step, so no step crosses the kink.
    func testReLUDropoutGradientWithFixedMask() {
        var rng = SplitMix64(seed: 15)
        let n = 40, p: Float = 0.4
        let inp = TinyInput.buffer(TinyInput.awayFromZero(n, magnitude: 0.2...1.5, rng: &rng))
        let out = FloatBuffer(count: n), mask = FloatBuffer(count: n)
        let r = TinyInput.uniform(n, rng: &rng)
        let maskRng = SplitMix64(seed: 16)

        var g = maskRng
        reluDropoutForward(out: out.pointer, mask: mask.pointer, inp: inp.pointer, count: n, dropout: p, training: true, rng: &g)
        let keep = 1 / (1 - p)
        XCTAssert(mask.array.allSatisfy { $0 == 0 || $0 == keep }, "mask values \(mask.array)")
        XCTAssert(mask.array.contains(0) && mask.array.contains(keep), "the mask should both drop and keep")
        for i in 0..<n { XCTAssertEqual(out[i], max(inp[i], 0) * mask[i], "out[\(i)]") }
        // Some units must be both positive and kept, or the check below tests nothing.
        XCTAssert((0..<n).contains { inp[$0] > 0 && mask[$0] > 0 })

        let dinp = TinyInput.buffer(repeating: sentinel, count: n)  // overwritten, not accumulated
        reluDropoutBackward(dinp: dinp.pointer, dout: r, mask: mask.pointer, inp: inp.pointer, count: n)
        let scratchMask = FloatBuffer(count: n)
        assertGradient(checker.check("relu+dropout p=0.4 dinp", analytic: dinp.array, at: inp) {
            var replay = maskRng
            reluDropoutForward(out: out.pointer, mask: scratchMask.pointer, inp: inp.pointer, count: n,
                               dropout: p, training: true, rng: &replay)
            return weightedSum(out.pointer, r)
        })
        XCTAssertEqual(scratchMask.array, mask.array, "replaying the generator copy gives the same mask")
    }

    /// Inference (and p = 0): the mask is all ones, no random numbers are drawn, out = relu(inp).
    func testReLUWithoutDropoutDrawsNothingAndMatchesGradient() {
        var rng = SplitMix64(seed: 17)
        let n = 20
        let inp = TinyInput.buffer(TinyInput.awayFromZero(n, rng: &rng))
        let out = FloatBuffer(count: n), mask = FloatBuffer(count: n)
        let r = TinyInput.uniform(n, rng: &rng)
        for (training, p) in [(false, Float(0.5)), (true, Float(0))] {
            var g = SplitMix64(seed: 18)
            let before = g.state
            reluDropoutForward(out: out.pointer, mask: mask.pointer, inp: inp.pointer, count: n, dropout: p, training: training, rng: &g)
            XCTAssertEqual(g.state, before, "training=\(training) p=\(p) drew random numbers")
            XCTAssertEqual(mask.array, [Float](repeating: 1, count: n))
            XCTAssertEqual(out.array, inp.array.map { max($0, 0) })

            let dinp = FloatBuffer(count: n)
            reluDropoutBackward(dinp: dinp.pointer, dout: r, mask: mask.pointer, inp: inp.pointer, count: n)
            assertGradient(checker.check("relu training=\(training) p=\(p) dinp", analytic: dinp.array, at: inp) {
                var g = SplitMix64(seed: 18)
                reluDropoutForward(out: out.pointer, mask: mask.pointer, inp: inp.pointer, count: n, dropout: p, training: training, rng: &g)
                return weightedSum(out.pointer, r)
            })
        }
    }

    /// `inp` and `out` may be the same buffer (documented); the result must not change.
    func testReLUDropoutInPlaceMatchesOutOfPlace() {
        var rng = SplitMix64(seed: 19)
        let n = 30
        let values = TinyInput.uniform(n, rng: &rng)
        let inp = TinyInput.buffer(values), out = FloatBuffer(count: n), mask = FloatBuffer(count: n)
        var g1 = SplitMix64(seed: 20), g2 = SplitMix64(seed: 20)
        reluDropoutForward(out: out.pointer, mask: mask.pointer, inp: inp.pointer, count: n, dropout: 0.3, training: true, rng: &g1)
        let inPlace = TinyInput.buffer(values)
        reluDropoutForward(out: inPlace.pointer, mask: mask.pointer, inp: inPlace.pointer, count: n, dropout: 0.3, training: true, rng: &g2)
        XCTAssertEqual(inPlace.array, out.array)
    }

    /// Inverted dropout keeps the expected activation: over many draws the mask averages 1, the
    /// dropped fraction is p, and every value is 0 or 1/(1 − p).
    /// Mask variance is p/(1 − p) ≈ 0.43 for p = 0.3, so over 100k draws the mean's standard
    /// deviation is ≈ 0.002; the bound is 0.01.
    func testInvertedDropoutPreservesTheMeanActivation() {
        let n = 100_000, p: Float = 0.3
        let ones = TinyInput.buffer(repeating: 1, count: n)
        let out = FloatBuffer(count: n), mask = FloatBuffer(count: n)
        var g = SplitMix64(seed: 21)
        reluDropoutForward(out: out.pointer, mask: mask.pointer, inp: ones.pointer, count: n, dropout: p, training: true, rng: &g)
        let keep = 1 / (1 - p)
        var sum = 0.0, dropped = 0
        for i in 0..<n {
            let m = mask[i]
            XCTAssert(m == 0 || m == keep, "mask[\(i)] = \(m)")
            if m == 0 { dropped += 1 }
            sum += Double(out[i])
        }
        XCTAssertEqual(sum / Double(n), 1, accuracy: 0.01)
        XCTAssertEqual(Double(dropped) / Double(n), Double(p), accuracy: 0.01)
    }

    // MARK: - Mean squared error

    func testMSELossValueAndGradient() {
        var rng = SplitMix64(seed: 22)
        let B = 7
        let pred = TinyInput.buffer(TinyInput.uniform(B, in: -2...2, rng: &rng))
        let target = TinyInput.uniform(B, in: 1...5, rng: &rng)
        let dpred = TinyInput.buffer(repeating: sentinel, count: B)  // overwritten, not accumulated

        let loss = mseForwardBackward(dpred: dpred.pointer, pred: pred.pointer, target: target, batch: B)
        var expected = 0.0
        for b in 0..<B { expected += pow(Double(pred[b]) - Double(target[b]), 2) }
        expected /= Double(B)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-6 * expected)
        for b in 0..<B {
            XCTAssertEqual(dpred[b], 2 * (pred[b] - target[b]) / Float(B), accuracy: 1e-6, "dpred[\(b)]")
        }
        var pointSum = 0.0
        for b in 0..<B { pointSum += pointLoss(prediction: pred[b], target: target[b], implicit: false) }
        XCTAssertEqual(pointSum / Double(B), expected, accuracy: 1e-6 * expected, "pointLoss agrees with the batch loss")

        let scratch = FloatBuffer(count: B)
        let analytic = dpred.array
        assertGradient(checker.check("mse dpred", analytic: analytic, at: pred) {
            Double(mseForwardBackward(dpred: scratch.pointer, pred: pred.pointer, target: target, batch: B))
        })
    }

    // MARK: - Sigmoid + binary cross-entropy

    /// The Double reference: ℓ(x, t) = max(x, 0) − t·x + log(1 + e^(−|x|)), and σ(x).
    private func referenceBCE(_ x: Float, _ t: Float) -> Double {
        let x = Double(x), t = Double(t)
        return max(x, 0) - t * x + log1p(exp(-abs(x)))
    }

    private func referenceSigmoid(_ x: Float) -> Double { 1 / (1 + exp(-Double(x))) }

    func testSigmoidBCELossValueAndGradientOnModerateLogits() {
        var rng = SplitMix64(seed: 23)
        let B = 8
        let logit = TinyInput.buffer(TinyInput.uniform(B, in: -4...4, rng: &rng))
        let target: [Float] = [1, 0, 1, 1, 0, 0, 1, 0]
        let dlogit = TinyInput.buffer(repeating: sentinel, count: B)

        let loss = sigmoidBCEForwardBackward(dlogit: dlogit.pointer, logit: logit.pointer, target: target, batch: B)
        // Against the textbook form −t·log σ − (1 − t)·log(1 − σ), safe in Double for |x| ≤ 4.
        var expected = 0.0
        for b in 0..<B {
            let s = referenceSigmoid(logit[b]), t = Double(target[b])
            expected += -t * log(s) - (1 - t) * log(1 - s)
        }
        expected /= Double(B)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-6)
        for b in 0..<B {
            XCTAssertEqual(Double(dlogit[b]), (referenceSigmoid(logit[b]) - Double(target[b])) / Double(B), accuracy: 1e-7)
        }
        var pointSum = 0.0
        for b in 0..<B { pointSum += pointLoss(prediction: logit[b], target: target[b], implicit: true) }
        XCTAssertEqual(pointSum / Double(B), expected, accuracy: 1e-6, "pointLoss agrees with the batch loss")

        let scratch = FloatBuffer(count: B)
        assertGradient(checker.check("sigmoid-bce dlogit", analytic: dlogit.array, at: logit) {
            Double(sigmoidBCEForwardBackward(dlogit: scratch.pointer, logit: logit.pointer, target: target, batch: B))
        })
    }

    /// Logits far from 0, where log(1 + e^(−x)) computed naively overflows in Float for x < −88
    /// and 1 − σ(x) rounds to 0 for x > 17: the loss must stay finite and exact, and the gradient
    /// must be (σ(x) − t)/B.
    func testSigmoidBCEIsStableForLargeLogits() {
        let logits: [Float] = [30, -30, 30, -30, 50, -50, 88, -88, 100, -100, 1e4, -1e4]
        let target: [Float] = [0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0]
        let B = logits.count
        let logit = TinyInput.buffer(logits)
        let dlogit = FloatBuffer(count: B)
        let loss = sigmoidBCEForwardBackward(dlogit: dlogit.pointer, logit: logit.pointer, target: target, batch: B)
        XCTAssert(loss.isFinite, "loss \(loss)")
        var expected = 0.0
        for b in 0..<B { expected += referenceBCE(logits[b], target[b]) }
        expected /= Double(B)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-6 * expected)
        for b in 0..<B {
            XCTAssert(dlogit[b].isFinite, "dlogit[\(b)] = \(dlogit[b])")
            XCTAssertEqual(Double(dlogit[b]), (referenceSigmoid(logits[b]) - Double(target[b])) / Double(B),
                           accuracy: 1e-7, "dlogit[\(b)] at x = \(logits[b]), t = \(target[b])")
            let point = pointLoss(prediction: logits[b], target: target[b], implicit: true)
            XCTAssert(point.isFinite)
            XCTAssertEqual(point, referenceBCE(logits[b], target[b]), accuracy: 1e-5 * max(1, point))
        }
        XCTAssertEqual(stableSigmoid(-100), 0, accuracy: 1e-30)
        XCTAssertEqual(stableSigmoid(100), 1)
        XCTAssertEqual(stableSigmoid(-.infinity), 0)
        XCTAssertEqual(stableSigmoid(.infinity), 1)
        XCTAssertEqual(stableSigmoid(0), 0.5)

        let scratch = FloatBuffer(count: B)
        assertGradient(checker.check("sigmoid-bce dlogit, |x| ≥ 30", analytic: dlogit.array, at: logit) {
            Double(sigmoidBCEForwardBackward(dlogit: scratch.pointer, logit: logit.pointer, target: target, batch: B))
        })
    }

    // MARK: - The checker itself

    /// A deliberately wrong gradient must fail, and the report must point at the first bad entry.
    func testCheckerRejectsAWrongGradient() {
        let x = TinyInput.buffer([0.5, -1, 2])
        // f(x) = Σ x², f' = 2x; claim x instead of 2x for entry 1 only.
        let report = checker.check("x²", analytic: [1, -1, 4], at: x) {
            (0..<3).reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }
        }
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.firstFailure, 1)
        XCTAssertEqual(report.worstIndex, 1)
        XCTAssertEqual(report.maxRelativeError, 0.5, accuracy: 1e-3)
        XCTAssertEqual(x.array, [0.5, -1, 2], "the checker restores every entry")
        let good = checker.check("x²", analytic: [1, -2, 4], at: x) {
            (0..<3).reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }
        }
        XCTAssert(good.passed, "\(good)")
    }
}
