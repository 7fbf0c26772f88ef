import XCTest
@testable import NCFData

/// Bad input: every error names FILE:LINE:COLUMN (or the file), what was expected and found,
/// and a hint; `skipBadLines` skips and records instead.
final class ReaderErrorTests: XCTestCase {
    // MARK: - Malformed lines

    func testTooFewFieldsPointsPastTheLineEnd() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("u.data", "1\t2\t3\t4\n5\t6\t7\n")
        let error = assertDataError(
            try RatingsReader.read(path: path),
            prefix: "\(path):2:6: expected 4 fields (user, item, rating, timestamp) as on line 1, found 3 fields. Hint: ")
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.file, path)
    }

    func testTooManyFieldsPointsAtTheFirstExtraField() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("u.data", "1\t2\t3\n4\t5\t6\t7\n")
        assertDataError(try RatingsReader.read(path: path),
                        prefix: "\(path):2:7: expected 3 fields (user, item, rating) as on line 1, found 4 fields")
        let wide = try dir.write("wide.tsv", "1 2 3 4 5\n")
        assertDataError(try RatingsReader.read(path: wide),
                        prefix: "\(wide):1:9: expected 3 or 4 fields (user, item, rating[, timestamp]), found 5 fields")
        let csv = try dir.write("h.csv", "userId,movieId,rating\n1,2,3,4\n")
        assertDataError(try RatingsReader.read(path: csv),
                        prefix: "\(csv):2:7: expected 3 fields as in the header on line 1, found 4 fields")
    }

    func testNonNumericRatingMatchesTheDocumentedMessage() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("ratings.csv", "userId,movieId,rating\n1,2,3\n10,200,abc\n")
        let error = assertDataError(try RatingsReader.read(path: path), prefix: "\(path):3:8: ")
        XCTAssertEqual(error?.description,
                       "\(path):3:8: expected a number for the rating, found \"abc\". "
                       + "Hint: fix the line or pass --skip_bad_lines to skip malformed lines.")
        XCTAssertEqual(error, .malformedLine(file: path, line: 3, column: 8, expected: "a number for the rating",
                                             found: "\"abc\"", hint: DataError.skipHint))
    }

    func testNonFiniteRatingsAreRejected() throws {
        let dir = try ReaderFixtureDirectory()
        for (k, word) in ["nan", "NaN", "inf", "-Infinity", "1e400", "1e39"].enumerated() {
            let path = try dir.write("r\(k).tsv", "1\t2\t3\n1\t3\t\(word)\n")
            assertDataError(try RatingsReader.read(path: path),
                            prefix: "\(path):2:5: expected a finite number for the rating, found \"\(word)\"")
        }
        let hex = try dir.write("hex.tsv", "1\t2\t3\n1\t2\t0x1p3\n")
        assertDataError(try RatingsReader.read(path: hex), prefix: "\(hex):2:5: expected a number for the rating")
    }

    func testEmptyIdsAndBadTimestamps() throws {
        let dir = try ReaderFixtureDirectory()
        let emptyItem = try dir.write("e.csv", "1,,3\n")
        assertDataError(try RatingsReader.read(path: emptyItem),
                        prefix: "\(emptyItem):1:3: expected an item id, found an empty field")
        let emptyUser = try dir.write("e.dat", "1::2::3\n::4::5\n")
        assertDataError(try RatingsReader.read(path: emptyUser),
                        prefix: "\(emptyUser):2:1: expected a user id, found an empty field")
        let time = try dir.write("t.tsv", "1\t2\t3\t100\n1\t2\t3\t12.5\n")
        assertDataError(try RatingsReader.read(path: time),
                        prefix: "\(time):2:7: expected an integer timestamp, found \"12.5\"")
        let trailingComma = try dir.write("tc.csv", "u,i,4,\n")
        assertDataError(try RatingsReader.read(path: trailingComma),
                        prefix: "\(trailingComma):1:7: expected an integer timestamp, found an empty field")
    }

    func testHeaderInTheMiddleOfAHeaderlessFile() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("u.data", "1\t2\t3\nuser\titem\trating\n4\t5\t6\n")
        assertDataError(try RatingsReader.read(path: path),
                        prefix: "\(path):2:11: expected a number for the rating, found \"rating\". Hint: this line looks like a header row",
                        containing: "this file has no header")
        let csv = try dir.write("twice.csv", "userId,movieId,rating\n1,2,3\n\nuserId,movieId,rating\n")
        assertDataError(try RatingsReader.read(path: csv), prefix: "\(csv):4:16: expected a number for the rating",
                        containing: "the header is on line 1")
    }

    // MARK: - Headers and column specs

    func testUnknownHeaderNamesAskForColumns() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("r.csv", "uid,iid,score\n1,2,3\n")
        assertDataError(try RatingsReader.read(path: path),
                        prefix: "\(path):1:1: expected a user column named \"user\" or \"userid\" or \"user_id\" in the header, "
                            + "found columns \"uid\", \"iid\", \"score\"",
                        containing: "--columns uid,iid,score")
        let spec = try ColumnSpec(parsing: "uid,iid,stars")
        assertDataError(try RatingsReader.read(path: path, options: LoadOptions(columns: spec)),
                        prefix: "\(path):1:1: expected a rating column named \"stars\" in the header")
    }

    /// MovieLens's other files given as ratings: the hint names what they are, not a --columns
    /// line made of the item list's own fields.
    func testItemAndUserListsAreNamedAsSuch() throws {
        let dir = try ReaderFixtureDirectory()
        let movies = try dir.write("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n")
        assertDataError(try RatingsReader.read(path: movies), prefix: "\(movies):1:1: expected a user column",
                        containing: "no column is named like a rating, so this may be an item or user list")
        let items = try dir.write("u.item", "1|Toy Story (1995)|01-Jan-1995||http://example.org/|0|0\n2|GoldenEye (1995)|01-Jan-1995||x|0|1\n")
        assertDataError(try RatingsReader.read(path: items), prefix: "\(items):1:1: expected a user column",
                        containing: "its fields hold `|`, as in an item or user list")
    }

    func testColumnSpecNeedsAHeader() throws {
        let dir = try ReaderFixtureDirectory()
        let spec = try ColumnSpec(parsing: "u,i,r")
        let csv = try dir.write("plain.csv", "1,2,3\n")
        assertDataError(try RatingsReader.read(path: csv, options: LoadOptions(columns: spec)),
                        prefix: "\(csv):1:1: expected a user column named \"u\"", containing: "looks like data")
        let dat = try dir.write("r.dat", "1::2::3\n")
        assertDataError(try RatingsReader.read(path: dat, options: LoadOptions(columns: spec)),
                        prefix: "--columns \"u,i,r\": \(dat) is read without a header row")
    }

    // MARK: - Files

    func testMissingFile() throws {
        let dir = try ReaderFixtureDirectory()
        let path = dir.path("nope.csv")
        let error = assertDataError(try RatingsReader.read(path: path), prefix: "\(path): no such file. Hint: ")
        XCTAssertEqual(error, .fileNotFound(path: path, tried: []))
        assertDataError(try RatingsReader.detectFormat(path: path), prefix: "\(path): no such file")
        assertDataError(try RatingsReader.read(path: dir.url.path), prefix: "\(dir.url.path): cannot read the file")
    }

    func testEmptyBlankAndHeaderOnlyFiles() throws {
        let dir = try ReaderFixtureDirectory()
        for (name, text) in [("empty", ""), ("blank", "\n \r\n\t\n"), ("header.csv", "userId,movieId,rating\r\n"),
                             ("bom", "\u{FEFF}")] {
            let path = try dir.write(name, text)
            let error = assertDataError(try RatingsReader.read(path: path), prefix: "\(path): no ratings found")
            XCTAssertEqual(error, .noRatings(path: path, skippedLines: 0))
        }
    }

    func testCorruptAndTruncatedGzip() throws {
        let dir = try ReaderFixtureDirectory()
        var bytes = ReaderGzipFixture.twoLines
        bytes[12] ^= 0xFF
        let corrupt = try dir.write("bad.gz", bytes: bytes)
        assertDataError(try RatingsReader.read(path: corrupt), prefix: "\(corrupt): starts like a gzip file but does not decompress")
        let truncated = try dir.write("cut.gz", bytes: Array(ReaderGzipFixture.twoLines.prefix(20)))
        assertDataError(try RatingsReader.read(path: truncated), prefix: "\(truncated): starts like a gzip file",
                        containing: "truncated")
    }

    func testNCFFormatNeedsReadNCF() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("a.tsv", "1\t2\t3\n")
        assertDataError(try RatingsReader.read(path: path, options: LoadOptions(format: .ncf)),
                        prefix: "\(path): format ncf cannot be read here", containing: "readNCF")
        try dir.write("p.train.rating", "1\t2\t3\n")
        assertDataError(try RatingsReader.read(path: dir.path("p")), prefix: "\(dir.path("p")): format ncf")
    }

    // MARK: - NCF files

    func testNCFMissingFileNamesBothNames() throws {
        let dir = try ReaderFixtureDirectory()
        try dir.write("m.train.rating", "1\t2\t3\n")
        try dir.write("m.test.rating", "1\t2\t3\n")
        let error = assertDataError(try RatingsReader.readNCF(prefix: dir.path("m")),
                                    prefix: "\(dir.path("m.test.negative")): no such file (also tried \(dir.path("m.test.negative.gz")))")
        XCTAssertEqual(error, .fileNotFound(path: dir.path("m.test.negative"),
                                            tried: [dir.path("m.test.negative"), dir.path("m.test.negative.gz")]))
    }

    func testNCFNegativesOutOfOrderOrMissingOrMalformed() throws {
        let dir = try ReaderFixtureDirectory()
        try dir.write("n.train.rating", "0\t0\t1\n1\t1\t1\n")
        try dir.write("n.test.rating", "0\t5\t1\t10\n1\t6\t1\t11\n")
        let negatives = try dir.write("n.test.negative", "(1,6)\t3\n(0,5)\t4\n")
        assertDataError(try RatingsReader.readNCF(prefix: dir.path("n")),
                        prefix: "\(negatives):1:1: expected (0,5) to match line 1 of \(dir.path("n.test.rating")), found \"(1,6)\"")

        try dir.write("n.test.negative", "(0,5)\t3\n")
        assertDataError(try RatingsReader.readNCF(prefix: dir.path("n")),
                        prefix: "\(negatives): expected 2 negative lists, one per line of \(dir.path("n.test.rating")), found 1")

        try dir.write("n.test.negative", "(0,5)\t3\n  0,6\t4\n")
        assertDataError(try RatingsReader.readNCF(prefix: dir.path("n")),
                        prefix: "\(negatives):2:3: expected \"(user,item)\" as the first field, found \"0,6\"")

        // Skipping: the bad list goes, and so does the test line left without a list.
        let files = try RatingsReader.readNCF(prefix: dir.path("n"), options: LoadOptions(skipBadLines: true))
        XCTAssertEqual(files.test.count, 1)
        XCTAssertEqual(files.test.timestamps, [10])
        XCTAssertEqual(files.testNegatives.count, 1)
        XCTAssertEqual(files.train.skipped.count, 2)
        XCTAssertEqual(files.train.skipped.firstLines, [2, 2])
        XCTAssertTrue(files.train.skipped.firstReasons[0].hasPrefix("\(negatives):2:3: "))
        XCTAssertTrue(files.train.skipped.firstReasons[1].hasPrefix("\(dir.path("n.test.rating")):2:1: no negative list"))
    }

    // MARK: - Skipping bad lines

    func testSkipBadLinesCountsAndRecordsTheFirstFive() throws {
        let dir = try ReaderFixtureDirectory()
        let lines = ["1\t1\t5", "x", "2\t2\t4", "3\t3\tnan", "4\t4\t4\t9", "5\t5", "6\t6\tq", "7\t7\t1", "8\t8\t?", ""]
        let path = try dir.write("skip.tsv", lines.joined(separator: "\n"))
        assertDataError(try RatingsReader.read(path: path), prefix: "\(path):2:2: ")
        let file = try RatingsReader.read(path: path, options: LoadOptions(skipBadLines: true))
        XCTAssertEqual(rawPairs(file), ["1/1", "2/2", "7/7"])
        // Ids of skipped lines are not interned.
        XCTAssertEqual(file.userIDs.rawIDs, ["1", "2", "7"])
        XCTAssertEqual(file.skipped.count, 6)
        XCTAssertEqual(file.skipped.firstLines, [2, 4, 5, 6, 7])
        XCTAssertEqual(file.skipped.firstReasons.count, 5)
        XCTAssertEqual(file.skipped.firstReasons[1], "\(path):4:5: expected a finite number for the rating, found \"nan\"")
    }

    func testSkippedFirstLineDoesNotFixTheFieldCount() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("first.dat", "1::2::oops::5\n1::2::3\n2::3::4\n")
        let file = try RatingsReader.read(path: path, options: LoadOptions(skipBadLines: true))
        XCTAssertEqual(file.interactions.count, 2)
        XCTAssertFalse(file.interactions.hasTimestamps)
        XCTAssertEqual(file.skipped.firstLines, [1])
    }

    func testAllLinesSkippedIsAnError() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("all.tsv", "1\t2\n3\t4\tz\n")
        let error = assertDataError(try RatingsReader.read(path: path, options: LoadOptions(skipBadLines: true)),
                                    prefix: "\(path): no ratings left: all 2 data lines were malformed and skipped")
        XCTAssertEqual(error, .noRatings(path: path, skippedLines: 2))
    }
}
