import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// `ncf sweep report`, `ncf report`, the live display and the report in a real browser, through
/// the built binary. Trials are the fake trial script (`FakeTrial`): milliseconds each.
final class ReportCLITests: SweepProcessTestCase {
    // MARK: Helpers

    /// A sweep of 3 good runs (x = 0, 1, 2) and 3 failing ones, run to the end.
    private func fakeSweep() throws -> String {
        let config = try writeConfig(parameters: "  x:\n    values: [0, 1, 2]\n  mode:\n    values: [ok, fail]")
        return try sweepID(try ncfSucceeds(["sweep", config, "--store", store]))
    }

    private func read(_ name: String) throws -> String {
        try String(contentsOf: tmp.appendingPathComponent(name), encoding: .utf8)
    }

    /// Starts `executable arguments` in the scratch directory, output to a file.
    private func start(_ executable: String, _ arguments: [String]) throws -> (Process, URL) {
        let out = tmp.appendingPathComponent("bg-\(UUID().uuidString.prefix(8)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = tmp
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, out)
    }

    /// Waits at most `seconds` for `process`; fails (and terminates it) when it is still running.
    private func wait(_ process: Process, _ out: URL, seconds: Double = 90) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(process.arguments ?? []) did not finish within \(seconds) s")
        }
        process.waitUntilExit()
        return (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    }

    private var ncfPath: String { get throws { try CLIRunner(executableNamed: "ncf").executable.path } }

    // MARK: - ncf sweep report

    func testSweepReportIsOneSelfContainedFile() throws {
        let id = try fakeSweep()
        let result = try ncfSucceeds(["sweep", "report", id, "--store", store, "-o", "r.html"])
        XCTAssertTrue(result.stdout.contains("wrote r.html: 6 runs (3 finished, 3 failed), best run"), result.description)
        XCTAssertTrue(result.stdout.contains("Valid Loss 0.3333, 3 without a metric"), result.description)
        let html = try read("r.html")
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(html.contains("3 runs without a Valid Loss"))
        XCTAssertTrue(html.contains("Error: boom (x=1)"), "failure reasons are listed")
        XCTAssertTrue(html.contains("Test RMSE"), "the best run's test metrics")
        XCTAssertTrue(html.contains("Evaluation protocol: <b>fake</b>"))
        XCTAssertTrue(html.contains("Importance needs at least 5 runs with a metric; it rests on 3 so far."),
                      "3 runs with a metric: importance is withheld, and the report says why")
        for external in ["<link", " src=", "@import", "url(http", "url(//", "https://"] {
            XCTAssertFalse(html.contains(external), "the page loads nothing: found \(external)")
        }
        XCTAssertEqual(html.components(separatedBy: "http://").count - 1,
                       html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1,
                       "the only URL is the SVG namespace (in the SVG, the data's SVG and the script)")
        XCTAssertFalse(html.contains("http-equiv=\"refresh\""), "a one-off report does not reload")

        let byDefault = try ncfSucceeds(["sweep", "report", id, "--store", store])
        XCTAssertTrue(byDefault.stdout.hasPrefix("wrote sweep-\(id).html"), byDefault.description)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("sweep-\(id).html").path))
    }

    func testSweepReportErrorsNameWhatIsWrong() throws {
        var stderr = try ncfFails(["sweep", "report", "abcd1234", "--store", store])
        XCTAssertTrue(stderr.contains("no sweep store at"), stderr)
        let id = try fakeSweep()
        stderr = try ncfFails(["sweep", "report", "zzzz9999", "--store", store])
        XCTAssertTrue(stderr.contains("no sweep zzzz9999"), stderr)
        stderr = try ncfFails(["sweep", "report", id, "--store", store, "-o", "no/such/dir/r.html"])
        XCTAssertTrue(stderr.contains("could not write the report to no/such/dir/r.html"), stderr)
        stderr = try ncfFails(["sweep", "report", id, "--store", store, "--watch", "--interval", "0"])
        XCTAssertTrue(stderr.contains("--interval"), stderr)
    }

    func testWatchRewritesWhileTheSweepRunsAndStopsWhenItIsFinished() throws {
        let config = try writeConfig(parameters: "  x:\n    values: [0, 1, 2]\n  sleep:\n    value: 0.25")
        let id = try sweepID(try ncfSucceeds(["sweep", config, "--count", "0", "--store", store]))
        let ncf = try ncfPath
        let (watch, watchOut) = try start(ncf, ["sweep", "report", id, "--store", store, "--watch", "--interval", "0.3", "-o", "w.html"])
        let (agent, agentOut) = try start(ncf, ["agent", id, "--store", store])
        let agentLog = wait(agent, agentOut)
        XCTAssertEqual(agent.terminationStatus, 0, agentLog)
        let log = wait(watch, watchOut, seconds: 30)
        XCTAssertEqual(watch.terminationStatus, 0, log)
        let writes = log.components(separatedBy: "wrote w.html").count - 1
        XCTAssertGreaterThanOrEqual(writes, 2, "rewritten while the sweep ran:\n\(log)")
        XCTAssertTrue(log.contains("next in 0.3 s"), "pages written while running say when the next comes:\n\(log)")
        XCTAssertTrue(log.contains("watching ends: the sweep is finished"), log)
        let html = try read("w.html")
        XCTAssertFalse(html.contains("http-equiv=\"refresh\""), "the final page does not reload")
        XCTAssertTrue(html.contains("3 runs"), "the final page shows every run")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "atomic writes leave no temporary file")
    }

    // MARK: - ncf report (one training run)

    func testRunReportFromAJSONLog() throws {
        let log = """
            {"epoch": 1, "Train Loss": 1.2, "Valid Loss": 1.1, "Valid RMSE": 1.1, "seconds": 0.4}
            some human line
            {"epoch": 2, "Train Loss": 0.9, "Valid Loss": 0.95, "Valid RMSE": 0.95, "seconds": 0.4}
            {"epoch": 3, "Train Loss": 0.8, "Valid Loss": NaN, "Valid RMSE": 0.97, "seconds": 0.4}
            {"summary": {"Test RMSE": 0.96, "Test MAE": 0.75, "best_epoch": 2, "protocol": "random 80/10/10 split", "train_seconds": 1.2}}
            """
        try log.write(to: tmp.appendingPathComponent("run.jsonl"), atomically: true, encoding: .utf8)
        let result = try ncfSucceeds(["report", "run.jsonl"])
        XCTAssertTrue(result.stdout.contains("wrote "), result.description)
        XCTAssertTrue(result.stdout.contains("run.html: 3 epoch lines, best epoch 2"), result.description)
        let html = try read("run.html")
        XCTAssertTrue(html.contains("Test RMSE") && html.contains("0.9600"))
        XCTAssertTrue(html.contains("best epoch 2"))
        XCTAssertTrue(html.contains("1 epoch line hold a non-finite value"), "NaN is counted, not drawn")
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 2, "the loss chart and Valid RMSE")

        try "nothing here\n".write(to: tmp.appendingPathComponent("empty.jsonl"), atomically: true, encoding: .utf8)
        let stderr = try ncfFails(["report", "empty.jsonl"])
        XCTAssertTrue(stderr.contains("holds no JSON line"), stderr)
    }

    /// One line with an invalid UTF-8 byte is skipped with a warning naming it; the rest of the
    /// log is still reported.
    func testRunReportSkipsALineOfInvalidUTF8() throws {
        var bytes = Array(#"{"epoch": 1, "Train Loss": 1.2, "Valid Loss": 1.1, "seconds": 0.4}"#.utf8) + [10]
        bytes += Array(#"{"epoch": 2, "Train Loss": 0.9, "note": "caf"#.utf8) + [0xE9] + Array(#""}"#.utf8) + [10]
        bytes += Array(#"{"epoch": 3, "Train Loss": 0.8, "Valid Loss": 0.9, "seconds": 0.4}"#.utf8) + [10]
        bytes += Array(#"{"summary": {"Test RMSE": 0.96, "best_epoch": 3}}"#.utf8) + [10]
        try Data(bytes).write(to: tmp.appendingPathComponent("bad.jsonl"))
        let result = try ncfSucceeds(["report", "bad.jsonl"])
        XCTAssertTrue(result.stdout.contains("bad.html: 2 epoch lines, best epoch 3"), result.description)
        XCTAssertTrue(result.stderr.contains("bad.jsonl:2"), "the warning names the line:\n\(result)")
        XCTAssertTrue(result.stderr.contains("UTF-8"), result.description)
        XCTAssertTrue(try read("bad.html").contains("Test RMSE"))
    }

    // MARK: - Terminal output

    func testStatusShowsRunningRunsAndTheAgentPrintsPlainLinesWhenRedirected() throws {
        let id = try fakeSweep()
        let status = try ncfSucceeds(["sweep", "status", id, "--store", store])
        XCTAssertTrue(status.stdout.contains("3 runs ended without logging Valid Loss"), status.description)
        XCTAssertTrue(status.stdout.contains("charts: ncf sweep report \(id)"), status.description)

        // A run left running (as if its agent were busy): status shows its epoch and metric.
        let db = try SQLiteRunStore(path: store, create: false)
        let sweep = try db.sweep(id: id)
        let config = try SweepConfig.parse(yaml: sweep.configText, file: "t", trainer: nil).config
        var claimConfig = config
        claimConfig.method = .random
        claimConfig.runCap = nil
        // A point the sweep has not run (random search never repeats a run's config).
        claimConfig.parameters = [Parameter(name: "x", spec: .categorical([.int(7)], probabilities: nil))]
        guard case .claimed(let run) = try db.claimRun(ClaimRequest(sweepID: id, config: claimConfig, sampler: RandomSampler(),
                                                                     agent: "elsewhere:1", heartbeatEvery: 10, now: Date())) else {
            return XCTFail("no claim")
        }
        try db.appendMetrics(runID: run.id, step: 1, values: ["epoch": 1, "Valid Loss": 2.5])
        try db.appendMetrics(runID: run.id, step: 2, values: ["epoch": 2, "Valid Loss": 2.25])
        let live = try ncfSucceeds(["sweep", "status", id, "--store", store])
        XCTAssertTrue(live.stdout.contains("run \(run.id)  epoch 2  Valid Loss 2.2500  "), live.description)
        XCTAssertTrue(live.stdout.contains("agent elsewhere:1"), live.description)

        let config2 = try writeConfig(parameters: "  x:\n    values: [5, 6]")
        let sweepRun = try ncfSucceeds(["sweep", config2, "--store", store])
        XCTAssertFalse(sweepRun.stdout.contains("\u{1B}["), "no escape codes when stdout is not a terminal:\n\(sweepRun)")
        XCTAssertTrue(sweepRun.stdout.contains("started: x=5"), sweepRun.description)
    }

    func testAgentDrawsALiveLinePerTrialOnATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("/usr/bin/script (util-linux) is not installed: it gives the agent a terminal")
        }
        let config = try writeConfig(parameters: "  x:\n    values: [0, 1]\n  sleep:\n    value: 0.7\n  epochs:\n    value: 3")
        let id = try sweepID(try ncfSucceeds(["sweep", config, "--count", "0", "--store", store]))
        let command = "\(try ncfPath) agent \(id) --store \(store) --parallel 2"
        let (process, out) = try start("/usr/bin/script", ["-qfec", command, "/dev/null"])
        let output = wait(process, out)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("▸"), "a live block was drawn:\n\(output)")
        XCTAssertNotNil(output.range(of: #"run \d+  epoch \d/3"#, options: .regularExpression), "run, epoch/total:\n\(output)")
        XCTAssertTrue(output.contains("\u{1B}[J"), "the block is redrawn in place")
        XCTAssertTrue(output.contains("agent stops:"), "log lines still print:\n\(output)")
    }

    // MARK: - In a real browser

    /// Opens a report in headless Chromium when one is installed: the page's script runs (it
    /// fills the table's page info) and nothing is logged to the console.
    func testReportRendersInHeadlessChromiumWithoutConsoleErrors() throws {
        let candidates = ["chromium", "chromium-browser", "google-chrome", "chrome"]
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let browser = candidates.lazy.flatMap({ name in path.split(separator: ":").map { "\($0)/\(name)" } })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            // CI installs chromium (.ci/run): there the check must run, never skip.
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI is set but no chromium is on PATH") }
            throw XCTSkip("no chromium on PATH (apt-get install chromium); .ci/report-check runs the same check")
        }
        let id = try fakeSweep()
        try ncfSucceeds(["sweep", "report", id, "--store", store, "-o", "r.html"])
        let profile = tmp.appendingPathComponent("chromium-profile").path
        let (process, out) = try start(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                                                 "--user-data-dir=\(profile)", "--dump-dom",
                                                 "file://" + tmp.appendingPathComponent("r.html").path])
        let output = wait(process, out, seconds: 60)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("id=\"page-info\">6 runs</span>"), "the table script ran:\n\(output.suffix(2000))")
        let console = output.split(separator: "\n").filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
        XCTAssertEqual(console, [], "console messages or script errors")
    }

    /// `ncf-bench sweep-fixture` fills a store with a synthetic sweep that the report reads.
    func testSyntheticSweepForTheBenchmark() throws {
        let bench = try CLIRunner(executableNamed: "ncf-bench")
        let made = try bench.run(["sweep-fixture", "--runs", "60", "--epochs", "6", "--seed", "3", "--store", store], in: tmp)
        XCTAssertEqual(made.exitCode, 0, made.description)
        let db = try SQLiteRunStore(path: store, create: false)
        let sweep = try XCTUnwrap(try db.sweeps().first)
        let model = try ReportModel.build(store: db, sweepID: sweep.id)
        XCTAssertEqual(model.runs.count, 60)
        XCTAssertTrue(model.runs.contains { $0.state == .stopped }, "some runs are stopped")
        let lr = try XCTUnwrap(model.parameters.firstIndex { $0.name == "lr" })
        let shares = model.importance.map { $0.share ?? 0 }
        XCTAssertEqual(shares.firstIndex(of: shares.max() ?? 0), lr, "the synthetic loss depends mostly on lr")
    }
}
