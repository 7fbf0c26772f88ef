import XCTest
@testable import NCFData

/// A table of malformed (and odd but valid) ratings files: each bad one is refused with a message
/// naming the place (`FILE:LINE:COLUMN`), the value found and what would be accepted; each odd
/// one is read as documented.
final class MalformedRatingsTests: XCTestCase {
    /// A file that must be refused: the message must start with `FILE:` + `location` and contain
    /// every fragment of `mentions` (the value found and what is accepted).
    struct Bad {
        var name: String
        var file: String
        var text: String
        var options = LoadOptions()
        var location: String
        var mentions: [String]
    }

    static let bad: [Bad] = [
        Bad(name: "too few fields", file: "u.data", text: "1\t2\t3\t4\n5\t6\t7\n", location: "2:6",
            mentions: ["expected 4 fields (user, item, rating, timestamp) as on line 1", "found 3 fields"]),
        Bad(name: "too many fields for the header", file: "h.csv", text: "userId,movieId,rating\n1,2,3,4\n", location: "2:7",
            mentions: ["expected 3 fields as in the header on line 1", "found 4 fields"]),
        Bad(name: "a lone field", file: "one.tsv", text: "17\n", location: "1:3",
            mentions: ["expected 3 or 4 fields (user, item, rating[, timestamp])", "found 1 field"]),
        Bad(name: "non-numeric rating", file: "r.tsv", text: "1\t2\tfive\n", location: "1:5",
            mentions: ["expected a number for the rating", "found \"five\""]),
        Bad(name: "rating out of Float's range", file: "big.tsv", text: "1\t2\t3\n1\t3\t1e39\n", location: "2:5",
            mentions: ["expected a finite number for the rating", "found \"1e39\""]),
        Bad(name: "NaN rating", file: "nan.csv", text: "u,i,3\nu,j,NaN\n", location: "2:5",
            mentions: ["expected a finite number for the rating", "found \"NaN\""]),
        Bad(name: "hex rating", file: "hex.tsv", text: "1\t2\t0x10\n", location: "1:5",
            mentions: ["expected a number for the rating", "found \"0x10\""]),
        Bad(name: "blank lines still count", file: "blank.tsv", text: "\n\n1\t2\t3\n   \n4\t5\tx\n", location: "5:5",
            mentions: ["expected a number for the rating", "found \"x\""]),
        Bad(name: "a BOM is not part of column 1", file: "bom.tsv", text: "\u{FEFF}1\t2\tx\n", location: "1:5",
            mentions: ["expected a number for the rating", "found \"x\""]),
        Bad(name: "CRLF is not part of the value", file: "crlf.tsv", text: "1\t2\t3\r\n4\t5\tbad\r\n", location: "2:5",
            mentions: ["expected a number for the rating", "found \"bad\""]),
        Bad(name: "a tab line in a '::' file", file: "mixed.dat", text: "1::2::3\n4\t5\t6\n", location: "2:6",
            mentions: ["expected 3 fields (user, item, rating) as on line 1", "found 1 field"]),
        Bad(name: "a comma line in a tab file", file: "mixed.tsv", text: "1\t2\t3\n4,5,6\n", location: "2:6",
            mentions: ["expected 3 fields (user, item, rating) as on line 1", "found 1 field"]),
        Bad(name: "'::' and ',' in one file", file: "mixed2.dat", text: "1::2::3\n4::5,6\n", location: "2:7",
            mentions: ["expected 3 fields (user, item, rating) as on line 1", "found 2 fields"]),
        Bad(name: "a header in a headerless file", file: "hdr.tsv", text: "1\t2\t3\nuser\titem\trating\n", location: "2:11",
            mentions: ["expected a number for the rating", "found \"rating\"", "looks like a header row", "this file has no header"]),
        Bad(name: "a header repeated in a CSV", file: "twice.csv", text: "userId,movieId,rating\n1,2,3\nuserId,movieId,rating\n",
            location: "3:16", mentions: ["found \"rating\"", "the header is on line 1"]),
        Bad(name: "an id with a space in a tab file", file: "space.tsv", text: "u1\ti1\t4\nuser one\t2\t3\n", location: "2:12",
            mentions: ["expected 3 fields (user, item, rating) as on line 1", "found 4 fields"]),
        Bad(name: "UTF-8 ids: columns count bytes", file: "utf8.tsv", text: "a\tb\t1\n\u{00FC}\t\u{6620}\u{753B}\tx\n", location: "2:11",
            mentions: ["expected a number for the rating", "found \"x\""]),
        Bad(name: "a first line with words and a bad rating reads as a header", file: "words.tsv", text: "\u{00FC}\t\u{6620}\u{753B}\tx\n",
            location: "1:1", mentions: ["expected a user column named \"user\"", "found columns \"\u{00FC}\", \"\u{6620}\u{753B}\", \"x\"",
                                        "--columns \u{00FC},\u{6620}\u{753B},x"]),
        Bad(name: "empty user", file: "e.csv", text: ",2,3\n", location: "1:1", mentions: ["expected a user id", "found an empty field"]),
        Bad(name: "empty item in a '::' file", file: "e.dat", text: "1:: ::3\n", location: "1:5",
            mentions: ["expected an item id", "found an empty field"]),
        Bad(name: "fractional timestamp", file: "t.tsv", text: "1\t2\t3\t100\n1\t2\t3\t12.5\n", location: "2:7",
            mentions: ["expected an integer timestamp", "found \"12.5\""]),
        Bad(name: "header without a rating column", file: "cols.csv", text: "user,item,stars\n1,2,3\n", location: "1:1",
            mentions: ["expected a rating column named \"rating\" or \"score\"", "found columns \"user\", \"item\", \"stars\"",
                       "--columns user,item,stars"]),
        Bad(name: "a long bad value is cut", file: "long.tsv", text: "1\t2\t" + String(repeating: "z", count: 100) + "\n", location: "1:5",
            mentions: ["found \"" + String(repeating: "z", count: 40) + "…\""]),
    ]

    func testEachMalformedFileIsRefusedWithPlaceValueAndWhatIsAccepted() throws {
        let dir = try ReaderFixtureDirectory()
        for case_ in Self.bad {
            let path = try dir.write(case_.file, case_.text)
            do {
                _ = try RatingsReader.read(path: path, options: case_.options)
                XCTFail("\(case_.name): accepted")
            } catch {
                let message = error.description
                XCTAssertTrue(message.hasPrefix("\(path):\(case_.location): "), "\(case_.name): \(message)")
                for fragment in case_.mentions {
                    XCTAssertTrue(message.contains(fragment), "\(case_.name): lacks \"\(fragment)\": \(message)")
                }
                XCTAssertTrue(message.contains(". Hint: "), "\(case_.name): \(message)")
                XCTAssertFalse(message.contains("\r"), "\(case_.name): a carriage return in \(message.debugDescription)")
            }
            // With --skip_bad_lines the same line is skipped and named.
            let line = Int(case_.location.split(separator: ":")[0])!
            if let file = try? RatingsReader.read(path: path, options: LoadOptions(format: case_.options.format, skipBadLines: true)) {
                XCTAssertTrue(file.skipped.firstLines.contains(line), "\(case_.name): skipped \(file.skipped.firstLines)")
            }
        }
    }

    /// Odd but valid files, and what they read as.
    func testOddButValidFilesReadAsDocumented() throws {
        let dir = try ReaderFixtureDirectory()
        let cases: [(name: String, file: String, text: String, pairs: [String], ratings: [Float])] = [
            ("BOM and CRLF", "bom.csv", "\u{FEFF}userId,movieId,rating\r\n1,2,4.5\r\n3,4,1\r\n", ["1/2", "3/4"], [4.5, 1]),
            ("blank lines and no final newline", "blank.tsv", "\n1 2 3\n\n\t\n4\t5\t2", ["1/2", "4/5"], [3, 2]),
            ("ids with spaces and quotes in a CSV", "q.csv", "user,item,rating\n\"user one\",item 2,4\n\"a \"\"b\"\"\",c,5\n",
             ["user one/item 2", "a \"b\"/c"], [4, 5]),
            ("UTF-8 ids kept as written", "u.dat", "\u{00FC}ser::\u{6620}\u{753B}::5\n007::7::1\n",
             ["\u{00FC}ser/\u{6620}\u{753B}", "007/7"], [5, 1]),
            ("spaces around '::'", "s.dat", "1 :: 2 :: 3\n", ["1/2"], [3]),
            ("signed and exponent ratings", "e.tsv", "1\t2\t-1.5\n1\t3\t2e0\n1\t4\t+3\n", ["1/2", "1/3", "1/4"], [-1.5, 2, 3]),
        ]
        for (name, file, text, pairs, ratings) in cases {
            let path = try dir.write(file, text)
            let read = try RatingsReader.read(path: path)
            XCTAssertEqual(rawPairs(read), pairs, name)
            XCTAssertEqual(read.interactions.ratings, ratings, name)
        }
    }
}
