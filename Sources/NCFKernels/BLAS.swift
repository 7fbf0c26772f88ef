import CBLAS

/// The only Swift code that calls OpenBLAS. Every matrix is row-major `Float`.
///
/// Each wrapper checks shapes with `precondition` (a mismatch is a programmer error, never user
/// input) and forwards to `cblas_*`. `Reference` holds the plain-loop twin of each function; the
/// kernel tests compare the two on odd, non-square shapes.
public enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, with `op(X)` = `X` or `Xᵀ`.
    ///
    /// Shapes: `op(A)` is `m×k`, `op(B)` is `k×n`, `C` is `m×n`. `lda`, `ldb`, `ldc` are the row
    /// strides of the matrices as stored (so `A` stored `m×k` has `lda ≥ k`, stored `k×m` has `lda ≥ m`).
    /// - Complexity: `2·m·n·k` flops.
    @inline(__always)
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(lda >= max(1, transA ? m : k), "gemm: lda \(lda) too small")
        precondition(ldb >= max(1, transB ? k : n), "gemm: ldb \(ldb) too small")
        precondition(ldc >= max(1, n), "gemm: ldc \(ldc) too small")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha · op(A) · x + beta · y`, `A` stored `m×n` with row stride `lda`.
    /// `op(A)` is `A` (`y` has `m` entries, `x` has `n`) or `Aᵀ` (`y` has `n`, `x` has `m`).
    /// - Complexity: `2·m·n` flops.
    @inline(__always)
    public static func gemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        precondition(m >= 0 && n >= 0, "gemv: negative dimension")
        precondition(lda >= max(1, n), "gemv: lda \(lda) too small")
        if m == 0 || n == 0 { return }
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
                    Int32(lda), x, 1, beta, y, 1)
    }

    /// Sets the number of threads OpenBLAS uses (ncf's default is 1: NCF's small matrices gain
    /// nothing from more, and sweeps run one trial per core instead).
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
