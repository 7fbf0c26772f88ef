import NCFData
import NCFModel

/// Computes held-out metrics for a model on one split (valid or test).
///
/// Built once per split: the candidate pairs of the sampled protocol are flattened up front, so an
/// evaluation is a few large `predict` calls and a pass over the scores.
///
/// Metrics, with `P` = `Valid` or `Test`:
/// - rating task: `P Loss` = `P RMSE` = √(mean (ŷ − r)²), `P MAE` = mean |ŷ − r|;
/// - implicit task: `P Loss` = mean binary cross-entropy over the split's held-out positives and
///   their fixed loss negatives; `P HR@K`, `P NDCG@K`, `P MRR`, `P AUC` over the ranking cases
///   (see `RankingMetrics`), against sampled negatives or every item not in the user's train set.
public final class Evaluator {
    public let prefix: String
    public let k: Int
    private let task: Task
    private let pairs: LabeledPairs
    private let ranking: RankingSet?
    private let trainItems: UserItems
    private let numItems: Int
    // Flattened candidates of the sampled protocol: for case c, [positive, negatives...].
    private var candUsers: [Int32] = []
    private var candItems: [Int32] = []
    private var candOffsets: [Int] = []
    private var scores: [Float] = []

    public init(prefix: String, pairs: LabeledPairs, ranking: RankingSet?, dataset: Dataset, k: Int) {
        self.prefix = prefix
        self.k = k
        self.task = dataset.task
        self.pairs = pairs
        self.ranking = ranking
        self.trainItems = dataset.trainItems
        self.numItems = dataset.numItems
        if let ranking, ranking.evalNegatives != .all {
            candOffsets.reserveCapacity(ranking.count + 1)
            candOffsets.append(0)
            for c in 0..<ranking.count {
                let negs = ranking.negatives[ranking.negativeOffsets[c]..<ranking.negativeOffsets[c + 1]]
                candUsers.append(contentsOf: repeatElement(ranking.users[c], count: negs.count + 1))
                candItems.append(ranking.positives[c])
                candItems.append(contentsOf: negs)
                candOffsets.append(candItems.count)
            }
        }
        scores = [Float](repeating: 0, count: max(pairs.count, candItems.count, ranking == nil ? 0 : numItems))
    }

    /// Whether there is anything to evaluate.
    public var isEmpty: Bool { pairs.count == 0 && (ranking?.count ?? 0) == 0 }

    /// Evaluates `model` (dropout off) and returns the metrics in display order.
    public func evaluate(_ model: NeuMF) -> [MetricValue] {
        var out: [MetricValue] = []
        let implicit = task == .implicit
        // Loss over labelled pairs.
        if pairs.count > 0 {
            score(model, pairs.users, pairs.items)
            var reg = RegressionMetrics()
            var logLoss = 0.0
            for j in 0..<pairs.count {
                if implicit {
                    logLoss += pointLoss(prediction: scores[j], target: pairs.targets[j], implicit: true)
                } else {
                    reg.add(prediction: scores[j], target: pairs.targets[j])
                }
            }
            if implicit {
                out.append(MetricValue("\(prefix) Loss", logLoss / Double(pairs.count)))
            } else {
                out.append(MetricValue("\(prefix) Loss", reg.rmse))
                out.append(MetricValue("\(prefix) RMSE", reg.rmse))
                out.append(MetricValue("\(prefix) MAE", reg.mae))
            }
        }
        if let ranking, ranking.count > 0 {
            let r = ranking.evalNegatives == .all ? rankAll(model, ranking) : rankSampled(model, ranking)
            out.append(MetricValue("\(prefix) HR@\(k)", r.hitRate))
            out.append(MetricValue("\(prefix) NDCG@\(k)", r.ndcg))
            out.append(MetricValue("\(prefix) MRR", r.mrr))
            out.append(MetricValue("\(prefix) AUC", r.auc))
        }
        return out
    }

    private func score(_ model: NeuMF, _ users: [Int32], _ items: [Int32]) {
        users.withUnsafeBufferPointer { u in
            items.withUnsafeBufferPointer { i in
                scores.withUnsafeMutableBufferPointer { s in
                    model.predict(users: u.baseAddress!, items: i.baseAddress!, count: u.count, into: s.baseAddress!)
                }
            }
        }
    }

    private func rankSampled(_ model: NeuMF, _ ranking: RankingSet) -> RankingMetrics {
        score(model, candUsers, candItems)
        var metrics = RankingMetrics(k: k)
        scores.withUnsafeBufferPointer { s in
            for c in 0..<ranking.count {
                let start = candOffsets[c], end = candOffsets[c + 1]
                metrics.add(positive: s[start], negatives: UnsafeBufferPointer(rebasing: s[(start + 1)..<end]))
            }
        }
        return metrics
    }

    /// Full ranking: the positive against every item the user has not interacted with in train.
    /// - Complexity: one forward over all items per case.
    private func rankAll(_ model: NeuMF, _ ranking: RankingSet) -> RankingMetrics {
        var metrics = RankingMetrics(k: k)
        let allItems = (0..<Int32(numItems)).map { $0 }
        var users = [Int32](repeating: 0, count: numItems)
        for c in 0..<ranking.count {
            let u = ranking.users[c], pos = Int(ranking.positives[c])
            for j in 0..<numItems { users[j] = u }
            score(model, users, allItems)
            let seen = trainItems.items(of: u)
            var greater = 0, ties = 0, negatives = 0
            var next = seen.startIndex
            let sp = scores[pos]
            for j in 0..<numItems {
                while next < seen.endIndex && Int(seen[next]) < j { next += 1 }
                if next < seen.endIndex && Int(seen[next]) == j { continue }
                if j == pos { continue }
                negatives += 1
                let s = scores[j]
                if sp.isNaN || s.isNaN || s > sp { greater += 1 } else if s == sp { ties += 1 }
            }
            metrics.add(greater: greater, ties: ties, negativeCount: negatives)
        }
        return metrics
    }
}
