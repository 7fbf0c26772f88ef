import NCFData
import NCFKernels
import XCTest

final class SamplerTests: XCTestCase {
    /// 15 users × 40 items, leave-one-out, implicit.
    private func implicitDataset() throws -> Dataset {
        try DatasetBuilder.make(
            from: SplitFixtures.synthetic(users: 15, items: 40, ratings: 330),
            options: SplitOptions(kind: .loo, task: .implicit))
    }

    func testNegativesAreNeverTrainPositivesOverManyEpochs() throws {
        let ds = try implicitDataset()
        var sampler = NegativeSampler(dataset: ds, negatives: 4)
        XCTAssertTrue(sampler.usesBitset)
        var pairs = LabeledPairs()
        var rng = SplitMix64(seed: 11)
        var negativesSeen = 0
        for _ in 0..<40 {
            sampler.fillEpoch(&pairs, rng: &rng)
            for k in 0..<pairs.count {
                let isTrain = ds.trainItems.contains(user: pairs.users[k], item: pairs.items[k])
                if pairs.targets[k] == 0 {
                    XCTAssertFalse(isTrain, "negative (\(pairs.users[k]), \(pairs.items[k])) is a train positive")
                    XCTAssertTrue(pairs.items[k] >= 0 && Int(pairs.items[k]) < ds.numItems)
                    negativesSeen += 1
                } else {
                    XCTAssertEqual(pairs.targets[k], 1)
                    XCTAssertTrue(isTrain)
                }
            }
        }
        XCTAssertEqual(negativesSeen, 40 * 4 * ds.train.count)
    }

    /// The rating task's epoch as an order over the train rows, gathered batch by batch, is the
    /// materialised epoch (`fillEpoch`, the reference) pair for pair, and leaves the generator
    /// where `fillEpoch` does; over several epochs and for an implicit task without negatives too.
    func testGatheringAnOrderIsTheMaterialisedEpoch() throws {
        let rating = try DatasetBuilder.make(from: SplitFixtures.synthetic(users: 15, items: 40, ratings: 330),
                                             options: SplitOptions(kind: .random, task: .rating))
        for (ds, negatives) in [(rating, 4), (try implicitDataset(), 0)] {
            var reference = NegativeSampler(dataset: ds, negatives: negatives)
            var compact = NegativeSampler(dataset: ds, negatives: negatives)
            XCTAssertTrue(compact.epochIsPermutation)
            var pairs = LabeledPairs(), order: [UInt32] = []
            var rngA = SplitMix64(seed: 5), rngB = SplitMix64(seed: 5)
            for _ in 0..<3 {
                reference.fillEpoch(&pairs, rng: &rngA)
                compact.fillOrder(&order, rng: &rngB)
                XCTAssertEqual(order.count, pairs.count)
                var batch = LabeledPairs()
                for start in stride(from: 0, to: order.count, by: 7) {  // batches of 7, the last shorter
                    let end = min(start + 7, order.count)
                    compact.gather(order[start..<end], into: &batch)
                    XCTAssertEqual(batch.users, Array(pairs.users[start..<end]))
                    XCTAssertEqual(batch.items, Array(pairs.items[start..<end]))
                    XCTAssertEqual(batch.targets, Array(pairs.targets[start..<end]))
                }
                XCTAssertEqual(rngA.next(), rngB.next(), "the generator moved on as fillEpoch moves it")
            }
        }
        XCTAssertFalse(NegativeSampler(dataset: try implicitDataset(), negatives: 4).epochIsPermutation)
    }

    func testEpochHoldsEveryPositiveOnceAndNegativesPerPositive() throws {
        let ds = try implicitDataset()
        var sampler = NegativeSampler(dataset: ds, negatives: 3)
        var pairs = LabeledPairs()
        var rng = SplitMix64(seed: 2)
        sampler.fillEpoch(&pairs, rng: &rng)
        XCTAssertEqual(sampler.epochSize, ds.train.count * 4)
        XCTAssertEqual(pairs.count, ds.train.count * 4)
        var positives = Interactions()
        var negativesPerUser: [Int32: Int] = [:]
        for k in 0..<pairs.count {
            if pairs.targets[k] == 1 {
                positives.append(user: pairs.users[k], item: pairs.items[k], rating: 1, timestamp: nil)
            } else {
                negativesPerUser[pairs.users[k], default: 0] += 1
            }
        }
        XCTAssertEqual(SplitFixtures.pairs(positives), SplitFixtures.pairs(ds.train))
        for u in Set(ds.train.users) {
            XCTAssertEqual(negativesPerUser[u], 3 * ds.train.users.filter { $0 == u }.count)
        }
        // Shuffled: the positives are not simply first, in train order.
        XCTAssertNotEqual(Array(pairs.items.prefix(ds.train.count)), ds.train.items)
    }

    func testSameSeedSameEpochsAndEpochsDiffer() throws {
        let ds = try implicitDataset()
        func epochs(seed: UInt64) -> [LabeledPairs] {
            var sampler = NegativeSampler(dataset: ds, negatives: 4)
            var rng = SplitMix64(seed: seed)
            var pairs = LabeledPairs()
            return (0..<3).map { _ in
                sampler.fillEpoch(&pairs, rng: &rng)
                return pairs
            }
        }
        let a = epochs(seed: 5), b = epochs(seed: 5), c = epochs(seed: 6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a[0], a[1], "negatives are resampled every epoch")
        XCTAssertNotEqual(a[0], c[0])
    }

    func testBinarySearchPathMatchesBitset() throws {
        let ds = try implicitDataset()
        var fast = NegativeSampler(dataset: ds, negatives: 4)
        var slow = NegativeSampler(dataset: ds, negatives: 4, bitsetLimit: 0)
        XCTAssertTrue(fast.usesBitset)
        XCTAssertFalse(slow.usesBitset)
        var rngA = SplitMix64(seed: 8), rngB = SplitMix64(seed: 8)
        var a = LabeledPairs(), b = LabeledPairs()
        for _ in 0..<3 {
            fast.fillEpoch(&a, rng: &rngA)
            slow.fillEpoch(&b, rng: &rngB)
            XCTAssertEqual(a, b)
        }
    }

    func testReusesStorageAfterTheFirstEpoch() throws {
        let ds = try implicitDataset()
        var sampler = NegativeSampler(dataset: ds, negatives: 4)
        var pairs = LabeledPairs()
        var rng = SplitMix64(seed: 1)
        sampler.fillEpoch(&pairs, rng: &rng)
        let before = pairs.users.withUnsafeBufferPointer { $0.baseAddress }
        sampler.fillEpoch(&pairs, rng: &rng)
        let after = pairs.users.withUnsafeBufferPointer { $0.baseAddress }
        XCTAssertEqual(before, after)
    }

    func testUserWhoSawEveryItemGetsNoNegatives() throws {
        // 4 items; user 0 has all of them in train, user 1 has one.
        var rows: [(Int32, Int32, Float, Int64?)] = (Int32(0)..<4).map { (0, $0, 1, nil) }
        rows.append((1, 2, 1, nil))
        let ds = try DatasetBuilder.make(
            from: SplitFixtures.file(rows),
            options: SplitOptions(kind: .random, task: .implicit, validRatio: 0, testRatio: 0))
        var sampler = NegativeSampler(dataset: ds, negatives: 5)
        XCTAssertEqual(sampler.epochSize, 5 + 5)
        var pairs = LabeledPairs()
        var rng = SplitMix64(seed: 3)
        sampler.fillEpoch(&pairs, rng: &rng)
        XCTAssertEqual(pairs.count, 10)
        for k in 0..<pairs.count where pairs.targets[k] == 0 {
            XCTAssertEqual(pairs.users[k], 1)
            XCTAssertNotEqual(pairs.items[k], 2)
        }
    }

    func testRatingTaskEpochIsTheShuffledTrainRatings() throws {
        let ds = try DatasetBuilder.make(
            from: SplitFixtures.synthetic(users: 6, items: 40, ratings: 150),
            options: SplitOptions(kind: .random, task: .rating))
        var sampler = NegativeSampler(dataset: ds, negatives: 4)
        XCTAssertEqual(sampler.epochSize, ds.train.count)
        var pairs = LabeledPairs()
        var rng = SplitMix64(seed: 4)
        sampler.fillEpoch(&pairs, rng: &rng)
        func triples(_ u: [Int32], _ i: [Int32], _ r: [Float]) -> [[Float]] {
            (0..<u.count).map { [Float(u[$0]), Float(i[$0]), r[$0]] }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        XCTAssertEqual(triples(pairs.users, pairs.items, pairs.targets),
                       triples(ds.train.users, ds.train.items, ds.train.ratings))
    }
}
