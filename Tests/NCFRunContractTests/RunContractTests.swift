import NCFRunContract
import XCTest

/// The run contract: what the writer writes, the reader reads back; the metric catalog per task.
final class RunContractTests: XCTestCase {
    func testRecordsReadBackAsWritten() {
        let config = RunConfigRecord(
            parameters: [("lr", .double(0.007900491811886342)), ("batch_size", .int(64)), ("model", .string("NeuMF"))],
            seed: 7, data: DataRecord(path: "r.tsv", format: "tsv", fingerprint: "size:10 checksum:00ff"), version: "1.2.3")
        let line = RunLogRecord.config(config).line
        XCTAssertTrue(line.hasPrefix(#"{"config": {"parameters": {"lr": 0.007900491811886342, "batch_size": 64"#), line)
        XCTAssertEqual(TrialLine.parse(line), .config(config))

        let epoch = RunLogRecord.epoch(EpochLine(epoch: 2, metrics: [("Train Loss", 0.5), ("Valid Loss", .nan)],
                                                 seconds: 0.25, samplesPerSecond: 1000)).line
        XCTAssertEqual(epoch, #"{"epoch": 2, "Train Loss": 0.5, "Valid Loss": null, "seconds": 0.25, "samples_per_second": 1000}"#)
        XCTAssertEqual(TrialLine.parse(epoch), .metrics(["epoch": 2, "Train Loss": 0.5, "Valid Loss": Double?.none, "seconds": 0.25,
                                                         "samples_per_second": 1000]))

        let summary = RunLogRecord.summary(RunSummaryRecord(
            testMetrics: [("Test HR@10", 0.5)], validMetrics: [("Valid HR@10", 0.6)], bestEpoch: 2, epochsRun: 3,
            stoppedEarly: false, selectMetric: "Valid HR@10", selectGoal: .maximize, protocolDescription: "p",
            trainSeconds: 1.5, samplesPerSecond: 10, peakMemoryBytes: 2_000_000)).line
        guard case .summary(let text, let values)? = TrialLine.parse(summary) else { return XCTFail(summary) }
        XCTAssertEqual(values["Test HR@10"], 0.5)
        XCTAssertEqual(values["best_epoch"], 2)
        XCTAssertTrue(text.contains(#""select_goal":"maximize","select_metric":"Valid HR@10""#), text)
    }

    func testReaderTakesWhatOtherProgramsPrint() {
        XCTAssertEqual(TrialLine.parse(#"{"epoch": 3, "Train Loss": 0.91, "name": "x", "ok": true}"#),
                       .metrics(["epoch": 3, "Train Loss": 0.91]))
        XCTAssertEqual(TrialLine.parse(#"{"Train Loss": NaN, "b": -Infinity, "c": null, "s": "NaN stays"}"#),
                       .metrics(["Train Loss": Double?.none, "b": Double?.none, "c": Double?.none]))
        XCTAssertEqual(TrialLine.parse(#"{"summary": {"Test RMSE": 0.9, "protocol": "p"}}"#),
                       .summary(text: #"{"Test RMSE":0.9,"protocol":"p"}"#, values: ["Test RMSE": 0.9]))
        XCTAssertNil(TrialLine.parse("epoch 3/10 loss 0.4"))
        XCTAssertNil(TrialLine.parse("{broken"))
        XCTAssertNil(TrialLine.parse("[1, 2]"))
    }

    func testCatalogNamesWhatEachTaskLogs() {
        let rating = MetricCatalog(task: .rating, topk: 10)
        XCTAssertEqual(rating.epochMetrics.map(\.description), ["Train Loss", "Valid Loss", "Valid RMSE", "Valid MAE"])
        XCTAssertEqual(rating.testMetrics.map(\.description), ["Test Loss", "Test RMSE", "Test MAE"])
        let implicit = MetricCatalog(task: .implicit, topk: 5)
        XCTAssertEqual(implicit.epochMetrics.map(\.description),
                       ["Train Loss", "Valid Loss", "Valid HR@5", "Valid NDCG@5", "Valid MRR", "Valid AUC"])
        XCTAssertEqual(implicit.defaultSelection.metric.description, "Valid HR@5")
        XCTAssertEqual(implicit.defaultSelection.goal, .maximize)
        XCTAssertEqual(rating.defaultSelection.metric, .validLoss)
        XCTAssertEqual(MetricName(.valid, .ndcg(k: 3)).goal, .maximize)
        XCTAssertEqual(MetricName(.valid, .mae).goal, .minimize)
    }

    func testNearestNameForTypos() {
        let implicit = MetricCatalog(task: .implicit, topk: 10)
        XCTAssertEqual(implicit.nearest(to: "Valid loss")?.description, "Valid Loss")
        XCTAssertEqual(implicit.nearest(to: "val_loss")?.description, "Valid Loss")
        XCTAssertEqual(implicit.nearest(to: "HR@10")?.description, "Valid HR@10")
        XCTAssertEqual(implicit.nearest(to: "Valid HR@20")?.description, "Valid HR@10")
        // A bare measure means the validation split's, which steers a sweep, not `Train Loss`.
        XCTAssertEqual(implicit.nearest(to: "loss")?.description, "Valid Loss")
        XCTAssertEqual(MetricCatalog(task: .rating, topk: 10).nearest(to: "rmse")?.description, "Valid RMSE")
        XCTAssertEqual(MetricCatalog(task: .rating, topk: 10).nearest(to: "Loss")?.description, "Valid Loss")
        XCTAssertEqual(MetricSplit.of("Test accuracy"), .test)
        XCTAssertNil(MetricSplit.of("accuracy"))
    }

    func testDivergenceIsOneMessage() {
        let message = RunExitCode.divergenceMessage(epoch: 2, step: 5, value: .nan)
        XCTAssertTrue(message.hasPrefix(RunExitCode.divergencePrefix))
        XCTAssertTrue(RunExitCode.reportsDivergence(lastErrorLine: "Error: " + message))
        XCTAssertTrue(RunExitCode.reportsDivergence(lastErrorLine: "RuntimeError: loss is NaN"))
        XCTAssertFalse(RunExitCode.reportsDivergence(lastErrorLine: "Error: boom"))
        XCTAssertNotEqual(RunExitCode.diverged, RunExitCode.failure)
    }
}
