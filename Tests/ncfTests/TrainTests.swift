import Foundation
import NCFTestSupport
import XCTest

/// `ncf [train] --json` end to end on the tiny data: flag spellings, JSON Lines, metrics, loss.
final class TrainTests: CLITestCase {
    // MARK: - Flag spellings and reproducibility

    /// `--batch_size 16`, `--batch-size 16` and `--batch_size=16` (with and without the `train`
    /// word) give the same numbers, bit for bit, apart from the clock.
    func testFlagSpellingsAgreeAndRunsAreReproducible() throws {
        let data = try writeTinyRatings()
        let common = ["--data", data, "--epochs", "2", "--embed_dim", "4", "--mlp_dims", "8,4", "--seed", "7", "--json"]
        let spellings: [[String]] = [
            ["train", "--batch_size", "16"],
            ["--batch-size", "16"],
            ["train", "--batch_size=16"],
            ["--batch-size=16"],
        ]
        var reference: [[String: String]]?
        for spelling in spellings {
            let result = try ncfSucceeds(spelling + common)
            let values = reproducibleValues(result)
            XCTAssertEqual(values.count, 4, "config record + 2 epochs + summary expected:\n\(result)")
            if let reference {
                XCTAssertEqual(values, reference, "\(spelling) differs from \(spellings[0])")
            } else {
                reference = values
            }
        }
        // A different batch size really changes the numbers (the comparison above is not vacuous).
        let other = reproducibleValues(try ncfSucceeds(["--batch_size", "8"] + common))
        XCTAssertNotEqual(other, reference)
    }

    /// `--threads 2` trains reproducibly through the CLI; more threads than CPUs is a warning.
    func testThreadsThroughTheCLI() throws {
        let data = try writeTinyRatings()
        let base = ["--data", data, "--json", "--epochs", "2", "--embed_dim", "4", "--mlp_dims", "8,4", "--batch_size", "16", "--seed", "3"]
        let a = try ncfSucceeds(base + ["--threads", "2"])
        let b = try ncfSucceeds(base + ["--threads", "2"])
        XCTAssertEqual(reproducibleValues(a), reproducibleValues(b), "same seed, same --threads: the same numbers")
        XCTAssertEqual(reproducibleValues(a).count, 4)
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let over = try ncfSucceeds(base + ["--threads", "\(cpus + 1)"])
        XCTAssertTrue(over.stderr.contains("warning: --threads \(cpus + 1) on \(cpus) CPU"), over.description)
        XCTAssertFalse(a.stderr.contains("warning: --threads") && cpus >= 2, a.description)
    }

    func testDifferentSeedsGiveDifferentNumbers() throws {
        let data = try writeTinyRatings()
        let base = ["--data", data, "--json", "--epochs", "1", "--embed_dim", "4", "--mlp_dims", "8,4", "--batch_size", "16"]
        let a = reproducibleValues(try ncfSucceeds(base + ["--seed", "1"]))
        let b = reproducibleValues(try ncfSucceeds(base + ["--seed", "2"]))
        XCTAssertNotEqual(a, b)
    }

    // MARK: - Where the default data comes from

    /// With no `--data`, ncf reads `Data/ratings.tsv` in the working directory, wherever the
    /// executable lives (the tests' ncf lives inside the repository, which holds that file): from
    /// elsewhere the error names the directory and `ncf data synth`, which writes the file there.
    func testDefaultDataIsFoundFromTheWorkingDirectoryOnly() throws {
        let stderr = try ncfFails(["--epochs", "1"])
        for fragment in ["Data/ratings.tsv", tmp.lastPathComponent, "ncf data synth", "--data"] {
            XCTAssertTrue(stderr.contains(fragment), "message lacks \"\(fragment)\":\n\(stderr)")
        }
        try ncfSucceeds(["data", "synth", "--users", "30", "--items", "40", "--ratings", "600"])
        let result = try ncfSucceeds(["--json"] + smallFlags)
        XCTAssertEqual(trainingRecords(result).epochs.count, 2)
    }

    // MARK: - JSON Lines, rating task

    func testJSONLinesRatingTask() throws {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["--data", data, "--json"] + smallFlags)
        let (epochs, summary) = trainingRecords(result)
        XCTAssertEqual(epochs.count, 2)
        for (k, epoch) in epochs.enumerated() {
            XCTAssertEqual(number(epoch, "epoch"), Double(k + 1))
            for key in ["Train Loss", "Valid Loss", "Valid RMSE", "Valid MAE", "seconds"] {
                guard let value = number(epoch, key) else { XCTFail("epoch \(k + 1) lacks \(key): \(epoch)"); continue }
                XCTAssertTrue(value.isFinite && value >= 0, "\(key) = \(value)")
            }
            // For the rating task the Valid Loss is the RMSE.
            XCTAssertEqual(number(epoch, "Valid Loss")!, number(epoch, "Valid RMSE")!, accuracy: 1e-9)
        }
        for key in ["Test RMSE", "Test MAE", "best_epoch", "train_seconds", "samples_per_second"] {
            XCTAssertNotNil(number(summary, key), "summary lacks \(key): \(summary)")
        }
        XCTAssertTrue((1...2).contains(Int(number(summary, "best_epoch") ?? 0)))
        XCTAssertFalse((summary["protocol"] as? String ?? "").isEmpty, "summary lacks protocol: \(summary)")
        XCTAssertGreaterThan(number(summary, "Test RMSE") ?? 0, 0)
        // Human output went to stderr.
        XCTAssertTrue(result.stderr.contains("best epoch"), result.description)
        XCTAssertFalse(result.stdout.contains("best epoch"))
    }

    func testWithoutJSONHumanOutputGoesToStdout() throws {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["--data", data] + smallFlags)
        XCTAssertTrue(result.stdout.contains("epoch 1/2"), result.description)
        XCTAssertTrue(result.stdout.contains("Test RMSE"), result.description)
        XCTAssertFalse(result.stdout.contains("{"), result.description)
    }

    func testLossFalls() throws {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["--data", data, "--json", "--epochs", "6", "--embed_dim", "4", "--mlp_dims", "8,4",
                                      "--batch_size", "16", "--lr", "0.01", "--seed", "3"])
        let (epochs, _) = trainingRecords(result)
        XCTAssertEqual(epochs.count, 6)
        guard let first = epochs.first.flatMap({ number($0, "Train Loss") }),
              let last = epochs.last.flatMap({ number($0, "Train Loss") }) else {
            return XCTFail("no Train Loss:\n\(result)")
        }
        XCTAssertLessThan(last, first, "Train Loss did not fall:\n\(result.stdout)")
    }

    // MARK: - JSON Lines, implicit task

    func testJSONLinesImplicitTask() throws {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["--data", data, "--json", "--task", "implicit", "--split", "loo",
                                      "--eval_negatives", "5"] + smallFlags)
        let (epochs, summary) = trainingRecords(result)
        XCTAssertEqual(epochs.count, 2)
        for epoch in epochs {
            for key in ["Train Loss", "Valid Loss", "seconds"] {
                XCTAssertNotNil(number(epoch, key), "epoch lacks \(key): \(epoch)")
            }
            for key in ["Valid HR@10", "Valid NDCG@10"] {
                guard let v = number(epoch, key) else { XCTFail("epoch lacks \(key): \(epoch)"); continue }
                XCTAssertTrue((0...1).contains(v), "\(key) = \(v)")
            }
        }
        for key in ["Test HR@10", "Test NDCG@10"] {
            guard let v = number(summary, key) else { XCTFail("summary lacks \(key): \(summary)"); continue }
            XCTAssertTrue((0...1).contains(v), "\(key) = \(v)")
        }
        // With 5 negatives a held-out item is ranked among 6 candidates, so it is always in the top 10.
        XCTAssertEqual(number(summary, "Test HR@10"), 1)
        let proto = summary["protocol"] as? String ?? ""
        XCTAssertTrue(proto.contains("5"), "protocol should name the 5 sampled negatives: \(proto)")
    }

    func testTopKRenamesRankingMetrics() throws {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["--data", data, "--json", "--task", "implicit", "--split", "loo",
                                      "--eval_negatives", "5", "--topk", "3"] + smallFlags)
        let (epochs, summary) = trainingRecords(result)
        for key in ["Valid HR@3", "Valid NDCG@3"] {
            XCTAssertNotNil(epochs.first.flatMap { number($0, key) }, "epoch lacks \(key): \(epochs)")
        }
        for key in ["Test HR@3", "Test NDCG@3"] {
            guard let v = number(summary, key) else { XCTFail("summary lacks \(key): \(summary)"); continue }
            XCTAssertTrue((0...1).contains(v), "\(key) = \(v)")
        }
        XCTAssertNil(number(summary, "Test HR@10"), "HR@10 reported although --topk 3: \(summary)")
    }

    func testEveryModelKindTrains() throws {
        let data = try writeTinyRatings()
        for kind in ["GMF", "MLP", "NCF", "neumf"] {
            let result = try ncfSucceeds(["--data", data, "--json", "--model", kind] + smallFlags)
            XCTAssertNotNil(number(trainingRecords(result).summary, "Test RMSE"), "\(kind):\n\(result)")
        }
    }
}

/// `--seed` and `--split_seed` are independent: a sweep's trials differ in `--seed` and must still
/// be scored on the same held-out data.
final class SplitSeedTests: CLITestCase {
    private func summary(_ extra: [String]) throws -> [String: Any] {
        let data = try writeTinyRatings()
        let result = try ncfSucceeds(["--data", data, "--epochs", "1", "--embed_dim", "4", "--mlp_dims", "8,4",
                                      "--batch_size", "16", "--json"] + extra)
        let last = try XCTUnwrap(result.stdoutLines.last)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        return try XCTUnwrap(object["summary"] as? [String: Any])
    }

    func testSeedDoesNotMoveTheSplitButSplitSeedDoes() throws {
        // The mean rating of each held-out set identifies it; the model's output bias starts there,
        // but the metrics depend on the model too, so compare the saved split seed through `eval`.
        let dir = tmp!
        let a = dir.appendingPathComponent("a.ncfmodel").path, b = dir.appendingPathComponent("b.ncfmodel").path
        let c = dir.appendingPathComponent("c.ncfmodel").path
        _ = try summary(["--seed", "1", "--save", a])
        _ = try summary(["--seed", "2", "--save", b])
        _ = try summary(["--seed", "1", "--split_seed", "5", "--save", c])
        func heldOut(_ path: String) throws -> String {
            // `eval` prints the protocol, which counts the test ratings; the split itself is in the file's metadata.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
            let range = try XCTUnwrap(text.range(of: #""split":\{[^}]*\}"#, options: .regularExpression), text)
            return String(text[range])
        }
        XCTAssertEqual(try heldOut(a), try heldOut(b), "--seed must not change the split")
        XCTAssertNotEqual(try heldOut(a), try heldOut(c), "--split_seed changes the split")
        // And the two seeds really trained different models on that same split.
        let ea = try ncfSucceeds(["eval", "--model", a, "--json"]).stdout
        let eb = try ncfSucceeds(["eval", "--model", b, "--json"]).stdout
        XCTAssertNotEqual(ea, eb)
    }
}
