import Foundation
import NCFTestSupport
import XCTest

/// `ncf-bench threads --ratings FILE` compares thread counts on a ratings file (rating task), the
/// way the 20M set is measured; the speed figures are the bench's to print, not this test's to judge.
final class ThreadsBenchCLITests: CLITestCase {
    func bench(_ arguments: [String]) throws -> CLIResult {
        try CLIRunner(executableNamed: "ncf-bench").run(["threads"] + arguments, in: tmp)
    }

    func testRatingsFileIsTrainedOnEveryThreadCount() throws {
        let ratings = try writeTinyRatings()
        let result = try bench(["--ratings", ratings, "--thread_counts", "1,2", "--repeats", "1", "--train_epochs", "1",
                                "--batch_size", "16", "--embed_dim", "4", "--mlp_dims", "8,4", "--jsonl"])
        XCTAssertEqual(result.exitCode, 0, result.description)
        let lines = jsonLines(result)
        XCTAssertEqual(lines.compactMap { $0["threads"] as? Double }, [1, 2], result.description)
        for line in lines {
            XCTAssertEqual(line["batch_size"] as? Double, 16, result.description)
            XCTAssertGreaterThan(line["samples_per_second"] as? Double ?? 0, 0, result.description)
        }
        XCTAssertTrue(result.stderr.contains("(random split, rating task, "), result.description)
        // Both runs report the test RMSE of the rating task, not ranking metrics.
        XCTAssertGreaterThanOrEqual(result.stderr.components(separatedBy: "Test RMSE ").count - 1, 2, result.description)
        XCTAssertFalse(result.stderr.contains("HR@10"), result.description)
        // The per-thread profile of a run of two threads is printed under that run's line.
        let text = result.stderr.split(separator: "\n").map(String.init)
        let profiles = text.indices.filter { text[$0].hasPrefix("  CPU µs per step, by thread:") }
        XCTAssertEqual(profiles.count, 1, result.description)
        for k in profiles { XCTAssertTrue(k > 0 && text[k - 1].hasPrefix("round 1, 2 threads:"), result.description) }
    }

    func testPrefixAndRatingsTogetherAreRefused() throws {
        let ratings = try writeTinyRatings()
        let result = try bench(["--ratings", ratings, "--prefix", "somewhere/ml-1m", "--repeats", "1"])
        XCTAssertEqual(result.exitCode, 64, result.description)
        XCTAssertTrue(result.stderr.contains("--prefix somewhere/ml-1m and --ratings"), result.description)
        XCTAssertFalse(result.stderr.contains("round 1"), "it trained:\n\(result)")
    }

    func testMissingRatingsFileIsNamed() throws {
        let missing = tmp.appendingPathComponent("nowhere.tsv").path
        let result = try bench(["--ratings", missing, "--repeats", "1", "--train_epochs", "1"])
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        XCTAssertLessThan(result.exitCode, 128, "ended by a signal:\n\(result)")
        XCTAssertTrue(result.stderr.contains("nowhere.tsv"), result.description)
    }
}
