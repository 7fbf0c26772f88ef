import Foundation
import NCFKernels

// MARK: - Pairs and ranking cases

/// (user, item, target) triples in struct-of-arrays form.
///
/// Used for a training epoch (`NegativeSampler.fillEpoch`) and for Valid/Test loss. Targets are
/// ratings on the rating task, and 1 (positive) or 0 (negative) on the implicit task.
public struct LabeledPairs: Sendable, Equatable {
    public var users: [Int32]
    public var items: [Int32]
    public var targets: [Float]

    /// Number of pairs; the three arrays always hold exactly this many entries.
    public var count: Int { users.count }
    public var isEmpty: Bool { users.isEmpty }

    public init() {
        users = []
        items = []
        targets = []
    }

    public init(users: [Int32], items: [Int32], targets: [Float]) {
        precondition(users.count == items.count && items.count == targets.count,
                     "LabeledPairs: users, items and targets must have the same length")
        self.users = users
        self.items = items
        self.targets = targets
    }
}

/// Held-out ranking cases for the implicit task: each case ranks one held-out positive against
/// its candidates.
///
/// With `.sampled(n)` case `c`'s candidates are its positive plus
/// `negatives[negativeOffsets[c]..<negativeOffsets[c+1]]` (distinct items the user never
/// interacted with; fewer than `n` only when the user has not enough unseen items, or where the
/// NCF file's list repeated items). With `.all` every case's slice is empty and the evaluator ranks
/// the positive against every item not among the user's train items.
public struct RankingSet: Sendable, Equatable {
    /// The user of each case.
    public var users: [Int32]
    /// The held-out item of each case.
    public var positives: [Int32]
    /// `count + 1` entries; see the type's summary.
    public var negativeOffsets: [Int]
    public var negatives: [Int32]
    /// The protocol these cases follow.
    public var evalNegatives: EvalNegatives

    public var count: Int { users.count }

    public init(users: [Int32], positives: [Int32], negativeOffsets: [Int], negatives: [Int32],
                evalNegatives: EvalNegatives) {
        precondition(users.count == positives.count, "RankingSet: one positive per user")
        precondition(negativeOffsets.count == users.count + 1, "RankingSet: negativeOffsets needs count + 1 entries")
        precondition(negativeOffsets.last == negatives.count, "RankingSet: negativeOffsets must end at negatives.count")
        self.users = users
        self.positives = positives
        self.negativeOffsets = negativeOffsets
        self.negatives = negatives
        self.evalNegatives = evalNegatives
    }

    /// Case `c`'s explicit negatives (empty for `.all`).
    public func negatives(of c: Int) -> ArraySlice<Int32> {
        negatives[negativeOffsets[c]..<negativeOffsets[c + 1]]
    }
}

// MARK: - Dataset

/// A split dataset, ready for training and evaluation.
///
/// Users and items keep the dense indices of the file's id maps, so users or items that occur only
/// in valid/test keep an (untrained) embedding; `notes` counts them.
public struct Dataset: Sendable {
    public var task: Task
    public var split: SplitKind
    public var options: SplitOptions
    public var userIDs: IDMap
    public var itemIDs: IDMap
    public var numUsers: Int { userIDs.count }
    public var numItems: Int { itemIDs.count }

    public var train: Interactions
    public var valid: Interactions
    public var test: Interactions

    /// Per-user train items: negative sampling never returns one; full ranking masks them.
    ///
    /// Built on first use and then kept (the rating task's training never asks for it: at 16M
    /// train ratings it would hold 64 MB for nothing).
    public var trainItems: UserItems {
        get { trainItemsStore.value }
        set { trainItemsStore = LazyUserItems(newValue) }
    }
    private var trainItemsStore: LazyUserItems
    /// Rating task: the valid ratings. Implicit: each valid positive (target 1) followed by
    /// `options.lossNegatives` fixed negatives (target 0), drawn like the evaluation negatives.
    public var validPairs: LabeledPairs
    /// Like `validPairs`, for test.
    public var testPairs: LabeledPairs
    /// Implicit task only: one case per valid interaction.
    public var validRanking: RankingSet?
    /// Implicit task only: one case per test interaction.
    public var testRanking: RankingSet?
    /// Mean train rating on the rating task (a natural output bias); 1 on the implicit task.
    public var meanTrainRating: Float
    /// Human-readable counts: sizes, users/items only in valid/test, small users, de-duplicated
    /// candidates, shortfalls of unseen items.
    public var notes: [String]
    /// One line naming the evaluation protocol, e.g. "99 sampled negatives, leave-one-out, 6,040
    /// users" or "random 80/10/10 split, 10,000 test ratings". Every reported result carries it.
    public var protocolDescription: String

    init(task: Task, split: SplitKind, options: SplitOptions, userIDs: IDMap, itemIDs: IDMap,
         train: Interactions, valid: Interactions, test: Interactions, trainItems: LazyUserItems,
         validPairs: LabeledPairs, testPairs: LabeledPairs, validRanking: RankingSet?, testRanking: RankingSet?,
         meanTrainRating: Float, notes: [String], protocolDescription: String) {
        self.task = task
        self.split = split
        self.options = options
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.train = train
        self.valid = valid
        self.test = test
        trainItemsStore = trainItems
        self.validPairs = validPairs
        self.testPairs = testPairs
        self.validRanking = validRanking
        self.testRanking = testRanking
        self.meanTrainRating = meanTrainRating
        self.notes = notes
        self.protocolDescription = protocolDescription
    }
}

/// A `UserItems` built on first use, once, whichever thread asks first.
final class LazyUserItems: @unchecked Sendable {
    private let lock = NSLock()
    private var built: UserItems?
    private var make: (() -> UserItems)?

    /// Builds the index of `train`'s rows when first asked.
    init(numUsers: Int, train: Interactions) {
        make = { UserItems(numUsers: numUsers, interactions: [train]) }
    }

    init(_ items: UserItems) { built = items }

    var value: UserItems {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let items = make!()
        built = items
        make = nil
        return items
    }
}

// MARK: - Building

/// Splits a ratings file (or the NCF paper's files) into a `Dataset`.
///
/// Semantics:
/// - `random`: a seeded shuffle of all interactions; valid gets `round(validRatio·n)`, test
///   `round(testRatio·n)`, train the rest (each part in file order).
/// - `loo`: per user, interactions ordered by timestamp (ties, and files without timestamps, by
///   file order); the latest → test, the one before → valid. A user with 2 interactions gives train +
///   test, a user with 1 is train-only.
/// - `ncf`: train and test from the paper's files; valid carved from train by the `loo` rule when the
///   train file has timestamps, else one seeded random train interaction per user (the reconstructed
///   ML-1M train file is sorted by item id, so its order means nothing). Test negatives come from the
///   file, de-duplicated: repeats, the test item itself and the user's own known items are dropped.
///   With `.all` the file's negatives are ignored.
/// - Implicit task: every interaction is a positive (its rating is ignored). Duplicate (user, item)
///   pairs stay in `train` for training; `trainItems` de-duplicates.
/// - Evaluation negatives (`.sampled(n)`): per valid/test case, `n` distinct items the user never
///   interacted with in any split; if fewer exist, all of them (noted). Loss negatives for
///   `validPairs`/`testPairs` are drawn the same way. The split, valid/test evaluation negatives and
///   valid/test loss negatives each use their own `SplitMix64(seed:stream:)` stream.
public enum DatasetBuilder {
    /// Splits one ratings file with `options.kind` `random` or `loo`.
    /// - Throws: `SplitError` for invalid options, an empty file, `--split ncf`, or an empty train part.
    /// - Complexity: O(n + numUsers + cases · negatives) expected.
    ///
    /// `file` is consumed: when the caller passes its last use (`make(from: consume file, …)`, or
    /// a temporary), the train rows are compacted in place instead of copied, so splitting needs
    /// little memory beyond the file's own arrays. Timestamps are dropped once they have decided
    /// a leave-one-out split.
    public static func make(from file: consuming RatingsFile, options: SplitOptions) throws -> Dataset {
        try options.validate()
        let numUsers = file.userIDs.count
        let path = file.path
        if options.kind == .ncf { throw SplitError.ncfSplitNeedsPaperFiles(path: path) }
        if file.interactions.isEmpty { throw SplitError.noInteractions(path: path) }
        // Take the rows out of `file`, so that `data` is their only owner when the caller gave
        // `file` up.
        let data = file.interactions
        file.interactions = Interactions()

        var notes: [String] = []
        let roles: SplitRoles
        switch options.kind {
        case .random:
            var rng = SplitMix64(seed: options.seed, stream: SplitStream.split)
            roles = Splitter.random(count: data.count, validRatio: options.validRatio,
                                    testRatio: options.testRatio, rng: &rng)
        case .loo, .ncf:
            let (parts, counts) = Splitter.leaveOneOut(data, numUsers: numUsers)
            roles = parts
            if !data.hasTimestamps {
                notes.append("\(path) has no timestamps: file order is taken as time order for leave-one-out")
            }
            if counts.usersWithoutValid > 0 {
                notes.append("leave-one-out: \(SplitText.plural(counts.usersWithoutValid, "user")) with only 2 "
                             + "interactions give train + test, no valid case")
            }
            if counts.trainOnlyUsers > 0 {
                notes.append("leave-one-out: \(SplitText.plural(counts.trainOnlyUsers, "user")) with a single "
                             + "interaction are train-only")
            }
        }
        let (train, valid, test) = data.divided(by: roles)
        if train.isEmpty { throw SplitError.emptyTrain(split: options.kind, path: path) }
        return assemble(
            options: options, userIDs: file.userIDs, itemIDs: file.itemIDs,
            train: train, valid: valid, test: test, fileNegatives: nil, notes: notes)
    }

    /// Splits the NCF paper's files (`options.kind` must be `ncf`).
    /// - Throws: `SplitError` for invalid options, another split kind, mismatched test/negative
    ///   files, an empty test file, or an empty train part.
    /// - Complexity: O(n + numUsers + cases · negatives) expected.
    public static func make(from files: NCFPaperFiles, options: SplitOptions) throws -> Dataset {
        try options.validate()
        let path = files.train.path
        if options.kind != .ncf { throw SplitError.paperFilesNeedNCFSplit(options.kind, path: path) }
        let data = files.train.interactions
        if data.isEmpty { throw SplitError.noInteractions(path: path) }
        if files.test.isEmpty { throw SplitError.ncfEmptyTest(path: path) }
        if files.testNegatives.count != files.test.count {
            throw SplitError.ncfNegativesMismatch(
                path: path, testLines: files.test.count, negativeLines: files.testNegatives.count)
        }
        let numUsers = files.train.userIDs.count

        var notes: [String] = []
        let roles: SplitRoles
        let counts: Splitter.LeaveOneOutCounts
        if data.hasTimestamps {
            (roles, counts) = Splitter.leaveOneOut(data, numUsers: numUsers, holdOutTest: false)
            notes.append("NCF split: train and test from the paper's files; valid = each user's latest train "
                         + "interaction by timestamp")
        } else {
            var rng = SplitMix64(seed: options.seed, stream: SplitStream.split)
            (roles, counts) = Splitter.randomPerUser(data, numUsers: numUsers, rng: &rng)
            notes.append("NCF split: train and test from the paper's files; \(path) has no timestamps and its "
                         + "order is not time order, so valid = one seeded random train interaction per user")
        }
        if counts.usersWithoutValid > 0 {
            notes.append("NCF split: \(SplitText.plural(counts.usersWithoutValid, "user")) with a single train "
                         + "interaction have no valid case")
        }
        let (train, valid, _) = data.divided(by: roles)
        if train.isEmpty { throw SplitError.emptyTrain(split: .ncf, path: path) }
        return assemble(
            options: options, userIDs: files.train.userIDs, itemIDs: files.train.itemIDs,
            train: train, valid: valid, test: files.test,
            fileNegatives: files.testNegatives, notes: notes)
    }

    // MARK: - Shared assembly

    /// Everything after the split itself: item sets, pairs, ranking cases, notes, protocol.
    private static func assemble(
        options: SplitOptions, userIDs: IDMap, itemIDs: IDMap,
        train: Interactions, valid: Interactions, test: Interactions,
        fileNegatives: [[Int32]]?, notes initialNotes: [String]
    ) -> Dataset {
        let numUsers = userIDs.count, numItems = itemIDs.count
        for set in [train, valid, test] {
            precondition(set.users.allSatisfy { $0 >= 0 && Int($0) < numUsers }, "Dataset: user index outside the id map")
            precondition(set.items.allSatisfy { $0 >= 0 && Int($0) < numItems }, "Dataset: item index outside the id map")
        }
        let task = options.task
        let noun = task == .rating ? "rating" : "interaction"
        var notes = [
            "train \(SplitText.count(train.count)) · valid \(SplitText.count(valid.count)) · test "
                + "\(SplitText.count(test.count)) \(noun)s; \(SplitText.plural(numUsers, "user")), "
                + "\(SplitText.plural(numItems, "item"))",
        ]
        notes += initialNotes

        let lazyTrainItems = LazyUserItems(numUsers: numUsers, train: train)
        notes += coldStartNotes(train: train, numUsers: numUsers, numItems: numItems,
                                parts: [("valid", valid), ("test", test)], noun: noun)

        var meanTrainRating: Float = 1
        if task == .rating {
            var sum = 0.0
            for r in train.ratings { sum += Double(r) }
            meanTrainRating = Float(sum / Double(train.count))
        } else {
            let trainItems = lazyTrainItems.value
            let duplicates = train.count - trainItems.items.count
            if duplicates > 0 {
                notes.append("train: \(SplitText.plural(duplicates, "repeated (user, item) pair")) kept for "
                             + "training; negative sampling and ranking see each item once")
            }
            for (name, part) in [("valid", valid), ("test", test)] {
                var inTrain = 0
                for k in 0..<part.count where trainItems.contains(user: part.users[k], item: part.items[k]) {
                    inTrain += 1
                }
                if inTrain > 0 {
                    notes.append("\(name): \(SplitText.plural(inTrain, "positive")) also among the user's train "
                                 + "items (repeated interactions); full ranking masks them")
                }
            }
        }

        let validPairs: LabeledPairs
        let testPairs: LabeledPairs
        var validRanking: RankingSet?
        var testRanking: RankingSet?
        if task == .rating {
            validPairs = LabeledPairs(users: valid.users, items: valid.items, targets: valid.ratings)
            testPairs = LabeledPairs(users: test.users, items: test.items, targets: test.ratings)
            if fileNegatives != nil { notes.append("rating task: the NCF test negatives are not used") }
        } else {
            // Evaluation candidates: never an item the user touched in any split.
            let known = UserItems(numUsers: numUsers, interactions: [train, valid, test])
            var drawer = FixedNegatives(known: known, numItems: numItems)
            var protocol_ = options.evalNegatives
            if let fileNegatives {
                let (ranking, fileNotes) = rankingFromFile(
                    test, fileNegatives: fileNegatives, requested: options.evalNegatives, known: known,
                    numItems: numItems)
                testRanking = ranking
                protocol_ = ranking.evalNegatives
                notes += fileNotes
                var rng = SplitMix64(seed: options.seed, stream: SplitStream.validEvalNegatives)
                let (v, short) = sampledRanking(valid, protocol_: protocol_, drawer: &drawer, rng: &rng)
                validRanking = v
                notes += shortfallNote("valid", short, protocol_)
            } else {
                var rng = SplitMix64(seed: options.seed, stream: SplitStream.validEvalNegatives)
                let (v, shortV) = sampledRanking(valid, protocol_: protocol_, drawer: &drawer, rng: &rng)
                rng = SplitMix64(seed: options.seed, stream: SplitStream.testEvalNegatives)
                let (t, shortT) = sampledRanking(test, protocol_: protocol_, drawer: &drawer, rng: &rng)
                validRanking = v
                testRanking = t
                notes += shortfallNote("valid", shortV, protocol_)
                notes += shortfallNote("test", shortT, protocol_)
            }
            // Loss pairs.
            var rng = SplitMix64(seed: options.seed, stream: SplitStream.validLossNegatives)
            let (vp, shortV) = lossPairs(valid, negatives: options.lossNegatives, drawer: &drawer, rng: &rng)
            rng = SplitMix64(seed: options.seed, stream: SplitStream.testLossNegatives)
            let (tp, shortT) = lossPairs(test, negatives: options.lossNegatives, drawer: &drawer, rng: &rng)
            validPairs = vp
            testPairs = tp
            for (name, short) in [("valid", shortV), ("test", shortT)] where short > 0 {
                notes.append("\(name) loss: \(SplitText.plural(short, "case")) with fewer than "
                             + "\(options.lossNegatives) unseen items use all of them as loss negatives")
            }
        }

        let protocolDescription = describe(
            options: options, testCount: test.count, ranking: testRanking, fromFile: fileNegatives != nil)
        return Dataset(
            task: task, split: options.kind, options: options, userIDs: userIDs, itemIDs: itemIDs,
            train: train, valid: valid, test: test, trainItems: lazyTrainItems,
            validPairs: validPairs, testPairs: testPairs, validRanking: validRanking, testRanking: testRanking,
            meanTrainRating: meanTrainRating, notes: notes, protocolDescription: protocolDescription)
    }

    /// "valid: 12 ratings by 3 users not in train", "test: 40 ratings of 30 items not in train".
    private static func coldStartNotes(
        train: Interactions, numUsers: Int, numItems: Int,
        parts: [(String, Interactions)], noun: String
    ) -> [String] {
        var itemInTrain = [Bool](repeating: false, count: numItems)
        for i in train.items { itemInTrain[Int(i)] = true }
        var userInTrain = [Bool](repeating: false, count: numUsers)
        for u in train.users { userInTrain[Int(u)] = true }
        var notes: [String] = []
        for (name, part) in parts {
            var userRows = 0, itemRows = 0
            var users = Set<Int32>(), items = Set<Int32>()
            for k in 0..<part.count {
                if !userInTrain[Int(part.users[k])] { userRows += 1; users.insert(part.users[k]) }
                if !itemInTrain[Int(part.items[k])] { itemRows += 1; items.insert(part.items[k]) }
            }
            if userRows > 0 {
                notes.append("\(name): \(SplitText.plural(userRows, noun)) by \(SplitText.plural(users.count, "user")) "
                             + "not in train (untrained embeddings)")
            }
            if itemRows > 0 {
                notes.append("\(name): \(SplitText.plural(itemRows, noun)) of \(SplitText.plural(items.count, "item")) "
                             + "not in train (untrained embeddings)")
            }
        }
        return notes
    }

    /// One ranking case per interaction of `part`, with negatives drawn by `drawer` (none for `.all`).
    /// - Returns: the cases and how many got fewer than the requested negatives.
    private static func sampledRanking(
        _ part: Interactions, protocol_: EvalNegatives, drawer: inout FixedNegatives, rng: inout SplitMix64
    ) -> (RankingSet, Int) {
        var offsets = [Int](repeating: 0, count: part.count + 1)
        var negatives: [Int32] = []
        var short = 0
        if case .sampled(let n) = protocol_ {
            // A case never gets more negatives than there are items, whatever was asked.
            negatives.reserveCapacity(part.count * min(n, drawer.numItems))
            for c in 0..<part.count {
                let got = drawer.draw(user: part.users[c], count: n, rng: &rng, into: &negatives)
                if got < n { short += 1 }
                offsets[c + 1] = negatives.count
            }
        }
        let set = RankingSet(users: part.users, positives: part.items, negativeOffsets: offsets,
                             negatives: negatives, evalNegatives: protocol_)
        return (set, short)
    }

    private static func shortfallNote(_ name: String, _ short: Int, _ protocol_: EvalNegatives) -> [String] {
        guard short > 0, case .sampled(let n) = protocol_ else { return [] }
        return ["\(name): \(SplitText.plural(short, "case")) with fewer than \(n) unseen items rank against all "
                + "of their unseen items"]
    }

    /// The NCF test cases with the file's negatives, de-duplicated.
    ///
    /// Per case, in file order, a negative is dropped if it is the test item itself, repeats an
    /// earlier negative, or is one of the user's known items; the first `requested` survivors are
    /// kept. With `.all` the file's negatives are ignored.
    private static func rankingFromFile(
        _ test: Interactions, fileNegatives: [[Int32]], requested: EvalNegatives, known: UserItems, numItems: Int
    ) -> (RankingSet, [String]) {
        guard case .sampled(let n) = requested else {
            let offsets = [Int](repeating: 0, count: test.count + 1)
            return (RankingSet(users: test.users, positives: test.items, negativeOffsets: offsets, negatives: [],
                               evalNegatives: .all),
                    ["NCF split: --eval_negatives all ranks against every item not in train; the file's test "
                     + "negatives are ignored"])
        }
        let fileLength = fileNegatives.map(\.count).max() ?? 0
        let keep = min(n, fileLength)
        var notes: [String] = []
        if n > fileLength {
            notes.append("NCF split: --eval_negatives \(n) asked for more than the test file's \(fileLength) "
                         + "negatives per user; using the file's \(fileLength)")
        } else if n < fileLength {
            notes.append("NCF split: using the first \(n) of the test file's \(fileLength) negatives per user")
        }
        var seen = [Int](repeating: -1, count: numItems)
        var offsets = [Int](repeating: 0, count: test.count + 1)
        var negatives: [Int32] = []
        negatives.reserveCapacity(test.count * keep)
        var withSelf = 0, withRepeats = 0, withKnown = 0
        for c in 0..<test.count {
            let user = test.users[c], positive = test.items[c]
            var hadSelf = false, hadRepeat = false, hadKnown = false
            var taken = 0
            for item in fileNegatives[c] {
                precondition(item >= 0 && Int(item) < numItems, "NCF test negative outside the item id map")
                if item == positive { hadSelf = true; continue }
                if seen[Int(item)] == c { hadRepeat = true; continue }
                seen[Int(item)] = c
                if known.contains(user: user, item: item) { hadKnown = true; continue }
                if taken < keep {
                    negatives.append(item)
                    taken += 1
                }
            }
            if hadSelf { withSelf += 1 }
            if hadRepeat { withRepeats += 1 }
            if hadKnown { withKnown += 1 }
            offsets[c + 1] = negatives.count
        }
        if withSelf > 0 {
            notes.append("NCF test negatives: \(SplitText.plural(withSelf, "user")) had their own test item among "
                         + "their negatives (dropped: each candidate is scored once)")
        }
        if withRepeats > 0 {
            notes.append("NCF test negatives: \(SplitText.plural(withRepeats, "user")) had repeated negatives "
                         + "(repeats dropped)")
        }
        if withKnown > 0 {
            notes.append("NCF test negatives: \(SplitText.plural(withKnown, "user")) had some of their own train/valid "
                         + "items among their negatives (dropped)")
        }
        let ranking = RankingSet(users: test.users, positives: test.items, negativeOffsets: offsets,
                                 negatives: negatives, evalNegatives: .sampled(keep))
        return (ranking, notes)
    }

    /// Each positive of `part` (target 1) followed by `negatives` fixed negatives (target 0).
    /// - Returns: the pairs and how many cases got fewer negatives than asked.
    private static func lossPairs(
        _ part: Interactions, negatives: Int, drawer: inout FixedNegatives, rng: inout SplitMix64
    ) -> (LabeledPairs, Int) {
        var users: [Int32] = [], items: [Int32] = [], targets: [Float] = []
        let capacity = part.count * (1 + min(max(0, negatives), drawer.numItems))
        users.reserveCapacity(capacity)
        items.reserveCapacity(capacity)
        targets.reserveCapacity(capacity)
        var drawn: [Int32] = []
        var short = 0
        for c in 0..<part.count {
            let user = part.users[c]
            users.append(user)
            items.append(part.items[c])
            targets.append(1)
            drawn.removeAll(keepingCapacity: true)
            let got = drawer.draw(user: user, count: negatives, rng: &rng, into: &drawn)
            if got < negatives { short += 1 }
            for item in drawn {
                users.append(user)
                items.append(item)
                targets.append(0)
            }
        }
        return (LabeledPairs(users: users, items: items, targets: targets), short)
    }

    /// "99 sampled negatives, leave-one-out, 6,040 users", "random 80/10/10 split, 10,000 test ratings".
    private static func describe(
        options: SplitOptions, testCount: Int, ranking: RankingSet?, fromFile: Bool
    ) -> String {
        let split: String
        switch options.kind {
        case .random:
            let train = 1 - options.validRatio - options.testRatio
            split = "random \(SplitText.percent(train))/\(SplitText.percent(options.validRatio))/"
                + "\(SplitText.percent(options.testRatio)) split"
        case .loo: split = "leave-one-out"
        case .ncf: split = "NCF paper split"
        }
        guard options.task == .implicit, let ranking else {
            return "\(split), \(SplitText.count(testCount)) test \(options.task == .rating ? "ratings" : "cases")"
        }
        var protocol_ = ranking.evalNegatives.summary
        if fromFile, case .sampled = ranking.evalNegatives { protocol_ += " from the test file (de-duplicated)" }
        let cases = options.kind == .random
            ? SplitText.plural(ranking.count, "test case") : SplitText.plural(ranking.count, "user")
        return "\(protocol_), \(split), \(cases)"
    }
}
