import Foundation

// The distributions behind every parameter form: the inverse CDF (`ppf`) that random search and
// bayes decode through, the CDF that encodes past values onto [0, 1], the grid values, and the
// flattening of nested groups into leaves. Log scales, quantisation and categorical snapping live
// here only (`reference/sweep-config.md` §2–5).

// MARK: - Searchability and grid values

extension ParameterSpec {
    /// Whether the parameter is a dimension of the search: every form but `constant`; a nested
    /// group when any of its children is.
    public var isSearchable: Bool {
        switch self {
        case .constant: return false
        case .nested(let children): return children.contains { $0.spec.isSearchable }
        default: return true
        }
    }

    /// The values a grid walks, in the reference engine's order; nil for a form grid refuses.
    ///
    /// - `constant`: its one value.
    /// - `categorical` without probabilities: the values as written, duplicates (by canonical JSON,
    ///   so `1` and `1.0` are one value, `"1"` and `true` others) dropped, first occurrence kept.
    /// - `int_uniform`: min…max, both ends included.
    /// - `q_uniform`: min, min+q, min+2q, … below max (numpy `arange`: max excluded); ints when q
    ///   was written as an integer.
    /// - nested: the cartesian product of its children (sorted by name, the last varying fastest),
    ///   each point a `.map`; nil if any child has no grid values.
    /// - anything else (continuous, log, normal, beta, probabilities): nil.
    ///
    /// - Complexity: O(product of the children's value counts) for a nested group.
    public var gridValues: [ParamValue]? {
        switch self {
        case .constant(let value):
            return [value]
        case .categorical(let values, let probabilities):
            guard probabilities == nil else { return nil }
            var seen = Set<String>()
            return values.filter { seen.insert($0.canonicalJSON).inserted }
        case .intUniform(let lo, let hi):
            guard lo <= hi else { return [] }
            return (lo...hi).map { .int($0) }
        case .qUniform(let lo, let hi, let q, let integerQ):
            guard q > 0, lo < hi else { return [] }
            // numpy arange: ceil((stop - start) / step) elements, start + i·step.
            let count = Int(((hi - lo) / q).rounded(.up))
            return (0..<max(0, count)).map { i in
                let x = lo + Double(i) * q
                return integerQ && x == x.rounded() && abs(x) < 9.0e15 ? .int(Int(x)) : .double(x)
            }
        case .nested(let children):
            let sorted = children.sorted { $0.name < $1.name }
            var lists: [[ParamValue]] = []
            for child in sorted {
                guard let values = child.spec.gridValues else { return nil }
                lists.append(values)
            }
            return cartesianProduct(lists).map { point in
                var map: [String: ParamValue] = [:]
                for (child, value) in zip(sorted, point) { map[child.name] = value }
                return .map(map)
            }
        default:
            return nil
        }
    }
}

/// The cartesian product of `lists`, the last list varying fastest (W&B's grid order).
/// An empty `lists` gives one empty point.
///
/// - Complexity: O(Π |listᵢ| · count).
func cartesianProduct(_ lists: [[ParamValue]]) -> [[ParamValue]] {
    var points: [[ParamValue]] = [[]]
    for list in lists {
        var next: [[ParamValue]] = []
        next.reserveCapacity(points.count * list.count)
        for prefix in points {
            for value in list { next.append(prefix + [value]) }
        }
        points = next
    }
    return points
}

// MARK: - Inverse CDF

extension ParameterSpec {
    /// The value at quantile `u` ∈ [0, 1]: the inverse CDF of the form, as the reference engine maps it.
    ///
    /// - `categorical`: value ⌈u·n⌉−1 (clamped to 0…n−1); with probabilities, the first value whose
    ///   cumulative probability reaches u.
    /// - `int_uniform`: min + ⌈u·(max−min+1)⌉ − 1, clamped to [min, max] (both ends reachable).
    /// - `uniform`: min + u·(max−min). Log forms: exp of that in log space (`inv_log_uniform_values`
    ///   works out to the same log-uniform law on [min, max]).
    /// - `normal`: mu + sigma·Φ⁻¹(u); `log_normal`: exp of it; `beta`: I⁻¹ᵤ(a, b).
    /// - `q_*`: round(x/q)·q, rounding half to even, an `.int` when q was written as an integer.
    /// - nested: every child at the same `u` (rarely useful: samplers draw each leaf on its own).
    ///
    /// Unbounded forms clamp u into (0, 1) so the value stays finite.
    public func ppf(_ u: Double) -> ParamValue {
        let u = u.isNaN ? 0.5 : Swift.min(Swift.max(u, 0), 1)
        switch self {
        case .constant(let value):
            return value
        case .categorical(let values, let probabilities):
            precondition(!values.isEmpty, "categorical parameter without values")
            return values[categoricalIndex(u, count: values.count, probabilities: probabilities)]
        case .intUniform(let lo, let hi):
            let n = Double(hi) - Double(lo) + 1
            let k = Swift.min(Swift.max((u * n).rounded(.up) - 1, 0), n - 1)
            return .int(lo + Int(k))
        case .uniform(let lo, let hi):
            return .double(lo + u * (hi - lo))
        case .qUniform(let lo, let hi, let q, let integerQ):
            return quantise(lo + u * (hi - lo), q: q, integerQ: integerQ)
        case .logUniformValues(let lo, let hi), .invLogUniformValues(let lo, let hi):
            return .double(logUniformPPF(u, lo, hi))
        case .qLogUniformValues(let lo, let hi, let q, let integerQ):
            return quantise(logUniformPPF(u, lo, hi), q: q, integerQ: integerQ)
        case .normal(let mu, let sigma):
            return .double(mu + sigma * inverseNormalCDF(openUnit(u)))
        case .qNormal(let mu, let sigma, let q, let integerQ):
            return quantise(mu + sigma * inverseNormalCDF(openUnit(u)), q: q, integerQ: integerQ)
        case .logNormal(let mu, let sigma):
            return .double(Foundation.exp(mu + sigma * inverseNormalCDF(openUnit(u))))
        case .qLogNormal(let mu, let sigma, let q, let integerQ):
            return quantise(Foundation.exp(mu + sigma * inverseNormalCDF(openUnit(u))), q: q, integerQ: integerQ)
        case .beta(let a, let b):
            return .double(inverseRegularizedBeta(u, a: a, b: b))
        case .qBeta(let a, let b, let q, let integerQ):
            return quantise(inverseRegularizedBeta(u, a: a, b: b), q: q, integerQ: integerQ)
        case .nested(let children):
            var map: [String: ParamValue] = [:]
            for child in children { map[child.name] = child.spec.ppf(u) }
            return .map(map)
        }
    }

    /// P(X ≤ value) for a value of this form, the encoding the reference's bayes search uses;
    /// nil when the value cannot come from the form (a value not in a categorical list, a string
    /// for a number, a non-positive value for a log form, a nested group).
    ///
    /// - `categorical`: the index i of the value (matched by canonical identity) → (i+1)/n, or the
    ///   cumulative probability up to i with probabilities. This is the reference's ordinal encoding;
    ///   `BayesSampler` encodes categoricals one-hot instead and does not use it.
    /// - `int_uniform`: (v − min + 1)/(max − min + 1), the discrete CDF.
    /// - q forms: the CDF of the underlying continuous law (the reference does the same).
    /// - `constant`: 0. Results are clamped to [0, 1] (a `q_uniform` value may lie past max).
    public func cdf(_ value: ParamValue) -> Double? {
        switch self {
        case .constant:
            return 0
        case .categorical(let values, let probabilities):
            let key = value.gridIdentity
            guard let i = values.firstIndex(where: { $0.gridIdentity == key }) else { return nil }
            if let p = probabilities { return clampUnit(p[0...i].reduce(0, +)) }
            return Double(i + 1) / Double(values.count)
        case .intUniform(let lo, let hi):
            guard let v = value.numericValue else { return nil }
            let n = Double(hi) - Double(lo) + 1
            return clampUnit((v.rounded(.down) - Double(lo) + 1) / n)
        case .uniform(let lo, let hi), .qUniform(let lo, let hi, _, _):
            guard let v = value.numericValue else { return nil }
            return clampUnit((v - lo) / (hi - lo))
        case .logUniformValues(let lo, let hi), .invLogUniformValues(let lo, let hi),
             .qLogUniformValues(let lo, let hi, _, _):
            guard let v = value.numericValue else { return nil }
            guard v > 0 else { return v == 0 ? 0 : nil }
            return clampUnit((Foundation.log(v) - Foundation.log(lo)) / (Foundation.log(hi) - Foundation.log(lo)))
        case .normal(let mu, let sigma), .qNormal(let mu, let sigma, _, _):
            guard let v = value.numericValue else { return nil }
            if sigma <= 0 { return v < mu ? 0 : 1 }
            return normalCDF((v - mu) / sigma)
        case .logNormal(let mu, let sigma), .qLogNormal(let mu, let sigma, _, _):
            guard let v = value.numericValue else { return nil }
            guard v > 0 else { return v == 0 ? 0 : nil }
            if sigma <= 0 { return Foundation.log(v) < mu ? 0 : 1 }
            return normalCDF((Foundation.log(v) - mu) / sigma)
        case .beta(let a, let b), .qBeta(let a, let b, _, _):
            guard let v = value.numericValue else { return nil }
            return regularizedIncompleteBeta(clampUnit(v), a: a, b: b)
        case .nested:
            return nil
        }
    }
}

/// The index of a categorical value at quantile `u`: ⌈u·n⌉−1 clamped, or the first index whose
/// cumulative probability reaches `u`.
func categoricalIndex(_ u: Double, count n: Int, probabilities: [Double]?) -> Int {
    if let p = probabilities, p.count == n {
        var cumulative = 0.0
        for (i, pi) in p.enumerated() {
            cumulative += pi
            if u <= cumulative, pi > 0 { return i }
        }
        return p.lastIndex { $0 > 0 } ?? (n - 1)
    }
    let k = (u * Double(n)).rounded(.up) - 1
    return Int(Swift.min(Swift.max(k, 0), Double(n - 1)))
}

/// round(x/q)·q with ties to even (numpy's `round`); an `.int` when q was written as an integer.
func quantise(_ x: Double, q: Double, integerQ: Bool) -> ParamValue {
    let y = (x / q).rounded(.toNearestOrEven) * q
    if integerQ, y.isFinite, abs(y) < 9.0e15 { return .int(Int(y)) }
    return .double(y)
}

private func logUniformPPF(_ u: Double, _ lo: Double, _ hi: Double) -> Double {
    let a = Foundation.log(lo), b = Foundation.log(hi)
    return Foundation.exp(a + u * (b - a))
}

/// `u` moved into the open interval (0, 1), so an unbounded inverse CDF stays finite.
private func openUnit(_ u: Double) -> Double {
    Swift.min(Swift.max(u, 1e-300), 1 - 1.0e-16)
}

private func clampUnit(_ x: Double) -> Double {
    x.isNaN ? 0 : Swift.min(Swift.max(x, 0), 1)
}

// MARK: - Canonical identity

extension ParamValue {
    /// The value with whole-number doubles written as ints, recursively: `1` and `1.0` are the
    /// same grid point (as in the reference engine 0.3.0's canonical JSON), `"1"` and `true` are not.
    public var gridIdentity: ParamValue {
        switch self {
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { return .int(Int(d)) }
            return self
        case .list(let items): return .list(items.map(\.gridIdentity))
        case .map(let map): return .map(map.mapValues(\.gridIdentity))
        default: return self
        }
    }

    /// The value as a Double when it is a number (ints and doubles; not bools or strings).
    public var numericValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

// MARK: - Nested groups: leaves

/// One searchable or constant leaf of a (possibly nested) parameter list: the path of names from
/// the top (`["model", "dropout"]`) and its spec (never `.nested`).
public struct ParameterLeaf: Sendable, Equatable {
    public var path: [String]
    public var spec: ParameterSpec

    public init(path: [String], spec: ParameterSpec) {
        self.path = path
        self.spec = spec
    }

    /// The dotted name, for messages (`model.dropout`).
    public var dottedName: String { path.joined(separator: ".") }
}

/// The leaves of `parameters`, depth first, sorted by name at every level (W&B's order).
public func flattenParameters(_ parameters: [Parameter]) -> [ParameterLeaf] {
    var leaves: [ParameterLeaf] = []
    func walk(_ list: [Parameter], prefix: [String]) {
        for p in list.sorted(by: { $0.name < $1.name }) {
            if case .nested(let children) = p.spec {
                walk(children, prefix: prefix + [p.name])
            } else {
                leaves.append(ParameterLeaf(path: prefix + [p.name], spec: p.spec))
            }
        }
    }
    walk(parameters, prefix: [])
    return leaves
}

/// The value at `path` inside a run config (nested groups as `.map`), or nil when absent.
public func leafValue(in config: [String: ParamValue], at path: [String]) -> ParamValue? {
    guard let first = path.first else { return nil }
    var current = config[first]
    for name in path.dropFirst() {
        guard case .map(let map)? = current else { return nil }
        current = map[name]
    }
    return current
}

/// A run config from leaf values (`values[i]` belongs to `leaves[i]`), nesting groups as `.map`.
/// - Precondition: `leaves.count == values.count`.
public func unflattenConfig(_ leaves: [ParameterLeaf], _ values: [ParamValue]) -> [String: ParamValue] {
    precondition(leaves.count == values.count, "one value per leaf")
    var config: [String: ParamValue] = [:]
    for (leaf, value) in zip(leaves, values) {
        insert(value, at: leaf.path[...], into: &config)
    }
    return config
}

private func insert(_ value: ParamValue, at path: ArraySlice<String>, into map: inout [String: ParamValue]) {
    guard let first = path.first else { return }
    if path.count == 1 {
        map[first] = value
        return
    }
    var inner: [String: ParamValue] = [:]
    if case .map(let existing)? = map[first] { inner = existing }
    insert(value, at: path.dropFirst(), into: &inner)
    map[first] = .map(inner)
}

// MARK: - Special functions

/// Φ(x), the standard normal CDF: ½·erfc(−x/√2).
public func normalCDF(_ x: Double) -> Double {
    0.5 * Foundation.erfc(-x / 2.0.squareRoot())
}

/// The standard normal density φ(x) = exp(−x²/2)/√(2π).
public func normalPDF(_ x: Double) -> Double {
    Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
}

/// Φ⁻¹(p) for p ∈ (0, 1): Acklam's rational approximation (relative error 1.15e-9) polished by
/// one Halley step on erfc, which brings it to about machine precision. ±∞ at 0 and 1.
public func inverseNormalCDF(_ p: Double) -> Double {
    if p <= 0 { return -.infinity }
    if p >= 1 { return .infinity }
    let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01]
    let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let low = 0.02425
    var x: Double
    if p < low {
        let q = (-2 * Foundation.log(p)).squareRoot()
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - low {
        let q = p - 0.5
        let r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
        let q = (-2 * Foundation.log(1 - p)).squareRoot()
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    // Halley refinement: e = Φ(x) − p, u = e·√(2π)·exp(x²/2).
    if x.isFinite {
        let e = 0.5 * Foundation.erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(x * x / 2)
        let refined = x - u / (1 + x * u / 2)
        if refined.isFinite { x = refined }
    }
    return x
}

/// Iₓ(a, b), the regularized incomplete beta function (the Beta(a, b) CDF), by Lentz's continued
/// fraction on whichever side converges fast. Degenerate laws: a = 0 puts all mass at 0, b = 0 at 1.
public func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    if a <= 0 && b <= 0 { return x < 0.5 ? 0 : 1 }
    if a <= 0 { return 1 }
    if b <= 0 { return 0 }
    let lnFront = Foundation.lgamma(a + b) - Foundation.lgamma(a) - Foundation.lgamma(b)
        + a * Foundation.log(x) + b * Foundation.log1p(-x)
    let front = Foundation.exp(lnFront)
    if x < (a + 1) / (a + b + 2) {
        return front * betaContinuedFraction(x, a: a, b: b) / a
    }
    return 1 - front * betaContinuedFraction(1 - x, a: b, b: a) / b
}

private func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
    let tiny = 1e-300
    let qab = a + b, qap = a + 1, qam = a - 1
    var c = 1.0
    var d = 1 - qab * x / qap
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...300 {
        let m = Double(m), m2 = 2 * m
        var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        if abs(d) < tiny { d = tiny }
        c = 1 + aa / c
        if abs(c) < tiny { c = tiny }
        d = 1 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        if abs(d) < tiny { d = tiny }
        c = 1 + aa / c
        if abs(c) < tiny { c = tiny }
        d = 1 / d
        let delta = d * c
        h *= delta
        if abs(delta - 1) < 3e-16 { break }
    }
    return h
}

/// I⁻¹ₚ(a, b): the x in [0, 1] with Iₓ(a, b) = p: closed forms when a or b is 1, else bisection
/// (the CDF is monotone), up to 100 halvings (to the last bit of a Double). Degenerate laws as in
/// `regularizedIncompleteBeta`.
///
/// - Complexity: 100 evaluations of the continued fraction.
public func inverseRegularizedBeta(_ p: Double, a: Double, b: Double) -> Double {
    if a <= 0 && b <= 0 { return p < 0.5 ? 0 : 1 }
    if a <= 0 { return 0 }
    if b <= 0 { return 1 }
    if p <= 0 { return 0 }
    if p >= 1 { return 1 }
    // Closed forms: Iₓ(a, 1) = xᵃ and Iₓ(1, b) = 1 − (1 − x)ᵇ.
    if b == 1 { return Foundation.pow(p, 1 / a) }
    if a == 1 { return -Foundation.expm1(Foundation.log1p(-p) / b) }
    var lo = 0.0, hi = 1.0
    for _ in 0..<100 {
        let mid = 0.5 * (lo + hi)
        if mid <= lo || mid >= hi { break }
        if regularizedIncompleteBeta(mid, a: a, b: b) < p { lo = mid } else { hi = mid }
    }
    return 0.5 * (lo + hi)
}
