import Foundation
import NCFData
import NCFKernels
import XCTest

// MARK: - Fixtures

/// Tiny hand-made data for the split, sampler and synthetic tests.
enum SplitFixtures {
    /// An id map whose raw ids are `"0"`, `"1"`, ... so raw id == dense index.
    static func idMap(_ count: Int) -> IDMap { IDMap(rawIDs: (0..<count).map(String.init)) }

    /// A ratings file from `(user, item, rating, timestamp?)` rows.
    static func file(
        _ rows: [(Int32, Int32, Float, Int64?)], users: Int? = nil, items: Int? = nil, path: String = "fixture.tsv"
    ) -> RatingsFile {
        var data = Interactions()
        for (u, i, r, t) in rows { data.append(user: u, item: i, rating: r, timestamp: t) }
        let numUsers = users ?? Int((rows.map(\.0).max() ?? -1) + 1)
        let numItems = items ?? Int((rows.map(\.1).max() ?? -1) + 1)
        return RatingsFile(path: path, format: .tsv, interactions: data, userIDs: idMap(numUsers),
                           itemIDs: idMap(numItems))
    }

    /// A synthetic ratings file (users × items, ratings) wrapped as a `RatingsFile`.
    static func synthetic(users: Int, items: Int, ratings: Int, seed: UInt64 = 3) -> RatingsFile {
        let data = SyntheticRatings.generate(users: users, items: items, ratings: ratings, seed: seed)
        return RatingsFile(path: "synthetic.tsv", format: .tsv, interactions: data, userIDs: idMap(users),
                           itemIDs: idMap(items))
    }

    /// `(user, item)` pairs of a set, as a sorted array (a multiset fingerprint).
    static func pairs(_ set: Interactions) -> [[Int32]] {
        (0..<set.count).map { [set.users[$0], set.items[$0]] }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Every (user, item) the user touched in train ∪ valid ∪ test.
    static func knownItems(_ ds: Dataset) -> [Int32: Set<Int32>] {
        var known: [Int32: Set<Int32>] = [:]
        for set in [ds.train, ds.valid, ds.test] {
            for k in 0..<set.count { known[set.users[k], default: []].insert(set.items[k]) }
        }
        return known
    }

    /// `../shared/data` relative to the package root.
    static var sharedData: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")
    }
}

// MARK: - Options and protocol values

final class SplitOptionsTests: XCTestCase {
    func testEvalNegativesParsesAndRoundTrips() throws {
        XCTAssertEqual(EvalNegatives(argument: "99"), .sampled(99))
        XCTAssertEqual(EvalNegatives(argument: "all"), .all)
        XCTAssertEqual(EvalNegatives(argument: "ALL"), .all)
        XCTAssertNil(EvalNegatives(argument: "0"))
        XCTAssertNil(EvalNegatives(argument: "-3"))
        XCTAssertNil(EvalNegatives(argument: "many"))
        for value in [EvalNegatives.sampled(99), .sampled(1), .all] {
            XCTAssertEqual(EvalNegatives(argument: value.description), value)
            let json = try JSONEncoder().encode([value])
            XCTAssertEqual(try JSONDecoder().decode([EvalNegatives].self, from: json), [value])
        }
        XCTAssertEqual(EvalNegatives.sampled(99).summary, "99 sampled negatives")
        XCTAssertEqual(try JSONDecoder().decode([EvalNegatives].self, from: Data("[50]".utf8)), [.sampled(50)])
    }

    func testDefaultSplitPerTask() {
        XCTAssertEqual(SplitKind.default(for: .rating), .random)
        XCTAssertEqual(SplitKind.default(for: .implicit), .loo)
    }

    func testInvalidOptionsThrowWithHints() {
        let file = SplitFixtures.synthetic(users: 3, items: 30, ratings: 60)
        func error(_ options: SplitOptions) -> SplitError? {
            do {
                _ = try DatasetBuilder.make(from: file, options: options)
                return nil
            } catch {
                return error as? SplitError
            }
        }
        XCTAssertEqual(error(SplitOptions(kind: .random, task: .rating, validRatio: 1.5)),
                       .invalidRatio(name: "valid ratio", value: 1.5))
        XCTAssertEqual(error(SplitOptions(kind: .random, task: .rating, validRatio: 0.5, testRatio: 0.5)),
                       .ratiosLeaveNoTrain(valid: 0.5, test: 0.5))
        XCTAssertEqual(error(SplitOptions(kind: .loo, task: .implicit, evalNegatives: .sampled(0))),
                       .invalidEvalNegatives(0))
        XCTAssertEqual(error(SplitOptions(kind: .loo, task: .implicit, lossNegatives: -1)), .invalidLossNegatives(-1))
        XCTAssertEqual(error(SplitOptions(kind: .ncf, task: .implicit)), .ncfSplitNeedsPaperFiles(path: "synthetic.tsv"))
        let message = SplitError.ncfSplitNeedsPaperFiles(path: "synthetic.tsv").localizedDescription
        XCTAssertTrue(message.contains("synthetic.tsv") && message.contains("Hint:"), message)

        let empty = SplitFixtures.file([], users: 0, items: 0)
        XCTAssertThrowsError(try DatasetBuilder.make(from: empty, options: SplitOptions(kind: .loo, task: .implicit))) {
            XCTAssertEqual($0 as? SplitError, .noInteractions(path: "fixture.tsv"))
        }
    }
}

// MARK: - Random split

final class RandomSplitTests: XCTestCase {
    func testRatiosPartitionAndFileOrder() throws {
        let file = SplitFixtures.synthetic(users: 20, items: 100, ratings: 1000)
        let options = SplitOptions(kind: .random, task: .rating, validRatio: 0.1, testRatio: 0.2, seed: 5)
        let ds = try DatasetBuilder.make(from: file, options: options)
        XCTAssertEqual(ds.valid.count, 100)
        XCTAssertEqual(ds.test.count, 200)
        XCTAssertEqual(ds.train.count, 700)
        // Together the parts are exactly the file's interactions.
        var all = ds.train
        for part in [ds.valid, ds.test] {
            for k in 0..<part.count {
                // The parts carry no timestamps: they decide a leave-one-out split and are dropped.
                all.append(user: part.users[k], item: part.items[k], rating: part.ratings[k], timestamp: nil)
            }
        }
        XCTAssertEqual(SplitFixtures.pairs(all), SplitFixtures.pairs(file.interactions))
        // Each part keeps file order: with unique (user, item) pairs, map each row to its file position.
        var position: [[Int32]: Int] = [:]
        for k in 0..<file.interactions.count { position[[file.interactions.users[k], file.interactions.items[k]]] = k }
        for part in [ds.train, ds.valid, ds.test] {
            let positions = (0..<part.count).map { position[[part.users[$0], part.items[$0]]]! }
            XCTAssertEqual(positions, positions.sorted())
        }
        XCTAssertEqual(ds.protocolDescription, "random 70/10/20 split, 200 test ratings")
        XCTAssertNil(ds.validRanking)
        XCTAssertNil(ds.testRanking)
        XCTAssertEqual(ds.validPairs.targets, ds.valid.ratings)
        XCTAssertEqual(ds.testPairs.items, ds.test.items)
        let mean = ds.train.ratings.reduce(0, +) / Float(ds.train.count)
        XCTAssertEqual(ds.meanTrainRating, mean, accuracy: 1e-4)
    }

    func testSameSeedSameSplitDifferentSeedDifferentSplit() throws {
        let file = SplitFixtures.synthetic(users: 10, items: 50, ratings: 300)
        func split(_ seed: UInt64) throws -> Dataset {
            try DatasetBuilder.make(from: file, options: SplitOptions(kind: .random, task: .rating, seed: seed))
        }
        let a = try split(1), b = try split(1), c = try split(2)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.valid, b.valid)
        XCTAssertEqual(a.test, b.test)
        XCTAssertNotEqual(a.test, c.test)
        XCTAssertEqual(a.test.count, c.test.count)
    }

    func testUsersOnlyInTestAreKeptAndCounted() throws {
        // User 3 has a single rating; find a seed that puts it in test (deterministic search).
        var rows: [(Int32, Int32, Float, Int64?)] = []
        for u in Int32(0)..<3 { for i in Int32(0)..<10 { rows.append((u, i, 4, nil)) } }
        rows.append((3, 0, 5, nil))
        let file = SplitFixtures.file(rows)
        var found: Dataset?
        for seed in UInt64(0)..<200 {
            let ds = try DatasetBuilder.make(
                from: file, options: SplitOptions(kind: .random, task: .rating, validRatio: 0, testRatio: 0.3, seed: seed))
            if ds.test.users.contains(3) { found = ds; break }
        }
        let ds = try XCTUnwrap(found, "no seed in 0..<200 put user 3 in test")
        XCTAssertEqual(ds.numUsers, 4, "the cold user keeps its index")
        XCTAssertEqual(ds.trainItems.count(of: 3), 0)
        XCTAssertTrue(ds.notes.contains("test: 1 rating by 1 user not in train (untrained embeddings)"), "\(ds.notes)")
    }
}

// MARK: - Leave-one-out

final class LeaveOneOutTests: XCTestCase {
    func testLatestByTimestampTiesByFileOrder() throws {
        let file = SplitFixtures.file([
            (0, 0, 3, 5), (0, 1, 4, 9), (0, 2, 5, 9), (0, 3, 2, 1),   // tie at 9: file order → item 2 is latest
            (1, 0, 1, 30), (1, 1, 2, 20), (1, 2, 3, 10),              // file order reversed in time
        ])
        let ds = try DatasetBuilder.make(from: file, options: SplitOptions(kind: .loo, task: .rating))
        XCTAssertEqual(ds.test.users, [0, 1])
        XCTAssertEqual(ds.test.items, [2, 0])
        XCTAssertEqual(ds.valid.users, [0, 1])
        XCTAssertEqual(ds.valid.items, [1, 1])
        XCTAssertEqual(ds.train.items, [0, 3, 2])
        XCTAssertEqual(ds.train.ratings, [3, 2, 3])
        // Timestamps decide the split and are then dropped (nothing after the split reads them).
        XCTAssertEqual(ds.train.timestamps, [])
        XCTAssertEqual(ds.protocolDescription, "leave-one-out, 2 test ratings")
    }

    func testSmallUsersAndNoTimestamps() throws {
        let file = SplitFixtures.file([
            (0, 0, 1, nil), (0, 1, 1, nil), (0, 2, 1, nil), (0, 3, 1, nil),
            (1, 4, 1, nil), (1, 5, 1, nil),   // 2 interactions: train + test
            (2, 6, 1, nil),                   // 1 interaction: train only
        ])
        let ds = try DatasetBuilder.make(from: file, options: SplitOptions(kind: .loo, task: .implicit))
        XCTAssertEqual(ds.test.users, [0, 1])
        XCTAssertEqual(ds.test.items, [3, 5], "file order is the time order")
        XCTAssertEqual(ds.valid.users, [0])
        XCTAssertEqual(ds.valid.items, [2])
        XCTAssertEqual(SplitFixtures.pairs(ds.train), [[0, 0], [0, 1], [1, 4], [2, 6]])
        XCTAssertTrue(ds.notes.contains { $0.contains("no timestamps") }, "\(ds.notes)")
        XCTAssertTrue(ds.notes.contains { $0.contains("1 user with only 2 interactions") }, "\(ds.notes)")
        XCTAssertTrue(ds.notes.contains { $0.contains("1 user with a single interaction are train-only") },
                      "\(ds.notes)")
    }

    func testItemsOnlyInTestAreCounted() throws {
        let file = SplitFixtures.file([
            (0, 0, 1, 1), (0, 1, 1, 2), (0, 2, 1, 3), (0, 3, 1, 4), (0, 9, 1, 5),   // item 9 only as user 0's last
            (1, 3, 1, 1), (1, 2, 1, 2), (1, 0, 1, 3), (1, 1, 1, 4),
        ], items: 10)
        let ds = try DatasetBuilder.make(from: file, options: SplitOptions(kind: .loo, task: .implicit))
        XCTAssertTrue(ds.notes.contains("test: 1 interaction of 1 item not in train (untrained embeddings)"),
                      "\(ds.notes)")
    }
}

// MARK: - Evaluation candidates and loss pairs

final class EvalNegativesTests: XCTestCase {
    func testSampledNegativesAreUnseenDistinctAndFixedPerSeed() throws {
        let file = SplitFixtures.synthetic(users: 12, items: 80, ratings: 400)
        func make(seed: UInt64, loss: Int = 4) throws -> Dataset {
            try DatasetBuilder.make(from: file, options: SplitOptions(
                kind: .loo, task: .implicit, seed: seed, evalNegatives: .sampled(20), lossNegatives: loss))
        }
        let ds = try make(seed: 9)
        let known = SplitFixtures.knownItems(ds)
        for ranking in [try XCTUnwrap(ds.validRanking), try XCTUnwrap(ds.testRanking)] {
            XCTAssertEqual(ranking.count, 12)
            XCTAssertEqual(ranking.evalNegatives, .sampled(20))
            for c in 0..<ranking.count {
                let negatives = Array(ranking.negatives(of: c))
                XCTAssertEqual(negatives.count, 20)
                XCTAssertEqual(Set(negatives).count, 20, "distinct")
                for item in negatives {
                    XCTAssertFalse(known[ranking.users[c]]!.contains(item), "case \(c): \(item) is a known item")
                    XCTAssertTrue(item >= 0 && Int(item) < ds.numItems)
                }
            }
        }
        XCTAssertEqual(ds.protocolDescription, "20 sampled negatives, leave-one-out, 12 users")
        let same = try make(seed: 9)
        XCTAssertEqual(same.validRanking, ds.validRanking)
        XCTAssertEqual(same.testRanking, ds.testRanking)
        XCTAssertEqual(same.testPairs, ds.testPairs)
        let other = try make(seed: 10)
        XCTAssertNotEqual(other.testRanking?.negatives, ds.testRanking?.negatives)
        // Loss negatives draw from their own stream: changing them leaves the candidates alone.
        let moreLoss = try make(seed: 9, loss: 7)
        XCTAssertEqual(moreLoss.testRanking, ds.testRanking)
        XCTAssertEqual(moreLoss.validRanking, ds.validRanking)
    }

    func testLossPairsArePositiveThenFixedNegatives() throws {
        let file = SplitFixtures.synthetic(users: 8, items: 60, ratings: 200)
        let ds = try DatasetBuilder.make(
            from: file, options: SplitOptions(kind: .loo, task: .implicit, lossNegatives: 3))
        let known = SplitFixtures.knownItems(ds)
        for (pairs, part) in [(ds.validPairs, ds.valid), (ds.testPairs, ds.test)] {
            XCTAssertEqual(pairs.count, part.count * 4)
            for c in 0..<part.count {
                let base = c * 4
                XCTAssertEqual(pairs.users[base], part.users[c])
                XCTAssertEqual(pairs.items[base], part.items[c])
                XCTAssertEqual(pairs.targets[base], 1)
                let negatives = (1...3).map { pairs.items[base + $0] }
                XCTAssertEqual(Set(negatives).count, 3)
                for k in 1...3 {
                    XCTAssertEqual(pairs.users[base + k], part.users[c])
                    XCTAssertEqual(pairs.targets[base + k], 0)
                    XCTAssertFalse(known[part.users[c]]!.contains(pairs.items[base + k]))
                }
            }
        }
        XCTAssertEqual(ds.meanTrainRating, 1)
    }

    func testUserWithFewUnseenItemsGetsThemAll() throws {
        // 10 items; user 0 has seen 8 of them, so only items 8 and 9 can be negatives.
        var rows: [(Int32, Int32, Float, Int64?)] = (Int32(0)..<8).map { (0, $0, 1, Int64($0)) }
        rows += (Int32(0)..<4).map { (1, $0, 1, Int64($0)) }
        let file = SplitFixtures.file(rows, items: 10)
        let ds = try DatasetBuilder.make(
            from: file, options: SplitOptions(kind: .loo, task: .implicit, evalNegatives: .sampled(5)))
        let ranking = try XCTUnwrap(ds.testRanking)
        XCTAssertEqual(ranking.users, [0, 1])
        XCTAssertEqual(Array(ranking.negatives(of: 0)).sorted(), [8, 9])
        XCTAssertEqual(ranking.negatives(of: 1).count, 5)
        XCTAssertTrue(ds.notes.contains { $0.hasPrefix("test: 1 case with fewer than 5 unseen items") }, "\(ds.notes)")
    }

    func testAllMeansNoExplicitNegatives() throws {
        let file = SplitFixtures.synthetic(users: 5, items: 40, ratings: 100)
        let ds = try DatasetBuilder.make(
            from: file, options: SplitOptions(kind: .loo, task: .implicit, evalNegatives: .all))
        let ranking = try XCTUnwrap(ds.testRanking)
        XCTAssertEqual(ranking.count, 5)
        XCTAssertEqual(ranking.negativeOffsets, [Int](repeating: 0, count: 6))
        XCTAssertTrue(ranking.negatives.isEmpty)
        XCTAssertEqual(ranking.evalNegatives, .all)
        XCTAssertEqual(ds.protocolDescription, "full ranking, leave-one-out, 5 users")
    }
}

// MARK: - NCF paper files

final class NCFSplitTests: XCTestCase {
    /// 3 users, 12 items; test items 9, 10, 11; negatives with the quirks of the paper's files.
    static func paperFiles(timestamps: Bool) -> NCFPaperFiles {
        var train = Interactions()
        let rows: [(Int32, Int32, Int64)] = [
            (0, 0, 10), (0, 1, 30), (0, 2, 20),
            (1, 3, 5), (1, 4, 6),
            (2, 5, 1),
        ]
        for (u, i, t) in rows { train.append(user: u, item: i, rating: 4, timestamp: timestamps ? t : nil) }
        let test = Interactions(users: [0, 1, 2], items: [9, 10, 11], ratings: [5, 5, 5],
                                timestamps: timestamps ? [40, 7, 2] : [])
        let negatives: [[Int32]] = [
            [3, 9, 4, 4, 5],   // the test item itself, and a repeat
            [0, 1, 2, 5, 6],   // clean
            [6, 7, 6, 8, 0],   // a repeat
        ]
        let file = RatingsFile(path: "tiny.train.rating", format: .ncf, interactions: train,
                               userIDs: SplitFixtures.idMap(3), itemIDs: SplitFixtures.idMap(12))
        return NCFPaperFiles(train: file, test: test, testNegatives: negatives)
    }

    func testFileNegativesAreDeduplicatedAndCounted() throws {
        let files = Self.paperFiles(timestamps: true)
        let ds = try DatasetBuilder.make(from: files, options: SplitOptions(kind: .ncf, task: .implicit))
        let ranking = try XCTUnwrap(ds.testRanking)
        XCTAssertEqual(ranking.positives, [9, 10, 11])
        XCTAssertEqual(Array(ranking.negatives(of: 0)), [3, 4, 5])
        XCTAssertEqual(Array(ranking.negatives(of: 1)), [0, 1, 2, 5, 6])
        XCTAssertEqual(Array(ranking.negatives(of: 2)), [6, 7, 8, 0])
        XCTAssertEqual(ranking.evalNegatives, .sampled(5))
        XCTAssertTrue(ds.notes.contains { $0.hasPrefix("NCF test negatives: 1 user had their own test item") },
                      "\(ds.notes)")
        XCTAssertTrue(ds.notes.contains { $0.hasPrefix("NCF test negatives: 2 users had repeated negatives") },
                      "\(ds.notes)")
        XCTAssertEqual(ds.protocolDescription,
                       "5 sampled negatives from the test file (de-duplicated), NCF paper split, 3 users")
        // Valid is each user's latest train interaction; user 2 has a single train row and keeps it.
        XCTAssertEqual(ds.valid.users, [0, 1])
        XCTAssertEqual(ds.valid.items, [1, 4])
        XCTAssertEqual(SplitFixtures.pairs(ds.train), [[0, 0], [0, 2], [1, 3], [2, 5]])
        XCTAssertEqual(ds.test, files.test)
        XCTAssertTrue(ds.notes.contains { $0.contains("1 user with a single train interaction") }, "\(ds.notes)")
        // Valid candidates are sampled, never a known item.
        let known = SplitFixtures.knownItems(ds)
        let valid = try XCTUnwrap(ds.validRanking)
        for c in 0..<valid.count {
            XCTAssertEqual(valid.negatives(of: c).count, 5)
            XCTAssertTrue(valid.negatives(of: c).allSatisfy { !known[valid.users[c]]!.contains($0) })
        }
    }

    func testFewerRequestedNegativesTakesTheFirstDistinctOnes() throws {
        let files = Self.paperFiles(timestamps: true)
        let ds = try DatasetBuilder.make(
            from: files, options: SplitOptions(kind: .ncf, task: .implicit, evalNegatives: .sampled(2)))
        let ranking = try XCTUnwrap(ds.testRanking)
        XCTAssertEqual(Array(ranking.negatives(of: 0)), [3, 4])
        XCTAssertEqual(Array(ranking.negatives(of: 2)), [6, 7])
        XCTAssertEqual(ranking.evalNegatives, .sampled(2))
    }

    func testWithoutTimestampsValidIsASeededRandomTrainItem() throws {
        let files = Self.paperFiles(timestamps: false)
        func make(_ seed: UInt64) throws -> Dataset {
            try DatasetBuilder.make(from: files, options: SplitOptions(kind: .ncf, task: .implicit, seed: seed))
        }
        let ds = try make(4)
        XCTAssertEqual(ds.valid.users, [0, 1])
        XCTAssertTrue([0, 1, 2].contains(ds.valid.items[0]))
        XCTAssertTrue([3, 4].contains(ds.valid.items[1]))
        XCTAssertEqual(ds.train.count + ds.valid.count, files.train.interactions.count)
        XCTAssertTrue(ds.notes.contains { $0.contains("no timestamps") }, "\(ds.notes)")
        XCTAssertEqual(try make(4).valid, ds.valid)
        // Some other seed picks differently (6 possible picks; a deterministic search).
        XCTAssertTrue(try (UInt64(0)..<20).contains { try make($0).valid != ds.valid })
    }

    func testAllIgnoresTheFileNegatives() throws {
        let ds = try DatasetBuilder.make(
            from: Self.paperFiles(timestamps: true),
            options: SplitOptions(kind: .ncf, task: .implicit, evalNegatives: .all))
        XCTAssertEqual(ds.testRanking?.negatives, [])
        XCTAssertEqual(ds.testRanking?.evalNegatives, .all)
        XCTAssertEqual(ds.validRanking?.negatives, [])
    }

    func testMismatchedNegativesAndOtherSplitsAreRejected() {
        var files = Self.paperFiles(timestamps: true)
        XCTAssertThrowsError(try DatasetBuilder.make(from: files, options: SplitOptions(kind: .loo, task: .implicit))) {
            XCTAssertEqual($0 as? SplitError, .paperFilesNeedNCFSplit(.loo, path: "tiny.train.rating"))
        }
        files.testNegatives.removeLast()
        XCTAssertThrowsError(try DatasetBuilder.make(from: files, options: SplitOptions(kind: .ncf, task: .implicit))) {
            XCTAssertEqual($0 as? SplitError, .ncfNegativesMismatch(path: "tiny.train.rating", testLines: 3,
                                                                    negativeLines: 2))
        }
    }

    func testRatingTaskOnPaperFiles() throws {
        let ds = try DatasetBuilder.make(
            from: Self.paperFiles(timestamps: true), options: SplitOptions(kind: .ncf, task: .rating))
        XCTAssertNil(ds.testRanking)
        XCTAssertEqual(ds.testPairs.targets, [5, 5, 5])
        XCTAssertEqual(ds.meanTrainRating, 4)
    }

    /// The paper's ML-1M files: 6,040 test users, 156 of whom have their test item among their negatives.
    func testRealML1MPaperFiles() throws {
        let prefix = SplitFixtures.sharedData.appendingPathComponent("ncf-ml-1m/ml-1m").path
        guard FileManager.default.fileExists(atPath: prefix + ".test.negative") else {
            throw XCTSkip("../shared/data/ncf-ml-1m is not present; the real-data NCF split test is skipped")
        }
        let files = try RatingsReader.readNCF(prefix: prefix)
        let ds = try DatasetBuilder.make(from: files, options: SplitOptions(kind: .ncf, task: .implicit, seed: 1))
        let ranking = try XCTUnwrap(ds.testRanking)
        XCTAssertEqual(ranking.count, 6040)
        XCTAssertEqual(ds.numUsers, 6040)
        XCTAssertEqual(ds.numItems, 3706)
        XCTAssertEqual(ds.train.count + ds.valid.count, 994_169)
        XCTAssertEqual(ds.valid.count, 6040)
        XCTAssertTrue(ds.notes.contains { $0.hasPrefix("NCF test negatives: 156 users had their own test item") },
                      "\(ds.notes)")
        XCTAssertEqual(ranking.negatives.count, 6040 * 99 - 156)
        XCTAssertEqual(ds.protocolDescription,
                       "99 sampled negatives from the test file (de-duplicated), NCF paper split, 6,040 users")
        for c in 0..<ranking.count {
            XCTAssertFalse(ranking.negatives(of: c).contains(ranking.positives[c]))
        }
    }
}
