import XCTest
@testable import NCFData

/// Ids are kept as their exact bytes, lines have a bounded length, and error messages quote a
/// bounded amount of the file.
final class ReaderLimitsTests: XCTestCase {
    // MARK: - Ids are exact bytes

    /// "é" precomposed (NFC, C3 A9) and "e" + combining acute (NFD, 65 CC 81) are two users.
    func testNFCAndNFDSpellingsAreDistinctIDs() throws {
        let dir = try ReaderFixtureDirectory()
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let path = try dir.write("u.data", "\(nfc)\t1\t4\n\(nfd)\t1\t3\n\(nfc)\t2\t5\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.userIDs.count, 2, "the two spellings were merged")
        XCTAssertEqual(file.userIDs.rawIDs.map { Array($0.utf8) }, [Array(nfc.utf8), Array(nfd.utf8)])
        XCTAssertEqual(file.userIDs.index(of: nfc), 0)
        XCTAssertEqual(file.userIDs.index(of: nfd), 1)
        XCTAssertEqual(file.interactions.users, [0, 1, 0])
        // Maps with the spellings swapped are different maps.
        XCTAssertNotEqual(IDMap(rawIDs: [nfc, nfd]), IDMap(rawIDs: [nfd, nfc]))
    }

    // MARK: - Long lines

    /// A 2 MiB file with commas and no line break: refused quickly, with a short message.
    func testHugeLineFreeCSVGivesAShortError() throws {
        let dir = try ReaderFixtureDirectory()
        var text = ""
        text.reserveCapacity(2 << 20)
        var k = 0
        while text.utf8.count < 2 << 20 { text += "column\(k),"; k += 1 }
        let path = try dir.write("wide.csv", text)
        let error = assertDataError(try RatingsReader.read(path: path), prefix: "\(path):1:")
        let message = error?.description ?? ""
        XCTAssertLessThan(message.utf8.count, 1_000, "the message quotes too much: \(message.prefix(300))…")
        XCTAssertTrue(message.contains("Hint: "), message)
    }

    /// A data line longer than the limit is an error naming the line (or skipped with
    /// `skipBadLines`, keeping the lines after it).
    func testOverlongDataLineIsMalformed() throws {
        let dir = try ReaderFixtureDirectory()
        let long = String(repeating: "7", count: RatingsReader.maximumLineLength + 10)
        let path = try dir.write("u.data", "1\t2\t3\n\(long)\t5\t4\n3\t4\t5\n")
        let error = assertDataError(try RatingsReader.read(path: path), prefix: "\(path):2:")
        XCTAssertLessThan(error?.description.utf8.count ?? .max, 1_000)
        XCTAssertTrue(error?.description.contains("longer than") ?? false, error?.description ?? "")
        let skipped = try RatingsReader.read(path: path, options: LoadOptions(skipBadLines: true))
        XCTAssertEqual(skipped.interactions.count, 2)
        XCTAssertEqual(skipped.skipped.firstLines, [2])
    }

    /// The header's columns are quoted only up to a bound in a missing-column error.
    func testMissingColumnErrorQuotesABoundedHeader() throws {
        let dir = try ReaderFixtureDirectory()
        let header = (0..<500).map { "col\($0)_" + String(repeating: "n", count: 60) }.joined(separator: ",")
        let path = try dir.write("h.csv", header + "\n1,2,3\n")
        let error = assertDataError(try RatingsReader.read(path: path), prefix: "\(path):1:1: expected a user column")
        XCTAssertLessThan(error?.description.utf8.count ?? .max, 1_500, error?.description.prefix(300).description ?? "")
        XCTAssertTrue(error?.description.contains("500 columns") ?? false, error?.description.prefix(600).description ?? "")
    }
}
