import NCFKernels
import XCTest

/// `SplitMix64`: reproducibility and the distribution of each helper. Every test uses a fixed seed,
/// so each statistic below is one deterministic number; the bounds are still set at ≥ 5 standard
/// deviations so that changing a seed would not make a correct generator fail.
final class SplitMix64Tests: XCTestCase {

    // MARK: - Reproducibility

    func testSameSeedGivesSameSequence() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        let first = (0..<1000).map { _ in a.next() }
        let second = (0..<1000).map { _ in b.next() }
        XCTAssertEqual(first, second)
        var c = SplitMix64(seed: 42, stream: 7), d = SplitMix64(seed: 42, stream: 7)
        XCTAssertEqual((0..<100).map { _ in c.next() }, (0..<100).map { _ in d.next() })
    }

    func testDifferentSeedsAndStreamsGiveDifferentSequences() {
        func prefix(_ g: SplitMix64) -> [UInt64] {
            var g = g
            return (0..<8).map { _ in g.next() }
        }
        let plain = prefix(SplitMix64(seed: 42))
        XCTAssertNotEqual(plain, prefix(SplitMix64(seed: 43)))
        XCTAssertNotEqual(plain, prefix(SplitMix64(seed: 42, stream: 1)))
        XCTAssertNotEqual(prefix(SplitMix64(seed: 42, stream: 1)), prefix(SplitMix64(seed: 42, stream: 2)))
    }

    /// The published SplitMix64 output for seed 0, so the generator matches the algorithm (and
    /// therefore gives the same numbers on every platform), not merely itself.
    func testMatchesPublishedOutputForSeedZero() {
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(g.next(), 0x06C4_5D18_8009_454F)
    }

    /// A copy continues exactly where the original would: the gradient checks rely on this to replay
    /// one dropout mask many times.
    func testCopyReplaysTheSameDraws() {
        var g = SplitMix64(seed: 9)
        _ = g.next()
        var copy = g
        XCTAssertEqual((0..<50).map { _ in g.nextFloat() }, (0..<50).map { _ in copy.nextFloat() })
        XCTAssertEqual(g.state, copy.state)
    }

    // MARK: - Uniform integers

    func testNextIntStaysInRange() {
        var g = SplitMix64(seed: 1)
        for bound in [1, 2, 3, 7, 10, 1000, 1 << 40, Int.max] {
            for _ in 0..<2000 {
                let v = g.nextInt(below: bound)
                XCTAssert(v >= 0 && v < bound, "nextInt(below: \(bound)) returned \(v)")
            }
        }
        XCTAssertEqual(g.nextInt(below: 1), 0)
    }

    /// Pearson's chi-square over the buckets. With b buckets it has b − 1 degrees of freedom: mean
    /// b − 1, standard deviation √(2(b − 1)). The bound is the mean plus 8 standard deviations.
    func testNextIntIsRoughlyUniform() {
        var g = SplitMix64(seed: 2)
        for bound in [3, 10, 37] {
            let draws = 100_000
            var counts = [Int](repeating: 0, count: bound)
            for _ in 0..<draws { counts[g.nextInt(below: bound)] += 1 }
            let expected = Double(draws) / Double(bound)
            let chi2 = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            let df = Double(bound - 1)
            XCTAssertLessThan(chi2, df + 8 * (2 * df).squareRoot(), "nextInt(below: \(bound)) counts \(counts)")
        }
    }

    // MARK: - Uniform reals

    func testNextFloatAndNextDoubleAreInUnitInterval() {
        var g = SplitMix64(seed: 3)
        let n = 100_000
        var sumF = 0.0, sumD = 0.0
        var minF: Float = 1, maxF: Float = 0
        for _ in 0..<n {
            let f = g.nextFloat()
            XCTAssert(f >= 0 && f < 1, "nextFloat returned \(f)")
            minF = min(minF, f); maxF = max(maxF, f)
            sumF += Double(f)
            let d = g.nextDouble()
            XCTAssert(d >= 0 && d < 1, "nextDouble returned \(d)")
            sumD += d
        }
        // Mean of U(0,1) is 1/2 with standard deviation √(1/12/n) ≈ 9e-4: bound at ~10 of those.
        XCTAssertEqual(sumF / Double(n), 0.5, accuracy: 0.01)
        XCTAssertEqual(sumD / Double(n), 0.5, accuracy: 0.01)
        XCTAssertLessThan(minF, 0.001)
        XCTAssertGreaterThan(maxF, 0.999)
    }

    /// The largest possible draw is strictly below 1, including after Float rounding.
    func testNextFloatLargestValueIsBelowOne() {
        let largest = Float(UInt64.max >> 40) * (1.0 / 16_777_216.0)
        XCTAssertLessThan(largest, 1)
    }

    // MARK: - Gaussian

    func testGaussianHasZeroMeanAndUnitVariance() {
        var g = SplitMix64(seed: 4)
        let n = 100_000
        var sum = 0.0, sumSq = 0.0, beyond3 = 0
        for _ in 0..<n {
            let x = g.nextGaussian()
            XCTAssert(x.isFinite)
            sum += x
            sumSq += x * x
            if abs(x) > 3 { beyond3 += 1 }
        }
        let mean = sum / Double(n)
        let variance = sumSq / Double(n) - mean * mean
        // Standard errors: mean 1/√n ≈ 0.0032, variance √(2/n) ≈ 0.0045. Bounds ≈ 6 of those.
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
        // P(|x| > 3) = 0.0027, i.e. 270 of 100k, standard deviation ≈ 16: the tails are there.
        XCTAssert((170...370).contains(beyond3), "\(beyond3) draws beyond 3σ")
    }

    // MARK: - Shuffle

    func testShuffleIsAPermutationAndReproducible() {
        let original = Array(0..<50)
        var a = original, b = original
        var g1 = SplitMix64(seed: 5), g2 = SplitMix64(seed: 5)
        g1.shuffle(&a)
        g2.shuffle(&b)
        XCTAssertEqual(a.sorted(), original)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, original)
        var c = original
        var g3 = SplitMix64(seed: 6)
        g3.shuffle(&c)
        XCTAssertNotEqual(a, c)
    }

    func testShuffleOfEmptyAndSingletonAreNoOps() {
        var g = SplitMix64(seed: 7)
        var empty: [Int] = []
        var one = [42]
        g.shuffle(&empty)
        g.shuffle(&one)
        XCTAssertEqual(empty, [])
        XCTAssertEqual(one, [42])
    }

    /// A slice keeps its indices from the parent array; shuffling it must touch only its own range.
    func testShuffleOfSliceStaysInsideTheSlice() {
        var a = Array(0..<20)
        var g = SplitMix64(seed: 8)
        g.shuffle(&a[5..<15])
        XCTAssertEqual(Array(a[0..<5]), Array(0..<5))
        XCTAssertEqual(Array(a[15..<20]), Array(15..<20))
        XCTAssertEqual(a[5..<15].sorted(), Array(5..<15))
    }

    /// All 6 orders of 3 elements appear equally often: 60k shuffles, 10k expected each, standard
    /// deviation ≈ 91, bound 800 (≈ 9σ).
    func testShuffleIsUniformOverPermutations() {
        var g = SplitMix64(seed: 10)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<60_000 {
            var a = [0, 1, 2]
            g.shuffle(&a)
            counts[a, default: 0] += 1
        }
        XCTAssertEqual(counts.count, 6)
        for (perm, n) in counts {
            XCTAssertLessThan(abs(n - 10_000), 800, "permutation \(perm) seen \(n) times")
        }
    }
}
