/// How one parameter is searched: the forms of the W&B sweep configuration (`reference/sweep-config.md` §2).
///
/// Every searchable form maps the unit interval onto its values (`ppf`, the inverse CDF) and back
/// (`cdf`), so random search is `ppf(U[0,1))`, bayes works in [0,1]^d, and log scales live here only.
public indirect enum ParameterSpec: Sendable, Equatable {
    case constant(ParamValue)
    /// Equally likely values, or with `probabilities` (same length, summing to 1).
    case categorical([ParamValue], probabilities: [Double]?)
    /// Integers in [min, max], both ends included.
    case intUniform(min: Int, max: Int)
    /// Reals in [min, max).
    case uniform(min: Double, max: Double)
    /// round(U(min, max)/q)·q; `integerQ` when q was written as an integer (then samples are ints).
    case qUniform(min: Double, max: Double, q: Double, integerQ: Bool)
    /// exp(U(ln min, ln max)).
    case logUniformValues(min: Double, max: Double)
    case qLogUniformValues(min: Double, max: Double, q: Double, integerQ: Bool)
    /// X with 1/X log-uniform on [1/max, 1/min].
    case invLogUniformValues(min: Double, max: Double)
    case normal(mu: Double, sigma: Double)
    case qNormal(mu: Double, sigma: Double, q: Double, integerQ: Bool)
    case logNormal(mu: Double, sigma: Double)
    case qLogNormal(mu: Double, sigma: Double, q: Double, integerQ: Bool)
    case beta(a: Double, b: Double)
    case qBeta(a: Double, b: Double, q: Double, integerQ: Bool)
    /// A group of parameters, sorted by name; its value in a run is a mapping.
    case nested([Parameter])
}
