import Foundation
import NCFKernels
import XCTest
@testable import NCFData

/// The pieces that let ncf read and split 20M ratings in little memory: the streamed reader, the
/// one-byte split roles with a `UInt32` permutation, the in-place division of the rows, and the
/// row limit.
final class StreamedReaderTests: XCTestCase {
    /// Every line of `text` as the scanner cuts it, with buffers far smaller than the data.
    private func lines(_ path: String, chunk: Int, maxLine: Int) throws -> [String] {
        var scanner = LineScanner(source: try ByteSource(path: path), maximumLineLength: maxLine, chunkSize: chunk)
        defer { scanner.close() }
        var out: [String] = []
        while let line = try scanner.next() {
            switch line {
            case let .text(start, end):
                out.append("\(scanner.lineNumber):" + String(decoding: UnsafeBufferPointer(start: scanner.base + start, count: end - start), as: UTF8.self))
            case let .tooLong(length):
                out.append("\(scanner.lineNumber):too long \(length.map(String.init) ?? "?")")
            }
        }
        return out
    }

    func testLinesAreTheSameWhateverTheChunkSize() throws {
        let dir = try ReaderFixtureDirectory()
        let text = "\u{FEFF}1\t2\t3\r\n\n  \n10\t20\t4.5\n" + String(repeating: "x", count: 30) + "\n1234567890123\n7\t8\t1"
        let path = try dir.write("r.tsv", text)
        // maxLine 12: the 30-byte line has no break within 14 bytes (length unknown); the 13-byte
        // one does (length known).
        let expected = ["1:1\t2\t3", "2:", "3:  ", "4:10\t20\t4.5", "5:too long ?", "6:too long 13", "7:7\t8\t1"]
        for chunk in [1, 2, 3, 5, 8, 64, 1 << 16] {
            XCTAssertEqual(try lines(path, chunk: chunk, maxLine: 12), expected, "chunk \(chunk)")
        }
        // A line with no break within a line's worth is skipped whole; its length is unknown.
        let long = try dir.write("long.tsv", "1 2 3\n" + String(repeating: "y", count: 100) + "\n4 5 6\n")
        XCTAssertEqual(try lines(long, chunk: 4, maxLine: 10), ["1:1 2 3", "2:too long ?", "3:4 5 6"])
    }

    func testGzipStreamsLikeThePlainFile() throws {
        let dir = try ReaderFixtureDirectory()
        var text = ""
        for k in 0..<5000 { text += "\(k % 97)\t\(k % 31)\t\(k % 5 + 1)\t\(1000 + k)\n" }
        let plain = try dir.write("plain.tsv", text)
        let zipped = try dir.writeGzip("zipped.tsv", text)
        let a = try RatingsReader.read(path: plain), b = try RatingsReader.read(path: zipped)
        XCTAssertEqual(a.interactions, b.interactions)
        XCTAssertEqual(a.userIDs, b.userIDs)
        XCTAssertEqual(a.interactions.count, 5000)
        XCTAssertEqual(try lines(zipped, chunk: 7, maxLine: 64), try lines(plain, chunk: 7, maxLine: 64))
    }

    func testMoreRowsThanTheLimitAreRefusedNamingFileAndLine() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("four.tsv", "1 1 5\n\n1 2 4\n2 1 3\n2 2 1\n")
        var users = IDInterner(), items = IDInterner(), skipped = SkippedLines()
        XCTAssertThrowsError(try RatingsReader.parseRatings(
            try ByteSource(path: path), format: .tsv, columns: nil, allowHeader: true, skipBadLines: true,
            users: &users, items: &items, skipped: &skipped, maximumRows: 3)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("four.tsv:5:1"), text)
            XCTAssertTrue(text.contains("at most 3 ratings in one file"), text)
        }
        XCTAssertEqual(RatingsReader.maximumRows, 2_147_483_647)
    }

    func testIdsBeyondUInt32AreKeptAsWritten() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("big.tsv", "4294967296 18446744073709551616 5\n4294967295 7 4\n4294967296 7 3\n00042 7 1\n42 7 2\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.userIDs.rawIDs, ["4294967296", "4294967295", "00042", "42"])
        XCTAssertEqual(file.itemIDs.rawIDs, ["18446744073709551616", "7"])
        XCTAssertEqual(file.interactions.users, [0, 1, 0, 2, 3])
        XCTAssertEqual(file.interactions.items, [0, 1, 1, 1, 1])
        XCTAssertEqual(file.userIDs.index(of: "4294967296"), 0)
    }
}

final class CompactSplitTests: XCTestCase {
    /// The split as it was computed before the compact form: shuffle `Array(0..<n)` of `Int`.
    private func referenceRoles(count n: Int, valid: Double, test: Double, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed, stream: 1)
        let nValid = min(n, Int((valid * Double(n)).rounded()))
        let nTest = min(n - nValid, Int((test * Double(n)).rounded()))
        var order = Array(0..<n)
        rng.shuffle(&order)
        var part = [UInt8](repeating: 0, count: n)
        for k in 0..<nValid { part[order[k]] = 1 }
        for k in nValid..<(nValid + nTest) { part[order[k]] = 2 }
        return part
    }

    func testRandomRolesMatchTheIntPermutation() {
        for (n, seed) in [(0, 0), (1, 3), (10, 1), (1000, 7), (12_345, 42)] as [(Int, UInt64)] {
            var rng = SplitMix64(seed: seed, stream: 1)
            let roles = Splitter.random(count: n, validRatio: 0.1, testRatio: 0.15, rng: &rng).roles
            XCTAssertEqual(roles, referenceRoles(count: n, valid: 0.1, test: 0.15, seed: seed), "n \(n) seed \(seed)")
        }
    }

    func testDividedKeepsFileOrderAndDropsTimestamps() {
        let data = Interactions(users: [0, 1, 2, 3, 4, 5], items: [10, 11, 12, 13, 14, 15],
                                ratings: [1, 2, 3, 4, 5, 1.5], timestamps: [6, 5, 4, 3, 2, 1])
        let roles = SplitRoles(roles: [2, 0, 1, 0, 2, 0])
        let (train, valid, test) = data.divided(by: roles)
        XCTAssertEqual(train, Interactions(users: [1, 3, 5], items: [11, 13, 15], ratings: [2, 4, 1.5]))
        XCTAssertEqual(valid, Interactions(users: [2], items: [12], ratings: [3]))
        XCTAssertEqual(test, Interactions(users: [0, 4], items: [10, 14], ratings: [1, 5]))
        // The caller's copy is untouched when it still holds the rows (copy on write).
        XCTAssertEqual(data.users, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(data.timestamps, [6, 5, 4, 3, 2, 1])
    }

    func testSplitOfAConsumedFileEqualsTheSplitOfAHeldOne() throws {
        let file = SplitFixtures.synthetic(users: 40, items: 60, ratings: 2000, seed: 5)
        for kind in [SplitKind.random, .loo] {
            let options = SplitOptions(kind: kind, task: .rating, seed: 9)
            let held = try DatasetBuilder.make(from: file, options: options)
            let consumed = try DatasetBuilder.make(
                from: SplitFixtures.synthetic(users: 40, items: 60, ratings: 2000, seed: 5), options: options)
            XCTAssertEqual(held.train, consumed.train)
            XCTAssertEqual(held.valid, consumed.valid)
            XCTAssertEqual(held.test, consumed.test)
            XCTAssertEqual(held.notes, consumed.notes)
            XCTAssertEqual(held.train.count + held.valid.count + held.test.count, file.interactions.count)
        }
        XCTAssertEqual(file.interactions.count, 1440, "a held file keeps its rows (40 users × 36 items at most)")
    }

    func testUserItemsSortsAndDeduplicatesInPlace() {
        let data = Interactions(users: [1, 0, 1, 1, 2, 0], items: [5, 3, 2, 5, 0, 3], ratings: [1, 1, 1, 1, 1, 1])
        let index = UserItems(numUsers: 4, interactions: [data])
        XCTAssertEqual(Array(index.items(of: 0)), [3])
        XCTAssertEqual(Array(index.items(of: 1)), [2, 5])
        XCTAssertEqual(Array(index.items(of: 2)), [0])
        XCTAssertEqual(Array(index.items(of: 3)), [])
        XCTAssertEqual(index.items.count, 4)
    }
}

final class StreamedCacheTests: XCTestCase {
    func testStreamingChecksumEqualsTheOneShotChecksumHoweverCut() {
        var rng = SplitMix64(seed: 11)
        for count in [0, 1, 7, 8, 9, 63, 64, 1000] {
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let expected = DatasetCache.checksum(bytes, from: 0, count: count)
            for piece in [1, 3, 8, 13, 1024] {
                var sum = StreamingChecksum(count: count)
                var k = 0
                while k < count {
                    let n = min(piece, count - k)
                    bytes.withUnsafeBytes { sum.update(UnsafeRawBufferPointer(rebasing: $0[k..<(k + n)])) }
                    k += n
                }
                XCTAssertEqual(sum.finish(), expected, "count \(count) piece \(piece)")
            }
        }
    }

    func testStreamedStoreLoadsBackTheSameDataset() throws {
        let dir = try ReaderFixtureDirectory()
        let options = SplitOptions(kind: .loo, task: .implicit, seed: 2, evalNegatives: .sampled(5))
        let dataset = try DatasetBuilder.make(from: SplitFixtures.synthetic(users: 30, items: 50, ratings: 900), options: options)
        try DatasetCache.store(dataset, skipped: SkippedLines(), key: "k", directory: dir.url.path)
        let hit = try XCTUnwrap(DatasetCache.load(key: "k", directory: dir.url.path))
        XCTAssertEqual(hit.dataset.train, dataset.train)
        XCTAssertEqual(hit.dataset.validPairs, dataset.validPairs)
        XCTAssertEqual(hit.dataset.testRanking, dataset.testRanking)
        XCTAssertEqual(hit.dataset.notes, dataset.notes)
    }
}
