import Foundation
import NCFTestSupport
import XCTest

/// `ncf data info` and `ncf data synth`.
final class DataCommandTests: CLITestCase {
    func testInfoPrintsCounts() throws {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["data", "info", data])
        XCTAssertTrue(result.stdout.contains(#/users\s+12\n/#), result.description)
        XCTAssertTrue(result.stdout.contains(#/items\s+20\n/#), result.description)
        XCTAssertTrue(result.stdout.contains(try Regex("ratings\\s+\(TinyRatings.count)\\n")), result.description)
        XCTAssertTrue(result.stdout.contains(#/format\s+tsv/#), result.description)
    }

    func testInfoOnMalformedFile() throws {
        let bad = try writeBadRatings()
        let stderr = try ncfFails(["data", "info", bad])
        XCTAssertTrue(stderr.contains("bad.tsv:3:"), stderr)
        let skipped = try ncfSucceeds(["data", "info", bad, "--skip_bad_lines"])
        XCTAssertTrue(skipped.stdout.contains(try Regex("ratings\\s+\(TinyRatings.count - 1)\\n")), skipped.description)
        XCTAssertTrue(skipped.stdout.contains(#/skipped lines\s+1 /#), skipped.description)
    }

    func testInfoOnMissingFile() throws {
        let stderr = try ncfFails(["data", "info", "/nonexistent/ratings.tsv"])
        XCTAssertTrue(stderr.contains("/nonexistent/ratings.tsv"), stderr)
    }

    /// `--ratings 600` is the most the CLI accepts for 30 × 40 (at most half the pairs).
    func testSynthIsDeterministicPerSeed() throws {
        func synth(_ name: String, seed: Int) throws -> Data {
            let out = tmp.appendingPathComponent(name)
            let result = try ncfSucceeds(["data", "synth", "--out", out.path, "--users", "30", "--items", "40",
                                          "--ratings", "600", "--seed", String(seed)])
            XCTAssertTrue(result.stdout.contains("600 ratings"), result.description)
            return try Data(contentsOf: out)
        }
        let a = try synth("a.tsv", seed: 3)
        let b = try synth("b.tsv", seed: 3)
        let c = try synth("c.tsv", seed: 4)
        XCTAssertFalse(a.isEmpty)
        XCTAssertEqual(a, b, "same flags, different bytes")
        XCTAssertNotEqual(a, c, "different seeds, same bytes")
        // The written file reads back with the shape asked for.
        let info = try ncfSucceeds(["data", "info", tmp.appendingPathComponent("a.tsv").path])
        XCTAssertTrue(info.stdout.contains(#/ratings\s+600\n/#), info.description)
        XCTAssertTrue(info.stdout.contains(#/users\s+30\n/#), info.description)
    }

    func testSynthRejectsImpossibleShapes() throws {
        let out = tmp.appendingPathComponent("x.tsv").path
        let tooDense = try ncfFails(["data", "synth", "--out", out, "--users", "30", "--items", "40", "--ratings", "900"])
        XCTAssertTrue(tooDense.contains("--ratings 900"), tooDense)
        let tooSparse = try ncfFails(["data", "synth", "--out", out, "--users", "3", "--items", "30", "--ratings", "40"])
        XCTAssertTrue(tooSparse.contains("--ratings 40: at least 60"), tooSparse)
        let fewItems = try ncfFails(["data", "synth", "--out", out, "--users", "5", "--items", "10", "--ratings", "20"])
        XCTAssertTrue(fewItems.contains("--items 10"), fewItems)
        let badDir = try ncfFails(["data", "synth", "--out", tmp.appendingPathComponent("no/dir/x.tsv").path,
                                   "--users", "3", "--items", "30", "--ratings", "60"])
        XCTAssertTrue(badDir.contains("no/dir/x.tsv"), badDir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// The bundled Data/ratings.tsv is what `ncf data synth` writes with its defaults.
    func testSynthDefaultsReproduceBundledData() throws {
        let bundled = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Data/ratings.tsv")
        guard FileManager.default.fileExists(atPath: bundled.path) else {
            throw XCTSkip("the bundled \(bundled.path) is absent; nothing to compare against")
        }
        let out = tmp.appendingPathComponent("ratings.tsv")
        try ncfSucceeds(["data", "synth", "--out", out.path])
        let written = try Data(contentsOf: out)
        let expected = try Data(contentsOf: bundled)
        XCTAssertEqual(written.count, expected.count, "sizes differ: Data/ratings.tsv is stale or the generator changed")
        XCTAssertTrue(written == expected, "`ncf data synth` no longer reproduces Data/ratings.tsv byte for byte")
    }
}
