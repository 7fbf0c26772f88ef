/// Plain-loop versions of the `BLAS` wrappers: slow, obvious and the oracle for the kernel tests.
/// Same arguments and semantics as their `BLAS` twins; accumulation is in `Double`.
public enum Reference {
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let aip = transA ? a[p * lda + i] : a[i * lda + p]
                    let bpj = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(aip) * Double(bpj)
                }
                let prior: Float = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = Float(Double(alpha) * sum) + prior
            }
        }
    }

    public static func gemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        let rows = trans ? n : m, cols = trans ? m : n
        for i in 0..<rows {
            var sum = 0.0
            for j in 0..<cols {
                let aij = trans ? a[j * lda + i] : a[i * lda + j]
                sum += Double(aij) * Double(x[j])
            }
            let prior: Float = beta == 0 ? 0 : beta * y[i]
            y[i] = Float(Double(alpha) * sum) + prior
        }
    }
}
