import Foundation
import NCFKernels
import NCFModel
import XCTest

// MARK: - Finite-difference gradient checker
//
// The oracle for every hand-written backward pass. For each scalar input xᵢ it evaluates the
// objective at xᵢ + ε and xᵢ − ε (the Float code runs unchanged; only the objective's final sum is
// taken in Double) and forms the central difference
//     gᵢ ≈ (L(xᵢ + ε) − L(xᵢ − ε)) / (x⁺ − x⁻),
// where x⁺ and x⁻ are the perturbed values as actually stored in Float (so the step that was taken,
// not the step that was asked for, divides). The analytic gradient passes when
//     |aᵢ − gᵢ| / max(|aᵢ|, |gᵢ|, floor) ≤ tolerance   for every i.

/// The outcome of comparing one analytic gradient with its finite-difference estimate.
public struct GradientCheckReport: CustomStringConvertible, Sendable {
    /// What was checked (for messages), e.g. `"linear dweight"`.
    public let name: String
    /// Number of entries compared.
    public let count: Int
    /// The first index whose error exceeds the tolerance, or nil when all pass.
    public let firstFailure: Int?
    /// The largest scaled error `|a − g| / max(|a|, |g|, floor)` over all entries.
    public let maxRelativeError: Double
    /// The largest plain `|a − g|` over all entries.
    public let maxAbsoluteError: Double
    /// Where `maxRelativeError` occurs.
    public let worstIndex: Int
    /// The largest `|g|` seen: a check where everything is zero proves nothing, so tests look at this.
    public let maxNumericMagnitude: Double
    public let tolerance: Double
    public let analytic: [Float]
    public let numeric: [Double]

    public var passed: Bool { firstFailure == nil }

    public var description: String {
        var s = "\(name): \(count) entries, max rel err \(format(maxRelativeError)) at [\(worstIndex)], "
            + "max abs err \(format(maxAbsoluteError)), max |grad| \(format(maxNumericMagnitude)), tolerance \(tolerance)"
        if let i = firstFailure {
            s += "; FIRST FAILURE at [\(i)]: analytic \(analytic[i]) vs numeric \(numeric[i])"
        }
        return s
    }

    private func format(_ x: Double) -> String {
        x == 0 ? "0" : String(format: "%.2e", x)
    }
}

/// Central finite differences around Float code, compared against an analytic gradient.
///
/// Why the defaults (ε = 1e-2, tolerance = 1e-2, floor = 1e-2):
/// - Round-off: the layers compute in Float (unit round-off u ≈ 6e-8), so each evaluation of the
///   objective carries an error of about u·Σ|terms|. Dividing by the step 2ε amplifies that to
///   ≈ u·Σ|terms|/(2ε) ≈ 3e-6·Σ|terms| for ε = 1e-2 on values of order 1; with ε = 1e-4 it would be
///   3e-4 and swamp small gradients.
/// - Truncation: the central difference is exact for functions that are linear or bilinear in the
///   perturbed entry (embedding, product, linear, head) and off by ε²·|L'''|/6 ≲ 2e-5 otherwise
///   (sigmoid-BCE has |ℓ'''| ≤ 0.1).
/// - So a correct gradient lands within ~1e-4 relative, and 1e-2 leaves two orders of margin
///   while a wrong formula (a missing term, a transposed index, a missing 1/B) misses by order 1.
/// - The floor stops entries whose true gradient is ~0 from turning round-off into a huge
///   relative error: below |g| = 1e-2 the test is an absolute one at tolerance·floor = 1e-4.
/// Keep inputs of non-differentiable points (ReLU at 0) further from the kink than any ±ε step can
/// move them: a step across a kink averages the two one-sided slopes, which is no derivative.
public struct GradientChecker: Sendable {
    public var epsilon: Float
    public var tolerance: Double
    public var floor: Double

    public init(epsilon: Float = 1e-2, tolerance: Double = 1e-2, floor: Double = 1e-2) {
        precondition(epsilon > 0 && tolerance > 0 && floor > 0, "GradientChecker: non-positive setting")
        self.epsilon = epsilon
        self.tolerance = tolerance
        self.floor = floor
    }

    /// The central-difference gradient of `objective` with respect to `x[0..<count]`.
    /// Each entry is restored exactly after its two evaluations.
    /// - Complexity: `2·count` evaluations of `objective`.
    public func numericGradient(
        at x: UnsafeMutablePointer<Float>, count: Int, objective: () -> Double
    ) -> [Double] {
        (0..<count).map { centralDifference(at: x, index: $0, step: epsilon, objective: objective) }
    }

    /// `(L(xᵢ + h) − L(xᵢ − h)) / (x⁺ − x⁻)` for one entry, which is restored afterwards.
    public func centralDifference(
        at x: UnsafeMutablePointer<Float>, index i: Int, step h: Float, objective: () -> Double
    ) -> Double {
        let saved = x[i]
        let plus = saved + h, minus = saved - h
        x[i] = plus
        let fPlus = objective()
        x[i] = minus
        let fMinus = objective()
        x[i] = saved
        return (fPlus - fMinus) / (Double(plus) - Double(minus))
    }

    /// Compares `analytic` with `numeric` entry by entry (see the type's comment for the rule).
    public func compare(_ name: String, analytic: [Float], numeric: [Double]) -> GradientCheckReport {
        precondition(analytic.count == numeric.count, "GradientChecker.compare: \(analytic.count) vs \(numeric.count) entries")
        var firstFailure: Int? = nil
        var maxRel = 0.0, maxAbs = 0.0, maxMag = 0.0
        var worst = 0
        for i in analytic.indices {
            let a = Double(analytic[i]), g = numeric[i]
            let diff = abs(a - g)
            let rel = diff / max(abs(a), abs(g), floor)
            // NaN compares false everywhere: treat it as a failure and as the worst error.
            let bad = !(rel <= tolerance)
            if bad && firstFailure == nil { firstFailure = i }
            let relForMax = rel.isNaN ? Double.infinity : rel
            if relForMax > maxRel { maxRel = relForMax; worst = i }
            maxAbs = max(maxAbs, diff.isNaN ? .infinity : diff)
            maxMag = max(maxMag, abs(g))
        }
        return GradientCheckReport(
            name: name, count: analytic.count, firstFailure: firstFailure, maxRelativeError: maxRel,
            maxAbsoluteError: maxAbs, worstIndex: worst, maxNumericMagnitude: maxMag, tolerance: tolerance,
            analytic: analytic, numeric: numeric)
    }

    /// Estimates the gradient of `objective` at `x[0..<count]` and compares it with `analytic`.
    public func check(
        _ name: String, analytic: [Float], at x: UnsafeMutablePointer<Float>, count: Int,
        objective: () -> Double
    ) -> GradientCheckReport {
        compare(name, analytic: analytic, numeric: numericGradient(at: x, count: count, objective: objective))
    }

    /// `check` over a whole `FloatBuffer`.
    public func check(
        _ name: String, analytic: [Float], at x: FloatBuffer, objective: () -> Double
    ) -> GradientCheckReport {
        check(name, analytic: analytic, at: x.pointer, count: x.count, objective: objective)
    }
}

/// Fails the test with the report's description when the check did not pass; also fails when the
/// numeric gradient is identically zero and `requireNonZero` is set (an all-zero check proves nothing).
/// Prints a one-line summary either way, so a test log shows the errors actually seen.
public func assertGradient(
    _ report: GradientCheckReport, requireNonZero: Bool = true,
    file: StaticString = #filePath, line: UInt = #line
) {
    print("gradcheck \(report)")
    if !report.passed {
        XCTFail("gradient check failed: \(report)", file: file, line: line)
    }
    if requireNonZero && !(report.maxNumericMagnitude > 0) {
        XCTFail("gradient check \(report.name): every numeric gradient is 0, so nothing was checked", file: file, line: line)
    }
}

/// `Σᵢ out[i]·weights[i]`, summed in Double: the scalar objective L = Σ out ⊙ R whose gradient
/// with respect to `out` is exactly `R`.
public func weightedSum(_ out: UnsafePointer<Float>, _ weights: [Float]) -> Double {
    var s = 0.0
    for i in weights.indices { s += Double(out[i]) * Double(weights[i]) }
    return s
}

// MARK: - Tiny random inputs

/// Small random tensors and index lists for tests, all drawn from a caller's `SplitMix64`.
public enum TinyInput {
    /// `n` floats uniform in `range`.
    public static func uniform(_ n: Int, in range: ClosedRange<Float> = -1...1, rng: inout SplitMix64) -> [Float] {
        (0..<n).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * rng.nextFloat() }
    }

    /// `n` floats from N(0, std²).
    public static func gaussian(_ n: Int, std: Float = 1, rng: inout SplitMix64) -> [Float] {
        (0..<n).map { _ in Float(rng.nextGaussian()) * std }
    }

    /// `n` floats with random sign and magnitude uniform in `magnitude` (keeps values clear of 0,
    /// e.g. for ReLU inputs that a finite-difference step must not push across the kink).
    public static func awayFromZero(
        _ n: Int, magnitude: ClosedRange<Float> = 0.2...1, rng: inout SplitMix64
    ) -> [Float] {
        precondition(magnitude.lowerBound > 0, "TinyInput.awayFromZero: magnitude must exclude 0")
        return (0..<n).map { _ in
            let m = magnitude.lowerBound + (magnitude.upperBound - magnitude.lowerBound) * rng.nextFloat()
            return rng.next() & 1 == 0 ? m : -m
        }
    }

    /// `n` indices uniform in `0..<bound`.
    public static func indices(_ n: Int, below bound: Int, rng: inout SplitMix64) -> [Int32] {
        (0..<n).map { _ in Int32(rng.nextInt(below: bound)) }
    }

    /// A `FloatBuffer` holding `values`.
    public static func buffer(_ values: [Float]) -> FloatBuffer {
        let b = FloatBuffer(count: values.count)
        if !values.isEmpty { b.assign(values) }
        return b
    }

    /// A `FloatBuffer` of `n` entries all equal to `value`.
    public static func buffer(repeating value: Float, count n: Int) -> FloatBuffer {
        let b = FloatBuffer(count: n)
        b.pointer.update(repeating: value, count: n)
        return b
    }
}
