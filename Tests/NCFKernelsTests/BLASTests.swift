import NCFKernels
import NCFTestSupport
import XCTest

/// The OpenBLAS wrappers against their plain-loop twins in `Reference`, on odd, non-square shapes,
/// padded strides, and alpha/beta values that are neither 0 nor 1.
///
/// Tolerance: both sides compute the same sums of at most k = 17 products of values in [−1, 1];
/// OpenBLAS accumulates in Float (error ≲ k·u·Σ|terms| ≈ 17·6e-8·17 ≈ 2e-5 in the worst case, far
/// less typically), the reference in Double, so 1e-5 relative to max(1, |value|) is ample but still
/// catches any indexing or transpose mistake, which changes values by order 1.
final class BLASTests: XCTestCase {
    private let tolerance: Float = 1e-5
    /// Written into padding slots that no kernel may read or write.
    private let sentinel: Float = 1234.5

    // MARK: - gemm

    private struct GemmCase {
        let m, n, k: Int
        /// Extra floats per stored row beyond the minimum stride.
        let padA, padB, padC: Int
    }

    private let gemmCases: [GemmCase] = [
        GemmCase(m: 7, n: 5, k: 3, padA: 0, padB: 0, padC: 0),
        GemmCase(m: 7, n: 5, k: 3, padA: 2, padB: 3, padC: 1),
        GemmCase(m: 1, n: 1, k: 1, padA: 0, padB: 0, padC: 0),
        GemmCase(m: 1, n: 1, k: 1, padA: 3, padB: 1, padC: 2),
        GemmCase(m: 13, n: 1, k: 17, padA: 1, padB: 2, padC: 3),
        GemmCase(m: 1, n: 9, k: 4, padA: 5, padB: 0, padC: 0),
        GemmCase(m: 6, n: 11, k: 1, padA: 0, padB: 4, padC: 2),
        GemmCase(m: 3, n: 2, k: 16, padA: 1, padB: 1, padC: 1),
    ]

    private let alphaBeta: [(alpha: Float, beta: Float)] = [(1, 0), (1, 1), (0.5, 0.25), (-1.5, -0.75)]

    /// Runs one gemm through `BLAS` and `Reference` on the same inputs and compares every slot of C,
    /// padding included (padding must stay untouched).
    private func checkGemm(_ c: GemmCase, transA: Bool, transB: Bool, alpha: Float, beta: Float,
                           rng: inout SplitMix64, file: StaticString = #filePath, line: UInt = #line) {
        // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed).
        let aRows = transA ? c.k : c.m, aCols = transA ? c.m : c.k
        let bRows = transB ? c.n : c.k, bCols = transB ? c.k : c.n
        let lda = aCols + c.padA, ldb = bCols + c.padB, ldc = c.n + c.padC
        var a = TinyInput.uniform(aRows * lda, rng: &rng)
        var b = TinyInput.uniform(bRows * ldb, rng: &rng)
        // Padding of A and B holds a huge value: reading it would wreck the result.
        for r in 0..<aRows { for j in aCols..<lda { a[r * lda + j] = sentinel } }
        for r in 0..<bRows { for j in bCols..<ldb { b[r * ldb + j] = sentinel } }
        var c0 = TinyInput.uniform(c.m * ldc, rng: &rng)
        for r in 0..<c.m { for j in c.n..<ldc { c0[r * ldc + j] = sentinel } }

        var fast = c0, slow = c0
        fast.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(transA: transA, transB: transB, m: c.m, n: c.n, k: c.k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
        }
        slow.withUnsafeMutableBufferPointer { cp in
            Reference.gemm(transA: transA, transB: transB, m: c.m, n: c.n, k: c.k, alpha: alpha,
                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc)
        }
        let label = "gemm m=\(c.m) n=\(c.n) k=\(c.k) transA=\(transA) transB=\(transB) lda=\(lda) ldb=\(ldb) ldc=\(ldc) alpha=\(alpha) beta=\(beta)"
        assertClose(fast, slow, tolerance: tolerance, label, file: file, line: line)
        for r in 0..<c.m {
            for j in c.n..<ldc where fast[r * ldc + j] != sentinel {
                XCTFail("\(label): padding C[\(r), \(j)] overwritten", file: file, line: line)
            }
        }
    }

    func testGemmMatchesReferenceForAllTransposesShapesAndScalars() {
        var rng = SplitMix64(seed: 101)
        for c in gemmCases {
            for transA in [false, true] {
                for transB in [false, true] {
                    for (alpha, beta) in alphaBeta {
                        checkGemm(c, transA: transA, transB: transB, alpha: alpha, beta: beta, rng: &rng)
                    }
                }
            }
        }
    }

    /// The reference itself, against a product worked out by hand, so the oracle is not taken on trust.
    func testReferenceGemmAgainstHandComputedProduct() {
        // A = [[1, 2, 3], [4, 5, 6]] (2×3), B = [[1, 0], [0, 1], [1, 1]] (3×2): A·B = [[4, 5], [10, 11]].
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [1, 0, 0, 1, 1, 1]
        var c: [Float] = [1, 1, 1, 1]
        // C = 0.5·A·B + 0.25·C
        Reference.gemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 0.5,
                       a: a, lda: 3, b: b, ldb: 2, beta: 0.25, c: &c, ldc: 2)
        XCTAssertEqual(c, [2.25, 2.75, 5.25, 5.75])
        // Aᵀ stored: the same A read transposed from its 3×2 transpose.
        let at: [Float] = [1, 4, 2, 5, 3, 6]
        var c2: [Float] = [0, 0, 0, 0]
        Reference.gemm(transA: true, transB: false, m: 2, n: 2, k: 3, alpha: 1,
                       a: at, lda: 2, b: b, ldb: 2, beta: 0, c: &c2, ldc: 2)
        XCTAssertEqual(c2, [4, 5, 10, 11])
        var c3: [Float] = [0, 0, 0, 0]
        BLAS.gemm(transA: true, transB: false, m: 2, n: 2, k: 3, alpha: 1,
                  a: at, lda: 2, b: b, ldb: 2, beta: 0, c: &c3, ldc: 2)
        XCTAssertEqual(c3, [4, 5, 10, 11])
    }

    /// k = 0 is a legal product: op(A)·op(B) is all zeros, so C = beta·C.
    func testGemmWithEmptyInnerDimensionScalesC() {
        let a: [Float] = [0], b: [Float] = [0]
        var fast: [Float] = [1, 2, 3, 4, 5, 6], slow = fast
        BLAS.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 0.5,
                  a: a, lda: 1, b: b, ldb: 3, beta: 0.25, c: &fast, ldc: 3)
        Reference.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 0.5,
                       a: a, lda: 1, b: b, ldb: 3, beta: 0.25, c: &slow, ldc: 3)
        XCTAssertEqual(slow, [0.25, 0.5, 0.75, 1, 1.25, 1.5])
        assertClose(fast, slow, tolerance: tolerance, "gemm k=0")
    }

    // MARK: - gemv

    func testGemvMatchesReferenceBothOrientations() {
        var rng = SplitMix64(seed: 202)
        let shapes: [(m: Int, n: Int, pad: Int)] = [(7, 5, 0), (7, 5, 3), (1, 1, 0), (1, 1, 2), (13, 1, 1), (1, 17, 0), (4, 9, 5)]
        for (m, n, pad) in shapes {
            let lda = n + pad
            var a = TinyInput.uniform(m * lda, rng: &rng)
            for r in 0..<m { for j in n..<lda { a[r * lda + j] = sentinel } }
            for trans in [false, true] {
                let xCount = trans ? m : n, yCount = trans ? n : m
                let x = TinyInput.uniform(xCount, rng: &rng)
                let y0 = TinyInput.uniform(yCount, rng: &rng)
                for (alpha, beta) in alphaBeta {
                    var fast = y0, slow = y0
                    BLAS.gemv(trans: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: &fast)
                    Reference.gemv(trans: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: &slow)
                    assertClose(fast, slow, tolerance: tolerance,
                                "gemv m=\(m) n=\(n) lda=\(lda) trans=\(trans) alpha=\(alpha) beta=\(beta)")
                }
            }
        }
    }

    /// gemv must agree with gemm on the same matrix viewed as an m×n by n×1 product.
    func testGemvAgreesWithGemmAsMatrixTimesColumn() {
        var rng = SplitMix64(seed: 303)
        let m = 6, n = 4
        let a = TinyInput.uniform(m * n, rng: &rng)
        let x = TinyInput.uniform(n, rng: &rng)
        var viaGemv = [Float](repeating: 0, count: m)
        var viaGemm = [Float](repeating: 0, count: m)
        BLAS.gemv(trans: false, m: m, n: n, alpha: 1, a: a, lda: n, x: x, beta: 0, y: &viaGemv)
        BLAS.gemm(transA: false, transB: false, m: m, n: 1, k: n, alpha: 1, a: a, lda: n, b: x, ldb: 1,
                  beta: 0, c: &viaGemm, ldc: 1)
        assertClose(viaGemv, viaGemm, tolerance: tolerance, "gemv vs gemm")
    }

    // MARK: - Threads

    func testThreadCountCanBeSetToOne() {
        BLAS.setThreads(1)
        XCTAssertEqual(BLAS.threads, 1)
    }
}
