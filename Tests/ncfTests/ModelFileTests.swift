import Foundation
import NCFTestSupport
import NCFTraining
import XCTest

/// `--save`, then `ncf eval` and `ncf recommend` on the saved file; damaged and misplaced files.
final class ModelFileTests: CLITestCase {
    // MARK: - eval

    func testEvalReproducesTrainingTestMetricsRatingTask() throws {
        let data = try writeTinyRatings()
        try assertEvalMatchesTraining(train: ["--data", data] + smallFlags, metrics: ["Test RMSE", "Test MAE"])
    }

    func testEvalReproducesTrainingTestMetricsImplicitTask() throws {
        let data = try writeTinyRatings()
        try assertEvalMatchesTraining(
            train: ["--data", data, "--task", "implicit", "--split", "loo", "--eval_negatives", "5"] + smallFlags,
            metrics: ["Test HR@10", "Test NDCG@10"])
    }

    func testEvalWithMovedDataNeedsDataFlag() throws {
        let data = try writeTinyRatings(name: "first.tsv")
        let model = tmp.appendingPathComponent("m.ncf").path
        try ncfSucceeds(["--data", data, "--save", model] + smallFlags)
        let moved = tmp.appendingPathComponent("moved.tsv").path
        try FileManager.default.moveItem(atPath: data, toPath: moved)
        let stderr = try ncfFails(["eval", "--model", model])
        XCTAssertTrue(stderr.contains("first.tsv") && stderr.contains("--data"), stderr)
        try ncfSucceeds(["eval", "--model", model, "--data", moved, "--json"])
    }

    private func assertEvalMatchesTraining(train: [String], metrics: [String],
                                           file: StaticString = #filePath, line: UInt = #line) throws {
        let model = tmp.appendingPathComponent("model.ncf").path
        let trained = try ncfSucceeds(train + ["--json", "--save", model], file: file, line: line)
        let summary = trainingRecords(trained, file: file, line: line).summary
        XCTAssertTrue(FileManager.default.fileExists(atPath: model), "no model written", file: file, line: line)

        let evaluated = try ncfSucceeds(["eval", "--model", model, "--json"], file: file, line: line)
        let objects = jsonLines(evaluated, file: file, line: line)
        XCTAssertEqual(objects.count, 1, "eval --json prints one object:\n\(evaluated)", file: file, line: line)
        guard let result = objects.first else { return }
        for name in metrics {
            guard let expected = number(summary, name), let actual = number(result, name) else {
                XCTFail("\(name) missing: train \(summary), eval \(result)", file: file, line: line)
                continue
            }
            XCTAssertEqual(actual, expected, accuracy: 1e-6, name, file: file, line: line)
        }
        XCTAssertEqual(result["protocol"] as? String, summary["protocol"] as? String, file: file, line: line)
    }

    // MARK: - recommend

    func testRecommendReturnsUnseenItemsByRawID() throws {
        let data = try writeTinyRatings()
        let model = tmp.appendingPathComponent("model.ncf").path
        // Leave-one-out by time: a user's train items are all but the last two they rated.
        try ncfSucceeds(["--data", data, "--task", "implicit", "--split", "loo", "--eval_negatives", "5",
                         "--save", model] + smallFlags)
        for user in ["u1", "u3", "u12"] {
            let result = try ncfSucceeds(["recommend", "--model", model, "--user", user, "-k", "3", "--json"])
            let objects = jsonLines(result)
            XCTAssertEqual(objects.count, 1, result.description)
            guard let object = objects.first else { continue }
            XCTAssertEqual(object["user"] as? String, user)
            let entries = object["items"] as? [[String: Any]] ?? []
            let items = entries.compactMap { $0["item"] as? String }
            XCTAssertEqual(items.count, 3, result.description)
            XCTAssertEqual(Set(items).count, 3, "repeated items: \(items)")
            XCTAssertTrue(Set(items).isSubset(of: TinyRatings.itemIDs), "unknown item ids: \(items)")
            let trainItems = Set(TinyRatings.itemsByUser[user]!.dropLast(2))
            XCTAssertTrue(Set(items).isDisjoint(with: trainItems), "\(user) was recommended train items: \(items)")
            let scores = entries.compactMap { number($0, "score") }
            XCTAssertEqual(scores.count, 3)
            XCTAssertEqual(scores, scores.sorted(by: >), "not ranked by score: \(scores)")
        }
    }

    func testRecommendRatingModelAndLongForm() throws {
        let data = try writeTinyRatings()
        let model = tmp.appendingPathComponent("model.ncf").path
        try ncfSucceeds(["--data", data, "--save", model] + smallFlags)
        let result = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "--k", "3", "--json"])
        let items = (jsonLines(result).first?["items"] as? [[String: Any]] ?? []).compactMap { $0["item"] as? String }
        XCTAssertEqual(items.count, 3, result.description)
        XCTAssertEqual(Set(items).count, 3)
        XCTAssertTrue(Set(items).isSubset(of: TinyRatings.itemIDs))
        // Human output without --json.
        let human = try ncfSucceeds(["recommend", "--model", model, "--user", "u5", "-k", "2"])
        XCTAssertTrue(human.stdout.contains("1. i") && human.stdout.contains("2. i"), human.description)
    }

    func testRecommendUnknownUserIsAClearError() throws {
        let data = try writeTinyRatings()
        let model = tmp.appendingPathComponent("model.ncf").path
        try ncfSucceeds(["--data", data, "--save", model] + smallFlags)
        let stderr = try ncfFails(["recommend", "--model", model, "--user", "nobody", "-k", "3"])
        XCTAssertTrue(stderr.contains("nobody"), stderr)
        XCTAssertTrue(stderr.contains("no such user"), stderr)
        let zero = try ncfFails(["recommend", "--model", model, "--user", "u1", "-k", "0"])
        XCTAssertTrue(zero.contains("-k 0"), zero)
    }

    // MARK: - Damaged and missing files

    func testCorruptModelFileIsAClearError() throws {
        let data = try writeTinyRatings()
        let model = tmp.appendingPathComponent("model.ncf")
        try ncfSucceeds(["--data", data, "--save", model.path] + smallFlags)
        var bytes = try Data(contentsOf: model)
        for offset in [bytes.count / 2, bytes.count - 1, 20] {
            var damaged = bytes
            damaged[offset] ^= 0x5A
            let path = tmp.appendingPathComponent("damaged-\(offset).ncf")
            try damaged.write(to: path)
            for command in [["eval", "--model", path.path], ["recommend", "--model", path.path, "--user", "u1"]] {
                let stderr = try ncfFails(command)
                XCTAssertTrue(stderr.contains(path.lastPathComponent), "\(command) offset \(offset): \(stderr)")
                XCTAssertTrue(stderr.contains("damaged"), "\(command) offset \(offset): \(stderr)")
            }
        }
        // Truncated, and not a model at all.
        bytes.removeLast(bytes.count / 3)
        let truncated = tmp.appendingPathComponent("truncated.ncf")
        try bytes.write(to: truncated)
        XCTAssertTrue(try ncfFails(["eval", "--model", truncated.path]).contains("truncated.ncf"))
        XCTAssertTrue(try ncfFails(["eval", "--model", data]).contains("ratings.tsv"))
        XCTAssertTrue(try ncfFails(["eval", "--model", tmp.appendingPathComponent("none.ncf").path]).contains("none.ncf"))
    }

    /// A model file with a valid checksum but hostile sizes in its metadata is refused with a
    /// message naming the file, before anything of that size is allocated (no trap, no 1 TB
    /// allocation attempt).
    func testHostileMetadataWithValidChecksumIsRefused() throws {
        let data = try writeTinyRatings()
        let model = tmp.appendingPathComponent("model.ncf").path
        try ncfSucceeds(["--data", data, "--task", "implicit", "--split", "loo", "--eval_negatives", "5",
                         "--save", model] + smallFlags)
        let original = try Checkpoint.read(from: model)
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("embedDim-1", { $0["model"] = self.edited($0["model"], "embedDim", -1) }),
            ("embedDim0", { $0["model"] = self.edited($0["model"], "embedDim", 0) }),
            ("embedDim2e31", { $0["model"] = self.edited($0["model"], "embedDim", 1 << 31) }),
            ("embedDim1e6", { $0["model"] = self.edited($0["model"], "embedDim", 1_000_000) }),
            ("mlpDims-5", { $0["model"] = self.edited($0["model"], "mlpDims", [-5]) }),
            ("mlpDims1e9", { $0["model"] = self.edited($0["model"], "mlpDims", [1_000_000_000, 4]) }),
            ("numUsers-3", { $0["model"] = self.edited($0["model"], "numUsers", -3) }),
            ("numItems2e40", { $0["model"] = self.edited($0["model"], "numItems", 1 << 40) }),
            ("topk0", { $0["train"] = self.edited($0["train"], "topk", 0) }),
        ]
        for (name, edit) in edits {
            var meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(original.metadataJSON.utf8)) as? [String: Any])
            edit(&meta)
            var hostile = original
            hostile.metadataJSON = String(decoding: try JSONSerialization.data(withJSONObject: meta), as: UTF8.self)
            let path = tmp.appendingPathComponent("hostile-\(name).ncf").path
            try hostile.write(to: path)
            for command in [["eval", "--model", path], ["recommend", "--model", path, "--user", "u1"]] {
                let stderr = try ncfFails(command)
                XCTAssertTrue(stderr.contains("hostile-\(name).ncf"), "\(command): \(stderr)")
                XCTAssertTrue(stderr.contains("Retrain") || stderr.contains("retrain"), "\(command): no hint: \(stderr)")
            }
        }
    }

    private func edited(_ object: Any?, _ key: String, _ value: Any) -> [String: Any] {
        var dict = object as? [String: Any] ?? [:]
        dict[key] = value
        return dict
    }

    func testSaveIntoMissingDirectoryFailsBeforeTraining() throws {
        let data = try writeTinyRatings()
        let dir = tmp.appendingPathComponent("no/such/dir").path
        let result = try ncf(["--data", data, "--json", "--save", dir + "/model.ncf"] + smallFlags)
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        XCTAssertTrue(result.stderr.contains(dir), "message should name \(dir):\n\(result)")
        XCTAssertEqual(result.stdout, "", "an epoch ran before the failure:\n\(result)")
        XCTAssertFalse(result.stderr.contains("epoch 1/"), result.description)
    }

    // MARK: - Pre-training (--init_gmf, --init_mlp)

    /// GMF and MLP saved with --save initialise NeuMF; the run says so, its config record names the
    /// files, and a shape that does not fit is refused naming the flag, the file and the flag to change.
    func testNeuMFPretrainedFromSavedGMFAndMLP() throws {
        let data = try writeTinyRatings()
        let implicit = ["--data", data, "--task", "implicit", "--split", "loo", "--eval_negatives", "5"]
        let gmf = tmp.appendingPathComponent("gmf.ncf").path, mlp = tmp.appendingPathComponent("mlp.ncf").path
        try ncfSucceeds(implicit + smallFlags + ["--model", "GMF", "--save", gmf])
        try ncfSucceeds(implicit + smallFlags + ["--model", "MLP", "--save", mlp])

        let run = try ncfSucceeds(implicit + smallFlags + ["--model", "NeuMF", "--init_gmf", gmf, "--init_mlp", mlp,
                                                           "--alpha", "0.5", "--json"])
        XCTAssertTrue(run.stderr.contains("pre-trained: GMF branch from \(gmf), MLP branch from \(mlp)"), run.stderr)
        XCTAssertTrue(run.stdout.contains("\"init_gmf\": \"\(gmf)\""), run.stdout)
        // The start is logged as epoch 0, with the validation metrics and no Train Loss, and the
        // summary's best epoch is one of the logged epochs.
        let epochs = jsonLines(run).filter { $0["epoch"] != nil }
        XCTAssertEqual(epochs.compactMap { $0["epoch"] as? Int }, [0, 1, 2], run.stdout)
        XCTAssertNil(epochs.first?["Train Loss"], run.stdout)
        XCTAssertNotNil(epochs.first?["Valid HR@10"], run.stdout)
        XCTAssertTrue(run.stderr.contains("(the pre-trained start, before training)"), run.stderr)
        let summary = try XCTUnwrap(jsonLines(run).compactMap { $0["summary"] as? [String: Any] }.first)
        let best = try XCTUnwrap(epochs.first { $0["epoch"] as? Int == summary["best_epoch"] as? Int }, run.stdout)
        XCTAssertEqual(summary["Valid HR@10"] as? Double, best["Valid HR@10"] as? Double, run.stdout)

        let wrongDim = try ncfFails(implicit + smallFlags + ["--embed_dim", "6", "--init_gmf", gmf, "--init_mlp", mlp])
        XCTAssertTrue(wrongDim.contains("--init_gmf \(gmf)") && wrongDim.contains("--embed_dim is 6"), wrongDim)
        let wrongTower = try ncfFails(implicit + smallFlags + ["--mlp_dims", "8", "--init_gmf", gmf, "--init_mlp", mlp])
        XCTAssertTrue(wrongTower.contains("--init_mlp \(mlp)") && wrongTower.contains("--mlp_dims are 8"), wrongTower)
        let notNeuMF = try ncfFails(implicit + smallFlags + ["--model", "GMF", "--init_gmf", gmf, "--init_mlp", mlp])
        XCTAssertTrue(notNeuMF.contains("--model NeuMF"), notNeuMF)
        let alone = try ncfFails(implicit + smallFlags + ["--init_gmf", gmf])
        XCTAssertTrue(alone.contains("--init_gmf needs --init_mlp"), alone)
    }
}
