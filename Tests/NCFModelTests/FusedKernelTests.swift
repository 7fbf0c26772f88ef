import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

/// Each fused kernel of the training step against the composition of plain kernels it replaces.
/// They perform the same float operations in the same order, so the results must be identical
/// (compared with `==`, up to the sign of zero).
final class FusedKernelTests: XCTestCase {
    private func gaussian(_ n: Int, _ rng: inout SplitMix64, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float(rng.nextGaussian()) * scale }
    }

    private func assertSame(_ a: [Float], _ b: [Float], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        if let i = zip(a, b).enumerated().first(where: { !($0.element.0 == $0.element.1) })?.offset {
            XCTFail("\(message): first difference at \(i): \(a[i]) vs \(b[i])", file: file, line: line)
        }
    }

    // Batch of 7 over 4 users and 5 items, with repeated rows (their gradients must add up).
    private let users: [Int32] = [0, 3, 0, 2, 3, 0, 1]
    private let items: [Int32] = [4, 4, 1, 0, 2, 4, 3]
    private let B = 7, d = 5

    func testGMFGatherEqualsGatherThenProduct() {
        var rng = SplitMix64(seed: 1)
        let P = gaussian(4 * d, &rng), Q = gaussian(5 * d, &rng)
        var pu = [Float](repeating: 0, count: B * d), qi = pu, plain = pu, fused = pu
        embeddingForward(out: &pu, ldOut: d, indices: users, table: P, batch: B, dim: d)
        embeddingForward(out: &qi, ldOut: d, indices: items, table: Q, batch: B, dim: d)
        gmfForward(out: &plain, p: pu, q: qi, count: B * d)
        gmfGatherForward(out: &fused, userTable: P, itemTable: Q, users: users, items: items, batch: B, dim: d)
        assertSame(fused, plain, "gmfGatherForward")
    }

    func testGMFHeadBackwardEqualsHeadThenProductThenScatter() {
        var rng = SplitMix64(seed: 2)
        let P = gaussian(4 * d, &rng), Q = gaussian(5 * d, &rng), w = gaussian(d, &rng), dlogit = gaussian(B, &rng)
        let dP0 = gaussian(4 * d, &rng), dQ0 = gaussian(5 * d, &rng)  // gradients accumulate onto these
        // Plain: gathered rows, the head's outer product, the product rule, then scatter-adds.
        var pu = [Float](repeating: 0, count: B * d), qi = pu, dOut = pu, dpu = pu, dqi = pu
        embeddingForward(out: &pu, ldOut: d, indices: users, table: P, batch: B, dim: d)
        embeddingForward(out: &qi, ldOut: d, indices: items, table: Q, batch: B, dim: d)
        headOuterBackward(out: &dOut, dlogit: dlogit, w: w, rows: B, cols: d)
        gmfBackward(dp: &dpu, dq: &dqi, dout: dOut, p: pu, q: qi, count: B * d)
        var dPPlain = dP0, dQPlain = dQ0
        embeddingBackward(dtable: &dPPlain, dout: dpu, ldOut: d, indices: users, batch: B, dim: d)
        embeddingBackward(dtable: &dQPlain, dout: dqi, ldOut: d, indices: items, batch: B, dim: d)
        var dP = dP0, dQ = dQ0
        gmfHeadBackward(dUserTable: &dP, dItemTable: &dQ, dlogit: dlogit, w: w, userTable: P, itemTable: Q,
                        users: users, items: items, batch: B, dim: d)
        assertSame(dP, dPPlain, "dP")
        assertSame(dQ, dQPlain, "dQ")
    }

    func testReLUDropoutInPlaceEqualsTheTwoBufferKernel() {
        for (p, training) in [(Float(0.3), true), (0, true), (0.3, false)] {
            var rng = SplitMix64(seed: 3)
            let x = gaussian(40, &rng)
            var out = [Float](repeating: 0, count: 40), maskPlain = out
            var r1 = SplitMix64(seed: 9), r2 = SplitMix64(seed: 9)
            reluDropoutForward(out: &out, mask: &maskPlain, inp: x, count: 40, dropout: p, training: training, rng: &r1)
            var inPlace = x, mask = [Float](repeating: 0, count: 40)
            reluDropoutForwardInPlace(&inPlace, mask: &mask, count: 40, dropout: p, training: training, rng: &r2)
            assertSame(inPlace, out, "activations p=\(p) training=\(training)")
            XCTAssertEqual(r1.state, r2.state, "same number of draws")
            // The stored mask is the plain mask where the input is positive, 0 elsewhere.
            assertSame(mask, (0..<40).map { x[$0] > 0 ? maskPlain[$0] : 0 }, "combined mask p=\(p)")
        }
    }

    func testMaskBackwardEqualsBranchyBackwardPlusBiasSum() {
        var rng = SplitMix64(seed: 4)
        let rows = 6, cols = 9
        let x = gaussian(rows * cols, &rng), dout = gaussian(rows * cols, &rng), bias0 = gaussian(cols, &rng)
        var act = [Float](repeating: 0, count: rows * cols), maskPlain = act
        var r1 = SplitMix64(seed: 5), r2 = SplitMix64(seed: 5)
        reluDropoutForward(out: &act, mask: &maskPlain, inp: x, count: rows * cols, dropout: 0.25, training: true, rng: &r1)
        var plain = [Float](repeating: 0, count: rows * cols)
        reluDropoutBackward(dinp: &plain, dout: dout, mask: maskPlain, inp: x, count: rows * cols)
        var dbiasPlain = bias0
        for b in 0..<rows { for j in 0..<cols { dbiasPlain[j] += plain[b * cols + j] } }

        var h = x, mask = [Float](repeating: 0, count: rows * cols)
        reluDropoutForwardInPlace(&h, mask: &mask, count: rows * cols, dropout: 0.25, training: true, rng: &r2)
        var g = dout, dbias = bias0
        reluMaskBackwardInPlace(&g, mask: mask, dbias: &dbias, rows: rows, cols: cols)
        XCTAssertEqual(g.map { $0 == 0 ? 0 : $0 }, plain.map { $0 == 0 ? 0 : $0 }, "gradient (signed zeros aside)")
        assertSame(dbias, dbiasPlain, "bias gradient")

        // The head's version: dlogit ⊗ w through the same mask.
        let dlogit = gaussian(rows, &rng), w = gaussian(cols, &rng)
        var outer = [Float](repeating: 0, count: rows * cols)
        headOuterBackward(out: &outer, dlogit: dlogit, w: w, rows: rows, cols: cols)
        var headPlain = [Float](repeating: 0, count: rows * cols)
        reluDropoutBackward(dinp: &headPlain, dout: outer, mask: maskPlain, inp: x, count: rows * cols)
        var dpre = [Float](repeating: .nan, count: rows * cols), dbiasHead = bias0, dbiasHeadPlain = bias0
        for b in 0..<rows { for j in 0..<cols { dbiasHeadPlain[j] += headPlain[b * cols + j] } }
        headReLUBackward(dpre: &dpre, dlogit: dlogit, w: w, mask: mask, dbias: &dbiasHead, rows: rows, cols: cols)
        XCTAssertEqual(dpre.map { $0 == 0 ? 0 : $0 }, headPlain.map { $0 == 0 ? 0 : $0 }, "head gradient")
        assertSame(dbiasHead, dbiasHeadPlain, "head bias gradient")
    }
}
