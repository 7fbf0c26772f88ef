import Foundation
import NCFTestSupport
import XCTest

/// `ncf recommend` with item titles: the three MovieLens item formats, found beside the ratings
/// file or named by --items; `--json` keeps the ids; a bad item file is named with its line.
final class RecommendTitlesTests: CLITestCase {
    /// A model trained on the tiny ratings (items i1…i20) in a folder of its own.
    private func trainedModel(in folder: String = "data") throws -> (data: String, model: String) {
        let dir = tmp.appendingPathComponent(folder)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = dir.appendingPathComponent("u.data").path
        try TinyRatings.tsv.write(toFile: data, atomically: true, encoding: .utf8)
        let model = tmp.appendingPathComponent("\(folder).ncf").path
        try ncfSucceeds(["--data", data, "--save", model] + smallFlags)
        return (data, model)
    }

    private func write(_ text: String, _ path: String, latin1: Bool = false) throws {
        let data = latin1 ? text.data(using: .isoLatin1)! : Data(text.utf8)
        try data.write(to: URL(fileURLWithPath: path))
    }

    func testTitlesFromAUItemBesideTheRatingsLatin1() throws {
        let (data, model) = try trainedModel()
        let dir = URL(fileURLWithPath: data).deletingLastPathComponent()
        let lines = (1...20).map { "i\($0)|Film \($0) Café (1995)|01-Jan-1995||http://x|0|1" }
        try write(lines.joined(separator: "\n") + "\n", dir.appendingPathComponent("u.item").path, latin1: true)
        let human = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "3"])
        XCTAssertTrue(human.stdout.contains("titles from \(dir.appendingPathComponent("u.item").path)"), human.stdout)
        XCTAssertTrue(human.stdout.contains(" Café (1995)  "), "Latin-1 read as Latin-1: \(human.stdout)")
        let json = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "3", "--json"])
        let items = try XCTUnwrap(jsonLines(json).first?["items"] as? [[String: Any]])
        XCTAssertEqual(items.count, 3)
        for item in items {
            let id = try XCTUnwrap(item["item"] as? String)
            XCTAssertTrue(TinyRatings.itemIDs.contains(id), "ids kept: \(id)")
            XCTAssertEqual(item["title"] as? String, "Film \(id.dropFirst()) Café (1995)")
        }
    }

    func testTitlesFromMoviesDatAndQuotedMoviesCSVGivenWithItems() throws {
        let (_, model) = try trainedModel()
        let dat = tmp.appendingPathComponent("movies.dat").path
        try write((1...20).map { "i\($0)::Dat \($0) (1999)::Drama|Comedy" }.joined(separator: "\n"), dat, latin1: true)
        let fromDat = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "2", "--items", dat])
        XCTAssertTrue(fromDat.stdout.contains("Dat ") && fromDat.stdout.contains(" (1999)  "), fromDat.stdout)

        let csv = tmp.appendingPathComponent("movies.csv").path
        try write("movieId,title,genres\r\n" + (1...20).map { "i\($0),\"Name \($0), The \"\"Quoted\"\" (2001)\",Drama" }.joined(separator: "\r\n") + "\r\n", csv)
        let json = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "2", "--items", csv, "--json"])
        let items = try XCTUnwrap(jsonLines(json).first?["items"] as? [[String: Any]])
        for item in items {
            let id = try XCTUnwrap(item["item"] as? String)
            XCTAssertEqual(item["title"] as? String, "Name \(id.dropFirst()), The \"Quoted\" (2001)")
        }
    }

    func testWithoutAnItemFileTheIdsAreShownAsBefore() throws {
        let (_, model) = try trainedModel()
        let json = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "2", "--json"])
        let items = try XCTUnwrap(jsonLines(json).first?["items"] as? [[String: Any]])
        XCTAssertTrue(items.allSatisfy { $0["title"] == nil && $0["item"] is String }, json.stdout)
    }

    func testABadItemFileIsNamedWithItsLine() throws {
        let (data, model) = try trainedModel()
        let bad = tmp.appendingPathComponent("bad.item").path
        try write("i1|One\ni2\ni3|Three\n", bad)
        let stderr = try ncfFails(["recommend", "--model", model, "--user", "u5", "--items", bad])
        XCTAssertTrue(stderr.contains("\(bad):2: expected `id|title|…`"), stderr)

        let twice = tmp.appendingPathComponent("twice.dat").path
        try write("i1::One::x\ni1::Again::x\n", twice)
        let again = try ncfFails(["recommend", "--model", model, "--user", "u5", "--items", twice])
        XCTAssertTrue(again.contains("\(twice):2: item i1 is listed again (first on line 1)"), again)

        let open = tmp.appendingPathComponent("open.csv").path
        try write("movieId,title\ni1,\"not closed\n", open)
        let quote = try ncfFails(["recommend", "--model", model, "--user", "u5", "--items", open])
        XCTAssertTrue(quote.contains("\(open):2: a quoted field is not closed"), quote)

        let missing = try ncfFails(["recommend", "--model", model, "--user", "u5", "--items", tmp.appendingPathComponent("none.csv").path])
        XCTAssertTrue(missing.contains("no such file"), missing)

        // Found beside the ratings (not asked for): a warning, and the ids without titles.
        let dir = URL(fileURLWithPath: data).deletingLastPathComponent()
        try write("i1|One\ni2\n", dir.appendingPathComponent("u.item").path)
        let beside = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "2"])
        XCTAssertTrue(beside.stderr.contains("warning:") && beside.stderr.contains("u.item:2:"), beside.stderr)
        XCTAssertTrue(beside.stdout.contains("1. i"), beside.stdout)
    }

    /// The real MovieLens item files, where the shared data is (skipped without it): a model whose
    /// items are MovieLens ids 1…20 gets every title from each file, the same film under id 1.
    func testTheRealMovieLensItemFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized
        let files = ["ml-100k/u.item", "ml-1m/movies.dat", "ml-latest-small/movies.csv"]
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(files[0]).path) else {
            throw XCTSkip("the shared MovieLens data is not at \(root.path)")
        }
        let data = tmp.appendingPathComponent("numeric.tsv").path
        try TinyRatings.tsv.replacingOccurrences(of: "\ti", with: "\t").write(toFile: data, atomically: true, encoding: .utf8)
        let model = tmp.appendingPathComponent("numeric.ncf").path
        try ncfSucceeds(["--data", data, "--save", model] + smallFlags)
        for file in files {
            let path = root.appendingPathComponent(file).path
            let result = try ncfSucceeds(["recommend", "--model", model, "--user", "u1", "-k", "20", "--json", "--items", path])
            XCTAssertFalse(result.stderr.contains("warning"), "\(file): \(result.stderr)")
            let items = try XCTUnwrap(jsonLines(result).first?["items"] as? [[String: Any]])
            XCTAssertFalse(items.isEmpty)
            for item in items {
                XCTAssertFalse((item["title"] as? String ?? "").isEmpty, "\(file): no title for \(item)")
                if item["item"] as? String == "1" { XCTAssertEqual(item["title"] as? String, "Toy Story (1995)", file) }
                if item["item"] as? String == "2" && file.hasPrefix("ml-100k") { XCTAssertEqual(item["title"] as? String, "GoldenEye (1995)") }
            }
        }
    }
}
