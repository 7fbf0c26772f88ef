import NCFKernels

// MARK: - Options

/// How interactions are divided into train, valid and test.
///
/// The sweep optimises on valid; test is only for reporting.
public enum SplitKind: String, Sendable, Codable, CaseIterable {
    /// A seeded shuffle of all interactions: the first `validRatio` go to valid, the next
    /// `testRatio` to test, the rest to train (the rating task's default, 80/10/10).
    case random
    /// Leave-one-out by time: per user, the latest interaction is test and the one before is
    /// valid (the implicit task's default).
    case loo
    /// The NCF paper's files: train and test as given, valid carved from train like `loo`.
    case ncf

    /// The split used when `--split` is not given: `random` for ratings, `loo` for implicit feedback.
    public static func `default`(for task: Task) -> SplitKind {
        task == .rating ? .random : .loo
    }

    /// Human-readable name used in protocol descriptions ("leave-one-out", ...).
    public var displayName: String {
        switch self {
        case .random: return "random"
        case .loo: return "leave-one-out"
        case .ncf: return "NCF paper split"
        }
    }
}

/// Which items a held-out positive is ranked against (fixed per split and seed).
///
/// Written `99` or `all` on the command line; `description` gives back that argument, so the
/// value round-trips through `init?(argument:)` and through `Codable` (encoded as that string).
public enum EvalNegatives: Sendable, Equatable, Codable, CustomStringConvertible {
    /// `n` distinct items the user never interacted with in any split (the NCF paper uses 99).
    case sampled(Int)
    /// Full ranking: every item not among the user's train items.
    case all

    /// Parses `"99"` (any positive integer) or `"all"` (any case); nil otherwise.
    public init?(argument: String) {
        let text = String(argument.filter { !$0.isWhitespace })
        if text.lowercased() == "all" {
            self = .all
        } else if let n = Int(text), n > 0 {
            self = .sampled(n)
        } else {
            return nil
        }
    }

    /// The command-line spelling: `"99"` or `"all"`.
    public var description: String {
        switch self {
        case .sampled(let n): return String(n)
        case .all: return "all"
        }
    }

    /// A phrase for reports: "99 sampled negatives" or "full ranking".
    public var summary: String {
        switch self {
        case .sampled(let n): return "\(SplitText.count(n)) sampled negative\(n == 1 ? "" : "s")"
        case .all: return "full ranking"
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let n = try? container.decode(Int.self), n > 0 {
            self = .sampled(n)
            return
        }
        let text = try container.decode(String.self)
        guard let value = EvalNegatives(argument: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "eval negatives \"\(text)\" is neither a positive count nor \"all\"")
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Everything that decides a split; the same options and data give the same split on every machine.
public struct SplitOptions: Sendable, Equatable, Codable {
    public var kind: SplitKind
    public var task: Task
    /// Fraction of interactions in valid (`random` only).
    public var validRatio: Double
    /// Fraction of interactions in test (`random` only).
    public var testRatio: Double
    /// Seeds the split, the evaluation negatives and the loss negatives, each from its own
    /// `SplitMix64` stream, so changing one never shifts the others.
    public var seed: UInt64
    /// Candidates a held-out positive is ranked against (implicit task).
    public var evalNegatives: EvalNegatives
    /// Fixed negatives per valid/test positive for Valid/Test loss on the implicit task.
    public var lossNegatives: Int

    public init(
        kind: SplitKind, task: Task, validRatio: Double = 0.1, testRatio: Double = 0.1, seed: UInt64 = 0,
        evalNegatives: EvalNegatives = .sampled(99), lossNegatives: Int = 4
    ) {
        self.kind = kind
        self.task = task
        self.validRatio = validRatio
        self.testRatio = testRatio
        self.seed = seed
        self.evalNegatives = evalNegatives
        self.lossNegatives = lossNegatives
    }

    /// Throws `SplitError` for ratios outside `[0, 1)` or summing to 1 or more, a non-positive
    /// sampled negative count, or negative loss negatives.
    public func validate() throws {
        for (name, value) in [("valid ratio", validRatio), ("test ratio", testRatio)]
        where !(value >= 0 && value < 1) {
            throw SplitError.invalidRatio(name: name, value: value)
        }
        if kind == .random, validRatio + testRatio >= 1 {
            throw SplitError.ratiosLeaveNoTrain(valid: validRatio, test: testRatio)
        }
        if case .sampled(let n) = evalNegatives, n <= 0 { throw SplitError.invalidEvalNegatives(n) }
        if lossNegatives < 0 { throw SplitError.invalidLossNegatives(lossNegatives) }
    }
}

// MARK: - Random streams

/// The `SplitMix64` stream labels of a split; each consumer draws from its own stream.
enum SplitStream {
    static let split: UInt64 = 1
    static let validEvalNegatives: UInt64 = 2
    static let testEvalNegatives: UInt64 = 3
    static let validLossNegatives: UInt64 = 4
    static let testLossNegatives: UInt64 = 5
}

// MARK: - Splitting

/// Which part each row of one `Interactions` goes to: `roles[i]` is `SplitRoles.train`, `.valid`
/// or `.test`. One byte per row, so a 20M-row file needs 20 MB here (an index list per part would
/// need 160 MB).
struct SplitRoles {
    static let train: UInt8 = 0
    static let valid: UInt8 = 1
    static let test: UInt8 = 2
    var roles: [UInt8]
}

enum Splitter {
    /// Seeded random split: shuffle `0..<n`, first `round(validRatio·n)` → valid, next
    /// `round(testRatio·n)` → test, rest → train.
    ///
    /// The permutation is held as `UInt32` (4 bytes a row); the draws are those of shuffling
    /// `Array(0..<n)`, so the split is the same as before the compact form.
    /// - Complexity: O(n) time, 5 bytes per row.
    static func random(count n: Int, validRatio: Double, testRatio: Double, rng: inout SplitMix64) -> SplitRoles {
        let nValid = min(n, Int((validRatio * Double(n)).rounded()))
        let nTest = min(n - nValid, Int((testRatio * Double(n)).rounded()))
        var part = [UInt8](repeating: SplitRoles.train, count: n)
        if nValid + nTest == 0 { return SplitRoles(roles: part) }
        var order = [UInt32](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = UInt32(truncatingIfNeeded: i) }
            count = n
        }
        order.withUnsafeMutableBufferPointer { shuffle($0, rng: &rng) }
        for k in 0..<nValid { part[Int(order[k])] = SplitRoles.valid }
        for k in nValid..<(nValid + nTest) { part[Int(order[k])] = SplitRoles.test }
        return SplitRoles(roles: part)
    }

    /// Fisher–Yates exactly as `SplitMix64.shuffle` (the same draws, the same permutation), a few
    /// steps at a time: the next steps' swap partners are drawn first and read once, so their cache
    /// misses overlap instead of following one another (20M rows do not fit in any cache).
    /// - Complexity: O(n).
    static func shuffle(_ a: UnsafeMutableBufferPointer<UInt32>, rng: inout SplitMix64) {
        let steps = 16
        var partners = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var i = a.count - 1
        withUnsafeMutableBytes(of: &partners) { raw in
            let j = raw.bindMemory(to: Int.self)
            while i > 0 {
                let m = min(steps, i)
                var touch: UInt32 = 0
                for k in 0..<m {
                    j[k] = rng.nextInt(below: i - k + 1)
                    touch &+= a[j[k]]
                }
                if touch == 1 << 31 { a[0] = a[0] }  // keeps the reads
                for k in 0..<m { a.swapAt(i - k, j[k]) }
                i -= m
            }
        }
    }

    /// Rows grouped by user, each group in file order (a counting sort).
    /// - Returns: `offsets` (`numUsers + 1` entries) and `rows` so that user `u`'s rows are
    ///   `rows[offsets[u]..<offsets[u+1]]`; rows are `UInt32` (the reader refuses more than 2³² − 1).
    /// - Complexity: O(n + numUsers).
    static func rowsByUser(_ users: [Int32], numUsers: Int) -> (offsets: [Int], rows: [UInt32]) {
        var offsets = [Int](repeating: 0, count: numUsers + 1)
        for u in users { offsets[Int(u) + 1] += 1 }
        for u in 0..<numUsers { offsets[u + 1] += offsets[u] }
        var fill = offsets
        var rows = [UInt32](repeating: 0, count: users.count)
        for (i, u) in users.enumerated() {
            rows[fill[Int(u)]] = UInt32(truncatingIfNeeded: i)
            fill[Int(u)] += 1
        }
        return (offsets, rows)
    }

    /// What a leave-one-out pass held out, for the notes.
    struct LeaveOneOutCounts {
        /// Users with exactly two interactions: train + test, no valid case.
        var usersWithoutValid = 0
        /// Users with a single interaction: train only.
        var trainOnlyUsers = 0
    }

    /// Leave-one-out by time: per user, order by `(timestamp, file position)` (so ties keep file
    /// order; without timestamps file order is the time order); the last row → test, the one before
    /// → valid. Users with 2 rows give train + test, users with 1 row train only.
    ///
    /// With `holdOutTest == false` only the valid row is taken (used to carve valid from the NCF
    /// train file, whose test part is given); then a user needs 2 rows to give one to valid.
    /// - Complexity: O(n + numUsers): only the two latest rows per user are found, nothing is sorted.
    static func leaveOneOut(
        _ interactions: Interactions, numUsers: Int, holdOutTest: Bool = true
    ) -> (SplitRoles, LeaveOneOutCounts) {
        let (offsets, rows) = rowsByUser(interactions.users, numUsers: numUsers)
        let ts = interactions.timestamps
        let hasTime = interactions.hasTimestamps
        // Later in time: larger timestamp, or equal timestamp and later in the file.
        func later(_ a: Int, _ b: Int) -> Bool {
            if hasTime, ts[a] != ts[b] { return ts[a] > ts[b] }
            return a > b
        }
        var role = [UInt8](repeating: SplitRoles.train, count: interactions.count)
        var counts = LeaveOneOutCounts()
        for u in 0..<numUsers {
            let group = rows[offsets[u]..<offsets[u + 1]]
            if group.isEmpty { continue }
            // The latest and second-latest rows.
            var last = -1, second = -1
            for row in group {
                let r = Int(row)
                if last < 0 || later(r, last) {
                    second = last
                    last = r
                } else if second < 0 || later(r, second) {
                    second = r
                }
            }
            if holdOutTest {
                switch group.count {
                case 1: counts.trainOnlyUsers += 1
                case 2: role[last] = SplitRoles.test; counts.usersWithoutValid += 1
                default: role[last] = SplitRoles.test; role[second] = SplitRoles.valid
                }
            } else {
                if group.count >= 2 { role[last] = SplitRoles.valid } else { counts.usersWithoutValid += 1 }
            }
        }
        return (SplitRoles(roles: role), counts)
    }

    /// Valid carved from a train file without timestamps: one uniformly drawn row per user with at
    /// least 2 rows; everything else stays in train (file order).
    /// - Complexity: O(n + numUsers).
    static func randomPerUser(
        _ interactions: Interactions, numUsers: Int, rng: inout SplitMix64
    ) -> (SplitRoles, LeaveOneOutCounts) {
        let (offsets, rows) = rowsByUser(interactions.users, numUsers: numUsers)
        var role = [UInt8](repeating: SplitRoles.train, count: interactions.count)
        var counts = LeaveOneOutCounts()
        for u in 0..<numUsers {
            let n = offsets[u + 1] - offsets[u]
            if n == 0 { continue }
            if n < 2 { counts.usersWithoutValid += 1; continue }
            role[Int(rows[offsets[u] + rng.nextInt(below: n)])] = SplitRoles.valid
        }
        return (SplitRoles(roles: role), counts)
    }
}

extension Interactions {
    /// Divides these rows into train, valid and test by `roles` (one per row), each part in file
    /// order, without timestamps (they only decide a leave-one-out split).
    ///
    /// Train is compacted in place when this value holds the only reference to its arrays (so the
    /// rows are not copied: a 20M-row file needs no second copy), then trimmed to its size; valid
    /// and test are new arrays.
    /// - Complexity: O(n) time; extra memory only valid + test (and a trimmed train copy, one array
    ///   at a time).
    consuming func divided(by split: SplitRoles) -> (train: Interactions, valid: Interactions, test: Interactions) {
        precondition(split.roles.count == count, "Interactions.divided: one role per row")
        timestamps = []
        var nValid = 0, nTest = 0
        for r in split.roles {
            if r == SplitRoles.valid { nValid += 1 } else if r == SplitRoles.test { nTest += 1 }
        }
        var valid = Interactions(), test = Interactions()
        valid.users.reserveCapacity(nValid); valid.items.reserveCapacity(nValid); valid.ratings.reserveCapacity(nValid)
        test.users.reserveCapacity(nTest); test.items.reserveCapacity(nTest); test.ratings.reserveCapacity(nTest)
        var w = 0
        for i in 0..<split.roles.count {
            switch split.roles[i] {
            case SplitRoles.valid:
                valid.users.append(users[i]); valid.items.append(items[i]); valid.ratings.append(ratings[i])
            case SplitRoles.test:
                test.users.append(users[i]); test.items.append(items[i]); test.ratings.append(ratings[i])
            default:
                if w != i {
                    users[w] = users[i]; items[w] = items[i]; ratings[w] = ratings[i]
                }
                w += 1
            }
        }
        // Trim one array at a time: a copy of exactly the train rows, then the long array goes
        // (its tail held valid and test rows, so it is resident memory, not just capacity).
        var train = Interactions()
        train.users = Array(users[0..<w])
        users = []
        train.items = Array(items[0..<w])
        items = []
        train.ratings = Array(ratings[0..<w])
        ratings = []
        return (train, valid, test)
    }
}

// MARK: - Text helpers

/// Number formatting for notes and protocol descriptions.
enum SplitText {
    /// `6040` → `"6,040"`.
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (k, ch) in digits.enumerated() {
            if k > 0, (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }

    /// `0.8` → `"80"`, `0.125` → `"12.5"` (percent, at most one decimal).
    static func percent(_ fraction: Double) -> String {
        let tenths = (fraction * 1000).rounded()
        if tenths.truncatingRemainder(dividingBy: 10) == 0 { return String(Int(tenths / 10)) }
        return String(tenths / 10)
    }

    /// `"1 user"` / `"3 users"`.
    static func plural(_ n: Int, _ word: String) -> String {
        "\(count(n)) \(word)\(n == 1 ? "" : "s")"
    }
}
