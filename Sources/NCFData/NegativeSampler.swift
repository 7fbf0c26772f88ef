import NCFKernels

// MARK: - Per-epoch training pairs

/// Builds one shuffled training epoch at a time: the rating task's ratings, or the implicit task's
/// positives with freshly drawn negatives.
///
/// Implicit task: every train positive `(u, i)` gives the pair `(u, i, 1)` and `negatives` pairs
/// `(u, j, 0)`, `j` uniform over the items not among `u`'s train items, redrawn every epoch
/// (rejection sampling). Membership is a bitset over users × items (one row of
/// `⌈numItems/64⌉` words per user) when that needs at most 2²⁸ bits (32 MiB), else a binary search in
/// `Dataset.trainItems`. A user who has interacted with every item gets no negatives (no endless loop).
///
/// The same generator state gives the same epoch, bit for bit.
public struct NegativeSampler: Sendable {
    /// The largest users × items bitset used for membership, in bits (2²⁸ bits = 32 MiB; ML-1M
    /// needs 2.8 MiB). Larger catalogues fall back to binary search, trading speed for memory.
    public static let bitsetLimit = 1 << 28

    public let task: Task
    /// Negatives per positive (implicit task; ignored for ratings).
    public let negatives: Int
    public let numItems: Int
    /// Pairs per epoch (constant for a dataset and `negatives`).
    public let epochSize: Int

    private let users: [Int32]
    private let items: [Int32]
    private let ratings: [Float]
    private let trainItems: UserItems
    /// Row-major users × `wordsPerUser` bits; empty when over `bitsetLimit`.
    private let bits: [UInt64]
    private let wordsPerUser: Int
    /// Users who have interacted with every item: no negatives for them.
    private let isFull: [Bool]

    /// - Parameters:
    ///   - negatives: negatives per positive (implicit task; ignored for ratings).
    ///   - bitsetLimit: the largest membership bitset to build, in bits; above it membership is a
    ///     binary search in `dataset.trainItems` (0 forces that path; both give identical epochs).
    /// - Precondition: `negatives >= 0` (the command line validates `--negatives`).
    /// - Complexity: O(train + numUsers · ⌈numItems/64⌉) when the bitset is used.
    public init(dataset: Dataset, negatives: Int, bitsetLimit: Int = NegativeSampler.bitsetLimit) {
        precondition(negatives >= 0, "NegativeSampler: negatives must be >= 0")
        task = dataset.task
        self.negatives = task == .implicit ? negatives : 0
        numItems = dataset.numItems
        users = dataset.train.users
        items = dataset.train.items
        ratings = dataset.train.ratings
        let numUsers = dataset.numUsers
        wordsPerUser = (numItems + 63) / 64
        let needsMembership = task == .implicit && negatives > 0
        // Only negatives need the per-user item lists (the rating task's epochs never build them).
        trainItems = needsMembership ? dataset.trainItems : UserItems(numUsers: 0, interactions: [])
        let (bitCount, overflow) = numUsers.multipliedReportingOverflow(by: wordsPerUser * 64)
        if needsMembership, !overflow, bitCount <= bitsetLimit {
            var words = [UInt64](repeating: 0, count: numUsers * wordsPerUser)
            for u in 0..<numUsers {
                for i in trainItems.items(of: Int32(u)) {
                    words[u * wordsPerUser + Int(i) >> 6] |= 1 << UInt64(Int(i) & 63)
                }
            }
            bits = words
        } else {
            bits = []
        }
        let trainItems = trainItems
        isFull = needsMembership ? (0..<numUsers).map { trainItems.count(of: Int32($0)) >= dataset.numItems } : []

        var size = users.count
        if needsMembership {
            for u in users where !isFull[Int(u)] { size += self.negatives }
        }
        epochSize = size
    }

    /// Whether the membership test uses the bitset (else binary search in `trainItems`).
    public var usesBitset: Bool { !bits.isEmpty }

    // MARK: - An epoch as an order over the train rows

    /// Whether an epoch is only the train rows in a new order (the rating task, or no negatives):
    /// then `fillOrder` and `gather` give the epoch of `fillEpoch` without a copy of the rows,
    /// 4 bytes a row instead of 12.
    public var epochIsPermutation: Bool { task == .rating || negatives == 0 }

    /// Fills `order` with the epoch's order of the train rows: entry k is the row `fillEpoch`
    /// would put at k, with the same draws from `rng` (Fisher–Yates over 0..<epochSize).
    /// - Precondition: `epochIsPermutation`.
    /// - Complexity: O(epochSize); no allocation once `order` has `epochSize` entries.
    public mutating func fillOrder(_ order: inout [UInt32], rng: inout SplitMix64) {
        precondition(epochIsPermutation, "NegativeSampler.fillOrder: the epoch has negatives; use fillEpoch")
        let n = epochSize
        if order.count != n { order = [UInt32](repeating: 0, count: n) }
        order.withUnsafeMutableBufferPointer { o in
            for k in 0..<n { o[k] = UInt32(truncatingIfNeeded: k) }
            var g = rng
            var i = n - 1
            while i > 0 {
                o.swapAt(i, g.nextInt(below: i + 1))
                i -= 1
            }
            rng = g
        }
    }

    /// The train rows the order indexes, for readers on several threads: the pointers are valid
    /// inside `body` only. `ratings` is nil for the implicit task (every target is 1).
    public func withTrainRows<R>(_ body: (_ users: UnsafePointer<Int32>, _ items: UnsafePointer<Int32>,
                                          _ ratings: UnsafePointer<Float>?) throws -> R) rethrows -> R {
        let implicit = task == .implicit
        return try users.withUnsafeBufferPointer { u in
            try items.withUnsafeBufferPointer { i in
                try ratings.withUnsafeBufferPointer { r in
                    // An empty train set has no rows to point at; the order is empty then too.
                    let none = UnsafePointer<Int32>(bitPattern: MemoryLayout<Int32>.alignment)!
                    return try body(u.baseAddress ?? none, i.baseAddress ?? none, implicit ? nil : r.baseAddress)
                }
            }
        }
    }

    /// The pairs of the rows `rows` (a slice of `fillOrder`'s order) into `pairs`, reusing its storage.
    public func gather(_ rows: ArraySlice<UInt32>, into pairs: inout LabeledPairs) {
        let b = rows.count
        if pairs.users.count != b {
            pairs = LabeledPairs(users: [Int32](repeating: 0, count: b), items: [Int32](repeating: 0, count: b),
                                 targets: [Float](repeating: 0, count: b))
        }
        withTrainRows { users, items, ratings in
            rows.withUnsafeBufferPointer { order in
            pairs.users.withUnsafeMutableBufferPointer { outU in
            pairs.items.withUnsafeMutableBufferPointer { outI in
            pairs.targets.withUnsafeMutableBufferPointer { outT in
                guard let order = order.baseAddress else { return }
                Self.gatherRows(order, count: b, users: users, items: items, ratings: ratings,
                                into: outU.baseAddress!, outI.baseAddress!, outT.baseAddress!)
            }}}}
        }
    }

    /// Rows `order[0..<count]` of the train rows at `users`, `items` and `ratings` (nil: every
    /// target is 1) into the three outputs: the one gather of `gather` and of each thread of the
    /// data-parallel trainer.
    public static func gatherRows(_ order: UnsafePointer<UInt32>, count: Int, users: UnsafePointer<Int32>,
                                  items: UnsafePointer<Int32>, ratings: UnsafePointer<Float>?,
                                  into outUsers: UnsafeMutablePointer<Int32>, _ outItems: UnsafeMutablePointer<Int32>,
                                  _ outTargets: UnsafeMutablePointer<Float>) {
        for k in 0..<count {
            let row = Int(order[k])
            outUsers[k] = users[row]
            outItems[k] = items[row]
            outTargets[k] = ratings?[row] ?? 1
        }
    }

    /// Fills `pairs` with one shuffled training epoch, reusing its storage: after the first epoch
    /// (once the arrays have `epochSize` entries and are not shared) nothing is allocated.
    ///
    /// Rating task: every train interaction with its rating. Implicit: every train positive
    /// (target 1) plus `negatives` negatives (target 0) each, drawn uniformly from the items not among
    /// the user's train items, resampled on every call. The pairs are then shuffled with `rng`
    /// (Fisher–Yates over the three arrays together).
    /// - Complexity: O(epochSize) expected; each negative needs `1 / (1 − d_u)` draws on average,
    ///   `d_u` being the fraction of all items user `u` has in train.
    public mutating func fillEpoch(_ pairs: inout LabeledPairs, rng: inout SplitMix64) {
        let n = epochSize
        if pairs.users.count != n {
            pairs = LabeledPairs(users: [Int32](repeating: 0, count: n), items: [Int32](repeating: 0, count: n),
                                 targets: [Float](repeating: 0, count: n))
        }
        let perPositive = negatives
        let implicit = task == .implicit
        let numItems = numItems
        let wordsPerUser = wordsPerUser
        let trainItems = trainItems
        users.withUnsafeBufferPointer { srcU in
        items.withUnsafeBufferPointer { srcI in
        ratings.withUnsafeBufferPointer { srcR in
        bits.withUnsafeBufferPointer { bits in
        isFull.withUnsafeBufferPointer { isFull in
        pairs.users.withUnsafeMutableBufferPointer { outU in
        pairs.items.withUnsafeMutableBufferPointer { outI in
        pairs.targets.withUnsafeMutableBufferPointer { outT in
            var g = rng
            var w = 0
            for k in 0..<srcU.count {
                let u = srcU[k]
                outU[w] = u
                outI[w] = srcI[k]
                outT[w] = implicit ? 1 : srcR[k]
                w += 1
                if perPositive == 0 || isFull[Int(u)] { continue }
                let row = Int(u) * wordsPerUser
                for _ in 0..<perPositive {
                    var j: Int
                    if bits.isEmpty {
                        repeat { j = g.nextInt(below: numItems) } while trainItems.contains(user: u, item: Int32(j))
                    } else {
                        repeat {
                            j = g.nextInt(below: numItems)
                        } while bits[row + j >> 6] & (1 << UInt64(j & 63)) != 0
                    }
                    outU[w] = u
                    outI[w] = Int32(j)
                    outT[w] = 0
                    w += 1
                }
            }
            precondition(w == n, "NegativeSampler: epoch size changed")
            // Fisher–Yates over the three arrays together.
            var i = n - 1
            while i > 0 {
                let j = g.nextInt(below: i + 1)
                outU.swapAt(i, j)
                outI.swapAt(i, j)
                outT.swapAt(i, j)
                i -= 1
            }
            rng = g
        }}}}}}}}
    }
}

// MARK: - Fixed evaluation and loss negatives

/// Draws distinct negatives a user never interacted with (in any split), for the fixed
/// evaluation candidates and loss pairs of valid/test.
///
/// When unseen items are plentiful (at least twice the request and half the catalogue) it uses
/// rejection sampling; otherwise it lists the user's unseen items and takes a partial
/// Fisher–Yates sample, so a nearly complete user never loops for long.
struct FixedNegatives {
    /// The largest users × items bitset built for membership, in bits (2²⁸ bits = 32 MiB).
    static let bitsetLimit = 1 << 28

    let known: UserItems
    let numItems: Int
    /// `chosen[i] == stamp` marks item `i` as already drawn for the current case.
    private var chosen: [Int]
    private var stamp = 0
    private var scratch: [Int32] = []
    /// Row-major users × `wordsPerUser` bits of `known`; empty when over `bitsetLimit`.
    private let bits: [UInt64]
    private let wordsPerUser: Int

    init(known: UserItems, numItems: Int) {
        self.known = known
        self.numItems = numItems
        chosen = [Int](repeating: -1, count: numItems)
        wordsPerUser = (numItems + 63) / 64
        let (bitCount, overflow) = known.numUsers.multipliedReportingOverflow(by: wordsPerUser * 64)
        if !overflow, bitCount <= Self.bitsetLimit {
            var words = [UInt64](repeating: 0, count: known.numUsers * wordsPerUser)
            for u in 0..<known.numUsers {
                for i in known.items(of: Int32(u)) { words[u * wordsPerUser + Int(i) >> 6] |= 1 << UInt64(Int(i) & 63) }
            }
            bits = words
        } else {
            bits = []
        }
    }

    /// Whether `user` interacted with `item` in any split.
    @inline(__always)
    private func isKnown(user: Int32, item: Int) -> Bool {
        if bits.isEmpty { return known.contains(user: user, item: Int32(item)) }
        return bits[Int(user) * wordsPerUser + item >> 6] & (1 << UInt64(item & 63)) != 0
    }

    /// Appends up to `count` distinct items unseen by `user` to `out`, in draw order.
    /// - Returns: how many were appended (`min(count, unseen items)`).
    /// - Complexity: O(count · log n_u) expected on the rejection path, O(numItems) otherwise.
    mutating func draw(user: Int32, count: Int, rng: inout SplitMix64, into out: inout [Int32]) -> Int {
        let available = numItems - known.count(of: user)
        if count <= 0 || available <= 0 { return 0 }
        if available <= count {
            appendUnseen(user: user, into: &out)
            return available
        }
        if available >= 2 * count, 2 * available >= numItems {
            stamp += 1
            var got = 0
            while got < count {
                let j = rng.nextInt(below: numItems)
                if chosen[j] == stamp || isKnown(user: user, item: j) { continue }
                chosen[j] = stamp
                out.append(Int32(j))
                got += 1
            }
            return count
        }
        scratch.removeAll(keepingCapacity: true)
        appendUnseen(user: user, into: &scratch)
        for k in 0..<count {
            let j = k + rng.nextInt(below: available - k)
            scratch.swapAt(k, j)
            out.append(scratch[k])
        }
        return count
    }

    /// Appends every item not among `user`'s known items, ascending.
    private func appendUnseen(user: Int32, into out: inout [Int32]) {
        let row = known.items(of: user)
        var r = row.startIndex
        for i in 0..<Int32(numItems) {
            if r < row.endIndex, row[r] == i {
                r += 1
            } else {
                out.append(i)
            }
        }
    }
}
