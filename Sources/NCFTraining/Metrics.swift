// Evaluation metrics: ranking (HR@K, NDCG@K, MRR, AUC) over held-out cases, and regression (RMSE, MAE).
//
// Both accumulators are plain values: add cases, `merge` partial results from several threads or
// batches, then read the means. Sums are kept in Double so the result does not depend on how the
// cases were split into batches beyond rounding in the last bits.
//
// The names under which they are printed and stored come from the run contract (`Measure.label`;
// `MetricName` adds the split).

import Foundation
import NCFRunContract

// MARK: - Ranking

/// Ranking metrics for held-out cases: each case is one positive item scored against its negatives.
///
/// For one case with `n` negatives, the positive's 0-based rank is
///
///     r = #{negatives scoring > positive} + #{negatives scoring == positive}
///
/// Ties are broken *against* the positive, so a model that scores everything the same gets
/// `r = n` (last), not `r = 0`. A NaN positive ranks last (`r = n`); a NaN negative counts as scoring
/// above the positive. Over `N` cases:
///
///     HR@K   = (1/N) Σ [r < K]
///     NDCG@K = (1/N) Σ [r < K] / log2(r + 2)       (one relevant item, so the ideal DCG is 1)
///     MRR    = (1/N) Σ 1 / (r + 1)                 (not truncated at K)
///     AUC    = (1/N) Σ (#{neg below} + 0.5 #{neg tied}) / n     (a case with n = 0 counts as 1)
///
/// AUC is the per-case (per-user) AUC averaged over cases, and unlike the rank it credits ties with
/// one half. Every mean is NaN when no case has been added (`count == 0`), so an empty evaluation set
/// cannot pass for a perfect or a worst score.
public struct RankingMetrics: Sendable, Equatable {
    /// The cut-off K of HR@K and NDCG@K.
    public let k: Int
    /// Number of cases added.
    public private(set) var count: Int = 0
    private var hitSum: Double = 0
    private var ndcgSum: Double = 0
    private var reciprocalRankSum: Double = 0
    private var aucSum: Double = 0

    /// An empty accumulator for HR@`k` and NDCG@`k`; `k` must be at least 1.
    public init(k: Int) {
        precondition(k >= 1, "RankingMetrics: k must be at least 1, got \(k)")
        self.k = k
    }

    /// Adds one case from the positive's score and its negatives' scores.
    ///
    /// Rank r (0-based) = number of negatives scoring > positive + number of negatives tying it (ties
    /// broken against the positive, so a constant model is not rewarded). A NaN positive score ranks
    /// last; NaN negatives count as above.
    /// - Complexity: O(n) for n negatives, no allocation.
    public mutating func add(positive: Float, negatives: UnsafeBufferPointer<Float>) {
        let n = negatives.count
        if positive.isNaN {
            add(greater: n, ties: 0, negativeCount: n)
            return
        }
        var greater = 0
        var ties = 0
        for s in negatives {
            if s > positive || s.isNaN {
                greater += 1
            } else if s == positive {
                ties += 1
            }
        }
        add(greater: greater, ties: ties, negativeCount: n)
    }

    /// Adds one case; convenience for `add(positive:negatives:)` with an array.
    /// - Complexity: O(n) for n negatives.
    public mutating func add(positive: Float, negatives: [Float]) {
        negatives.withUnsafeBufferPointer { add(positive: positive, negatives: $0) }
    }

    /// Adds one case from counts, for full ranking when the negatives are not materialised.
    ///
    /// `greater` negatives score above the positive (NaN counts as above), `ties` score the same, and
    /// the remaining `negativeCount - greater - ties` score below. The rank is `greater + ties`.
    /// - Complexity: O(1).
    public mutating func add(greater: Int, ties: Int, negativeCount: Int) {
        precondition(greater >= 0 && ties >= 0 && greater + ties <= negativeCount,
                     "RankingMetrics: need 0 <= greater, 0 <= ties, greater + ties <= negativeCount; "
                        + "got \(greater), \(ties), \(negativeCount)")
        let r = greater + ties
        count += 1
        if r < k {
            hitSum += 1
            ndcgSum += 1 / log2(Double(r + 2))
        }
        reciprocalRankSum += 1 / Double(r + 1)
        if negativeCount == 0 {
            aucSum += 1
        } else {
            let below = negativeCount - greater - ties
            aucSum += (Double(below) + 0.5 * Double(ties)) / Double(negativeCount)
        }
    }

    /// HR@K = (1/N) Σ [r < K]; NaN when `count == 0`.
    public var hitRate: Double { mean(hitSum) }
    /// NDCG@K = (1/N) Σ [r < K] / log2(r + 2); NaN when `count == 0`.
    public var ndcg: Double { mean(ndcgSum) }
    /// MRR = (1/N) Σ 1 / (r + 1); NaN when `count == 0`.
    public var mrr: Double { mean(reciprocalRankSum) }
    /// AUC = (1/N) Σ (#below + 0.5 #tied) / n, a case with no negatives counting as 1; NaN when `count == 0`.
    public var auc: Double { mean(aucSum) }

    /// Adds every case of `other`, as if they had been added to `self`; both must have the same `k`.
    /// - Complexity: O(1).
    public mutating func merge(_ other: RankingMetrics) {
        precondition(other.k == k, "RankingMetrics.merge: k differs (\(k) vs \(other.k))")
        count += other.count
        hitSum += other.hitSum
        ndcgSum += other.ndcgSum
        reciprocalRankSum += other.reciprocalRankSum
        aucSum += other.aucSum
    }

    /// The metrics under their printed names, in print order: `HR@K`, `NDCG@K`, `MRR`, `AUC`.
    public var named: [(name: String, value: Double)] {
        [(Measure.hitRate(k: k).label, hitRate), (Measure.ndcg(k: k).label, ndcg), (Measure.mrr.label, mrr), (Measure.auc.label, auc)]
    }

    private func mean(_ sum: Double) -> Double { count == 0 ? .nan : sum / Double(count) }
}

// MARK: - Regression

/// Error metrics for rating prediction, accumulated in Double.
///
/// Over `N` (prediction p, target y) pairs:
///
///     MSE  = (1/N) Σ (p - y)²
///     RMSE = sqrt(MSE)
///     MAE  = (1/N) Σ |p - y|
///
/// A NaN or infinite prediction makes every metric NaN or infinite, so a diverged model cannot look
/// good. Every metric is NaN when `count == 0`.
public struct RegressionMetrics: Sendable, Equatable {
    /// Number of pairs added.
    public private(set) var count: Int = 0
    private var squaredErrorSum: Double = 0
    private var absoluteErrorSum: Double = 0

    /// An empty accumulator.
    public init() {}

    /// Adds one (prediction, target) pair. - Complexity: O(1).
    public mutating func add(prediction: Float, target: Float) {
        let e = Double(prediction) - Double(target)
        count += 1
        squaredErrorSum += e * e
        absoluteErrorSum += abs(e)
    }

    /// MSE = (1/N) Σ (p - y)²; NaN when `count == 0`.
    public var mse: Double { count == 0 ? .nan : squaredErrorSum / Double(count) }
    /// RMSE = sqrt(MSE); NaN when `count == 0`.
    public var rmse: Double { mse.squareRoot() }
    /// MAE = (1/N) Σ |p - y|; NaN when `count == 0`.
    public var mae: Double { count == 0 ? .nan : absoluteErrorSum / Double(count) }

    /// Adds every pair of `other`, as if they had been added to `self`. - Complexity: O(1).
    public mutating func merge(_ other: RegressionMetrics) {
        count += other.count
        squaredErrorSum += other.squaredErrorSum
        absoluteErrorSum += other.absoluteErrorSum
    }

    /// The metrics under their printed names, in print order: `RMSE`, `MAE`.
    public var named: [(name: String, value: Double)] { [(Measure.rmse.label, rmse), (Measure.mae.label, mae)] }
}
