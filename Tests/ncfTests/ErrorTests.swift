import NCFTestSupport
import XCTest

/// Bad flags and bad data: a non-zero exit and a message that names the value and what is accepted.
final class ErrorTests: CLITestCase {
    /// Each bad flag with fragments its message must contain (the value, and what is accepted).
    static let badFlags: [(arguments: [String], mentions: [String])] = [
        (["--lr", "-1"], ["--lr", "-1", "positive"]),
        (["--lr=-1"], ["--lr", "-1", "positive"]),
        (["--lr", "0"], ["--lr", "positive"]),
        (["--batch_size", "0"], ["--batch_size", "0", "at least 1"]),
        (["--batch-size", "-5"], ["--batch_size", "-5", "at least 1"]),
        (["--mlp_dims", "16,,32"], ["--mlp_dims", "16,,32", "empty", "positive integers"]),
        (["--mlp_dims", "16,x"], ["--mlp_dims", "\"x\"", "positive integers"]),
        (["--dropout", "1.5"], ["--dropout", "1.5", "[0, 1)"]),
        (["--epochs", "abc"], ["--epochs", "abc", "integer"]),
        (["--epochs", "0"], ["--epochs", "0", "at least 1"]),
        (["--model", "XYZ"], ["--model", "XYZ", "GMF", "MLP", "NeuMF"]),
        (["--optimizer", "rmsprop"], ["--optimizer", "rmsprop", "adam", "sgd"]),
        (["--eval_negatives", "none"], ["--eval_negatives", "none", "all"]),
        (["--eval_negatives", "0"], ["--eval_negatives", "0", "all"]),
        (["--task", "ranking"], ["--task", "ranking", "rating", "implicit"]),
        (["--split", "kfold"], ["--split", "kfold", "random", "loo"]),
        (["--format", "xlsx"], ["--format", "xlsx", "csv"]),
        (["--weight_decay", "-0.1"], ["--weight_decay", "-0.1"]),
        (["--threads", "0"], ["--threads", "0"]),
        (["--no_such_flag", "3"], ["--no_such_flag"]),
    ]

    func testBadFlagsAreRejectedWithMessages() throws {
        let data = try writeTinyRatings()
        for (arguments, mentions) in Self.badFlags {
            let stderr = try ncfFails(["--data", data] + arguments)
            for fragment in mentions {
                XCTAssertTrue(stderr.contains(fragment), "\(arguments): message lacks \"\(fragment)\":\n\(stderr)")
            }
            XCTAssertFalse(stderr.contains("epoch 1/"), "\(arguments): training started")
        }
    }

    func testMissingDataFileNamesThePath() throws {
        let stderr = try ncfFails(["--data", "/nonexistent/file"] + smallFlags)
        XCTAssertTrue(stderr.contains("/nonexistent/file"), stderr)
        XCTAssertTrue(stderr.contains("no such file"), stderr)
    }

    func testMalformedLineIsReportedAsFileLineColumn() throws {
        let bad = try writeBadRatings()
        let result = try ncf(["--data", bad, "--json"] + smallFlags)
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        XCTAssertTrue(result.stderr.contains("bad.tsv:3:"), result.description)
        XCTAssertTrue(result.stderr.contains("abc"), result.description)
        XCTAssertTrue(result.stderr.contains("--skip_bad_lines"), "no hint to skip:\n\(result)")
        XCTAssertEqual(result.stdout, "", "stdout should stay empty on failure")
    }

    func testSkipBadLinesTrainsAndReportsTheCount() throws {
        let bad = try writeBadRatings()
        for spelling in ["--skip_bad_lines", "--skip-bad-lines"] {
            let result = try ncfSucceeds(["--data", bad, "--json", spelling] + smallFlags)
            XCTAssertTrue(result.stderr.contains("skipped 1 malformed line"), result.description)
            XCTAssertTrue(result.stderr.contains("line 3"), result.description)
            XCTAssertNotNil(number(trainingRecords(result).summary, "Test RMSE"))
        }
    }

    func testEmptyDataFileFails() throws {
        let empty = tmp.appendingPathComponent("empty.tsv")
        try "".write(to: empty, atomically: true, encoding: .utf8)
        let stderr = try ncfFails(["--data", empty.path] + smallFlags)
        XCTAssertTrue(stderr.contains("empty.tsv"), stderr)
    }

    func testUnknownSubcommandArgumentFails() throws {
        try ncfFails(["data", "frobnicate"])
    }
}
