import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// `kill -9` of an agent process at each moment of a run's life; a new agent then finishes the
/// sweep. The exact moments come from the agent's test seam (`NCF_TEST_PAUSE_AT`, see
/// `TestPause` in NCFSweep): the agent prints `NCF_TEST_PAUSED POINT` and sleeps there, and
/// the test kills it.
final class ReliabilityKillTests: ReliabilityTestCase {
    /// What the store must hold right after the kill, before any other agent has looked.
    private enum AfterKill {
        /// Killed inside the claim transaction: the run was never committed.
        case noRun
        /// A `running` run with at least `metrics` logged steps (and at most `atMost`).
        case running(metrics: Int, atMost: Int)
    }

    private let fast = ["--heartbeat", "0.2", "--grace", "1"]

    /// Kills an agent at `point` (a seam name, or `mid-epoch`), checks the store, then runs a
    /// rescuing agent to the end of the sweep.
    private func killAndRescue(at point: String, expect: AfterKill, sleep: Double = 0) throws {
        let epochs = 3
        let config = try writeConfig(parameters: grid(4, "  epochs:\n    value: \(epochs)\n  sleep:\n    value: \(sleep)"))
        let id = try createSweep(config)
        let seam = point == "mid-epoch" ? [:] : ["NCF_TEST_PAUSE_AT": point]
        let victim = try start(["agent", id, "--store", store] + fast, environment: seam)
        let db = try openStore()
        if point == "mid-epoch" {
            try waitUntil("a trial logged its first epoch") {
                try db.runs(sweepID: id).contains { try $0.state == .running && !db.metrics(runID: $0.id).isEmpty }
            }
        } else {
            try waitUntil("the agent paused at \(point)") { victim.output.contains("NCF_TEST_PAUSED \(point)") }
        }
        kill(victim.pid, SIGKILL)
        XCTAssertEqual(finish(victim), 128 + SIGKILL, "\(point): \(victim.output)")
        try assertIntegrity()

        let before = try db.runs(sweepID: id)
        var killed: StoredRun?
        var killedPoints: [MetricPoint] = []
        switch expect {
        case .noRun:
            XCTAssertEqual(before, [], "\(point): the uncommitted claim left no run")
        case let .running(metrics, atMost):
            XCTAssertEqual(before.count, 1, "\(point): \(before)")
            killed = before.first
            XCTAssertEqual(killed?.state, .running, "\(point): nobody has noticed yet")
            killedPoints = try db.metrics(runID: killed!.id)
            let steps = Set(killedPoints.map(\.step)).count
            XCTAssertTrue((metrics...atMost).contains(steps), "\(point): \(steps) steps logged, expected \(metrics)...\(atMost)")
        }

        let rescuer = try ncfSucceeds(["agent", id, "--store", store] + fast)
        assertCleanOutput(rescuer.stdout + rescuer.stderr, point)
        let runs = try assertEachPointFinishedOnce(id, points: 4, context: point)
        try assertIntegrity()
        if let killed {
            let after = try XCTUnwrap(runs.first { $0.id == killed.id })
            XCTAssertEqual(after.state, .stale, "\(point): the killed run is kept as stale, not lost")
            XCTAssertTrue(after.givenBack)
            XCTAssertTrue(after.reason?.contains("no heartbeat from agent") ?? false, after.reason ?? "nil")
            XCTAssertEqual(try db.metrics(runID: killed.id), killedPoints, "\(point): its metrics are kept")
            XCTAssertTrue(runs.contains { $0.state == .finished && $0.config == killed.config && $0.seed == killed.seed },
                          "\(point): the killed point ran again with the same seed")
            XCTAssertEqual(runs.count, 5, "\(point): four points and the stale attempt")
            XCTAssertTrue(rescuer.stdout.contains("run \(killed.id): marked stale"), rescuer.description)
        } else {
            XCTAssertEqual(runs.count, 4, "\(point): \(runs.map(\.state))")
        }
    }

    func testKillInsideTheClaimTransaction() throws {
        try killAndRescue(at: "claim", expect: .noRun)
    }

    func testKillRightAfterTheClaim() throws {
        try killAndRescue(at: "after-claim", expect: .running(metrics: 0, atMost: 0))
    }

    func testKillMidEpoch() throws {
        try killAndRescue(at: "mid-epoch", expect: .running(metrics: 1, atMost: 2), sleep: 0.2)
    }

    func testKillBeforeTheResultIsWritten() throws {
        try killAndRescue(at: "before-finish", expect: .running(metrics: 3, atMost: 3))
    }

    func testKillInsideTheResultTransaction() throws {
        try killAndRescue(at: "finish", expect: .running(metrics: 3, atMost: 3))
    }
}
