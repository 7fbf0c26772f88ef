import Foundation
import NCFTestSupport
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// The sweep page in a real browser: `Tests/browser/sweep_page.py` drives headless Chromium
/// through Selenium and chromedriver (Debian's `chromium` and `chromium-driver`, `pip install
/// selenium`; `.ci/run` installs them). It brushes an axis and checks the table, ticks two runs
/// and checks the comparison, hovers, reorders, toggles log/linear, and serves the live page over
/// HTTP while the data changes under it. Skipped on a machine without them, a failure when `CI`
/// is set. Screenshots go to `/tmp/ncf-page-shots` (or `NCF_PAGE_SHOTS`); `NCF_PAGE_DIR` keeps the
/// pages and data it wrote.
final class BrowserPageTests: XCTestCase {
    private let yaml = """
        name: browser-check
        method: random
        metric:
          name: Valid Loss
          goal: minimize
        parameters:
          lr:
            distribution: log_uniform_values
            min: 0.0001
            max: 0.1
          dropout:
            distribution: uniform
            min: 0
            max: 0.5
          batch:
            values: [64, 128, 256]
          optimizer:
            values: [adam]
          note:
            values: ["</script><script>alert(1)</script>", "plain"]
        """

    /// A sweep of 12 finished runs, a failed one, a stopped one and one still running, whose
    /// loss depends mostly on lr. Returns the fixture and the running run's id.
    private func sweep() throws -> (ReportFixture, running: Int, ids: [Int]) {
        let fixture = try ReportFixture(yaml: yaml)
        var ids: [Int] = []
        for k in 0..<12 {
            let lr = pow(10, -4 + 3 * Double((k * 7) % 12) / 11)
            let dropout = Double((k * 5) % 11) / 22
            let batch = [64, 128, 256][k % 3]
            let loss = 0.8 + 0.12 * abs(log10(lr) + 2.5) + 0.1 * dropout + 0.01 * Double(k % 4)
            ids.append(try fixture.add(["lr": .double(lr), "dropout": .double(dropout), "batch": .int(batch), "optimizer": .string("adam"),
                                        "note": .string(k % 2 == 0 ? "plain" : "</script><script>alert(1)</script>")],
                                       valid: [loss + 0.3, loss + 0.1, loss, loss + 0.02],
                                       summary: #"{"Test RMSE":\#(loss + 0.05),"protocol":"random 80/10/10 split","best_epoch":3}"#))
        }
        try fixture.add(["lr": .double(0.09), "dropout": .double(0.4), "batch": .int(64), "optimizer": .string("adam"), "note": .string("plain")],
                        state: .failed, valid: [], reason: "non-finite loss: Valid Loss is not a finite number at epoch 1")
        try fixture.add(["lr": .double(0.0002), "dropout": .double(0.3), "batch": .int(256), "optimizer": .string("adam"), "note": .string("plain")],
                        state: .stopped, valid: [1.6, 1.5], reason: "early-terminated by hyperband after 2 epochs")
        let running = try fixture.add(["lr": .double(0.003), "dropout": .double(0.05), "batch": .int(128), "optimizer": .string("adam"),
                                       "note": .string("plain")], state: .running, valid: [1.1, 0.95])
        return (fixture, running, ids)
    }

    /// Sweeps at the edges: no run, one run, only failed runs, no metric (an unreadable config),
    /// a single parameter.
    private func edgeCases() throws -> [(String, ReportModel)] {
        var out: [(String, ReportModel)] = []
        out.append(("empty", try ReportFixture(yaml: yaml).model()))
        let one = try ReportFixture(yaml: yaml)
        try one.add(["lr": .double(0.01), "dropout": .double(0.1), "batch": .int(64), "optimizer": .string("adam"), "note": .string("plain")],
                    valid: [0.9, 0.8])
        out.append(("one-run", try one.model()))
        let failed = try ReportFixture(yaml: yaml)
        for k in 0..<3 {
            try failed.add(["lr": .double(0.01 * Double(k + 1)), "dropout": .double(0.1), "batch": .int(64), "optimizer": .string("adam"),
                            "note": .string("plain")], state: .failed, valid: [], reason: "exit code 1: boom")
        }
        out.append(("all-failed", try failed.model()))
        let noMetric = try ReportFixture(yaml: yaml, storedText: "method: [unreadable")
        for k in 0..<4 {
            try noMetric.add(["lr": .double(0.01 * Double(k + 1)), "batch": .int(64 << (k % 2))], valid: [1.0 - 0.1 * Double(k)])
        }
        out.append(("no-metric", try noMetric.model()))
        let single = try ReportFixture(yaml: "method: random\nmetric:\n  name: Valid Loss\nparameters:\n  lr:\n    values: [0.1, 0.01]\n")
        for k in 0..<4 { try single.add(["lr": .double(k % 2 == 0 ? 0.1 : 0.01)], valid: [1.0 - 0.1 * Double(k)]) }
        out.append(("one-parameter", try single.model()))
        return out
    }

    func testTheSweepPageInARealBrowser() throws {
        let python = try BrowserTools.required()
        // NCF_PAGE_DIR keeps the pages and data (to rerun Tests/browser/sweep_page.py by hand).
        let keep = ProcessInfo.processInfo.environment["NCF_PAGE_DIR"]
        let dir = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("ncf-page-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: dir) } }
        func write(_ text: String, _ name: String) throws { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }

        let (fixture, running, ids) = try sweep()
        let before = try fixture.model()
        try write(SweepReport.html(before, storePath: "sweeps.db"), "static.html")
        try write(SweepReport.html(before, liveDataURL: "data.json"), "live.html")
        try write(SweepReport.pageData(before), "data-first.json")
        try fixture.store.appendMetrics(runID: running, step: 3, values: ["epoch": 3, "Valid Loss": 0.83, "Train Loss": 0.9])
        _ = try fixture.store.finishRun(id: running, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false,
                                        at: Date(timeIntervalSince1970: 1_700_005_000))
        let after = try fixture.model(now: Date(timeIntervalSince1970: 1_700_005_100))
        try write(SweepReport.pageData(after), "data-next.json")
        let finishedState = after.sweep.state.described(anyRunRunning: after.runs.contains { $0.state == .running })
        let expect: [String: Any] = ["running": running, "runs": before.runs.count, "ticked": [ids[0], ids[5]], "brush": "lr",
                                     "logParameter": "lr", "finishedState": finishedState]
        try write(String(decoding: try JSONSerialization.data(withJSONObject: expect), as: UTF8.self), "expect.json")

        // Pages with little in them: each must render without a console message.
        for (name, model) in try edgeCases() {
            try write(SweepReport.html(model), "extra-\(name).html")
        }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("browser/sweep_page.py").path
        let shots = ProcessInfo.processInfo.environment["NCF_PAGE_SHOTS"] ?? "/tmp/ncf-page-shots"
        let (status, output) = try BrowserTools.run(python: python, script: script, [dir.path, "--shots", shots])
        print(output)
        XCTAssertEqual(status, 0, "the browser checks failed:\n\(output)")
        XCTAssertTrue(output.contains("every check passed"), output)
    }
}
