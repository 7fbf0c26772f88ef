import NCFKernels
import XCTest

@testable import NCFSweep

final class RandomTests: XCTestCase {
    private func draws(_ spec: ParameterSpec, _ count: Int = 4000, seed: UInt64 = 11) -> [ParamValue] {
        let config = SweepConfig(method: .random, parameters: [Parameter(name: "p", spec: spec)])
        var rng = SplitMix64(seed: seed)
        return RandomSampler().next(count, config: config, runs: [], rng: &rng).map { $0["p"]! }
    }

    private func numbers(_ values: [ParamValue]) -> [Double] { values.compactMap(\.numericValue).sorted() }

    /// The q-quantile of sorted values.
    private func quantile(_ sorted: [Double], _ q: Double) -> Double { sorted[Int(q * Double(sorted.count - 1))] }

    func testSameSeedSameDrawsDifferentSeedDifferentDraws() {
        let spec = ParameterSpec.uniform(min: 0, max: 1)
        XCTAssertEqual(draws(spec, 20, seed: 3), draws(spec, 20, seed: 3))
        XCTAssertNotEqual(draws(spec, 20, seed: 3), draws(spec, 20, seed: 4))
    }

    func testUniformQuantiles() {
        let x = numbers(draws(.uniform(min: 2, max: 6)))
        XCTAssertGreaterThanOrEqual(x.first!, 2)
        XCTAssertLessThan(x.last!, 6)
        for q in [0.1, 0.25, 0.5, 0.75, 0.9] {
            XCTAssertEqual(quantile(x, q), 2 + 4 * q, accuracy: 0.15, "quantile \(q)")
        }
    }

    func testLogUniformQuantilesAreGeometric() {
        let x = numbers(draws(.logUniformValues(min: 1e-4, max: 1e-1)))
        for q in [0.1, 0.5, 0.9] {
            let expected = log10(1e-4) + 3 * q
            XCTAssertEqual(log10(quantile(x, q)), expected, accuracy: 0.1, "quantile \(q)")
        }
        let inv = numbers(draws(.invLogUniformValues(min: 1e-4, max: 1e-1)))
        XCTAssertEqual(log10(quantile(inv, 0.5)), -2.5, accuracy: 0.1)
    }

    func testIntUniformHitsBothEndsEvenly() {
        let x = draws(.intUniform(min: 1, max: 4))
        for k in 1...4 {
            let share = Double(x.filter { $0 == .int(k) }.count) / Double(x.count)
            XCTAssertEqual(share, 0.25, accuracy: 0.03, "value \(k)")
        }
        XCTAssertTrue(x.allSatisfy { if case .int = $0 { true } else { false } })
    }

    func testCategoricalFrequenciesFollowProbabilities() {
        let x = draws(.categorical([.string("a"), .string("b"), .string("c")], probabilities: [0.2, 0.5, 0.3]))
        for (value, p) in [("a", 0.2), ("b", 0.5), ("c", 0.3)] {
            XCTAssertEqual(Double(x.filter { $0 == .string(value) }.count) / Double(x.count), p, accuracy: 0.03, value)
        }
        let even = draws(.categorical([.int(1), .int(2)], probabilities: nil))
        XCTAssertEqual(Double(even.filter { $0 == .int(1) }.count) / Double(even.count), 0.5, accuracy: 0.03)
    }

    func testNormalAndLogNormalQuantiles() {
        let x = numbers(draws(.normal(mu: 1, sigma: 2)))
        XCTAssertEqual(quantile(x, 0.5), 1, accuracy: 0.15)
        XCTAssertEqual(quantile(x, 0.8413), 3, accuracy: 0.2)
        XCTAssertEqual(quantile(x, 0.1587), -1, accuracy: 0.2)
        let y = numbers(draws(.logNormal(mu: 0, sigma: 1)))
        XCTAssertEqual(log(quantile(y, 0.5)), 0, accuracy: 0.08)
        XCTAssertEqual(log(quantile(y, 0.8413)), 1, accuracy: 0.1)
    }

    func testBetaMeanAndQuantisedLattice() {
        let x = numbers(draws(.beta(a: 2, b: 5)))
        XCTAssertEqual(x.reduce(0, +) / Double(x.count), 2.0 / 7.0, accuracy: 0.01)
        XCTAssertGreaterThanOrEqual(x.first!, 0)
        XCTAssertLessThanOrEqual(x.last!, 1)
        let q = draws(.qUniform(min: 0, max: 1, q: 0.25, integerQ: false), 500)
        XCTAssertEqual(Set(q), [.double(0), .double(0.25), .double(0.5), .double(0.75), .double(1)])
        let qi = draws(.qLogUniformValues(min: 1, max: 100, q: 1, integerQ: true), 500)
        XCTAssertTrue(qi.allSatisfy { if case .int(let v) = $0 { (1...100).contains(v) } else { false } })
    }

    func testNestedAndConstantsArePassedThrough() {
        let config = SweepConfig(method: .random, parameters: [
            Parameter(name: "model", spec: .constant(.string("NCF"))),
            Parameter(name: "opt", spec: .nested([
                Parameter(name: "lr", spec: .uniform(min: 0, max: 1)),
                Parameter(name: "name", spec: .constant(.string("adam"))),
            ])),
        ])
        var rng = SplitMix64(seed: 5)
        let configs = RandomSampler().next(3, config: config, runs: [], rng: &rng)
        XCTAssertEqual(configs.count, 3)
        for c in configs {
            XCTAssertEqual(c["model"], .string("NCF"))
            guard case .map(let opt)? = c["opt"] else { return XCTFail("opt is not a mapping: \(c)") }
            XCTAssertEqual(opt["name"], .string("adam"))
            XCTAssertNotNil(opt["lr"]?.numericValue)
        }
    }
}
