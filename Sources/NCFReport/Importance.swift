import Foundation
import NCFSweep
import NCFKernels

// Which parameters matter: a random forest fitted to the runs (parameters → metric rank) and the
// permutation importance of each parameter on the trees' out-of-bag runs; and each parameter's
// Spearman rank correlation with the metric. Both are functions of the stored runs and a seed.

/// Parameter importance and rank correlation over a sweep's runs.
public enum ParameterImportance {
    /// How the forest is grown. The defaults suit 10 to 2,000 runs (well under 0.1 s in release).
    public struct Options: Sendable, Equatable {
        public var trees: Int
        /// A node with fewer than `2 · minLeaf` runs is a leaf.
        public var minLeaf: Int
        public var maxDepth: Int
        /// Runs drawn (with replacement) for each tree: min(n, this).
        public var maxSamples: Int
        /// Fraction of the parameters tried at each split (at least one).
        public var featureFraction: Double
        public var seed: UInt64

        public init(trees: Int = 64, minLeaf: Int = 2, maxDepth: Int = 10, maxSamples: Int = 1024,
                    featureFraction: Double = 0.6, seed: UInt64 = 0) {
            self.trees = trees
            self.minLeaf = minLeaf
            self.maxDepth = maxDepth
            self.maxSamples = maxSamples
            self.featureFraction = featureFraction
            self.seed = seed
        }
    }

    /// The share of the forest's out-of-bag error each feature accounts for, summing to 1 (all 0
    /// when no feature helps, or with fewer than 4 runs).
    ///
    /// Random forest permutation importance: each tree is fitted to a bootstrap sample of the runs;
    /// on the runs the sample left out (out of bag), feature j's values are shuffled among
    /// themselves and the rise of the tree's squared error is
    /// `Δⱼ = MSE(shuffled j) − MSE(intact)`. Importance is `max(0, mean over trees Δⱼ)`,
    /// normalised to sum to 1. Unlike a variance decomposition of one model it needs no grid, and
    /// it ranks a parameter that only matters together with another one as mattering.
    ///
    /// - Parameters:
    ///   - features: `features[j][i]` is feature j of run i (all columns the same length, finite).
    ///   - target: the value to explain for each run (the report uses the metric's rank in 0…1,
    ///     so a few diverged runs do not dominate).
    /// - Complexity: O(trees · (m log m · d · depth + oob · d · depth)) with m = min(n, maxSamples).
    public static func permutation(features: [[Double]], target: [Double], options: Options = Options()) -> [Double] {
        let d = features.count
        let n = target.count
        precondition(features.allSatisfy { $0.count == n }, "every feature column has one value per run")
        guard d > 0 else { return [] }
        guard n >= 4 else { return Array(repeating: 0, count: d) }
        var rng = SplitMix64(seed: options.seed, stream: 0x1A7E)
        var rise = [Double](repeating: 0, count: d)
        var treesUsed = 0
        let m = min(n, options.maxSamples)
        let tries = max(1, Int((Double(d) * options.featureFraction).rounded(.up)))
        for _ in 0..<max(1, options.trees) {
            var inBag = [Bool](repeating: false, count: n)
            var sample: [Int] = []
            sample.reserveCapacity(m)
            for _ in 0..<m {
                let i = rng.nextInt(below: n)
                sample.append(i)
                inBag[i] = true
            }
            var oob = (0..<n).filter { !inBag[$0] }
            if oob.count < 2 { continue }
            if oob.count > 512 {
                rng.shuffle(&oob)
                oob = Array(oob.prefix(512))
            }
            let tree = RegressionTree(features: features, target: target, sample: sample, tries: tries,
                                      minLeaf: options.minLeaf, maxDepth: options.maxDepth, rng: &rng)
            var row = [Double](repeating: 0, count: d)
            func error(_ permuted: Int?, _ order: [Int]) -> Double {
                var total = 0.0
                for (k, i) in oob.enumerated() {
                    for j in 0..<d { row[j] = features[j][i] }
                    if let p = permuted { row[p] = features[p][order[k]] }
                    let e = tree.predict(row) - target[i]
                    total += e * e
                }
                return total / Double(oob.count)
            }
            let base = error(nil, oob)
            for j in 0..<d {
                var order = oob
                rng.shuffle(&order)
                rise[j] += error(j, order) - base
            }
            treesUsed += 1
        }
        guard treesUsed > 0 else { return Array(repeating: 0, count: d) }
        let positive = rise.map { max(0, $0 / Double(treesUsed)) }
        let total = positive.reduce(0, +)
        return total > 0 ? positive.map { $0 / total } : positive
    }

    /// Spearman's rank correlation ρ of `x` and `y` (ties get their average rank): the Pearson
    /// correlation of the ranks, in −1…1. nil with fewer than 3 pairs or when either side is constant.
    /// - Complexity: O(n log n).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "one y per x")
        guard x.count >= 3 else { return nil }
        let rx = ranks(x), ry = ranks(y)
        let n = Double(x.count)
        let mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in rx.indices {
            let a = rx[i] - mx, b = ry[i] - my
            sxy += a * b
            sxx += a * a
            syy += b * b
        }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    /// 1-based ranks of `values`, ties sharing their average rank.
    /// - Complexity: O(n log n).
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var out = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { out[order[k]] = rank }
            i = j + 1
        }
        return out
    }
}

// MARK: - One regression tree

/// A CART regression tree (squared error) on a bootstrap sample, trying a random subset of the
/// features at each split, nodes kept in flat arrays.
struct RegressionTree {
    /// Per node: the split feature (−1 for a leaf), its threshold, children, and the leaf value.
    private var feature: [Int] = []
    private var threshold: [Double] = []
    private var left: [Int] = []
    private var right: [Int] = []
    private var value: [Double] = []

    init(features: [[Double]], target: [Double], sample: [Int], tries: Int, minLeaf: Int, maxDepth: Int,
         rng: inout SplitMix64) {
        _ = grow(sample, depth: 0, features: features, target: target, tries: tries,
                 minLeaf: max(1, minLeaf), maxDepth: maxDepth, rng: &rng)
    }

    /// The tree's prediction for one row of features.
    func predict(_ row: [Double]) -> Double {
        var node = 0
        while feature[node] >= 0 {
            node = row[feature[node]] <= threshold[node] ? left[node] : right[node]
        }
        return value[node]
    }

    private mutating func newNode(_ v: Double) -> Int {
        feature.append(-1)
        threshold.append(0)
        left.append(-1)
        right.append(-1)
        value.append(v)
        return feature.count - 1
    }

    /// Grows the subtree of `rows` and returns its node index.
    private mutating func grow(_ rows: [Int], depth: Int, features: [[Double]], target: [Double], tries: Int,
                               minLeaf: Int, maxDepth: Int, rng: inout SplitMix64) -> Int {
        var sum = 0.0, sumSq = 0.0
        for i in rows {
            sum += target[i]
            sumSq += target[i] * target[i]
        }
        let count = Double(rows.count)
        let node = newNode(sum / count)
        let sse = sumSq - sum * sum / count
        guard depth < maxDepth, rows.count >= 2 * minLeaf, sse > 1e-12 else { return node }

        var candidates = Array(features.indices)
        rng.shuffle(&candidates)
        var best: (gain: Double, feature: Int, threshold: Double)?
        for j in candidates.prefix(tries) {
            let column = features[j]
            let sorted = rows.sorted { column[$0] < column[$1] }
            var leftSum = 0.0, leftSq = 0.0
            for k in 0..<(sorted.count - 1) {
                let y = target[sorted[k]]
                leftSum += y
                leftSq += y * y
                let nl = k + 1, nr = sorted.count - nl
                guard nl >= minLeaf, nr >= minLeaf else { continue }
                let a = column[sorted[k]], b = column[sorted[k + 1]]
                guard a < b else { continue }
                let rightSum = sum - leftSum, rightSq = sumSq - leftSq
                let childSSE = (leftSq - leftSum * leftSum / Double(nl)) + (rightSq - rightSum * rightSum / Double(nr))
                let gain = sse - childSSE
                if gain > (best?.gain ?? 1e-12) { best = (gain, j, (a + b) / 2) }
            }
        }
        guard let best else { return node }
        let column = features[best.feature]
        let l = rows.filter { column[$0] <= best.threshold }
        let r = rows.filter { column[$0] > best.threshold }
        let ln = grow(l, depth: depth + 1, features: features, target: target, tries: tries, minLeaf: minLeaf,
                      maxDepth: maxDepth, rng: &rng)
        let rn = grow(r, depth: depth + 1, features: features, target: target, tries: tries, minLeaf: minLeaf,
                      maxDepth: maxDepth, rng: &rng)
        feature[node] = best.feature
        threshold[node] = best.threshold
        left[node] = ln
        right[node] = rn
        return node
    }
}
