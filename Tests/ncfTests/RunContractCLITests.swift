import Foundation
import NCFData
import NCFRunContract
import NCFSweep
import XCTest

@testable import ncf

/// The run contract end to end: what `ncf train --json` records, how `ncf sweep` ranks and
/// reports built-in trials, and the trainer's flags as sweep validation knows them.
final class RunContractCLITests: CLITestCase {
    private var store: String { tmp.appendingPathComponent("sweeps.db").path }

    /// A small synthetic ratings file written by `ncf data synth`.
    private func synthData(users: Int = 40, items: Int = 120, ratings: Int = 1200) throws -> String {
        let out = tmp.appendingPathComponent("synth.tsv").path
        try ncfSucceeds(["data", "synth", "--out", out, "--users", String(users), "--items", String(items),
                         "--ratings", String(ratings), "--seed", "5"])
        return out
    }

    // MARK: - The seed's own W&B config

    func testTheTutorialConfigWithAMissingProgramValidatesAndRunsTheBuiltInTrainer() throws {
        let yaml = """
            program: main.py
            method: bayes
            metric:
              name: Valid Loss
              goal: minimize
            parameters:
              lr: {min: 0.0001, max: 0.01}
              batch_size: {values: [32, 64, 128]}
              embed_dim: {values: [8, 16, 32]}
              mlp_dims: {values: ["16,16", "32,16,8"]}
              epochs: {values: [2, 3]}
              dropout: {min: 0.0, max: 0.5}
            """
        let config = tmp.appendingPathComponent("sweep.yaml").path
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let validated = try ncfSucceeds(["sweep", "validate", config])
        XCTAssertTrue(validated.stdout.contains("warning: "), validated.description)
        XCTAssertTrue(validated.stdout.contains("program `main.py` not found"), validated.description)
        XCTAssertTrue(validated.stdout.contains("valid, method bayes (1 warning)"), validated.description)

        let data = try synthData()
        let result = try ncfSucceeds(["sweep", config, "--count", "2", "--store", store, "--data", data])
        let notes = result.stdout.components(separatedBy: "so the trials run ncf's built-in trainer").count - 1
        XCTAssertEqual(notes, 1, "said once, at creation:\n\(result)")
        let db = try SQLiteRunStore(path: store, create: false)
        let sweep = try XCTUnwrap(try db.sweeps().first)
        let runs = try db.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .finished], result.description)
        XCTAssertTrue(runs.allSatisfy { $0.summary?.contains("Test RMSE") == true }, "\(runs.map(\.summary))")
        // The same config with TAB indentation is still refused with its line.
        let tabbed = tmp.appendingPathComponent("tabbed.yaml").path
        try yaml.replacingOccurrences(of: "\n  ", with: "\n\t").write(toFile: tabbed, atomically: true, encoding: .utf8)
        let refused = try ncf(["sweep", "validate", tabbed])
        XCTAssertEqual(refused.exitCode, 1, refused.description)
        XCTAssertTrue(refused.stdout.contains("tabbed.yaml:4: line 4 is indented with a TAB"), refused.description)
    }

    /// Who runs the trials is settled when the sweep is created: an agent started where a file
    /// of the missing program's name exists still runs the built-in trainer the sweep's runs came
    /// from, and a sweep whose program ran at creation is refused by an agent that cannot find it.
    func testAnAgentRunsTheTrainerTheSweepWasCreatedWith() throws {
        let data = try synthData()
        // The same config, `main.py` and two learning rates, for both sweeps below.
        let yaml = """
            program: main.py
            method: random
            metric: {name: Valid Loss, goal: minimize}
            parameters:
              epochs: {value: 1}
              embed_dim: {value: 8}
              mlp_dims: {value: "16,8"}
              lr: {values: [0.01, 0.003]}
            """
        let config = tmp.appendingPathComponent("fallback.yaml").path
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let created = try ncfSucceeds(["sweep", config, "--count", "1", "--store", store, "--data", data])
        let db = try SQLiteRunStore(path: store, create: false)
        let sweep = try XCTUnwrap(try db.sweeps().first, created.description)

        // Elsewhere, a main.py that would leave a marker and fail.
        let elsewhere = tmp.appendingPathComponent("elsewhere", isDirectory: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let marker = elsewhere.appendingPathComponent("main-py-ran").path
        let script = elsewhere.appendingPathComponent("main.py").path
        try "#!/bin/sh\ntouch '\(marker)'\nexit 1\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let joined = try ncf(["agent", sweep.id, "--count", "1", "--store", store], in: elsewhere)
        XCTAssertEqual(joined.exitCode, 0, joined.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the agent ran main.py:\n\(joined)")
        XCTAssertTrue(joined.stdout.contains("built-in trainer"), joined.description)
        let runs = try db.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .finished], joined.description)

        // A sweep created where main.py exists ran it; an agent where it is missing refuses.
        let withProgram = elsewhere.appendingPathComponent("program.yaml").path
        try yaml.write(toFile: withProgram, atomically: true, encoding: .utf8)
        let second = try ncf(["sweep", withProgram, "--count", "0", "--store", store], in: elsewhere)
        XCTAssertEqual(second.exitCode, 0, second.description)
        let programSweep = try XCTUnwrap(try db.sweeps().first { $0.id != sweep.id }, second.description)
        let refused = try ncf(["agent", programSweep.id, "--count", "1", "--store", store])
        XCTAssertNotEqual(refused.exitCode, 0, refused.description)
        XCTAssertTrue(refused.stderr.contains("main.py"), refused.description)
        XCTAssertTrue(refused.stderr.contains("not found here"), refused.description)
        XCTAssertEqual(try db.runs(sweepID: programSweep.id).count, 0, refused.description)
        // Given --data, it runs the built-in trainer, as a sweep from before ncf recorded the data
        // (whose runs came from each agent's --data) needs, and says so.
        let withData = try ncf(["agent", programSweep.id, "--count", "1", "--store", store, "--data", data])
        XCTAssertEqual(withData.exitCode, 0, withData.description)
        XCTAssertTrue(withData.stdout.contains("runs ncf's built-in trainer on --data"), withData.description)
        XCTAssertEqual(try db.runs(sweepID: programSweep.id).map(\.state), [.finished], withData.description)
    }

    // MARK: - The epoch a run is ranked by is the epoch it tests

    func testAnImplicitSweepReportsTheValidMetricOfTheEpochItTested() throws {
        let data = try synthData()
        let config = tmp.appendingPathComponent("implicit.yaml").path
        try """
            method: grid
            metric: {name: Valid HR@10, goal: maximize}
            parameters:
              task: {value: implicit}
              epochs: {value: 8}
              embed_dim: {value: 8}
              mlp_dims: {value: "16,8"}
              lr: {values: [0.03, 0.01, 0.003]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try ncfSucceeds(["sweep", config, "--store", store, "--data", data])
        let db = try SQLiteRunStore(path: store, create: false)
        let sweep = try XCTUnwrap(try db.sweeps().first)
        let metric = SweepConfig.Metric(name: "Valid HR@10", goal: .maximize)
        let histories = try db.histories(sweepID: sweep.id, metric: metric.name)
        for run in try db.runs(sweepID: sweep.id) {
            XCTAssertEqual(run.state, .finished, result.description)
            let summary = try XCTUnwrap(run.summary.flatMap { JSONValue.parse($0) }, "run \(run.id)")
            let ranked = try XCTUnwrap(run.record(history: histories[run.id] ?? [], metric: metric).metric)
            XCTAssertEqual(summary["Valid HR@10"]?.number, ranked, "run \(run.id): the tested epoch is the ranked one")
            XCTAssertEqual(summary["select_metric"], .string("Valid HR@10"))
            XCTAssertEqual(summary["select_goal"], .string("maximize"))
        }
        let best = try XCTUnwrap(try db.bestRun(sweepID: sweep.id, metric: metric))
        let summary = try XCTUnwrap(best.run.summary.flatMap { JSONValue.parse($0) })
        XCTAssertEqual(summary["Valid HR@10"]?.number, best.value)
        let shown = try ncfSucceeds(["sweep", "best", sweep.id, "--store", store])
        XCTAssertTrue(shown.stdout.contains("Test HR@10"), shown.description)
    }

    func testImplicitTrainingKeepsTheBestHitRateEpochByDefault() throws {
        let data = try synthData()
        let result = try ncfSucceeds(["train", "--data", data, "--task", "implicit", "--epochs", "6", "--embed_dim", "8",
                                      "--mlp_dims", "16,8", "--lr", "0.03", "--json"])
        let records = trainingRecords(result)
        let hits = records.epochs.compactMap { number($0, "Valid HR@10") }
        XCTAssertEqual(hits.count, 6, result.description)
        XCTAssertEqual(number(records.summary, "Valid HR@10"), hits.max())
        XCTAssertEqual(records.summary["select_metric"] as? String, "Valid HR@10")
        let chosen = try ncfSucceeds(["train", "--data", data, "--task", "implicit", "--epochs", "6", "--embed_dim", "8",
                                      "--mlp_dims", "16,8", "--lr", "0.03", "--json", "--select_metric", "Valid Loss"])
        let losses = trainingRecords(chosen).epochs.compactMap { number($0, "Valid Loss") }
        XCTAssertEqual(number(trainingRecords(chosen).summary, "Valid Loss"), losses.min())
        let wrong = try ncfFails(["train", "--data", data, "--task", "implicit", "--epochs", "1", "--select_metric", "Valid HR@20"])
        XCTAssertTrue(wrong.contains("did you mean `Valid HR@10`?"), wrong)
    }

    // MARK: - A run says what it was

    func testTheFirstJSONLineRecordsTheConfigDataVersionAndSeed() throws {
        let data = try synthData()
        let result = try ncfSucceeds(["train", "--data", data, "--epochs", "1", "--lr", "0.007900491811886342", "--seed", "9", "--json"])
        let first = try XCTUnwrap(result.stdout.split(separator: "\n").first.map(String.init))
        guard case .config(let record)? = TrialLine.parse(first) else { return XCTFail(first) }
        XCTAssertEqual(record.parameter("lr"), .double(0.007900491811886342), "exact in JSON")
        XCTAssertEqual(record.parameter("select_metric"), .string("Valid Loss"))
        XCTAssertEqual(record.parameter("valid_ratio"), .double(0.1))
        XCTAssertEqual(record.seed, 9)
        XCTAssertEqual(record.data?.path, data)
        // The same digest a sweep records for its data: the SHA-256 of the file.
        let digest = try XCTUnwrap(try? SHA256.hexOfFile(atPath: data))
        XCTAssertEqual(record.data?.fingerprint, "sha256:" + digest)
        XCTAssertEqual(record.version, NCFVersion.string)
        // The summary says it too, so a stored run (which keeps the summary) names its data.
        let last = try XCTUnwrap(result.stdout.split(separator: "\n").last.map(String.init))
        guard case .summary(let text, _)? = TrialLine.parse(last) else { return XCTFail(last) }
        XCTAssertTrue(text.contains("\"data_fingerprint\":\"sha256:\(digest)\""), text)
        XCTAssertTrue(result.stderr.contains("lr 0.0079,"), "rounded for people:\n\(result.stderr)")

        let log = tmp.appendingPathComponent("run.jsonl")
        try result.stdout.write(to: log, atomically: true, encoding: .utf8)
        let report = try ncfSucceeds(["report", log.path])
        XCTAssertTrue(report.stdout.contains("; data \(data) (sha256:"), "the command names the run's data: \(report.stdout)")
        XCTAssertTrue(report.stdout.contains(", seed 9, "), report.stdout)
        let html = try String(contentsOf: tmp.appendingPathComponent("run.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<th>lr</th><td title=\"0.007900491811886342\">0.0079</td>"), "configuration section, exact on hover")
        XCTAssertTrue(html.contains("<h2>Configuration and data</h2>"), "configuration section")
        XCTAssertTrue(html.contains("<p class=\"sub\">data <code>\(data)</code>"), "the header names the data")
        XCTAssertTrue(html.contains("sha256:"), "the data's fingerprint")
        let configAt = try XCTUnwrap(html.range(of: "id=\"config\""))
        let curvesAt = try XCTUnwrap(html.range(of: "id=\"curves\""))
        XCTAssertLessThan(configAt.lowerBound, curvesAt.lowerBound, "the configuration comes before the charts")
        XCTAssertTrue(html.contains(data), "data path")
        XCTAssertTrue(html.contains(" MB</td>"), "peak memory in MB")
        XCTAssertFalse(html.contains("<th>peak_memory_bytes</th><td>\(Int(1))"), "no raw byte count")
    }

    // MARK: - The trainer's flags as validation knows them

    func testSweepValidationKnowsExactlyTheFlagsOfNcfTrain() throws {
        let result = try ncfSucceeds(["train", "--experimental-dump-help"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let command = try XCTUnwrap(object["command"] as? [String: Any])
        let arguments = try XCTUnwrap(command["arguments"] as? [[String: Any]])
        var options: Set<String> = []
        for argument in arguments {
            let names = (argument["names"] as? [[String: Any]]) ?? []
            if let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String { options.insert(long) }
        }
        XCTAssertEqual(Set(trainFlagNames), options.subtracting(["save", "json", "help", "version"]),
                       "a sweep parameter may set every `ncf train` option but --save, --json and --help")
    }
}
