import Foundation
import NCFKernels
import XCTest

@testable import NCFReport
@testable import NCFSweep

// MARK: - A sweep built run by run

/// Hands out the one config it was given (the fixture claims each run with its own config).
private struct OneConfig: Sampler {
    let config: [String: ParamValue]
    func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
        [self.config]
    }
}

/// A sweep in an in-memory store whose runs are added one by one with their metric histories.
final class ReportFixture {
    let store = InMemoryRunStore()
    let sweep: SweepRecord
    let config: SweepConfig
    private var clock = Date(timeIntervalSince1970: 1_700_000_000)

    /// - Parameter storedText: the config text the store keeps (default: `yaml`); text that does
    ///   not parse makes the report infer the parameters from the runs.
    init(yaml: String, storedText: String? = nil) throws {
        config = try SweepConfig.parse(yaml: yaml, file: "test", trainer: nil).config
        sweep = try store.createSweep(configText: storedText ?? yaml, seed: 7, now: clock)
    }

    /// Adds a run with `config`, logging `valid` (and `train`, default valid + 0.1) per epoch from
    /// epoch `firstEpoch`, then ends it in `state` (a `running` run is left running). Runs start 60 s apart.
    @discardableResult
    func add(_ config: [String: ParamValue], state: RunState = .finished, valid: [Double?], train: [Double?]? = nil,
             firstEpoch: Int = 1, reason: String? = nil, summary: String? = nil) throws -> Int {
        clock = clock.addingTimeInterval(60)
        var claimConfig = self.config
        claimConfig.metric = nil
        let outcome = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: claimConfig, sampler: OneConfig(config: config),
                                                      agent: "test:1", heartbeatEvery: 1, now: clock))
        guard case .claimed(let run) = outcome else { throw XCTSkip("claim refused: \(outcome)") }
        let train = train ?? valid.map { $0.map { $0 + 0.1 } }
        for (e, v) in valid.enumerated() {
            try store.appendMetrics(runID: run.id, step: e + 1, values: ["epoch": Double(e + firstEpoch), "Valid Loss": v,
                                                                        "Train Loss": e < train.count ? train[e] : nil])
        }
        if state != .running {
            _ = try store.finishRun(id: run.id, state: state, reason: reason, exitCode: state == .failed ? 1 : 0,
                                    summary: summary, givenBack: false, at: clock.addingTimeInterval(30))
        }
        return run.id
    }

    func model(now: Date? = nil) throws -> ReportModel {
        try ReportModel.build(store: store, sweepID: sweep.id, now: now ?? clock.addingTimeInterval(100))
    }

    /// A sweep of NeuMF runs from pre-trained parts (`init_gmf`, `init_mlp`) over `alpha`, with
    /// `head` (`program`, `early_terminate`, …) after the metric.
    static func partsYAML(metric: String = "Valid Loss", head: String = "") -> String {
        """
        name: parts
        method: random
        metric:
          name: \(metric)
          goal: minimize
        \(head)
        parameters:
          alpha:
            values: [0.5, 0.8]
          init_gmf:
            value: gmf.ncf
          init_mlp:
            value: mlp.ncf
          model:
            value: NeuMF
        """
    }

    /// One run's config in `partsYAML`'s sweep.
    static func parts(_ alpha: Double) -> [String: ParamValue] {
        ["alpha": .double(alpha), "init_gmf": .string("gmf.ncf"), "init_mlp": .string("mlp.ncf"), "model": .string("NeuMF")]
    }
}

// MARK: - Tests

/// The report model (best runs, best-so-far, missing metrics, rungs) and the HTML it renders.
final class ReportModelTests: XCTestCase {
    private func yaml(goal: String = "minimize", extra: String = "") -> String {
        """
        name: test
        method: random
        metric:
          name: Valid Loss
          goal: \(goal)
        \(extra)
        parameters:
          x:
            values: [1, 2, 3]
          lr:
            distribution: log_uniform_values
            min: 0.001
            max: 0.1
          drop:
            distribution: uniform
            min: 0
            max: 0.5
        """
    }

    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// A run of the built-in trainer from pre-trained parts logs its start first, as epoch 0: the
    /// report draws its history from epoch 0 (as the foreground curves draw the logged epoch);
    /// another program's runs with the same parameters, and runs without parts, start at epoch 1.
    func testPretrainedRunsHistoriesStartAtEpochZero() throws {
        let builtIn = try ReportFixture(yaml: ReportFixture.partsYAML())
        let parts = ReportFixture.parts(0.5)
        try builtIn.add(parts, valid: [0.5, 0.6, 0.7])
        let model = try builtIn.model()
        XCTAssertEqual(model.runs.map(\.firstEpoch), [0])
        XCTAssertEqual(model.backgroundFirstEpoch.values.sorted(), model.background.isEmpty ? [] : [0])
        XCTAssertTrue(SweepReport.pageData(model).contains("\"first_epoch\":0"), "the page draws it from epoch 0 too")

        let external = try ReportFixture(yaml: ReportFixture.partsYAML(head: "program: ./train.sh"))
        try external.add(parts, valid: [0.5, 0.6])
        XCTAssertEqual(try external.model().runs.map(\.firstEpoch), [1])

        let plain = try ReportFixture(yaml: yaml())
        try plain.add(["x": .int(1), "lr": .double(0.01), "drop": .double(0.1)], valid: [0.9, 0.8])
        XCTAssertEqual(try plain.model().runs.map(\.firstEpoch), [1])
    }

    /// A pre-trained run's start is not a trained epoch: the runs table counts its trained epochs,
    /// hyperband's rungs compare every run after n trained epochs, and a sweep on `Train Loss`
    /// (which the start does not log) draws its history from epoch 1.
    func testPretrainedRunsCountTrainedEpochsForTheTableAndTheRungs() throws {
        let hyperband = "early_terminate: {type: hyperband, min_iter: 1, eta: 2}"
        let parts = ReportFixture.parts
        let valid = try ReportFixture(yaml: ReportFixture.partsYAML(head: hyperband))
        // Starts 0.5 and 0.9; after one epoch of training 0.6 and 0.4.
        try valid.add(parts(0.5), valid: [0.5, 0.6, 0.7], train: [nil, 0.7, 0.8], firstEpoch: 0)
        try valid.add(parts(0.8), valid: [0.9, 0.4], train: [nil, 0.5], firstEpoch: 0)
        let model = try valid.model()
        XCTAssertEqual(model.runs.map(\.logged), [3, 2])
        XCTAssertEqual(model.runs.map(\.epochs), [2, 1], "the start is logged but not trained")
        XCTAssertEqual(model.runs.map(\.firstEpoch), [0, 0])
        // Band 1 over the first trained epochs (0.6, 0.4): the value at ⌊2/2⌋ = 0.6. Counting the
        // starts (0.5, 0.9) it would be 0.9.
        XCTAssertEqual(model.rungs.first?.band, 1)
        XCTAssertEqual(model.rungs.first?.threshold, 0.6)
        XCTAssertEqual(model.rungs.count, 2, "bands up to the most trained epochs (2)")
        let html = SweepReport.html(model)
        XCTAssertTrue(html.contains("rungs after 1, 2 trained epochs"), html)
        XCTAssertTrue(SweepReport.pageData(model).contains("\"logged\":3,\"first_epoch\":0,\"epochs\":2"))

        let trainLoss = try ReportFixture(yaml: ReportFixture.partsYAML(metric: "Train Loss", head: hyperband))
        try trainLoss.add(parts(0.5), valid: [0.5, 0.6, 0.7], train: [nil, 0.7, 0.8], firstEpoch: 0)
        let byTrain = try trainLoss.model()
        XCTAssertEqual(byTrain.runs.map(\.firstEpoch), [1], "the start has no Train Loss")
        XCTAssertEqual(byTrain.runs.map(\.epochs), [2])
    }

    func testEmptySweepRendersAPageWithNoCharts() throws {
        let fixture = try ReportFixture(yaml: yaml())
        let model = try fixture.model()
        XCTAssertTrue(model.runs.isEmpty)
        XCTAssertNil(model.bestIndex)
        XCTAssertEqual(model.withoutMetric, 0)
        let html = SweepReport.html(model)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("No runs yet"), html)
        XCTAssertFalse(html.contains("<svg"), "no chart without runs")
        XCTAssertTrue(html.hasSuffix("</html>\n"))
    }

    func testOneRunSweep() throws {
        let fixture = try ReportFixture(yaml: yaml())
        let id = try fixture.add(["x": .int(2), "lr": .double(0.01), "drop": .double(0.1)], valid: [0.95, 0.93, 0.94],
                                 summary: #"{"Test RMSE":0.97,"protocol":"random 80/10/10 split","best_epoch":2}"#)
        let model = try fixture.model()
        XCTAssertEqual(model.runs.count, 1)
        XCTAssertEqual(model.bestIndex, 0)
        XCTAssertEqual(model.runs[0].metric, 0.93, "the best logged value under the goal")
        XCTAssertEqual(model.bestSoFar, [ReportModel.BestStep(number: 1, value: 0.93)])
        XCTAssertEqual(model.protocols, ["random 80/10/10 split"])
        XCTAssertNil(model.importance[0].share, "one run: no importance")
        let html = SweepReport.html(model)
        XCTAssertTrue(html.contains("run \(id): Valid Loss <b title=\"0.93\">0.93</b>"), "the best run is named, its exact value on hover")
        XCTAssertTrue(html.contains("Test RMSE"))
        XCTAssertTrue(html.contains("ncf train --drop=0.1 --lr=0.01 --seed="), "the command that reproduces it")
        XCTAssertTrue(html.contains("--x=2 --data=PATH"))
        XCTAssertEqual(count("<svg", in: html), 1 + 2, "metric by run and 2 curves drawn here; the interactive charts by the page's script")
        for id in ["pc", "scatters", "edf", "contour", "compare-body", "runs-table"] {
            XCTAssertTrue(html.contains("id=\"\(id)\""), "the page has a place for #\(id)")
        }
        XCTAssertTrue(html.contains("<script type=\"application/json\" id=\"ncf-data\">"), "the data is embedded")
        XCTAssertTrue(html.contains("Importance needs at least 5 runs with a metric; it rests on 1 so far."))
        XCTAssertFalse(html.contains("Spearman ρ"), "no importance table on one run")
    }

    func testMissingAndNaNMetricsAreLeftOutAndCounted() throws {
        let fixture = try ReportFixture(yaml: yaml())
        try fixture.add(["x": .int(1), "lr": .double(0.01), "drop": .double(0.1)], valid: [0.9])
        try fixture.add(["x": .int(2), "lr": .double(0.02), "drop": .double(0.2)], state: .failed, valid: [nil],
                        reason: "non-finite loss: Valid Loss is not a finite number at epoch 1")
        try fixture.add(["x": .int(3), "lr": .double(0.03), "drop": .double(0.3)], state: .failed, valid: [],
                        reason: "exit code 3: Error: boom")
        try fixture.add(["x": .int(1), "lr": .double(0.04), "drop": .double(0.4)], valid: [0.8])
        let model = try fixture.model()
        XCTAssertEqual(model.withoutMetric, 2)
        XCTAssertEqual(model.runs.map { $0.metric == nil }, [false, true, true, false])
        let chart = try XCTUnwrap(ReportCharts.metricByRun(model))
        XCTAssertEqual(count("<circle", in: chart) - count("best-ring", in: chart), 2, "only runs with a metric are drawn")
        XCTAssertFalse(chart.contains("NaN"))
        let html = SweepReport.html(model)
        XCTAssertTrue(html.contains("2 runs without a Valid Loss"), html)
        XCTAssertTrue(html.contains("exit code 3: Error: boom"), "failure reasons are in the table")
        XCTAssertFalse(html.contains("NaN"), "no NaN reaches a chart or a cell")
    }

    func testMaximizeBestSoFarOnlyRisesAndTheLargestWins() throws {
        let fixture = try ReportFixture(yaml: yaml(goal: "maximize"))
        let values = [0.3, 0.5, 0.4, 0.7, 0.6, 0.65]
        var ids: [Int] = []
        for (k, v) in values.enumerated() {
            ids.append(try fixture.add(["x": .int(k % 3 + 1), "lr": .double(0.01), "drop": .double(0.1)], valid: [v - 0.1, v, v - 0.05]))
        }
        let model = try fixture.model()
        XCTAssertEqual(model.runs[model.bestIndex!].id, ids[3])
        XCTAssertEqual(model.bestSoFar.map(\.value), [0.3, 0.5, 0.5, 0.7, 0.7, 0.7])
        XCTAssertEqual(model.topIndices.prefix(3).map { model.runs[$0].id }, [ids[3], ids[5], ids[4]])
        XCTAssertEqual(model.runs.map(\.metric), values, "each run's metric is its largest value")
        XCTAssertTrue(SweepReport.html(model).contains("higher is better"))

        let minimized = try ReportFixture(yaml: yaml())
        for (k, v) in values.enumerated() {
            try minimized.add(["x": .int(k % 3 + 1), "lr": .double(0.01), "drop": .double(0.1)], valid: [v])
        }
        XCTAssertEqual(try minimized.model().bestSoFar.map(\.value), [0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    }

    func testAxesFollowTheDistributions() throws {
        let fixture = try ReportFixture(yaml: yaml())
        try fixture.add(["x": .int(2), "lr": .double(0.01), "drop": .double(0.1)], valid: [0.9])
        let model = try fixture.model()
        let axes = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0.axis) })
        XCTAssertEqual(axes["x"], .categorical(["1", "2", "3"]))
        XCTAssertEqual(axes["lr"], .log)
        XCTAssertEqual(axes["drop"], .linear)
        XCTAssertEqual(model.runs[0].values[model.parameters.firstIndex { $0.name == "x" }!], 1, "category index of 2")
        // The page draws its axes from the data: the axis kind and the categories in config order.
        let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(SweepReport.pageData(model).utf8)) as? [String: Any])
        let parameters = try XCTUnwrap(data["parameters"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: parameters.map { ($0["name"] as? String ?? "", $0) })
        XCTAssertEqual(byName["lr"]?["axis"] as? String, "log", "log-distributed: a log axis by default")
        XCTAssertEqual(byName["drop"]?["axis"] as? String, "linear")
        XCTAssertEqual(byName["x"]?["axis"] as? String, "categorical")
        XCTAssertEqual(byName["x"]?["categories"] as? [String], ["1", "2", "3"])
    }

    func testHyperbandRungsAndStoppedCurves() throws {
        let fixture = try ReportFixture(yaml: yaml(extra: "early_terminate:\n  type: hyperband\n  min_iter: 1\n  eta: 2"))
        for k in 0..<6 {
            try fixture.add(["x": .int(1), "lr": .double(0.01), "drop": .double(0.1)],
                            valid: [1.0 - 0.01 * Double(k), 0.9, 0.85, 0.8, 0.79])
        }
        let stopped = try fixture.add(["x": .int(2), "lr": .double(0.05), "drop": .double(0.2)], state: .stopped,
                                      valid: [1.5, 1.4], reason: "early-terminated by hyperband after 2 epochs")
        let model = try fixture.model()
        XCTAssertEqual(model.rungs.map(\.band), [1, 2, 4], "bands up to the longest history (5 values)")
        XCTAssertNotNil(model.rungs[0].threshold)
        XCTAssertTrue(model.curves.contains { $0.runID == stopped && $0.role == .stopped }, "stopped runs get curves")
        XCTAssertEqual(model.curves.first?.role, .best(rank: 0))
        let chart = try XCTUnwrap(ReportCharts.learningCurve(model, name: "Valid Loss", clipID: "c"))
        XCTAssertEqual(count("class=\"rung\"", in: chart), 3)
        XCTAssertTrue(chart.contains("stopped-curve"))
    }

    func testEverythingFromTheStoreIsEscaped() throws {
        let yaml = """
            name: "<script>alert('name')</script>"
            method: random
            metric:
              name: Valid Loss
            parameters:
              ab:
                values: ["<i>x</i>", "y&z"]
            # </pre><script>alert("config")</script>
            """
        let fixture = try ReportFixture(yaml: yaml)
        try fixture.add(["ab": .string("<i>x</i>")], valid: [0.5])
        try fixture.add(["ab": .string("y&z")], state: .failed, valid: [0.7],
                        reason: "exit code 1: <script>alert(\"reason\")</script>")
        let html = SweepReport.html(try fixture.model())
        XCTAssertEqual(count("<script>", in: html), 1, "only the report's own script")
        XCTAssertFalse(html.contains("<i>x</i>"))
        XCTAssertTrue(html.contains("&lt;i&gt;x&lt;/i&gt;"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&quot;reason&quot;)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("&lt;/pre&gt;&lt;script&gt;alert(&quot;config&quot;)"))
        XCTAssertTrue(html.contains("y&amp;z"))
    }

    func testAnUnreadableConfigStillReportsTheRunsWithEscapedNames() throws {
        let yaml = "method: random\nparameters:\n  ab:\n    values: [1, 2]\n"
        let fixture = try ReportFixture(yaml: yaml, storedText: "method: <b>bad</b>\n  : [")
        try fixture.add(["a<b>": .int(1), "c": .string("x")], valid: [0.5])
        try fixture.add(["a<b>": .int(2), "c": .string("y")], valid: [0.6])
        let model = try fixture.model()
        XCTAssertNil(model.config)
        XCTAssertEqual(model.parameters.map(\.name), ["a<b>", "c"], "parameters taken from the runs")
        let html = SweepReport.html(model)
        XCTAssertTrue(html.contains("config unreadable"))
        XCTAssertTrue(html.contains("a&lt;b&gt;"))
        XCTAssertFalse(html.contains("a<b>"), "the parameter name is escaped")
        XCTAssertFalse(html.contains("<b>bad</b>"))
    }

    func testTheWatchRewritesUntilNoRunIsLeft() throws {
        let fixture = try ReportFixture(yaml: yaml())
        try fixture.add(["x": .int(1), "lr": .double(0.01), "drop": .double(0.1)], valid: [0.9])
        let running = try fixture.add(["x": .int(2), "lr": .double(0.02), "drop": .double(0.1)], state: .running, valid: [1.0])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("report.html").path

        var clock = Date(timeIntervalSince1970: 1_800_000_000)
        var pages: [String] = []
        var sleeps = 0
        let end = try ReportWatch.run(store: fixture.store, sweepID: fixture.sweep.id, output: output, interval: 5, idleLimit: 10,
                                      wrote: { _, _ in pages.append((try? String(contentsOfFile: output, encoding: .utf8)) ?? "") },
                                      now: { clock },
                                      sleep: { seconds in
                                          sleeps += 1
                                          clock = clock.addingTimeInterval(seconds)
                                          if sleeps == 2 {
                                              _ = try? fixture.store.finishRun(id: running, state: .finished, reason: nil, exitCode: 0,
                                                                               summary: nil, givenBack: false, at: clock)
                                          }
                                      })
        XCTAssertEqual(end, .idle(seconds: 10))
        XCTAssertGreaterThanOrEqual(pages.count, 4, "written while running, then until idle long enough")
        XCTAssertTrue(pages[0].contains("<meta http-equiv=\"refresh\" content=\"5\">"), "reloads while running")
        XCTAssertFalse(pages.last!.contains("http-equiv=\"refresh\""), "the last page does not reload")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(leftovers, ["report.html"], "no temporary file left behind")
    }
}
