import Foundation
import NCFKernels
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// Parameter importance (random-forest permutation importance) and Spearman's ρ.
final class ReportImportanceTests: XCTestCase {
    /// `n` runs with three features uniform on [0, 1) from a seeded generator.
    private func features(_ n: Int, seed: UInt64) -> [[Double]] {
        var rng = SplitMix64(seed: seed)
        return (0..<3).map { _ in (0..<n).map { _ in rng.nextDouble() } }
    }

    func testOnlyTheParameterThatMattersRanksFirst() {
        for matters in 0..<3 {
            let x = features(80, seed: UInt64(10 + matters))
            var rng = SplitMix64(seed: 99)
            let y = x[matters].map { ($0 - 0.4) * ($0 - 0.4) + 0.001 * rng.nextGaussian() } // not monotone
            let shares = ParameterImportance.permutation(features: x, target: y, options: .init(trees: 32, seed: 1))
            XCTAssertEqual(shares.count, 3)
            XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 1e-9, "shares sum to 1")
            XCTAssertEqual(shares.firstIndex(of: shares.max()!), matters, "feature \(matters) should rank first: \(shares)")
            XCTAssertGreaterThan(shares[matters], 0.7, "\(shares)")
        }
    }

    func testImportanceIsReproducibleFromTheSeed() {
        let x = features(200, seed: 3)
        let y = zip(x[0], x[1]).map { $0 + 0.3 * $1 } // shares about 0.92 and 0.08 in theory
        let a = ParameterImportance.permutation(features: x, target: y, options: .init(trees: 24, seed: 5))
        let b = ParameterImportance.permutation(features: x, target: y, options: .init(trees: 24, seed: 5))
        XCTAssertEqual(a, b)
        XCTAssertGreaterThan(a[0], a[1], "the larger effect ranks higher: \(a)")
        XCTAssertGreaterThan(a[1], a[2], "\(a)")
    }

    func testTooFewRunsOrAConstantTargetGiveNoImportance() {
        XCTAssertEqual(ParameterImportance.permutation(features: [[1, 2, 3]], target: [1, 2, 3]), [0])
        let x = features(30, seed: 4)
        XCTAssertEqual(ParameterImportance.permutation(features: x, target: Array(repeating: 0.5, count: 30)), [0, 0, 0])
        XCTAssertEqual(ParameterImportance.permutation(features: [], target: [1, 2, 3, 4, 5]), [])
    }

    func testSpearman() {
        XCTAssertEqual(ParameterImportance.spearman([1, 2, 3, 4], [10, 20, 30, 1000])!, 1, accuracy: 1e-12, "monotone, not linear")
        XCTAssertEqual(ParameterImportance.spearman([1, 2, 3, 4], [4, 3, 2, 1])!, -1, accuracy: 1e-12)
        XCTAssertNil(ParameterImportance.spearman([1, 1, 1], [1, 2, 3]), "constant side")
        XCTAssertNil(ParameterImportance.spearman([1, 2], [1, 2]), "fewer than 3 pairs")
        XCTAssertEqual(ParameterImportance.ranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2], "ties share the average rank")
    }

    /// Through the report model: a synthetic sweep whose loss depends on lr only (the
    /// categorical and the uniform parameter are noise) ranks lr first.
    func testTheReportRanksTheParameterThatMattersFirst() throws {
        let yaml = """
            method: random
            metric:
              name: Valid Loss
              goal: minimize
            parameters:
              lr:
                distribution: log_uniform_values
                min: 0.0001
                max: 0.1
              mlp_dims:
                values: ["8", "16,8", "32,16,8"]
              dropout:
                distribution: uniform
                min: 0
                max: 0.5
            """
        let fixture = try ReportFixture(yaml: yaml)
        var rng = SplitMix64(seed: 21)
        for _ in 0..<40 {
            let lr = pow(10, -4 + 3 * rng.nextDouble())
            let loss = 0.9 + 0.05 * pow(log10(lr) + 2.5, 2) + 0.002 * rng.nextGaussian()
            try fixture.add(["lr": .double(lr), "mlp_dims": .string(["8", "16,8", "32,16,8"][rng.nextInt(below: 3)]),
                             "dropout": .double(0.5 * rng.nextDouble())], valid: [loss + 0.1, loss])
        }
        let model = try fixture.model()
        let names = model.parameters.map(\.name)
        let lr = names.firstIndex(of: "lr")!
        let shares = model.importance.map { $0.share ?? -1 }
        XCTAssertEqual(shares.firstIndex(of: shares.max()!), lr, "\(zip(names, shares).map { "\($0) \($1)" })")
        XCTAssertEqual(model.parameters[lr].axis, .log)
        XCTAssertNil(model.importance[names.firstIndex(of: "mlp_dims")!].spearman, "no ρ for categories that are not numbers")
        XCTAssertTrue(model.importanceBasis.contains("40 finished runs"), model.importanceBasis)
    }
}
