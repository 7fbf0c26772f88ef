import Foundation
import NCFKernels

/// A Gaussian-process regression model on the unit cube, the surrogate behind `BayesSampler`.
///
/// Kernel: Matérn 5/2 with one length-scale per input dimension (ARD), a signal variance and a
/// noise variance,
///
///     k(x, x') = σf² · (1 + √5·r + 5r²/3) · exp(−√5·r),   r² = Σⱼ (xⱼ − x'ⱼ)² / ℓⱼ²,
///     K = [k(xᵢ, xⱼ)] + σn²·I.
///
/// Targets are standardised (mean 0, standard deviation 1) before fitting, so the hyper-parameter
/// bounds and priors below are scale-free. Hyper-parameters are fitted by maximising the log
/// marginal likelihood plus weak log-normal priors (a MAP fit, which keeps the fit sane with a
/// handful of points) with L-BFGS on analytic gradients, from a default start and seeded random
/// restarts. The linear algebra is a Cholesky factorisation with growing jitter, in Double.
///
/// Why these choices: Matérn 5/2 is the usual choice for hyper-parameter response surfaces (twice
/// differentiable, less smooth than RBF); per-dimension length-scales let irrelevant parameters
/// (and one-hot columns of unimportant categoricals) switch themselves off; fitting the noise lets
/// the model cope with noisy training metrics.
struct GaussianProcess: Sendable {
    /// Inputs, n × dim, row-major.
    private(set) var x: [Double]
    /// Standardised targets.
    private(set) var y: [Double]
    let dim: Int
    private(set) var n: Int
    let yMean: Double
    let yScale: Double
    private(set) var hyper: Hyper
    /// log p(values, θ̂) at the fitted hyper-parameters θ̂ (the MAP objective, in the units of the
    /// values given to `fit`): comparable between fits of differently transformed values once each
    /// transform's log-Jacobian is added (`OutputWarping.auto`). −∞ when no fit was finite.
    private(set) var logEvidence = -Double.infinity
    /// Lower Cholesky factor of K, n × n row-major.
    private var chol: [Double] = []
    /// K⁻¹ y.
    private var alpha: [Double] = []
    /// 1/ℓⱼ, cached for prediction.
    private var inverseLengthScales: [Double] = []

    /// The kernel's hyper-parameters (natural scale).
    struct Hyper: Sendable, Equatable {
        var lengthScales: [Double]
        var signalVariance: Double
        var noiseVariance: Double
    }

    // MARK: - Bounds and priors (on log values)

    static let logLengthBounds = (Foundation.log(0.01), Foundation.log(20.0))
    static let logSignalBounds = (Foundation.log(0.05), Foundation.log(20.0))
    static let logNoiseBounds = (Foundation.log(1e-6), Foundation.log(1.0))
    /// Log-normal priors (mean, sd of the log).
    static let lengthPrior = (Foundation.log(0.5), 1.0)
    static let signalPrior = (0.0, 1.0)
    static let noisePrior = (Foundation.log(1e-3), 2.0)

    // MARK: - Fit

    /// Fits a GP to `points` (each of length `dim`) and raw targets `values` (to be minimised or
    /// not: the model does not care).
    ///
    /// - Parameters:
    ///   - restarts: random restarts of the hyper-parameter search besides the default start.
    ///   - rng: draws the restart points.
    /// - Complexity: O(iterations · (n³ + n²·dim)) per restart.
    static func fit(points: [[Double]], values: [Double], dim: Int, lengthScalePriors: [Double]? = nil, restarts: Int = 2,
                    rng: inout SplitMix64) -> GaussianProcess {
        precondition(points.count == values.count && !points.isEmpty, "one value per point, at least one point")
        let mean = values.reduce(0, +) / Double(values.count)
        var variance = 0.0
        for v in values { variance += (v - mean) * (v - mean) }
        variance /= Double(values.count)
        let scale = variance > 1e-300 ? variance.squareRoot() : 1
        let ys = values.map { ($0 - mean) / scale }
        var gp = GaussianProcess(x: points.flatMap { $0 }, y: ys, dim: dim, n: points.count, yMean: mean,
                                 yScale: scale,
                                 hyper: Hyper(lengthScales: Array(repeating: 0.5, count: dim),
                                              signalVariance: 1, noiseVariance: 1e-3))
        var objective = HyperObjective(x: gp.x, y: ys, n: gp.n, dim: dim)
        if let priors = lengthScalePriors {
            precondition(priors.count == dim, "one length-scale prior per dimension")
            objective.lengthPriorMeans = priors.map { Foundation.log($0) }
        }
        var starts: [[Double]] = [objective.defaultStart()]
        for _ in 0..<restarts { starts.append(objective.randomStart(&rng)) }
        var best: (z: [Double], value: Double)?
        for start in starts {
            let (z, value) = lbfgsMinimize(start, maxIterations: 60) { objective.evaluate($0) }
            if value.isFinite, best == nil || value < best!.value { best = (z, value) }
        }
        gp.hyper = objective.hyper(best?.z ?? starts[0])
        // The log posterior density of the values as given (not standardised): standardising
        // divides each by `scale`, a Jacobian of −n·log(scale).
        gp.logEvidence = -(best?.value ?? objective.evaluate(starts[0]).0) - Double(points.count) * Foundation.log(scale)
        gp.factorize()
        return gp
    }

    /// Adds an observation with a raw target (for a kriging-believer fantasy), keeping the
    /// hyper-parameters and standardisation.
    /// - Complexity: O(n³) (refactorises).
    mutating func append(point: [Double], value: Double) {
        precondition(point.count == dim, "point of the wrong dimension")
        x += point
        y.append((value - yMean) / yScale)
        n += 1
        factorize()
    }

    private mutating func factorize() {
        var jitter = 1e-8
        while true {
            var k = kernelMatrix(x: x, n: n, dim: dim, hyper: hyper)
            for i in 0..<n { k[i * n + i] += hyper.noiseVariance + jitter }
            if choleskyInPlace(&k, n: n) {
                chol = k
                break
            }
            jitter *= 10
            precondition(jitter < 1e6, "kernel matrix not positive definite even with large jitter")
        }
        alpha = choleskySolve(chol, n: n, y)
        inverseLengthScales = hyper.lengthScales.map { 1 / $0 }
    }

    // MARK: - Predict

    /// The posterior mean and variance of the latent function at `point`, in raw target units.
    /// - Complexity: O(n·dim + n²).
    func predict(_ point: [Double]) -> (mean: Double, variance: Double) {
        let (m, v) = predictStandardized(point)
        return (yMean + yScale * m, v * yScale * yScale)
    }

    /// The posterior mean and variance in standardised units (what expected improvement uses).
    func predictStandardized(_ point: [Double]) -> (mean: Double, variance: Double) {
        let n = self.n, dim = self.dim, variance = hyper.signalVariance
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(n, 1)) { kStar in
            var mean = 0.0
            x.withUnsafeBufferPointer { xs in
                inverseLengthScales.withUnsafeBufferPointer { inv in
                    point.withUnsafeBufferPointer { p in
                        alpha.withUnsafeBufferPointer { a in
                            for i in 0..<n {
                                var r2 = 0.0
                                for j in 0..<dim {
                                    let d = (xs[i * dim + j] - p[j]) * inv[j]
                                    r2 += d * d
                                }
                                let k = matern52(r2.squareRoot(), variance)
                                kStar[i] = k
                                mean += k * a[i]
                            }
                        }
                    }
                }
            }
            // v = L⁻¹ k*, variance = σf² − vᵀv.
            var vv = 0.0
            chol.withUnsafeBufferPointer { l in
                for i in 0..<n {
                    var s = kStar[i]
                    for j in 0..<i { s -= l[i * n + j] * kStar[j] }
                    let vi = s / l[i * n + i]
                    kStar[i] = vi
                    vv += vi * vi
                }
            }
            return (mean, max(variance - vv, 1e-12))
        }
    }

    /// The smallest standardised target (the incumbent for expected improvement).
    var bestStandardized: Double { y.min() ?? 0 }
}

// MARK: - Kernel

@inline(__always)
private func matern52(_ r: Double, _ variance: Double) -> Double {
    let s = 5.0.squareRoot() * r
    return variance * (1 + s + s * s / 3) * Foundation.exp(-s)
}

private func kernelMatrix(x: [Double], n: Int, dim: Int, hyper: GaussianProcess.Hyper) -> [Double] {
    var k = [Double](repeating: 0, count: n * n)
    let inv = hyper.lengthScales.map { 1 / $0 }
    x.withUnsafeBufferPointer { xs in
        for i in 0..<n {
            k[i * n + i] = hyper.signalVariance
            for j in 0..<i {
                var r2 = 0.0
                for d in 0..<dim {
                    let t = (xs[i * dim + d] - xs[j * dim + d]) * inv[d]
                    r2 += t * t
                }
                let v = matern52(r2.squareRoot(), hyper.signalVariance)
                k[i * n + j] = v
                k[j * n + i] = v
            }
        }
    }
    return k
}

// MARK: - Hyper-parameter objective

/// The negative log posterior of the hyper-parameters and its gradient, in unconstrained
/// coordinates z: each log hyper-parameter is lo + (hi − lo)·sigmoid(z).
struct HyperObjective {
    let x: [Double]
    let y: [Double]
    let n: Int
    let dim: Int
    /// Per-dimension means of the log length-scale prior (nil: `GaussianProcess.lengthPrior` for all).
    var lengthPriorMeans: [Double]?

    var count: Int { dim + 2 }

    func bounds(_ k: Int) -> (Double, Double) {
        if k < dim { return GaussianProcess.logLengthBounds }
        return k == dim ? GaussianProcess.logSignalBounds : GaussianProcess.logNoiseBounds
    }

    func prior(_ k: Int) -> (Double, Double) {
        if k < dim { return (lengthPriorMeans?[k] ?? GaussianProcess.lengthPrior.0, GaussianProcess.lengthPrior.1) }
        return k == dim ? GaussianProcess.signalPrior : GaussianProcess.noisePrior
    }

    func logValue(_ z: Double, _ k: Int) -> Double {
        let (lo, hi) = bounds(k)
        return lo + (hi - lo) / (1 + Foundation.exp(-z))
    }

    func zValue(_ logValue: Double, _ k: Int) -> Double {
        let (lo, hi) = bounds(k)
        let p = min(max((logValue - lo) / (hi - lo), 1e-6), 1 - 1e-6)
        return Foundation.log(p / (1 - p))
    }

    func hyper(_ z: [Double]) -> GaussianProcess.Hyper {
        GaussianProcess.Hyper(lengthScales: (0..<dim).map { Foundation.exp(logValue(z[$0], $0)) },
                              signalVariance: Foundation.exp(logValue(z[dim], dim)),
                              noiseVariance: Foundation.exp(logValue(z[dim + 1], dim + 1)))
    }

    func defaultStart() -> [Double] {
        (0..<count).map { zValue(prior($0).0, $0) }
    }

    func randomStart(_ rng: inout SplitMix64) -> [Double] {
        (0..<count).map { k in
            let (mu, sd) = prior(k)
            return zValue(mu + sd * rng.nextGaussian(), k)
        }
    }

    /// (−log p(θ | y), ∂/∂z).
    func evaluate(_ z: [Double]) -> (Double, [Double]) {
        let h = hyper(z)
        var k = kernelMatrix(x: x, n: n, dim: dim, hyper: h)
        let kernelOnly = k
        for i in 0..<n { k[i * n + i] += h.noiseVariance + 1e-8 }
        guard choleskyInPlace(&k, n: n) else { return (.infinity, [Double](repeating: 0, count: count)) }
        let l = k
        let alpha = choleskySolve(l, n: n, y)
        var logDet = 0.0
        for i in 0..<n { logDet += Foundation.log(l[i * n + i]) }
        var dataFit = 0.0
        for i in 0..<n { dataFit += y[i] * alpha[i] }
        var nll = 0.5 * dataFit + logDet + 0.5 * Double(n) * Foundation.log(2 * Double.pi)

        // W = α αᵀ − K⁻¹; ∂(−LML)/∂θ = −½ Σᵢⱼ Wᵢⱼ ∂Kᵢⱼ/∂θ.
        let kInv = choleskyInverse(l, n: n)
        var w = kInv
        for i in 0..<n { for j in 0..<n { w[i * n + j] = alpha[i] * alpha[j] - kInv[i * n + j] } }

        // Gradients with respect to log values.
        var gLog = [Double](repeating: 0, count: count)
        let inv2 = h.lengthScales.map { 1 / ($0 * $0) }
        let sqrt5 = 5.0.squareRoot()
        x.withUnsafeBufferPointer { xs in
            for i in 0..<n {
                for j in 0..<i {
                    var r2 = 0.0
                    for d in 0..<dim {
                        let t = xs[i * dim + d] - xs[j * dim + d]
                        r2 += t * t * inv2[d]
                    }
                    let s = sqrt5 * r2.squareRoot()
                    // ∂k/∂log ℓ_d = σf² (5/3)(1 + √5 r) e^{−√5 r} · Δ_d²/ℓ_d²
                    let common = h.signalVariance * (5.0 / 3.0) * (1 + s) * Foundation.exp(-s) * 2 * w[i * n + j]
                    for d in 0..<dim {
                        let t = xs[i * dim + d] - xs[j * dim + d]
                        gLog[d] += common * t * t * inv2[d]
                    }
                }
            }
        }
        var signalTerm = 0.0, noiseTerm = 0.0
        for i in 0..<n {
            for j in 0..<n { signalTerm += w[i * n + j] * kernelOnly[i * n + j] }
            noiseTerm += w[i * n + i] * h.noiseVariance
        }
        gLog[dim] = signalTerm
        gLog[dim + 1] = noiseTerm
        for k in 0..<count { gLog[k] *= -0.5 }

        // Priors: −log N(log θ; μ, sd²).
        var grad = [Double](repeating: 0, count: count)
        for k in 0..<count {
            let lv = logValue(z[k], k)
            let (mu, sd) = prior(k)
            nll += 0.5 * (lv - mu) * (lv - mu) / (sd * sd)
            let g = gLog[k] + (lv - mu) / (sd * sd)
            let (lo, hi) = bounds(k)
            let sig = 1 / (1 + Foundation.exp(-z[k]))
            grad[k] = g * (hi - lo) * sig * (1 - sig)
        }
        return (nll, grad)
    }
}

// MARK: - Linear algebra (row-major, n × n)

/// Replaces the lower triangle of `a` with its Cholesky factor L (A = L Lᵀ) and zeroes the upper
/// triangle; false when A is not numerically positive definite.
/// - Complexity: O(n³/3).
func choleskyInPlace(_ a: inout [Double], n: Int) -> Bool {
    var ok = true
    a.withUnsafeMutableBufferPointer { m in
        for j in 0..<n {
            var s = m[j * n + j]
            for k in 0..<j { s -= m[j * n + k] * m[j * n + k] }
            guard s > 0, s.isFinite else { ok = false; return }
            let d = s.squareRoot()
            m[j * n + j] = d
            for i in (j + 1)..<max(j + 1, n) {
                var t = m[i * n + j]
                for k in 0..<j { t -= m[i * n + k] * m[j * n + k] }
                m[i * n + j] = t / d
            }
            for i in 0..<j { m[i * n + j] = 0 }
        }
    }
    return ok
}

/// Solves L Lᵀ x = b for the Cholesky factor L.
/// - Complexity: O(n²).
func choleskySolve(_ l: [Double], n: Int, _ b: [Double]) -> [Double] {
    var x = b
    l.withUnsafeBufferPointer { m in
        for i in 0..<n {
            var s = x[i]
            for k in 0..<i { s -= m[i * n + k] * x[k] }
            x[i] = s / m[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for k in (i + 1)..<max(i + 1, n) { s -= m[k * n + i] * x[k] }
            x[i] = s / m[i * n + i]
        }
    }
    return x
}

/// (L Lᵀ)⁻¹ from the Cholesky factor L.
/// - Complexity: O(n³).
private func choleskyInverse(_ l: [Double], n: Int) -> [Double] {
    // Linv: lower-triangular inverse of L.
    var linv = [Double](repeating: 0, count: n * n)
    l.withUnsafeBufferPointer { m in
        for j in 0..<n {
            linv[j * n + j] = 1 / m[j * n + j]
            for i in (j + 1)..<max(j + 1, n) {
                var s = 0.0
                for k in j..<i { s -= m[i * n + k] * linv[k * n + j] }
                linv[i * n + j] = s / m[i * n + i]
            }
        }
    }
    // K⁻¹ = Linvᵀ Linv.
    var inv = [Double](repeating: 0, count: n * n)
    linv.withUnsafeBufferPointer { li in
        for i in 0..<n {
            for j in 0...i {
                var s = 0.0
                for k in i..<n { s += li[k * n + i] * li[k * n + j] }
                inv[i * n + j] = s
                inv[j * n + i] = s
            }
        }
    }
    return inv
}

// MARK: - L-BFGS

/// Minimises a smooth function with L-BFGS (memory 7) and a backtracking Armijo line search.
/// Returns the best point seen and its value. Deterministic.
/// - Complexity: O(maxIterations · (cost of f + m·count)).
func lbfgsMinimize(_ start: [Double], maxIterations: Int,
                   _ f: ([Double]) -> (Double, [Double])) -> ([Double], Double) {
    let m = 7
    var x = start
    var (fx, g) = f(x)
    guard fx.isFinite else { return (x, fx) }
    var sHistory: [[Double]] = [], yHistory: [[Double]] = [], rhoHistory: [Double] = []
    func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }
    for _ in 0..<maxIterations {
        // Two-loop recursion: direction = −H g.
        var q = g
        var alphas = [Double](repeating: 0, count: sHistory.count)
        for i in stride(from: sHistory.count - 1, through: 0, by: -1) {
            alphas[i] = rhoHistory[i] * dot(sHistory[i], q)
            for k in q.indices { q[k] -= alphas[i] * yHistory[i][k] }
        }
        if let lastS = sHistory.last, let lastY = yHistory.last {
            let gamma = dot(lastS, lastY) / max(dot(lastY, lastY), 1e-300)
            for k in q.indices { q[k] *= gamma }
        } else {
            let norm = dot(g, g).squareRoot()
            if norm > 0 { for k in q.indices { q[k] /= max(norm, 1) } }
        }
        for i in 0..<sHistory.count {
            let beta = rhoHistory[i] * dot(yHistory[i], q)
            for k in q.indices { q[k] += sHistory[i][k] * (alphas[i] - beta) }
        }
        var direction = q.map { -$0 }
        var slope = dot(direction, g)
        if !(slope < 0) {
            direction = g.map { -$0 }
            slope = -dot(g, g)
            sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
        }
        if slope > -1e-12 { break }
        var step = 1.0
        var accepted = false
        var newX = x, newF = fx, newG = g
        for _ in 0..<20 {
            newX = zip(x, direction).map { $0 + step * $1 }
            (newF, newG) = f(newX)
            if newF.isFinite, newF <= fx + 1e-4 * step * slope { accepted = true; break }
            step *= 0.5
        }
        guard accepted else { break }
        let s = zip(newX, x).map { $0 - $1 }
        let yv = zip(newG, g).map { $0 - $1 }
        let sy = dot(s, yv)
        if sy > 1e-12 {
            sHistory.append(s); yHistory.append(yv); rhoHistory.append(1 / sy)
            if sHistory.count > m { sHistory.removeFirst(); yHistory.removeFirst(); rhoHistory.removeFirst() }
        }
        let improvement = fx - newF
        x = newX; fx = newF; g = newG
        if improvement < 1e-9 * max(1, abs(fx)) { break }
    }
    return (x, fx)
}
