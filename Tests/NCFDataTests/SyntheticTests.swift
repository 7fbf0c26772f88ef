import NCFData
import XCTest

final class SyntheticTests: XCTestCase {
    func testInvariants() {
        let users = 40, items = 200
        let data = SyntheticRatings.generate(users: users, items: items, ratings: 3000, seed: 7)
        XCTAssertEqual(data.count, 3000)
        XCTAssertTrue(data.hasTimestamps)
        var pairs = Set<Int64>()
        var perUser = [Int](repeating: 0, count: users)
        var lastTime = [Int64](repeating: .min, count: users)
        for k in 0..<data.count {
            let u = Int(data.users[k]), i = Int(data.items[k])
            XCTAssertTrue((0..<users).contains(u) && (0..<items).contains(i))
            XCTAssertTrue(pairs.insert(Int64(u) << 32 | Int64(i)).inserted, "repeated pair (\(u), \(i))")
            perUser[u] += 1
            let r = data.ratings[k]
            XCTAssertTrue((1...5).contains(r) && r == r.rounded(), "rating \(r)")
            let t = data.timestamps[k]
            XCTAssertTrue((874_724_710...893_286_638).contains(t), "timestamp \(t)")
            XCTAssertGreaterThanOrEqual(t, lastTime[u], "user \(u)'s times go backwards")
            lastTime[u] = t
        }
        XCTAssertGreaterThanOrEqual(perUser.min()!, SyntheticRatings.minRatingsPerUser)
        // Rows are grouped by user, in user order.
        XCTAssertEqual(data.users, data.users.sorted())
        // Every rating value occurs, and popularity is skewed: the top 10% of items hold far more
        // than 10% of the ratings.
        XCTAssertEqual(Set(data.ratings), [1, 2, 3, 4, 5])
        var perItem = [Int](repeating: 0, count: items)
        for i in data.items { perItem[Int(i)] += 1 }
        let top = perItem.sorted(by: >).prefix(items / 10).reduce(0, +)
        XCTAssertGreaterThan(Double(top) / Double(data.count), 0.18)
        // Activity is uneven too.
        XCTAssertGreaterThan(perUser.max()!, 2 * perUser.min()!)
    }

    func testDeterministicPerSeed() {
        let a = SyntheticRatings.generate(users: 25, items: 100, ratings: 800, seed: 1)
        let b = SyntheticRatings.generate(users: 25, items: 100, ratings: 800, seed: 1)
        let c = SyntheticRatings.generate(users: 25, items: 100, ratings: 800, seed: 2)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.items, c.items)
        XCTAssertEqual(SyntheticRatings.tsv(a), SyntheticRatings.tsv(b))
    }

    func testTooFewRatingsStillGivesTwentyPerUser() {
        let data = SyntheticRatings.generate(users: 10, items: 50, ratings: 50, seed: 3)
        XCTAssertEqual(data.count, 200)
        for u in Int32(0)..<10 { XCTAssertEqual(data.users.filter { $0 == u }.count, 20) }
    }

    func testTSVLayout() {
        let data = Interactions(users: [0, 2], items: [4, 0], ratings: [5, 3.5], timestamps: [100, 200])
        XCTAssertEqual(SyntheticRatings.tsv(data), "1\t5\t5\t100\n3\t1\t3.5\t200\n")
        let noTime = Interactions(users: [1], items: [1], ratings: [2])
        XCTAssertEqual(SyntheticRatings.tsv(noTime), "2\t2\t2\n")
    }

    func testDefaultShape() {
        let shape = SyntheticRatings.defaultShape
        XCTAssertEqual(shape.users, 943)
        XCTAssertEqual(shape.items, 1682)
        XCTAssertEqual(shape.ratings, 100_000)
        XCTAssertEqual(shape.seed, 42)
        let data = SyntheticRatings.generate(users: shape.users, items: shape.items, ratings: shape.ratings,
                                             seed: shape.seed)
        XCTAssertEqual(data.count, 100_000)
        XCTAssertEqual(Set(data.users).count, 943)
        let mean = data.ratings.reduce(0, +) / Float(data.count)
        XCTAssertTrue((3.3...3.8).contains(mean), "mean rating \(mean)")
    }
}
