import Dispatch
import NCFData
import NCFKernels
import NCFModel
import NCFRunContract

/// Computes held-out metrics for a model on one split (valid or test).
///
/// Scoring goes through a `BatchScorer`: the sampled protocol's candidates are assembled a block of
/// cases at a time (about `tileRows` pairs) and scored in one call; full ranking scores
/// `caseBlock` users against every item per call. Nothing proportional to the whole candidate list
/// is held between evaluations.
///
/// Metrics (names from `MetricCatalog`), with `P` = `Valid` or `Test`:
/// - rating task: `P Loss` = `P RMSE` = √(mean (ŷ − r)²), `P MAE` = mean |ŷ − r|;
/// - implicit task: `P Loss` = mean binary cross-entropy over the split's held-out positives and
///   their fixed loss negatives; `P HR@K`, `P NDCG@K`, `P MRR`, `P AUC` over the ranking cases
///   (see `RankingMetrics`), against sampled negatives or every item not in the user's train set.
public final class Evaluator {
    /// Which split's metrics this evaluator names (`Valid` or `Test`).
    public let split: MetricSplit
    public let k: Int
    private let task: Task
    private let pairs: LabeledPairs
    private let ranking: RankingSet?
    /// The users' train items, fetched on the first full ranking (the dataset builds them on first
    /// use; other protocols never need them).
    private lazy var trainItems: UserItems = fetchTrainItems()
    private let fetchTrainItems: () -> UserItems
    private let numItems: Int
    /// Scores of the labelled pairs, then reused as the block buffer of the ranking protocols.
    private var scores: [Float] = []
    /// A block of assembled sampled candidates: for each case, [positive, negatives...].
    private var blockUsers: [Int32] = []
    private var blockItems: [Int32] = []
    /// The fast path's scorers, kept between evaluations of the same model until
    /// `releaseScorers()` (the trainer releases them after each validation), and shareable
    /// between evaluators (`shareScorers(with:)`).
    private var cache = ScorerCache()
    /// Pairs per tile of the scorer's gemms (see `BatchScorer`).
    public var tileRows = BatchScorer.defaultTileRows
    /// Threads for full ranking: contiguous ranges of cases run in parallel, each thread with its own
    /// scorer workspace and one-thread BLAS, and their metrics merge in order (so a given thread count
    /// always gives the same figures; different counts differ only in the last bits of the sums).
    public var threads = 1

    public init(split: MetricSplit, pairs: LabeledPairs, ranking: RankingSet?, dataset: Dataset, k: Int) {
        self.split = split
        self.k = k
        self.task = dataset.task
        self.pairs = pairs
        self.ranking = ranking
        fetchTrainItems = { dataset.trainItems }
        self.numItems = dataset.numItems
        var rows = pairs.count
        if let ranking, ranking.count > 0 {
            if ranking.evalNegatives == .all {
                rows = max(rows, Self.caseBlock * numItems)
            } else {
                var widest = 0
                for c in 0..<ranking.count { widest = max(widest, ranking.negativeOffsets[c + 1] - ranking.negativeOffsets[c]) }
                let block = max(tileRows, widest + 1)
                rows = max(rows, block)
                blockUsers = [Int32](repeating: 0, count: block)
                blockItems = [Int32](repeating: 0, count: block)
            }
        }
        scores = [Float](repeating: 0, count: rows)
    }

    /// Lets this evaluator use `other`'s scorers (and their precomputed halves and workspaces)
    /// instead of its own: the trainer's valid and test evaluators score the same model, never at
    /// the same time.
    public func shareScorers(with other: Evaluator) { cache = other.cache }

    /// Frees the scorers' precomputed tables and workspaces (shared ones too); the next
    /// `evaluate` makes them anew. The trainer calls it after each validation, so that the
    /// scorer (60 MB at 20M ratings) and the next epoch's order or pairs never take memory at the
    /// same time; the tables are recomputed for every evaluation anyway.
    public func releaseScorers() { cache.release() }

    /// Whether there is anything to evaluate.
    public var isEmpty: Bool { pairs.count == 0 && (ranking?.count ?? 0) == 0 }

    /// Evaluates `model` (dropout off) and returns the metrics in display order.
    ///
    /// Scores come from a `BatchScorer` (first layer split into user and item halves, the rest as
    /// gemms over tiles; full ranking scores blocks of users against every item). The figures equal
    /// `evaluateReference` up to float rounding in the scores.
    public func evaluate(_ model: NeuMF) -> [MetricValue] {
        let scorer = cache.scorer(for: model, tileRows: tileRows)
        scorer.refresh()
        return metrics(model, scorer)
    }

    /// The same metrics through the plain per-pair path: every score from `NeuMF.predict` (the
    /// model's own forward pass), full ranking one forward over all items per case. Slow; the
    /// oracle for `evaluate` in the tests.
    public func evaluateReference(_ model: NeuMF) -> [MetricValue] {
        metrics(model, nil)
    }

    private func metrics(_ model: NeuMF, _ scorer: BatchScorer?) -> [MetricValue] {
        var out: [MetricValue] = []
        let implicit = task == .implicit
        // Loss over labelled pairs.
        if pairs.count > 0 {
            score(model, scorer, pairs.users, pairs.items)
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
                out.append(MetricValue(MetricName(split, .loss), logLoss / Double(pairs.count)))
            } else {
                out.append(MetricValue(MetricName(split, .loss), reg.rmse))
                out.append(MetricValue(MetricName(split, .rmse), reg.rmse))
                out.append(MetricValue(MetricName(split, .mae), reg.mae))
            }
        }
        if let ranking, ranking.count > 0 {
            let r: RankingMetrics
            if ranking.evalNegatives == .all {
                r = scorer.map { rankAll($0, ranking) } ?? rankAllReference(model, ranking)
            } else {
                r = rankSampled(model, scorer, ranking)
            }
            out.append(MetricValue(MetricName(split, .hitRate(k: k)), r.hitRate))
            out.append(MetricValue(MetricName(split, .ndcg(k: k)), r.ndcg))
            out.append(MetricValue(MetricName(split, .mrr), r.mrr))
            out.append(MetricValue(MetricName(split, .auc), r.auc))
        }
        return out
    }

    private func score(_ model: NeuMF, _ scorer: BatchScorer?, _ users: [Int32], _ items: [Int32]) {
        users.withUnsafeBufferPointer { u in
            items.withUnsafeBufferPointer { i in
                scores.withUnsafeMutableBufferPointer { s in
                    if let scorer {
                        scorer.score(users: u.baseAddress!, items: i.baseAddress!, count: u.count, into: s.baseAddress!)
                    } else {
                        model.predict(users: u.baseAddress!, items: i.baseAddress!, count: u.count, into: s.baseAddress!)
                    }
                }
            }
        }
    }

    /// The sampled protocol, a block of cases at a time: each case's [positive, negatives...] are
    /// written side by side into the block buffers and scored in one call.
    private func rankSampled(_ model: NeuMF, _ scorer: BatchScorer?, _ ranking: RankingSet) -> RankingMetrics {
        var metrics = RankingMetrics(k: k)
        let capacity = blockItems.count
        blockUsers.withUnsafeMutableBufferPointer { bu in
        blockItems.withUnsafeMutableBufferPointer { bi in
        scores.withUnsafeMutableBufferPointer { s in
        ranking.negatives.withUnsafeBufferPointer { negatives in
            var c0 = 0
            while c0 < ranking.count {
                // Fill the block with whole cases.
                var n = 0, c1 = c0
                while c1 < ranking.count {
                    let lo = ranking.negativeOffsets[c1], hi = ranking.negativeOffsets[c1 + 1]
                    if n + hi - lo + 1 > capacity { break }
                    bu[n] = ranking.users[c1]
                    bi[n] = ranking.positives[c1]
                    for j in lo..<hi {
                        bu[n + 1 + j - lo] = ranking.users[c1]
                        bi[n + 1 + j - lo] = negatives[j]
                    }
                    n += hi - lo + 1
                    c1 += 1
                }
                if let scorer {
                    scorer.score(users: bu.baseAddress!, items: bi.baseAddress!, count: n, into: s.baseAddress!)
                } else {
                    model.predict(users: bu.baseAddress!, items: bi.baseAddress!, count: n, into: s.baseAddress!)
                }
                var start = 0
                for c in c0..<c1 {
                    let width = ranking.negativeOffsets[c + 1] - ranking.negativeOffsets[c]
                    metrics.add(positive: s[start], negatives: UnsafeBufferPointer(start: s.baseAddress! + start + 1, count: width))
                    start += width + 1
                }
                c0 = c1
            }
        }}}}
        return metrics
    }

    /// Full ranking: each case's positive against every item the user has not interacted with in
    /// train, scored `Self.caseBlock` cases at a time through `BatchScorer.scoreAllItems`, on
    /// `threads` threads.
    /// - Complexity: cases × items pairs through the scorer, plus O(items + train items of the user)
    ///   per case to count.
    private func rankAll(_ scorer: BatchScorer, _ ranking: RankingSet) -> RankingMetrics {
        let parts = max(1, min(threads, ranking.count / Self.caseBlock))
        let seen = trainItems
        if parts == 1 {
            return scores.withUnsafeMutableBufferPointer {
                Self.rankAll(scorer, ranking, cases: 0..<ranking.count, seen: seen, k: k, buffer: $0.baseAddress!)
            }
        }
        let workers = cache.workers(sharing: scorer, count: parts - 1)
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        let rowsPerPart = Self.caseBlock * numItems
        let job = ParallelRanking(
            scorers: [scorer] + workers, ranking: ranking, seen: seen, k: k, parts: parts,
            buffer: .allocate(capacity: parts * rowsPerPart), rowsPerPart: rowsPerPart,
            results: .allocate(capacity: parts))
        defer {
            job.buffer.deallocate()
            job.results.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: parts) { p in job.run(part: p) }
        var metrics = RankingMetrics(k: k)
        for r in job.results { metrics.merge(r) }
        return metrics
    }

    /// Full ranking of `cases` with one scorer, using `buffer` (`caseBlock` × items floats).
    fileprivate static func rankAll(
        _ scorer: BatchScorer, _ ranking: RankingSet, cases: Range<Int>, seen trainItems: UserItems, k: Int,
        buffer: UnsafeMutablePointer<Float>
    ) -> RankingMetrics {
        var metrics = RankingMetrics(k: k)
        let N = scorer.model.config.numItems
        ranking.users.withUnsafeBufferPointer { users in
            var c0 = cases.lowerBound
            while c0 < cases.upperBound {
                let n = min(caseBlock, cases.upperBound - c0)
                scorer.scoreAllItems(users: users.baseAddress! + c0, count: n, into: buffer)
                for c in c0..<(c0 + n) {
                    let row = UnsafeBufferPointer(start: buffer + (c - c0) * N, count: N)
                    let (greater, ties, negatives) = countAbove(
                        row, positive: Int(ranking.positives[c]), seen: trainItems.items(of: ranking.users[c]))
                    metrics.add(greater: greater, ties: ties, negativeCount: negatives)
                }
                c0 += n
            }
        }
        return metrics
    }

    /// Cases scored together in full ranking (`caseBlock` × items floats of scores).
    static let caseBlock = 16

    /// Counts, among the items of `row` that are neither `positive` nor in `seen` (sorted, unique),
    /// those scoring above the positive (NaN counts as above; a NaN positive has every item above)
    /// and those tying it. Counts over the whole row in one branch-free pass, then takes the
    /// excluded items back out.
    /// - Complexity: O(items + seen).
    static func countAbove(_ row: UnsafeBufferPointer<Float>, positive pos: Int, seen: ArraySlice<Int32>)
        -> (greater: Int, ties: Int, negatives: Int)
    {
        let sp = row[pos]
        var excluded = seen.count
        if !seen.contains(Int32(pos)) { excluded += 1 }
        let negatives = row.count - excluded
        if sp.isNaN { return (negatives, 0, negatives) }
        @inline(__always) func above(_ s: Float) -> Int { s > sp || s.isNaN ? 1 : 0 }
        var greater = 0, ties = 0
        for s in row {
            greater &+= above(s)
            ties &+= s == sp ? 1 : 0
        }
        // The positive ties itself; seen items are not candidates.
        ties -= 1
        for j in seen where Int(j) != pos {
            greater -= above(row[Int(j)])
            ties -= row[Int(j)] == sp ? 1 : 0
        }
        return (greater, ties, negatives)
    }

    /// Full ranking the plain way: one `NeuMF.predict` over all items per case, then a merge walk
    /// past the user's train items.
    /// - Complexity: one forward over all items per case.
    private func rankAllReference(_ model: NeuMF, _ ranking: RankingSet) -> RankingMetrics {
        var metrics = RankingMetrics(k: k)
        let allItems = (0..<Int32(numItems)).map { $0 }
        var users = [Int32](repeating: 0, count: numItems)
        for c in 0..<ranking.count {
            let u = ranking.users[c], pos = Int(ranking.positives[c])
            for j in 0..<numItems { users[j] = u }
            score(model, nil, users, allItems)
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

/// One full-ranking evaluation split into `parts` contiguous ranges of cases, one per thread. Each
/// part writes only its own slice of `buffer` and its own `results` slot, and uses its own scorer
/// (shared precomputed halves, private workspace), so the parts never touch the same memory.
private struct ParallelRanking: @unchecked Sendable {
    let scorers: [BatchScorer]
    let ranking: RankingSet
    let seen: UserItems
    let k: Int
    let parts: Int
    let buffer: UnsafeMutablePointer<Float>
    let rowsPerPart: Int
    let results: UnsafeMutableBufferPointer<RankingMetrics>

    func run(part p: Int) {
        let per = (ranking.count + parts - 1) / parts
        let cases = min(ranking.count, p * per)..<min(ranking.count, (p + 1) * per)
        let metrics = Evaluator.rankAll(scorers[p], ranking, cases: cases, seen: seen, k: k,
                                        buffer: buffer + p * rowsPerPart)
        (results.baseAddress! + p).initialize(to: metrics)
    }
}

/// The scorers an evaluator uses, as a reference so that two evaluators can share them.
private final class ScorerCache {
    private var primary: BatchScorer?
    private var extra: [BatchScorer] = []

    /// The primary scorer for `model`, made anew when the model or the tile size changed.
    func scorer(for model: NeuMF, tileRows: Int) -> BatchScorer {
        if let s = primary, s.model === model, s.tileRows == tileRows { return s }
        let s = BatchScorer(model: model, tileRows: tileRows)
        primary = s
        extra = []
        return s
    }

    func release() {
        primary = nil
        extra = []
    }

    /// `count` further scorers sharing `primary`'s halves, one per extra thread.
    func workers(sharing primary: BatchScorer, count: Int) -> [BatchScorer] {
        if extra.count < count { extra += (extra.count..<count).map { _ in BatchScorer(sharing: primary) } }
        return Array(extra.prefix(count))
    }
}
