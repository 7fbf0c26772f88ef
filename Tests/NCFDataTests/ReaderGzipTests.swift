import XCTest
@testable import NCFData

/// Tiny gzip members made once with `gzip -9n` and embedded here.
enum ReaderGzipFixture {
    /// `"u1\ti1\t4.5\nu2\ti1\t3\n"`
    static let twoLines: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0x35, 0xe4, 0xcc, 0x34, 0xe4,
        0x34, 0xd1, 0x33, 0xe5, 0x2a, 0x35, 0x02, 0xb1, 0x8c, 0xb9, 0x00, 0x08, 0x84, 0x0e, 0x4f, 0x12,
        0x00, 0x00, 0x00,
    ]
    static let twoLinesText = "u1\ti1\t4.5\nu2\ti1\t3\n"
    /// `"a\n"`
    static let letterA: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xe4, 0x02, 0x00, 0x07, 0xa1,
        0xea, 0xdd, 0x02, 0x00, 0x00, 0x00,
    ]
}

/// `Gzip`: in-memory decompression through zlib.
final class GzipTests: XCTestCase {
    func testDecompressesAnEmbeddedMember() throws {
        XCTAssertTrue(Gzip.isGzip(ReaderGzipFixture.twoLines))
        XCTAssertFalse(Gzip.isGzip(Array("1\t2\t3\n".utf8)))
        XCTAssertFalse(Gzip.isGzip([0x1f]))
        let out = try Gzip.decompress(ReaderGzipFixture.twoLines, path: "x.gz")
        XCTAssertEqual(String(decoding: out, as: UTF8.self), ReaderGzipFixture.twoLinesText)
    }

    func testConcatenatedMembersDecompressToTheConcatenation() throws {
        let out = try Gzip.decompress(ReaderGzipFixture.letterA + ReaderGzipFixture.twoLines + ReaderGzipFixture.letterA,
                                      path: "cat.gz")
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "a\n" + ReaderGzipFixture.twoLinesText + "a\n")
        // Trailing bytes that do not start another member are ignored.
        let padded = try Gzip.decompress(ReaderGzipFixture.letterA + [0, 0, 0], path: "pad.gz")
        XCTAssertEqual(padded, Array("a\n".utf8))
    }

    func testDamagedAndTruncatedDataThrowNamingTheFile() {
        var damaged = ReaderGzipFixture.twoLines
        damaged[damaged.count - 6] ^= 0x55  // inside the CRC-32 trailer
        assertDataError(try Gzip.decompress(damaged, path: "damaged.gz"),
                        prefix: "damaged.gz: starts like a gzip file but does not decompress (")
        assertDataError(try Gzip.decompress(Array(ReaderGzipFixture.twoLines.dropLast(3)), path: "short.gz"),
                        prefix: "short.gz: starts like a gzip file but does not decompress (unexpected end of data")
        assertDataError(try Gzip.decompress([0x1f, 0x8b, 0x08], path: "tiny.gz"), prefix: "tiny.gz: starts like a gzip")
    }

    func testLargerFileWrittenByGzipRoundTripsAndReads() throws {
        let dir = try ReaderFixtureDirectory()
        // Enough lines that the output buffer must grow past its first guess of the member's size.
        var text = ""
        for k in 0..<20_000 { text += "\(k % 97)\t\(k % 1013)\t\(k % 5 + 1)\t\(1_000_000 + k)\n" }
        let path = try dir.writeGzip("big.tsv", text)
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(try Gzip.decompress(raw, path: path), Array(text.utf8))
        let prefix = try Gzip.decompress(raw, path: path, limit: 1000)
        XCTAssertGreaterThanOrEqual(prefix.count, 1000)
        XCTAssertEqual(Array(text.utf8.prefix(prefix.count)), prefix)

        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.interactions.count, 20_000)
        XCTAssertEqual(file.userIDs.count, 97)
        XCTAssertEqual(file.itemIDs.count, 1013)
        XCTAssertEqual(file.interactions.timestamps.last, 1_019_999)
    }
}
