import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// 2, 4 and 8 `ncf agent` processes on one store, over a grid and under `run_cap`, again and
/// again: no point runs twice, no result is lost, `run_cap` is exact, no "database is locked"
/// reaches anyone, and every agent exits 0.
///
/// Rounds: `NCF_FAULT_ITERATIONS` (default 4). Each round runs the six cases (three agent counts ×
/// grid and run_cap), so the default makes 24 repetitions and 112 agent processes; trials take
/// milliseconds, so a round takes a few seconds in a debug build on 2 cores.
final class ReliabilityConcurrencyTests: ReliabilityTestCase {
    static var rounds: Int {
        ProcessInfo.processInfo.environment["NCF_FAULT_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 4
    }

    func testManyAgentProcessesNeverDuplicateLoseOrOvershoot() throws {
        let grid12 = try writeConfig("grid.yaml", parameters: grid(12, "  epochs:\n    value: 2"))
        let capped = try writeConfig("cap.yaml", method: "random",
                                     parameters: "  x:\n    min: 0\n    max: 1000\n  epochs:\n    value: 2", extra: "run_cap: 7")
        var repetitions = 0
        for round in 1...Self.rounds {
            for agents in [2, 4, 8] {
                for (kind, config, expected) in [("grid", grid12, 12), ("run_cap", capped, 7)] {
                    let context = "round \(round), \(agents) agents, \(kind)"
                    let id = try createSweep(config)
                    let started = try (0..<agents).map { _ in try start(["agent", id, "--store", store]) }
                    for agent in started {
                        XCTAssertEqual(finish(agent), 0, "\(context):\n\(agent.output)")
                        assertCleanOutput(agent.output, context)
                    }
                    let runs = try runs(id)
                    XCTAssertEqual(runs.count, expected, "\(context): \(runs.map(\.config))")
                    XCTAssertTrue(runs.allSatisfy { $0.state == .finished }, "\(context): \(runs.map(\.state))")
                    XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, expected, "\(context): a point ran twice")
                    let histories = try openStore().histories(sweepID: id, metric: "Valid Loss")
                    XCTAssertTrue(runs.allSatisfy { histories[$0.id]?.count == 2 }, "\(context): every epoch of every run is kept")
                    XCTAssertEqual(try openStore().sweep(id: id).state, .finished, context)
                    let done = kind == "grid" ? "the sweep is done: every point of the search space has been run" : "the sweep is done: run_cap 7 reached"
                    XCTAssertTrue(started.contains { $0.output.contains(done) }, "\(context): \(started.map(\.output))")
                    repetitions += 1
                }
            }
        }
        try assertIntegrity()
        print("ReliabilityConcurrencyTests: \(repetitions) repetitions (\(Self.rounds) rounds × 6 cases) passed")
    }
}
