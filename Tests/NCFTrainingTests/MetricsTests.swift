import Foundation
import XCTest
@testable import NCFTraining

/// Ranking and regression metrics on hand-computed cases.
final class MetricsTests: XCTestCase {
    private let eps = 1e-12

    // MARK: - Ranks

    func testPerfectRankScoresOneEverywhere() {
        var m = RankingMetrics(k: 10)
        m.add(positive: 0.9, negatives: [0.1, 0.2, 0.3])
        XCTAssertEqual(m.count, 1)
        XCTAssertEqual(m.hitRate, 1, accuracy: eps)
        XCTAssertEqual(m.ndcg, 1, accuracy: eps)
        XCTAssertEqual(m.mrr, 1, accuracy: eps)
        XCTAssertEqual(m.auc, 1, accuracy: eps)
    }

    func testWorstRank() {
        // r = 3 with K = 2: outside the top K.
        var m = RankingMetrics(k: 2)
        m.add(positive: 0.0, negatives: [0.1, 0.2, 0.3])
        XCTAssertEqual(m.hitRate, 0, accuracy: eps)
        XCTAssertEqual(m.ndcg, 0, accuracy: eps)
        XCTAssertEqual(m.mrr, 0.25, accuracy: eps)
        XCTAssertEqual(m.auc, 0, accuracy: eps)
    }

    func testMiddleRankAcrossCutoffs() {
        // Two negatives above the positive, three below: r = 2.
        let negatives: [Float] = [0.9, 0.1, 0.7, 0.2, 0.3]
        for (k, hit) in [(1, 0.0), (2, 0.0), (3, 1.0), (10, 1.0)] {
            var m = RankingMetrics(k: k)
            m.add(positive: 0.5, negatives: negatives)
            XCTAssertEqual(m.hitRate, hit, accuracy: eps, "k=\(k)")
            XCTAssertEqual(m.ndcg, hit * 0.5, accuracy: eps, "k=\(k): 1/log2(2+2) = 0.5")
            XCTAssertEqual(m.mrr, 1.0 / 3.0, accuracy: eps, "k=\(k)")
            XCTAssertEqual(m.auc, 3.0 / 5.0, accuracy: eps, "k=\(k)")
        }
    }

    func testMeansOverSeveralCases() {
        var m = RankingMetrics(k: 3)
        m.add(positive: 0.9, negatives: [0.1, 0.2])             // r = 0
        m.add(positive: 0.5, negatives: [0.6, 0.1])             // r = 1
        m.add(positive: 0.0, negatives: [0.1, 0.2, 0.3, 0.4])   // r = 4, outside K
        XCTAssertEqual(m.count, 3)
        XCTAssertEqual(m.hitRate, 2.0 / 3.0, accuracy: eps)
        XCTAssertEqual(m.ndcg, (1.0 + 1.0 / log2(3.0)) / 3.0, accuracy: eps)
        XCTAssertEqual(m.mrr, (1.0 + 0.5 + 0.2) / 3.0, accuracy: eps)
        XCTAssertEqual(m.auc, (1.0 + 0.5 + 0.0) / 3.0, accuracy: eps)
    }

    func testTiesCountAgainstThePositive() {
        var m = RankingMetrics(k: 2)
        m.add(positive: 0.5, negatives: [0.5, 0.1, 0.5])   // r = 0 above + 2 ties = 2
        XCTAssertEqual(m.hitRate, 0, accuracy: eps)
        XCTAssertEqual(m.mrr, 1.0 / 3.0, accuracy: eps)
        XCTAssertEqual(m.auc, (1.0 + 0.5 * 2) / 3.0, accuracy: eps, "AUC credits ties with one half")
    }

    func testConstantModelIsNotRewarded() {
        var m = RankingMetrics(k: 10)
        for _ in 0..<5 { m.add(positive: 0.25, negatives: [Float](repeating: 0.25, count: 99)) }
        XCTAssertEqual(m.hitRate, 0, accuracy: eps)
        XCTAssertEqual(m.ndcg, 0, accuracy: eps)
        XCTAssertEqual(m.mrr, 1.0 / 100.0, accuracy: eps)
        XCTAssertEqual(m.auc, 0.5, accuracy: eps)
    }

    func testSignedZerosTie() {
        var m = RankingMetrics(k: 1)
        m.add(positive: 0.0, negatives: [-0.0])
        XCTAssertEqual(m.hitRate, 0, accuracy: eps)
        XCTAssertEqual(m.auc, 0.5, accuracy: eps)
    }

    func testKLargerThanTheList() {
        var m = RankingMetrics(k: 100)
        m.add(positive: 0.0, negatives: [0.1, 0.2, 0.3])   // last, r = 3, still inside K
        XCTAssertEqual(m.hitRate, 1, accuracy: eps)
        XCTAssertEqual(m.ndcg, 1.0 / log2(5.0), accuracy: eps)
        XCTAssertEqual(m.mrr, 0.25, accuracy: eps)
    }

    func testOneNegative() {
        var above = RankingMetrics(k: 1)
        above.add(positive: 2, negatives: [1])
        XCTAssertEqual(above.hitRate, 1, accuracy: eps)
        XCTAssertEqual(above.auc, 1, accuracy: eps)

        var below = RankingMetrics(k: 1)
        below.add(positive: 1, negatives: [2])
        XCTAssertEqual(below.hitRate, 0, accuracy: eps)
        XCTAssertEqual(below.ndcg, 0, accuracy: eps)
        XCTAssertEqual(below.mrr, 0.5, accuracy: eps)
        XCTAssertEqual(below.auc, 0, accuracy: eps)
    }

    func testZeroNegativesRanksFirstWithAUCOne() {
        var m = RankingMetrics(k: 1)
        m.add(positive: 0.3, negatives: [])
        m.add(positive: .nan, negatives: [])
        XCTAssertEqual(m.count, 2)
        XCTAssertEqual(m.hitRate, 1, accuracy: eps)
        XCTAssertEqual(m.ndcg, 1, accuracy: eps)
        XCTAssertEqual(m.mrr, 1, accuracy: eps)
        XCTAssertEqual(m.auc, 1, accuracy: eps)
    }

    func testNaNPositiveRanksLast() {
        var m = RankingMetrics(k: 3)
        m.add(positive: .nan, negatives: [0.1, -Float.infinity, .nan])   // r = 3
        XCTAssertEqual(m.hitRate, 0, accuracy: eps)
        XCTAssertEqual(m.mrr, 0.25, accuracy: eps)
        XCTAssertEqual(m.auc, 0, accuracy: eps)
    }

    func testNaNNegativesCountAsAbove() {
        var m = RankingMetrics(k: 1)
        m.add(positive: 0.5, negatives: [.nan, 0.1])   // r = 1
        XCTAssertEqual(m.hitRate, 0, accuracy: eps)
        XCTAssertEqual(m.mrr, 0.5, accuracy: eps)
        XCTAssertEqual(m.auc, 0.5, accuracy: eps)
    }

    func testInfinitePositiveAboveFiniteNegatives() {
        var m = RankingMetrics(k: 1)
        m.add(positive: .infinity, negatives: [Float.greatestFiniteMagnitude, 0])
        XCTAssertEqual(m.hitRate, 1, accuracy: eps)
        m.add(positive: .infinity, negatives: [.infinity])   // tie → r = 1
        XCTAssertEqual(m.hitRate, 0.5, accuracy: eps)
    }

    func testEmptyMetricsAreNaN() {
        let m = RankingMetrics(k: 10)
        XCTAssertEqual(m.count, 0)
        XCTAssertTrue(m.hitRate.isNaN && m.ndcg.isNaN && m.mrr.isNaN && m.auc.isNaN)
        let r = RegressionMetrics()
        XCTAssertTrue(r.rmse.isNaN && r.mae.isNaN && r.mse.isNaN)
    }

    func testCountsMatchScores() {
        let negatives: [Float] = [0.9, 0.5, 0.1, 0.5, 0.3, .nan]   // 2 above (incl. NaN), 2 ties, 2 below
        var fromScores = RankingMetrics(k: 4)
        fromScores.add(positive: 0.5, negatives: negatives)
        var fromCounts = RankingMetrics(k: 4)
        fromCounts.add(greater: 2, ties: 2, negativeCount: 6)
        XCTAssertEqual(fromScores, fromCounts)
        XCTAssertEqual(fromCounts.hitRate, 0, accuracy: eps, "r = 4 is outside K = 4")
        XCTAssertEqual(fromCounts.auc, (2 + 0.5 * 2) / 6, accuracy: eps)
    }

    func testBufferPointerOverASlice() {
        let scores: [Float] = [0.7, 0.8, 0.1, 0.2]   // positive first, then its negatives
        var m = RankingMetrics(k: 1)
        scores.withUnsafeBufferPointer { all in
            m.add(positive: all[0], negatives: UnsafeBufferPointer(rebasing: all[1...]))
        }
        XCTAssertEqual(m.mrr, 0.5, accuracy: eps)
        XCTAssertEqual(m.auc, 2.0 / 3.0, accuracy: eps)
    }

    func testMergeEqualsAddingInOneGo() {
        let cases: [(Float, [Float])] = [
            (0.9, [0.1, 0.2]), (0.5, [0.6, 0.5, 0.1]), (0.0, [0.1, 0.2, 0.3, 0.4]),
            (.nan, [0.1]), (0.3, []), (0.4, [0.4, 0.4]), (0.8, [0.9, 0.7, 0.85, 0.1, 0.2]),
        ]
        var whole = RankingMetrics(k: 2)
        for (p, n) in cases { whole.add(positive: p, negatives: n) }
        var left = RankingMetrics(k: 2), right = RankingMetrics(k: 2)
        for (i, (p, n)) in cases.enumerated() {
            if i % 3 == 0 { left.add(positive: p, negatives: n) } else { right.add(positive: p, negatives: n) }
        }
        left.merge(right)
        left.merge(RankingMetrics(k: 2))   // merging nothing changes nothing
        XCTAssertEqual(left.count, whole.count)
        XCTAssertEqual(left.hitRate, whole.hitRate, accuracy: eps)
        XCTAssertEqual(left.ndcg, whole.ndcg, accuracy: eps)
        XCTAssertEqual(left.mrr, whole.mrr, accuracy: eps)
        XCTAssertEqual(left.auc, whole.auc, accuracy: eps)
    }

    func testNames() {
        let m = RankingMetrics(k: 10)
        XCTAssertEqual(m.named.map(\.name), ["HR@10", "NDCG@10", "MRR", "AUC"])
        XCTAssertEqual(RankingMetrics(k: 5).named.map(\.name), ["HR@5", "NDCG@5", "MRR", "AUC"])
        XCTAssertEqual(RegressionMetrics().named.map(\.name), ["RMSE", "MAE"])
    }

    // MARK: - Regression

    func testRMSEAndMAEOnAHandCase() {
        // Errors -1, 0, -3: MSE = 10/3, MAE = 4/3.
        var m = RegressionMetrics()
        for (p, y) in [(Float(3), Float(4)), (4, 4), (2, 5)] { m.add(prediction: p, target: y) }
        XCTAssertEqual(m.count, 3)
        XCTAssertEqual(m.mse, 10.0 / 3.0, accuracy: eps)
        XCTAssertEqual(m.rmse, (10.0 / 3.0).squareRoot(), accuracy: eps)
        XCTAssertEqual(m.mae, 4.0 / 3.0, accuracy: eps)
        XCTAssertEqual(m.named.map(\.value), [m.rmse, m.mae])
    }

    func testRegressionMergeEqualsAddingInOneGo() {
        let pairs: [(Float, Float)] = [(3.5, 4), (1, 5), (2.25, 2), (4.75, 3), (0, 1)]
        var whole = RegressionMetrics()
        for (p, y) in pairs { whole.add(prediction: p, target: y) }
        var a = RegressionMetrics(), b = RegressionMetrics()
        for (p, y) in pairs.prefix(2) { a.add(prediction: p, target: y) }
        for (p, y) in pairs.dropFirst(2) { b.add(prediction: p, target: y) }
        a.merge(b)
        XCTAssertEqual(a.count, 5)
        XCTAssertEqual(a.rmse, whole.rmse, accuracy: eps)
        XCTAssertEqual(a.mae, whole.mae, accuracy: eps)
    }

    func testNonFinitePredictionPoisonsRegressionMetrics() {
        var m = RegressionMetrics()
        m.add(prediction: 3, target: 3)
        m.add(prediction: .nan, target: 3)
        XCTAssertTrue(m.rmse.isNaN)
        XCTAssertTrue(m.mae.isNaN)
    }
}
