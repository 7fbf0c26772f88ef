import Foundation
import NCFData
import NCFKernels
import XCTest

/// The cached binary dataset: a cache hit must give exactly the dataset that parsing and splitting
/// gives, any change to the files or the options must miss, and a damaged cache file must miss
/// rather than crash.
final class DatasetCacheTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-cache-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private var cacheDir: String { directory.appendingPathComponent("cache").path }

    /// 12 users × 15 items, 5–8 ratings each, with timestamps; deterministic.
    private func ratingsText(extraLine: String = "") -> String {
        var rng = SplitMix64(seed: 3)
        var lines: [String] = []
        for u in 1...12 {
            var items = Set<Int>()
            let n = 5 + rng.nextInt(below: 4)
            while items.count < n { items.insert(1 + rng.nextInt(below: 15)) }
            for (k, i) in items.sorted().enumerated() {
                lines.append("\(u)\t\(i)\t\(1 + rng.nextInt(below: 5))\t\(1000 + 10 * u + k)")
            }
        }
        return lines.joined(separator: "\n") + "\n" + extraLine
    }

    private func write(_ text: String, _ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: false, encoding: .utf8)
        return url.path
    }

    private func assertSameDataset(_ a: Dataset, _ b: Dataset, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.task, b.task, file: file, line: line)
        XCTAssertEqual(a.split, b.split, file: file, line: line)
        XCTAssertEqual(a.options, b.options, file: file, line: line)
        XCTAssertEqual(a.userIDs, b.userIDs, file: file, line: line)
        XCTAssertEqual(a.itemIDs, b.itemIDs, file: file, line: line)
        XCTAssertEqual(a.train, b.train, file: file, line: line)
        XCTAssertEqual(a.valid, b.valid, file: file, line: line)
        XCTAssertEqual(a.test, b.test, file: file, line: line)
        XCTAssertEqual(a.trainItems.offsets, b.trainItems.offsets, file: file, line: line)
        XCTAssertEqual(a.trainItems.items, b.trainItems.items, file: file, line: line)
        XCTAssertEqual(a.validPairs, b.validPairs, file: file, line: line)
        XCTAssertEqual(a.testPairs, b.testPairs, file: file, line: line)
        XCTAssertEqual(a.validRanking, b.validRanking, file: file, line: line)
        XCTAssertEqual(a.testRanking, b.testRanking, file: file, line: line)
        XCTAssertEqual(a.meanTrainRating.bitPattern, b.meanTrainRating.bitPattern, file: file, line: line)
        XCTAssertEqual(a.notes, b.notes, file: file, line: line)
        XCTAssertEqual(a.protocolDescription, b.protocolDescription, file: file, line: line)
    }

    private func parse(_ path: String, _ options: SplitOptions) throws -> (Dataset, SkippedLines) {
        let file = try RatingsReader.read(path: path, options: LoadOptions(format: .tsv, skipBadLines: true))
        return (try DatasetBuilder.make(from: file, options: options), file.skipped)
    }

    func testCachedLoadEqualsTheParsedDatasetForEveryTaskAndSplit() throws {
        let path = try write(ratingsText(extraLine: "bad line\n"), "ratings.tsv")
        let load = LoadOptions(format: .tsv, skipBadLines: true)
        let optionSets = [
            SplitOptions(kind: .random, task: .rating, seed: 4),
            SplitOptions(kind: .loo, task: .implicit, seed: 4, evalNegatives: .sampled(5), lossNegatives: 2),
            SplitOptions(kind: .loo, task: .implicit, seed: 4, evalNegatives: .all, lossNegatives: 1),
        ]
        for options in optionSets {
            let (parsed, skipped) = try parse(path, options)
            XCTAssertEqual(skipped.count, 1)
            let key = try XCTUnwrap(DatasetCache.key(path: path, format: .tsv, load: load, split: options))
            XCTAssertNil(DatasetCache.load(key: key, directory: cacheDir), "nothing cached yet")
            try DatasetCache.store(parsed, skipped: skipped, key: key, directory: cacheDir)
            let hit = try XCTUnwrap(DatasetCache.load(key: key, directory: cacheDir), "\(options)")
            assertSameDataset(hit.dataset, parsed)
            XCTAssertEqual(hit.skipped, skipped)
        }
    }

    func testNCFPaperFilesRoundTrip() throws {
        let prefix = directory.appendingPathComponent("tiny").path
        var train: [String] = [], test: [String] = [], negatives: [String] = []
        for u in 0..<6 {
            for i in 0..<4 { train.append("\(u)\t\((u + i) % 10)\t\(1 + i)") }
            test.append("\(u)\t\((u + 5) % 10)\t5\t99")
            negatives.append("(\(u),\((u + 5) % 10))\t\((u + 6) % 10)\t\((u + 7) % 10)\t\((u + 8) % 10)")
        }
        _ = try write(train.joined(separator: "\n") + "\n", "tiny.train.rating")
        _ = try write(test.joined(separator: "\n") + "\n", "tiny.test.rating")
        _ = try write(negatives.joined(separator: "\n") + "\n", "tiny.test.negative")
        let options = SplitOptions(kind: .ncf, task: .implicit, seed: 1, evalNegatives: .sampled(99), lossNegatives: 2)
        let load = LoadOptions(format: .ncf)
        let parsed = try DatasetBuilder.make(from: RatingsReader.readNCF(prefix: prefix, options: load), options: options)
        let key = try XCTUnwrap(DatasetCache.key(path: prefix, format: .ncf, load: load, split: options))
        try DatasetCache.store(parsed, skipped: SkippedLines(), key: key, directory: cacheDir)
        assertSameDataset(try XCTUnwrap(DatasetCache.load(key: key, directory: cacheDir)).dataset, parsed)
        // Editing any of the three files changes the key.
        _ = try write(negatives.joined(separator: "\n") + "\n(0,5)\t1\n", "tiny.test.negative")
        XCTAssertNotEqual(DatasetCache.key(path: prefix, format: .ncf, load: load, split: options), key)
    }

    func testAChangedFileOrOptionMisses() throws {
        let path = try write(ratingsText(), "ratings.tsv")
        let load = LoadOptions(format: .tsv)
        let options = SplitOptions(kind: .random, task: .rating, seed: 4)
        let key = try XCTUnwrap(DatasetCache.key(path: path, format: .tsv, load: load, split: options))
        XCTAssertEqual(DatasetCache.key(path: path, format: .tsv, load: load, split: options), key, "the key is stable")
        let (parsed, skipped) = try parse(path, options)
        try DatasetCache.store(parsed, skipped: skipped, key: key, directory: cacheDir)

        // Other options: other keys.
        var otherSeed = options
        otherSeed.seed = 5
        XCTAssertNotEqual(DatasetCache.key(path: path, format: .tsv, load: load, split: otherSeed), key)
        XCTAssertNotEqual(DatasetCache.key(path: path, format: .tsv, load: LoadOptions(format: .tsv, skipBadLines: true), split: options), key)
        XCTAssertNotEqual(DatasetCache.key(path: path, format: .csv, load: load, split: options), key)

        // Same size, same modification time, one digit changed: the content hash catches it.
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        var text = ratingsText()
        let index = text.index(text.startIndex, offsetBy: 2)
        text.replaceSubrange(index...index, with: text[index] == "7" ? "8" : "7")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: path)
        let edited = try XCTUnwrap(DatasetCache.key(path: path, format: .tsv, load: load, split: options))
        XCTAssertNotEqual(edited, key)
        XCTAssertNil(DatasetCache.load(key: edited, directory: cacheDir))

        // An appended line changes size and time.
        _ = try write(ratingsText(extraLine: "13\t1\t4\t5000\n"), "ratings.tsv")
        XCTAssertNotEqual(DatasetCache.key(path: path, format: .tsv, load: load, split: options), key)
        XCTAssertNil(DatasetCache.key(path: path + ".missing", format: .tsv, load: load, split: options))
    }

    func testDamagedCacheFilesMissInsteadOfCrashing() throws {
        let path = try write(ratingsText(), "ratings.tsv")
        let options = SplitOptions(kind: .loo, task: .implicit, seed: 4, evalNegatives: .sampled(3), lossNegatives: 1)
        let key = try XCTUnwrap(DatasetCache.key(path: path, format: .tsv, load: LoadOptions(format: .tsv), split: options))
        let (parsed, skipped) = try parse(path, options)
        try DatasetCache.store(parsed, skipped: skipped, key: key, directory: cacheDir)
        let file = DatasetCache.filePath(key: key, directory: cacheDir)
        let good = try Data(contentsOf: URL(fileURLWithPath: file))
        // Every truncation, and a flipped byte at many offsets.
        for length in stride(from: 0, to: good.count, by: max(1, good.count / 97)) {
            try good.prefix(length).write(to: URL(fileURLWithPath: file))
            XCTAssertNil(DatasetCache.load(key: key, directory: cacheDir), "truncated to \(length)")
        }
        for offset in stride(from: 0, to: good.count, by: max(1, good.count / 211)) {
            var bad = good
            bad[offset] ^= 0x5A
            try bad.write(to: URL(fileURLWithPath: file))
            XCTAssertNil(DatasetCache.load(key: key, directory: cacheDir), "byte \(offset) flipped")
        }
        try good.write(to: URL(fileURLWithPath: file))
        XCTAssertNotNil(DatasetCache.load(key: key, directory: cacheDir))
    }

    func testTrimKeepsTheMostRecentlyUsedFiles() throws {
        let path = try write(ratingsText(), "ratings.tsv")
        let (parsed, skipped) = try parse(path, SplitOptions(kind: .random, task: .rating, seed: 4))
        // Five entries under different keys, written one after another (older first).
        var keys: [String] = []
        for seed in 0..<5 {
            let options = SplitOptions(kind: .random, task: .rating, seed: UInt64(seed))
            let key = try XCTUnwrap(DatasetCache.key(path: path, format: .tsv, load: LoadOptions(format: .tsv), split: options))
            try DatasetCache.store(parsed, skipped: skipped, key: key, directory: cacheDir)
            keys.append(key)
            usleep(20_000)  // distinct modification times
        }
        // Using the oldest makes it the most recent; trimming to 3 keeps it and the two newest.
        XCTAssertNotNil(DatasetCache.load(key: keys[0], directory: cacheDir))
        DatasetCache.trim(cacheDir, keeping: 3, bytes: .max)
        let present = keys.map { FileManager.default.fileExists(atPath: DatasetCache.filePath(key: $0, directory: cacheDir)) }
        XCTAssertEqual(present, [true, false, false, true, true])
        // A byte budget smaller than one file empties the cache.
        DatasetCache.trim(cacheDir, keeping: 10, bytes: 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cacheDir).filter { $0.hasSuffix(".ncfds") }, [])
    }

    func testConcurrentWritersLeaveOneCompleteFile() throws {
        let path = try write(ratingsText(), "ratings.tsv")
        let options = SplitOptions(kind: .random, task: .rating, seed: 4)
        let key = try XCTUnwrap(DatasetCache.key(path: path, format: .tsv, load: LoadOptions(format: .tsv), split: options))
        let (parsed, skipped) = try parse(path, options)
        let cacheDir = self.cacheDir
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<5 { try? DatasetCache.store(parsed, skipped: skipped, key: key, directory: cacheDir) }
        }
        assertSameDataset(try XCTUnwrap(DatasetCache.load(key: key, directory: cacheDir)).dataset, parsed)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cacheDir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "temporary files are renamed or removed")
    }
}
