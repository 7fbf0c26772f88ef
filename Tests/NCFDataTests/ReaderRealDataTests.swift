import Foundation
import XCTest
@testable import NCFData

/// The real MovieLens files in `../shared/data` (skipped when absent). Few on purpose: debug
/// builds parse slowly.
final class ReaderRealDataTests: XCTestCase {
    /// `../shared/data` relative to the package root, or a skip.
    private func sharedData(_ relative: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("../shared/data/" + relative).standardized.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is absent: the shared MovieLens data is not installed next to the package")
        }
        return path
    }

    func testMovieLens100KUData() throws {
        let path = try sharedData("ml-100k/u.data")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .tsv)
        XCTAssertEqual(file.interactions.count, 100_000)
        XCTAssertEqual(file.userIDs.count, 943)
        XCTAssertEqual(file.itemIDs.count, 1682)
        XCTAssertTrue(file.interactions.hasTimestamps)
        let summary = RatingsSummary(file: file)
        XCTAssertEqual(summary.histogram.map(\.value), [1, 2, 3, 4, 5])
        XCTAssertEqual(summary.histogram.reduce(0) { $0 + $1.count }, 100_000)
    }

    func testMovieLensLatestSmallCSV() throws {
        let path = try sharedData("ml-latest-small/ratings.csv")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .csv)
        XCTAssertEqual(file.interactions.count, 100_836)
        XCTAssertEqual(file.userIDs.count, 610)
        XCTAssertTrue(file.interactions.ratings.contains(0.5))
    }

    func testNCFMovieLens1MFiles() throws {
        let prefix = try sharedData("ncf-ml-1m") + "/ml-1m"
        XCTAssertEqual(try RatingsReader.detectFormat(path: prefix), .ncf)
        let files = try RatingsReader.readNCF(prefix: prefix)
        XCTAssertEqual(files.train.interactions.count, 994_169)
        XCTAssertEqual(files.test.count, 6040)
        XCTAssertEqual(files.testNegatives.count, 6040)
        XCTAssertTrue(files.testNegatives.allSatisfy { $0.count == 99 })
        XCTAssertEqual(files.train.userIDs.count, 6040)
        XCTAssertEqual(files.train.itemIDs.count, 3706)
        XCTAssertEqual(files.train.skipped.count, 0)
    }
}
