import XCTest

@testable import NCFSweep

final class DistributionTests: XCTestCase {
    // MARK: - Inverse CDF

    func testUniformAndIntUniformPPF() {
        XCTAssertEqual(ParameterSpec.uniform(min: 2, max: 4).ppf(0.25), .double(2.5))
        let ints = ParameterSpec.intUniform(min: 1, max: 3)
        // Both ends reachable: u in (0, 1/3] → 1, (1/3, 2/3] → 2, (2/3, 1] → 3.
        XCTAssertEqual(ints.ppf(0), .int(1))
        XCTAssertEqual(ints.ppf(0.3), .int(1))
        XCTAssertEqual(ints.ppf(0.5), .int(2))
        XCTAssertEqual(ints.ppf(0.9999), .int(3))
        XCTAssertEqual(ints.ppf(1), .int(3))
    }

    func testCategoricalPPF() {
        let spec = ParameterSpec.categorical([.string("a"), .string("b"), .string("c"), .string("d")], probabilities: nil)
        XCTAssertEqual(spec.ppf(0), .string("a"))
        XCTAssertEqual(spec.ppf(0.25), .string("a"))
        XCTAssertEqual(spec.ppf(0.26), .string("b"))
        XCTAssertEqual(spec.ppf(0.99), .string("d"))
        let weighted = ParameterSpec.categorical([.int(1), .int(2), .int(3)], probabilities: [0.5, 0, 0.5])
        XCTAssertEqual(weighted.ppf(0.1), .int(1))
        XCTAssertEqual(weighted.ppf(0.5), .int(1))
        XCTAssertEqual(weighted.ppf(0.51), .int(3), "a zero-probability value is never drawn")
        XCTAssertEqual(weighted.ppf(1), .int(3))
    }

    func testQuantisedFormsRoundHalfToEven() {
        // u = 0.5 on [0, 10) gives 5; 5/2 = 2.5 rounds to 2 (even), times q = 4.
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 10, q: 2, integerQ: true).ppf(0.5), .int(4))
        // 0.7 of [0, 10) = 7 → 3.5 → 4 → 8.
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 10, q: 2, integerQ: true).ppf(0.7), .int(8))
        // q written as 1.0: a double, not an int.
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 10, q: 1, integerQ: false).ppf(0.5), .double(5))
        // May leave [min, max]: min 0, max 11, q 4 reaches 12.
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 11, q: 4, integerQ: true).ppf(0.99), .int(12))
        XCTAssertEqual(ParameterSpec.qLogUniformValues(min: 1, max: 1000, q: 5, integerQ: true).ppf(2.0 / 3.0), .int(100))
        XCTAssertEqual(ParameterSpec.qNormal(mu: 10, sigma: 3, q: 1, integerQ: true).ppf(0.5), .int(10))
    }

    func testLogFormsAreLogUniformOnValues() throws {
        let log = ParameterSpec.logUniformValues(min: 1e-4, max: 1e-2)
        try XCTAssertEqual(XCTUnwrap(log.ppf(0.5).numericValue), 1e-3, accuracy: 1e-15)
        try XCTAssertEqual(XCTUnwrap(log.ppf(0).numericValue), 1e-4, accuracy: 1e-18)
        try XCTAssertEqual(XCTUnwrap(log.ppf(1).numericValue), 1e-2, accuracy: 1e-16)
        let inv = ParameterSpec.invLogUniformValues(min: 1e-4, max: 1e-2)
        for u in [0.1, 0.5, 0.9] {
            try XCTAssertEqual(XCTUnwrap(inv.ppf(u).numericValue), XCTUnwrap(log.ppf(u).numericValue), accuracy: 1e-15)
        }
    }

    func testNormalForms() throws {
        try XCTAssertEqual(XCTUnwrap(ParameterSpec.normal(mu: 0, sigma: 1).ppf(0.975).numericValue), 1.959963984540054, accuracy: 1e-12)
        try XCTAssertEqual(XCTUnwrap(ParameterSpec.normal(mu: 3, sigma: 2).ppf(0.5).numericValue), 3, accuracy: 1e-12)
        try XCTAssertEqual(XCTUnwrap(ParameterSpec.logNormal(mu: 0, sigma: 1).ppf(0.5).numericValue), 1, accuracy: 1e-12)
        // The ends stay finite.
        try XCTAssertTrue(XCTUnwrap(ParameterSpec.normal(mu: 0, sigma: 1).ppf(0).numericValue).isFinite)
        try XCTAssertTrue(XCTUnwrap(ParameterSpec.normal(mu: 0, sigma: 1).ppf(1).numericValue).isFinite)
    }

    func testInverseNormalIsAccurate() {
        XCTAssertEqual(inverseNormalCDF(0.5), 0, accuracy: 1e-15)
        XCTAssertEqual(inverseNormalCDF(0.8413447460685429), 1, accuracy: 1e-12)
        XCTAssertEqual(inverseNormalCDF(1e-10), -6.361340902404056, accuracy: 1e-9)
        var worst = 0.0
        for i in 1..<1000 {
            let p = Double(i) / 1000
            worst = max(worst, abs(normalCDF(inverseNormalCDF(p)) - p))
        }
        XCTAssertLessThan(worst, 1e-14)
    }

    func testBetaCDFAndInverse() {
        // Beta(2, 2): 3x² − 2x³.
        XCTAssertEqual(regularizedIncompleteBeta(0.25, a: 2, b: 2), 0.15625, accuracy: 1e-13)
        XCTAssertEqual(regularizedIncompleteBeta(0.5, a: 2, b: 2), 0.5, accuracy: 1e-13)
        // Beta(½, ½): (2/π)·asin(√x).
        XCTAssertEqual(regularizedIncompleteBeta(0.3, a: 0.5, b: 0.5), 2 / Double.pi * asin(0.3.squareRoot()), accuracy: 1e-12)
        for (a, b) in [(1.0, 1.0), (2.0, 5.0), (0.5, 0.5), (30.0, 2.0)] {
            for p in [0.01, 0.3, 0.5, 0.77, 0.99] {
                let x = inverseRegularizedBeta(p, a: a, b: b)
                XCTAssertEqual(regularizedIncompleteBeta(x, a: a, b: b), p, accuracy: 1e-12, "a \(a) b \(b) p \(p)")
            }
        }
        XCTAssertEqual(ParameterSpec.beta(a: 1, b: 1).ppf(0.3), .double(0.3))
        XCTAssertEqual(ParameterSpec.qBeta(a: 1, b: 1, q: 0.5, integerQ: false).ppf(0.3), .double(0.5))
    }

    // MARK: - CDF

    func testCDFEncodings() throws {
        let cat = ParameterSpec.categorical([.int(8), .int(16), .int(32)], probabilities: nil)
        XCTAssertEqual(cat.cdf(.int(8)), 1.0 / 3.0)
        XCTAssertEqual(cat.cdf(.double(32)), 1.0, "1 and 1.0 are one value")
        XCTAssertNil(cat.cdf(.int(64)))
        XCTAssertEqual(ParameterSpec.categorical([.int(1), .int(2)], probabilities: [0.25, 0.75]).cdf(.int(1)), 0.25)
        XCTAssertEqual(ParameterSpec.intUniform(min: 1, max: 4).cdf(.int(2)), 0.5)
        XCTAssertEqual(ParameterSpec.uniform(min: 0, max: 4).cdf(.double(1)), 0.25)
        XCTAssertNil(ParameterSpec.uniform(min: 0, max: 4).cdf(.string("1")))
        try XCTAssertEqual(XCTUnwrap(ParameterSpec.logUniformValues(min: 1, max: 100).cdf(.int(10))), 0.5, accuracy: 1e-15)
        XCTAssertNil(ParameterSpec.logUniformValues(min: 1, max: 100).cdf(.int(-1)))
        try XCTAssertEqual(XCTUnwrap(ParameterSpec.normal(mu: 1, sigma: 2).cdf(.int(1))), 0.5, accuracy: 1e-15)
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 11, q: 4, integerQ: true).cdf(.int(12)), 1, "clamped")
        XCTAssertEqual(ParameterSpec.constant(.int(3)).cdf(.int(3)), 0)
    }

    func testCDFInvertsPPFForContinuousForms() throws {
        let specs: [ParameterSpec] = [
            .uniform(min: -1, max: 3), .logUniformValues(min: 1e-5, max: 1), .invLogUniformValues(min: 2, max: 50),
            .normal(mu: 1, sigma: 0.5), .logNormal(mu: -2, sigma: 1), .beta(a: 2, b: 3),
        ]
        for spec in specs {
            for u in [0.05, 0.4, 0.8] {
                try XCTAssertEqual(XCTUnwrap(spec.cdf(spec.ppf(u))), u, accuracy: 1e-10, "\(spec)")
            }
        }
    }

    // MARK: - Searchability and grid values

    func testIsSearchable() {
        XCTAssertFalse(ParameterSpec.constant(.int(1)).isSearchable)
        XCTAssertTrue(ParameterSpec.categorical([.int(1)], probabilities: nil).isSearchable)
        XCTAssertFalse(ParameterSpec.nested([Parameter(name: "a", spec: .constant(.int(1)))]).isSearchable)
        XCTAssertTrue(ParameterSpec.nested([Parameter(name: "a", spec: .constant(.int(1))),
                                            Parameter(name: "b", spec: .uniform(min: 0, max: 1))]).isSearchable)
    }

    func testGridValues() {
        XCTAssertEqual(ParameterSpec.intUniform(min: 2, max: 5).gridValues, [.int(2), .int(3), .int(4), .int(5)])
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 1, q: 0.25, integerQ: false).gridValues,
                       [.double(0), .double(0.25), .double(0.5), .double(0.75)])
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 10, q: 2, integerQ: true).gridValues,
                       [.int(0), .int(2), .int(4), .int(6), .int(8)])
        XCTAssertEqual(ParameterSpec.qUniform(min: 0, max: 4, q: 1, integerQ: false).gridValues,
                       [.double(0), .double(1), .double(2), .double(3)])
        XCTAssertEqual(ParameterSpec.categorical([.int(1), .double(1), .string("1"), .bool(true), .int(1)], probabilities: nil).gridValues,
                       [.int(1), .string("1"), .bool(true)])
        XCTAssertEqual(ParameterSpec.constant(.string("x")).gridValues, [.string("x")])
        XCTAssertNil(ParameterSpec.uniform(min: 0, max: 1).gridValues)
        XCTAssertNil(ParameterSpec.logUniformValues(min: 1, max: 2).gridValues)
        XCTAssertNil(ParameterSpec.categorical([.int(1), .int(2)], probabilities: [0.5, 0.5]).gridValues)
    }

    func testNestedGridValuesAreAProductInNameOrder() {
        let nested = ParameterSpec.nested([
            Parameter(name: "z", spec: .categorical([.string("x"), .string("y")], probabilities: nil)),
            Parameter(name: "a", spec: .intUniform(min: 1, max: 2)),
        ])
        XCTAssertEqual(nested.gridValues, [
            .map(["a": .int(1), "z": .string("x")]), .map(["a": .int(1), "z": .string("y")]),
            .map(["a": .int(2), "z": .string("x")]), .map(["a": .int(2), "z": .string("y")]),
        ])
        XCTAssertNil(ParameterSpec.nested([Parameter(name: "a", spec: .uniform(min: 0, max: 1))]).gridValues)
    }

    // MARK: - Leaves

    func testFlattenAndUnflatten() {
        let parameters = [
            Parameter(name: "model", spec: .nested([
                Parameter(name: "dropout", spec: .uniform(min: 0, max: 0.5)),
                Parameter(name: "dims", spec: .nested([Parameter(name: "embed", spec: .constant(.int(16)))])),
            ])),
            Parameter(name: "lr", spec: .uniform(min: 0, max: 1)),
        ]
        let leaves = flattenParameters(parameters)
        XCTAssertEqual(leaves.map(\.dottedName), ["lr", "model.dims.embed", "model.dropout"])
        let config = unflattenConfig(leaves, [.double(0.1), .int(16), .double(0.3)])
        XCTAssertEqual(config, [
            "lr": .double(0.1),
            "model": .map(["dims": .map(["embed": .int(16)]), "dropout": .double(0.3)]),
        ])
        XCTAssertEqual(leafValue(in: config, at: ["model", "dims", "embed"]), .int(16))
        XCTAssertNil(leafValue(in: config, at: ["model", "missing"]))
        XCTAssertNil(leafValue(in: config, at: ["lr", "x"]))
    }
}
