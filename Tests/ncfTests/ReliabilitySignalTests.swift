import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// Ctrl-C (SIGINT) and SIGTERM sent to an `ncf agent` process: its runs end `stopped` with their
/// points given back, no row is left `running`, the exit code is 130 or 143, and a second signal
/// stops at once.
final class ReliabilitySignalTests: ReliabilityTestCase {
    func testSIGINTAndSIGTERMStopTheRunsAndSetTheExitCode() throws {
        let config = try writeConfig(parameters: grid(3, "  sleep:\n    value: 0.2\n  epochs:\n    value: 50"))
        for (sig, code, name) in [(SIGINT, Int32(130), "Ctrl-C"), (SIGTERM, Int32(143), "SIGTERM")] {
            let id = try createSweep(config)
            let agent = try start(["agent", id, "--store", store, "--parallel", "2"])
            let db = try openStore()
            try waitUntil("both trials logged an epoch") {
                try db.runs(sweepID: id).filter { try !db.metrics(runID: $0.id).isEmpty }.count == 2
            }
            kill(agent.pid, sig)
            XCTAssertEqual(finish(agent), code, "\(name):\n\(agent.output)")
            let runs = try db.runs(sweepID: id)
            XCTAssertEqual(runs.map(\.state), [.stopped, .stopped], "\(name): \(agent.output)")
            XCTAssertFalse(runs.contains { $0.state == .running }, name)
            XCTAssertTrue(runs.allSatisfy { $0.givenBack && ($0.reason ?? "").hasPrefix("interrupted (\(name)) after") },
                          "\(name): \(runs.map(\.reason))")
            XCTAssertEqual(runs.map(\.exitCode), [code, code], "\(name): each trial got the same signal and finished its epoch")
            XCTAssertTrue(runs.allSatisfy { $0.summary != nil }, name)
            XCTAssertTrue(agent.output.contains("will finish the current epoch"), agent.output)
            XCTAssertTrue(agent.output.contains("agent stops: interrupted"), agent.output)
            assertCleanOutput(agent.output, name)
            XCTAssertEqual(try db.sweep(id: id).state, .running, "\(name): the sweep has work left for the next agent")
        }
        try assertIntegrity()
    }

    /// A trial that ignores the first signal is killed by the second: the agent ends at once,
    /// with the first signal's exit code.
    func testASecondSignalStopsAtOnce() throws {
        let config = try writeConfig(parameters: grid(1, "  mode:\n    value: stubborn"))
        for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let id = try createSweep(config)
            let agent = try start(["agent", id, "--store", store])
            let db = try openStore()
            try waitUntil("the trial started") { try db.runs(sweepID: id).count == 1 }
            usleep(300_000) // the trial's `trap '' INT TERM` is in place
            kill(agent.pid, sig)
            try waitUntil("the agent reported the first signal") { agent.output.contains("will finish the current epoch") }
            usleep(300_000)
            XCTAssertTrue(agent.process.isRunning, "the stubborn trial ignores the first signal")
            XCTAssertEqual(try db.runs(sweepID: id).map(\.state), [.running])
            kill(agent.pid, sig)
            // The stubborn trial would sleep 30 s: finishing well before shows the second signal acted.
            XCTAssertEqual(finish(agent, timeout: 20), code, agent.output)
            let run = try XCTUnwrap(db.runs(sweepID: id).first)
            XCTAssertEqual(run.state, .stopped)
            XCTAssertTrue(run.givenBack)
            XCTAssertEqual(run.exitCode, 128 + SIGKILL, "the trial was killed")
            XCTAssertTrue(agent.output.contains("stopping now: killing 1 running trial"), agent.output)
        }
    }
}
