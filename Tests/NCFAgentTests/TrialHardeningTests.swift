import Foundation
import NCFTestSupport
import XCTest

@testable import NCFAgent
@testable import NCFSweep

#if canImport(Glibc)
import Glibc
#endif

/// What a trial's output and processes can do to the agent, in-process: a store that stops
/// taking metrics, an endless output line, descendants that outlive the trial.
final class TrialHardeningTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-trial-hardening")
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    /// Writes an executable bash script into the scratch directory.
    private func script(_ name: String, _ body: String) throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try ("#!/bin/bash\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    private func agent(_ store: any RunStore, _ sweep: SweepRecord, program: String, parameters: [Parameter],
                       options: AgentOptions, log: LineLog) -> Agent {
        let config = SweepConfig(method: .grid, metric: .init(name: "Valid Loss"), parameters: parameters,
                                 program: program, command: ["${program}", "${args}"])
        return Agent(store: store, sweep: sweep, config: config, sampler: config.sampler, pruner: config.pruner,
                     command: .external(program: program, command: ["${program}", "${args}"]), options: options,
                     log: { log.add($0) })
    }

    // MARK: - A store that cannot take the metrics

    /// A store whose metric writes fail after the first `okWrites` (a disk filling up).
    private final class FillingStore: RunStore, @unchecked Sendable {
        let inner = InMemoryRunStore()
        let okWrites: Int
        private let lock = NSLock()
        private var writes = 0

        init(okWrites: Int) { self.okWrites = okWrites }

        func appendMetrics(runID: Int, step: Int, values: [String: Double?]) throws {
            lock.lock()
            writes += 1
            let full = writes > okWrites
            lock.unlock()
            if full { throw RunStoreError.writeFailed(path: "test.db", detail: "database or disk is full") }
            try inner.appendMetrics(runID: runID, step: step, values: values)
        }

        func createSweep(configText: String, seed: UInt64, data: SweepData?, now: Date) throws -> SweepRecord {
            try inner.createSweep(configText: configText, seed: seed, data: data, now: now)
        }
        func setState(sweepID: String, _ state: SweepState) throws -> SweepState { try inner.setState(sweepID: sweepID, state) }
        func deleteSweep(id: String) throws { try inner.deleteSweep(id: id) }
        func sweep(id: String) throws -> SweepRecord { try inner.sweep(id: id) }
        func sweeps() throws -> [SweepRecord] { try inner.sweeps() }
        func claimRun(_ request: ClaimRequest) throws -> ClaimOutcome { try inner.claimRun(request) }
        func heartbeat(runIDs: [Int], at: Date) throws -> [Int] { try inner.heartbeat(runIDs: runIDs, at: at) }
        func finishRun(id: Int, state: RunState, reason: String?, exitCode: Int32?, summary: String?,
                       givenBack: Bool, at: Date) throws -> Bool {
            try inner.finishRun(id: id, state: state, reason: reason, exitCode: exitCode, summary: summary,
                                givenBack: givenBack, at: at)
        }
        func giveBack(failedRunIDs: [Int], note: String) throws -> [Int] { try inner.giveBack(failedRunIDs: failedRunIDs, note: note) }
        func markStale(sweepID: String, grace: Double, now: Date) throws -> [Int] {
            try inner.markStale(sweepID: sweepID, grace: grace, now: now)
        }
        func runs(sweepID: String) throws -> [StoredRun] { try inner.runs(sweepID: sweepID) }
        func metrics(runID: Int) throws -> [MetricPoint] { try inner.metrics(runID: runID) }
        func histories(sweepID: String, metric name: String) throws -> [Int: [Double]] {
            try inner.histories(sweepID: sweepID, metric: name)
        }
    }

    /// Metrics that cannot be written: the run is never `finished` (its point goes back with the
    /// reason, keeping the steps that were written), the agent claims nothing more and ends with
    /// a non-zero status and a message saying what happened and what to do.
    func testARunWhoseMetricsCannotBeWrittenIsGivenBackAndTheAgentStops() throws {
        let trial = try script("many-lines.sh", """
            for ((e = 1; e <= 400; e++)); do echo "{\\"epoch\\": $e, \\"Valid Loss\\": $((1000 - e))}"; done
            echo '{"summary": {"Test RMSE": 1}}'
            """)
        let store = FillingStore(okWrites: 5)
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = LineLog()
        let parameters = [Parameter(name: "x", spec: .categorical([.int(1), .int(2), .int(3)], probabilities: nil))]
        let report = try agent(store, sweep, program: trial, parameters: parameters, options: AgentOptions(), log: log).run()

        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 1, "the agent claimed no further run: \(runs.map(\.state))")
        let run = try XCTUnwrap(runs.first)
        XCTAssertNotEqual(run.state, .finished, "a run with unwritten metrics is never finished")
        XCTAssertNotEqual(run.state, .running)
        XCTAssertTrue(run.givenBack, "its point goes back to the sweep, to run again")
        XCTAssertTrue(run.reason?.contains("could not record") ?? false, run.reason ?? "no reason")
        XCTAssertTrue(run.reason?.contains("disk is full") ?? false, run.reason ?? "no reason")
        XCTAssertEqual(try store.metrics(runID: run.id).filter { $0.name == "epoch" }.count, 5, "what was written is kept")
        XCTAssertNil(try store.bestRun(sweepID: sweep.id, metric: .init(name: "Valid Loss")), "no wrong best value")
        XCTAssertNotEqual(report.exitCode, 0)
        XCTAssertTrue(report.end.description.contains("could not record"), report.end.description)
        XCTAssertTrue(report.end.description.contains("Hint:"), report.end.description)
    }

    // MARK: - Output lines without end

    /// A 5 MB line without a newline reaches the reader cut to 1 MB, the cut is reported once,
    /// and the lines after it are read as usual.
    func testAnOverlongOutputLineIsCutToOneMegabyte() throws {
        let trial = try script("long-line.sh", """
            head -c 5000000 /dev/zero | tr '\\0' a
            echo
            echo '{"epoch": 1}'
            head -c 3000000 /dev/zero | tr '\\0' b
            """)
        let process = try TrialProcess(arguments: [trial], environment: [:],
                                       stderrPath: tmp.appendingPathComponent("err").path)
        var lengths: [Int] = []
        var cuts: [Int] = []
        process.readLines(overlong: { cuts.append($0) }) { lengths.append($0.utf8.count) }
        XCTAssertEqual(process.wait(), .exited(0))
        XCTAssertEqual(lengths, [TrialProcess.maxLineBytes, 12, TrialProcess.maxLineBytes])
        XCTAssertEqual(cuts, [5_000_000 - TrialProcess.maxLineBytes, 3_000_000 - TrialProcess.maxLineBytes])
    }

    /// Through the agent: the cut is noted once in its log and on the run, which still finishes
    /// with the epochs printed after the long line.
    func testTheAgentNotesACutLineOnceAndGoesOn() throws {
        let trial = try script("long-line.sh", """
            head -c 3000000 /dev/zero | tr '\\0' a
            echo
            head -c 3000000 /dev/zero | tr '\\0' a
            echo
            echo '{"epoch": 1, "Valid Loss": 0.5}'
            """)
        let store = InMemoryRunStore()
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = LineLog()
        let parameters = [Parameter(name: "x", spec: .constant(.int(1)))]
        _ = try agent(store, sweep, program: trial, parameters: parameters, options: AgentOptions(), log: log).run()
        let run = try XCTUnwrap(store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(run.state, .finished)
        XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss")[run.id], [0.5])
        XCTAssertEqual(log.all.filter { $0.contains("warning: its output holds a line longer than 1 MB") }.count, 1, "\(log.all)")
        XCTAssertTrue(run.reason?.contains("longer than 1 MB") ?? false, run.reason ?? "no reason")
    }

    // MARK: - Descendants

    /// Whether `pid` is a live (not zombie) process.
    private func alive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// The pids a trial wrote to `file`, one a line.
    private func pids(in file: URL) throws -> [pid_t] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap { pid_t($0) }
    }

    /// A trial leaving `setsid sleep` and `nohup sleep` behind with its stdout open (then
    /// exiting, or hanging past its timeout): the agent ends promptly and no sleep survives.
    func testATrialsDescendantsAreEndedWithItAndDoNotHoldTheAgent() throws {
        let pidFile = tmp.appendingPathComponent("pids")
        let trial = try script("leaves-children.sh", """
            setsid sleep 300 &
            echo $! >> '\(pidFile.path)'
            nohup sleep 300 &
            echo $! >> '\(pidFile.path)'
            ( trap '' TERM; exec sleep 301 ) &
            echo $! >> '\(pidFile.path)'
            echo '{"epoch": 1, "Valid Loss": 0.5}'
            for a in "$@"; do [ "$a" = "--mode=hang" ] && sleep 300; done
            exit 0
            """)
        addTeardownBlock {
            for pid in (try? self.pids(in: pidFile)) ?? [] { kill(pid, SIGKILL) }
        }
        let store = InMemoryRunStore()
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = LineLog()
        let parameters = [Parameter(name: "mode", spec: .categorical([.string("exit"), .string("hang")], probabilities: nil))]
        let agent = agent(store, sweep, program: trial, parameters: parameters,
                          options: AgentOptions(trialTimeout: 2, maxInitialFailures: 0, killAfter: 1), log: log)
        let finish = inBackground(timeout: 60) { try agent.run() }
        let report = try finish()
        XCTAssertEqual(report.end, .sweepDone(.exhausted))
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .failed], "\(runs.map { $0.reason ?? "" })")
        XCTAssertEqual(runs.last?.reason, "timed out after 2 s")
        let left = try pids(in: pidFile)
        XCTAssertEqual(left.count, 6)
        try waitUntil("no descendant of a trial is alive", timeout: 10) { !left.contains(where: alive) }
    }

    /// Numbers from a trial are data: an epoch of 1e300 next to a NaN loss is a failed run with
    /// its reason, not an integer-conversion trap in the agent.
    func testAHugeLoggedEpochIsShownNotConverted() throws {
        let trial = try script("huge-epoch.sh", """
            echo '{"epoch": 1e300, "Train Loss": NaN, "Valid Loss": 1}'
            sleep 5
            """)
        let store = InMemoryRunStore()
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let parameters = [Parameter(name: "x", spec: .categorical([.int(1)], probabilities: nil))]
        _ = try agent(store, sweep, program: trial, parameters: parameters, options: AgentOptions(killAfter: 1), log: LineLog()).run()
        let run = try XCTUnwrap(try store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(run.state, .failed)
        XCTAssertTrue(run.reason?.contains("non-finite loss: Train Loss is not a finite number at epoch 1e+300") ?? false, run.reason ?? "nil")
    }

    /// Agent options that would overflow a timer or a log line are refused with the flag named.
    func testOutOfRangeSecondsAreRefused() {
        XCTAssertTrue(AgentOptions(heartbeat: .infinity, grace: .infinity).problems.contains { $0.hasPrefix("--heartbeat inf") })
        XCTAssertTrue(AgentOptions(heartbeat: 10, grace: 1e19).problems.contains { $0.hasPrefix("--grace 1e+19") })
        XCTAssertTrue(AgentOptions(trialTimeout: 1e300).problems.contains { $0.hasPrefix("--trial_timeout") })
        XCTAssertEqual(AgentOptions().problems, [])
        XCTAssertEqual(formatSeconds(.infinity), "inf")
    }
}
