import XCTest
@testable import NCFData

/// Good paths of `RatingsReader`: every format, detection, options, and the summary.
final class ReaderTests: XCTestCase {
    // MARK: - Formats

    func testTabSeparatedUData() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n196\t377\t4\t1\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .tsv)
        XCTAssertEqual(file.path, path)
        XCTAssertEqual(file.interactions.users, [0, 1, 2, 0])
        XCTAssertEqual(file.interactions.items, [0, 1, 2, 2])
        XCTAssertEqual(file.interactions.ratings, [3, 3, 1, 4])
        XCTAssertEqual(file.interactions.timestamps, [881250949, 891717742, 878887116, 1])
        XCTAssertEqual(file.userIDs.rawIDs, ["196", "186", "22"])
        XCTAssertEqual(file.itemIDs.rawIDs, ["242", "302", "377"])
        XCTAssertEqual(file.skipped, SkippedLines())
    }

    func testDoubleColonDatWithoutTrailingNewline() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .dat)
        XCTAssertEqual(rawPairs(file), ["1/1193", "1/661", "2/1193"])
        XCTAssertEqual(file.interactions.ratings, [5, 3, 4])
        XCTAssertEqual(file.interactions.timestamps, [978300760, 978302109, 978298413])
    }

    func testCSVWithHeaderCRLFAndBOM() throws {
        let dir = try ReaderFixtureDirectory()
        let text = "\u{FEFF}userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n\r\n2,1,0.5,964980000\r\n"
        let path = try dir.write("ratings.csv", text)
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .csv)
        XCTAssertEqual(rawPairs(file), ["1/1", "1/3", "2/1"])
        XCTAssertEqual(file.interactions.ratings, [4, 4.5, 0.5])
        XCTAssertEqual(file.interactions.timestamps, [964982703, 964981247, 964980000])
    }

    func testCSVWithRenamedColumnsAndColumnSpec() throws {
        let dir = try ReaderFixtureDirectory()
        // Columns in another order, an extra column, header case differing from the spec.
        let path = try dir.write("scores.csv", "TS,Score,note,IID,UID\n10,5,x,i1,u1\n11,2.5,y,i2,u1\n12,1,z,i1,u2\n")
        let spec = try ColumnSpec(parsing: "uid, iid,score,ts")
        XCTAssertEqual(spec, ColumnSpec(user: "uid", item: "iid", rating: "score", timestamp: "ts"))
        XCTAssertEqual(spec.description, "uid,iid,score,ts")
        let file = try RatingsReader.read(path: path, options: LoadOptions(columns: spec))
        XCTAssertEqual(rawPairs(file), ["u1/i1", "u1/i2", "u2/i1"])
        XCTAssertEqual(file.interactions.ratings, [5, 2.5, 1])
        XCTAssertEqual(file.interactions.timestamps, [10, 11, 12])
    }

    func testCSVHeaderAcceptsCommonNamesCaseInsensitively() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("r.csv", "User_ID,Item_ID,Score\na,b,1\nc,b,2\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(rawPairs(file), ["a/b", "c/b"])
        XCTAssertFalse(file.interactions.hasTimestamps)

        let withTime = try dir.write("t.csv", "user,item,rating,time\na,b,1,5\n")
        XCTAssertEqual(try RatingsReader.read(path: withTime).interactions.timestamps, [5])
    }

    func testSpecWithoutTimestampStillPicksUpACommonTimestampColumn() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("r.csv", "who,what,stars,timestamp\na,b,1,7\n")
        let file = try RatingsReader.read(path: path, options: LoadOptions(columns: try ColumnSpec(parsing: "who,what,stars")))
        XCTAssertEqual(file.interactions.timestamps, [7])
    }

    func testHeaderlessCSVWithThreeColumns() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("plain.csv", "1,10,3.5\n2,10,4\n 3 , 11 , -1 \n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .csv)
        XCTAssertEqual(rawPairs(file), ["1/10", "2/10", "3/11"])
        XCTAssertEqual(file.interactions.ratings, [3.5, 4, -1])
        XCTAssertFalse(file.interactions.hasTimestamps)
    }

    func testThreeColumnTabWithStringAndUTF8Ids() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("ids.tsv", "u42\tcafé\t1\n007\t7\t2\n7\t007\t1e0\nü\t日本\t.5\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .tsv)
        // "007" and "7" are different ids: ids are kept as written.
        XCTAssertEqual(file.userIDs.rawIDs, ["u42", "007", "7", "ü"])
        XCTAssertEqual(file.itemIDs.rawIDs, ["café", "7", "007", "日本"])
        XCTAssertEqual(file.interactions.ratings, [1, 2, 1, 0.5])
    }

    func testWhitespaceSeparatedColumns() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("ws.txt", "  1 2   3.0   100\n1\t \t3 2 101\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .tsv)
        XCTAssertEqual(rawPairs(file), ["1/2", "1/3"])
        XCTAssertEqual(file.interactions.timestamps, [100, 101])
    }

    func testQuotedCSVCells() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("q.csv", "\"userId\",\"movieId\",\"rating\"\n\"u 1\",\"the \"\"best\"\", item\",\"4\"\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.userIDs.rawIDs, ["u 1"])
        XCTAssertEqual(file.itemIDs.rawIDs, ["the \"best\", item"])
        XCTAssertEqual(file.interactions.ratings, [4])
    }

    func testGzippedFileIsDetectedByContent() throws {
        let dir = try ReaderFixtureDirectory()
        // No .gz in the name: detection is by the magic bytes.
        let path = try dir.writeGzip("ratings.data", "userId,movieId,rating\n1,2,3\n1,3,4\n")
        let file = try RatingsReader.read(path: path)
        XCTAssertEqual(file.format, .csv)
        XCTAssertEqual(rawPairs(file), ["1/2", "1/3"])
        XCTAssertEqual(try RatingsReader.detectFormat(path: path), .csv)
    }

    // MARK: - NCF paper files

    func testNCFTrioSharesIdMapsAndKeepsNegativesAsWritten() throws {
        let dir = try ReaderFixtureDirectory()
        try dir.write("ml.train.rating", "0\t0\t5\n0\t1\t3\n1\t1\t4\n")
        try dir.writeGzip("ml.test.rating.gz", "0\t2\t4\t978824351\n1\t0\t3\t978300174\n")
        // User 0: negative 9 repeated; user 1: the test item 0 among its negatives; 9, 8 never in train.
        try dir.write("ml.test.negative", "(0,2)\t9\t1\t9\n(1,0)\t0\t8\t2\n")
        let files = try RatingsReader.readNCF(prefix: dir.path("ml"))
        XCTAssertEqual(files.train.format, .ncf)
        XCTAssertEqual(files.train.path, dir.path("ml.train.rating"))
        XCTAssertEqual(files.train.interactions.count, 3)
        XCTAssertFalse(files.train.interactions.hasTimestamps)
        XCTAssertEqual(files.train.userIDs.rawIDs, ["0", "1"])
        XCTAssertEqual(files.train.itemIDs.rawIDs, ["0", "1", "2", "9", "8"])

        XCTAssertEqual(files.test.users, [0, 1])
        XCTAssertEqual(files.test.items, [2, 0])
        XCTAssertEqual(files.test.ratings, [4, 3])
        XCTAssertEqual(files.test.timestamps, [978824351, 978300174])

        let items = files.train.itemIDs
        XCTAssertEqual(files.testNegatives.map { $0.map { items.raw($0) } }, [["9", "1", "9"], ["0", "8", "2"]])
    }

    func testNCFPrefixMayBeGivenAsTheTrainFileAndTestFileMayHaveThreeColumns() throws {
        let dir = try ReaderFixtureDirectory()
        try dir.writeGzip("x.train.rating.gz", "a\tb\t1\t5\n")
        try dir.write("x.test.rating", "a\tc\t1\n")
        try dir.write("x.test.negative", "(a,c)\tb\r\n")
        let files = try RatingsReader.readNCF(prefix: dir.path("x.train.rating.gz"))
        XCTAssertEqual(files.train.path, dir.path("x.train.rating.gz"))
        XCTAssertEqual(files.train.interactions.timestamps, [5])
        XCTAssertFalse(files.test.hasTimestamps)
        XCTAssertEqual(files.testNegatives, [[0]])
    }

    // MARK: - Detection and overrides

    func testAutoDetection() throws {
        let dir = try ReaderFixtureDirectory()
        XCTAssertEqual(try RatingsReader.detectFormat(path: try dir.write("a", "\n\n1::2::3\n")), .dat)
        XCTAssertEqual(try RatingsReader.detectFormat(path: try dir.write("b", "\u{FEFF}userId,movieId,rating\n")), .csv)
        XCTAssertEqual(try RatingsReader.detectFormat(path: try dir.write("c", "1,2,3\n")), .csv)
        XCTAssertEqual(try RatingsReader.detectFormat(path: try dir.write("d", "1\t2\t3\n")), .tsv)
        XCTAssertEqual(try RatingsReader.detectFormat(path: try dir.write("e", " \r\n1 2 3\n")), .tsv)
        // A single NCF file reads as tsv; only a prefix whose train file exists is ncf.
        try dir.write("p.train.rating", "0\t0\t1\n")
        XCTAssertEqual(try RatingsReader.detectFormat(path: dir.path("p.train.rating")), .tsv)
        XCTAssertEqual(try RatingsReader.detectFormat(path: dir.path("p")), .ncf)
    }

    func testFormatOptionOverridesDetection() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("odd", "a::b\tc\t5\n")
        assertDataError(try RatingsReader.read(path: path), prefix: "\(path):1:")
        let file = try RatingsReader.read(path: path, options: LoadOptions(format: .tsv))
        XCTAssertEqual(file.format, .tsv)
        XCTAssertEqual(rawPairs(file), ["a::b/c"])
    }

    // MARK: - Column specs

    func testColumnSpecParsing() throws {
        XCTAssertEqual(try ColumnSpec(parsing: "u,i,r"), ColumnSpec(user: "u", item: "i", rating: "r"))
        for bad in ["u,i", "u,i,r,t,x", "u,,r", "u,i,U"] {
            assertDataError(try ColumnSpec(parsing: bad), prefix: "--columns \"\(bad)\": ")
        }
    }

    // MARK: - Summary

    func testSummaryCountsAndText() throws {
        let dir = try ReaderFixtureDirectory()
        let path = try dir.write("s.tsv", "1\t1\t4\t86400\n1\t2\t5\t0\n2\t1\t4\t172800\nbad\n")
        let file = try RatingsReader.read(path: path, options: LoadOptions(skipBadLines: true))
        let summary = RatingsSummary(file: file)
        XCTAssertEqual(summary.users, 2)
        XCTAssertEqual(summary.items, 2)
        XCTAssertEqual(summary.ratings, 3)
        XCTAssertEqual(summary.density, 0.75, accuracy: 1e-12)
        XCTAssertEqual(summary.histogram, [.init(value: 4, count: 2), .init(value: 5, count: 1)])
        XCTAssertEqual(summary.minTimestamp, 0)
        XCTAssertEqual(summary.maxTimestamp, 172800)
        XCTAssertEqual(summary.perUser, .init(min: 1, median: 1, max: 2))
        XCTAssertEqual(summary.skipped.count, 1)
        let text = summary.text
        for expected in ["format            tsv", "ratings           3", "density           75.00% of 2 × 2",
                         "timestamps        0 … 172800 (1970-01-01 … 1970-01-03 UTC",
                         "skipped lines     1 (lines 4)", "\(path):4:4: expected 4 fields"] {
            XCTAssertTrue(text.contains(expected), "summary text lacks \"\(expected)\":\n\(text)")
        }
    }

    func testSummaryFormatting() {
        XCTAssertEqual(RatingsSummary.grouped(1_234_567), "1,234,567")
        XCTAssertEqual(RatingsSummary.grouped(999), "999")
        XCTAssertEqual(RatingsSummary.percent(0.063046), "6.30%")
        XCTAssertEqual(RatingsSummary.percent(0.0000421), "0.0042%")
        XCTAssertEqual(RatingsSummary.date(893286638), "1998-04-22")
        XCTAssertEqual(RatingsSummary.date(-86400), "1969-12-31")
        XCTAssertEqual(RatingsSummary.value(3.5), "3.5")
        XCTAssertEqual(RatingsSummary.value(4), "4")
    }
}
