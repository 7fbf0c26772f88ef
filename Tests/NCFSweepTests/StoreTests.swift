import Foundation
import GRDB
import NCFKernels
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// A sampler for store tests: hands out `points` in order, skipping any point a run already
/// has (like a grid), or, with `repeating`, draws one point per call from the rng.
struct ListSampler: Sampler {
    var points: [[String: ParamValue]]
    var repeating = false

    func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
        if repeating { return [points[rng.nextInt(below: points.count)]] }
        let used = Set(runs.map { ParamValue.canonicalJSON($0.config) })
        return Array(points.filter { !used.contains(ParamValue.canonicalJSON($0)) }.prefix(count))
    }
}

/// The `RunStore` conformance suite: every test runs against `InMemoryRunStore`, a fresh
/// `SQLiteRunStore` file and a fresh `PostgreSQLRunStore` schema, and failures name the store.
final class StoreTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-store")
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    /// Runs `body` once per store implementation: in memory, a fresh SQLite file, and (when
    /// `NCF_TEST_POSTGRES_URL` names a server) a fresh PostgreSQL schema. The suite drives time
    /// through the dates it passes, so the PostgreSQL store takes the callers' clock here;
    /// PostgreSQLStoreTests covers the server's clock.
    private func forEachStore(_ body: (any RunStore, String) throws -> Void) throws {
        try body(InMemoryRunStore(), "in-memory")
        let path = tmp.appendingPathComponent("store-\(UUID().uuidString.prefix(6)).db").path
        try body(SQLiteRunStore(path: path, create: true), "sqlite")
        if let base = TestPostgres.url {
            try body(PostgreSQLRunStore(url: TestPostgres.freshStoreURL(base: base), clock: .caller), "postgresql")
        } else {
            TestPostgres.noteSkippedOnce
        }
    }

    private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    private func points(_ n: Int) -> [[String: ParamValue]] { (0..<n).map { ["x": .int($0)] } }

    private func config(runCap: Int? = nil, target: Double? = nil, goal: SweepConfig.Goal = .minimize) -> SweepConfig {
        SweepConfig(method: .grid, metric: .init(name: "Valid Loss", goal: goal, target: target),
                    parameters: [Parameter(name: "x", spec: .categorical((0..<12).map { .int($0) }, probabilities: nil))],
                    runCap: runCap)
    }

    private func claim(_ store: any RunStore, _ sweep: SweepRecord, _ config: SweepConfig, sampler: any Sampler,
                       agent: String = "a:1", heartbeatEvery: Double = 1, at: Date? = nil) throws -> ClaimOutcome {
        try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: sampler, agent: agent,
                                        heartbeatEvery: heartbeatEvery, now: at ?? t0))
    }

    private func claimed(_ outcome: ClaimOutcome, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> StoredRun {
        guard case .claimed(let run) = outcome else {
            XCTFail("\(name): expected a claimed run, got \(outcome)", file: file, line: line)
            throw XCTSkip("no run")
        }
        return run
    }

    // MARK: - Sweeps

    func testCreateAndLoadSweeps() throws {
        try forEachStore { store, name in
            let a = try store.createSweep(configText: "method: grid\n", seed: 7, now: t0)
            let b = try store.createSweep(configText: "method: random\n", seed: UInt64.max, now: t0.addingTimeInterval(1))
            XCTAssertEqual(a.id.count, 8, name)
            XCTAssertTrue(a.id.allSatisfy { $0.isLowercase || $0.isNumber }, "\(name): \(a.id)")
            XCTAssertNotEqual(a.id, b.id, name)
            XCTAssertEqual(try store.sweep(id: a.id), a, name)
            XCTAssertEqual(try store.sweep(id: b.id).seed, UInt64.max, "\(name): a seed above Int64.max round-trips")
            XCTAssertEqual(try store.sweeps().map(\.id), [a.id, b.id], name)
            XCTAssertEqual(a.state, .running, name)
            XCTAssertThrowsError(try store.sweep(id: "nope1234"), name) { error in
                XCTAssertTrue("\(error)".contains("no sweep nope1234"), "\(name): \(error)")
            }
            // A file or server store names the id a truncated one meant.
            if name != "in-memory" {
                let prefix = String(a.id.prefix(5))
                XCTAssertThrowsError(try store.sweep(id: prefix), name) { error in
                    guard case let .noSuchSweep(id, _, near)? = error as? RunStoreError else { return XCTFail("\(name): \(error)") }
                    XCTAssertEqual(id, prefix, name)
                    XCTAssertEqual(near, a.id, name)
                    XCTAssertTrue("\(error)".contains("Did you mean \(a.id)?"), "\(name): \(error)")
                }
            }
        }
    }

    func testASweepRecordsItsDataAndARunItsOverride() throws {
        try forEachStore { store, name in
            let data = SweepData(path: "../d/u.data", absolutePath: "/abs/d/u.data", size: 1_979_173, fingerprint: "size:1979173 checksum:ab12")
            let sweep = try store.createSweep(configText: "method: grid\n", seed: 1, data: data, now: t0)
            XCTAssertEqual(sweep.data, data, name)
            XCTAssertEqual(try store.sweep(id: sweep.id).data, data, "\(name): the data round-trips")
            XCTAssertNil(try store.createSweep(configText: "", seed: 2, now: t0).data, name)
            let sampler = ListSampler(points: points(2))
            let plain = try claimed(claim(store, sweep, config(), sampler: sampler), name)
            let other = try claimed(store.claimRun(ClaimRequest(sweepID: sweep.id, config: config(), sampler: sampler, agent: "b:2",
                                                                heartbeatEvery: 1, now: t0, dataOverride: "/other/u.data")), name)
            XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.dataOverride), [nil, "/other/u.data"], name)
            XCTAssertEqual([plain.dataOverride, other.dataOverride], [nil, "/other/u.data"], name)
        }
    }

    /// pause, stop and cancel refuse claims without changing the state; resume takes them again.
    func testSteeredSweepsRefuseClaimsUntilResumed() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(6))
            _ = try claimed(claim(store, sweep, config(), sampler: sampler), name)
            for (state, done) in [(SweepState.paused, SweepDone.paused), (.stopped, .stopped), (.cancelled, .cancelled)] {
                XCTAssertNoThrow(try store.setState(sweepID: sweep.id, state), name)
                XCTAssertEqual(try claim(store, sweep, config(), sampler: sampler), .done(done), "\(name): \(state)")
                XCTAssertEqual(try store.sweep(id: sweep.id).state, state, "\(name): a refused claim leaves \(state) as it is")
            }
            XCTAssertEqual(try store.setState(sweepID: sweep.id, .running), .cancelled, "\(name): returns the old state")
            _ = try claimed(claim(store, sweep, config(), sampler: sampler), "\(name) after resume")
            XCTAssertEqual(try store.runs(sweepID: sweep.id).count, 2, name)
            XCTAssertThrowsError(try store.setState(sweepID: "nope1234", .paused), name)
        }
    }

    func testDeletingASweepRemovesItsRunsAndMetricsOnly() throws {
        try forEachStore { store, name in
            let keep = try store.createSweep(configText: "", seed: 1, now: t0)
            let gone = try store.createSweep(configText: "", seed: 2, now: t0)
            let kept = try claimed(claim(store, keep, config(), sampler: ListSampler(points: points(1))), name)
            let removed = try claimed(claim(store, gone, config(), sampler: ListSampler(points: points(1))), name)
            try store.appendMetrics(runID: kept.id, step: 1, values: ["Valid Loss": 1])
            try store.appendMetrics(runID: removed.id, step: 1, values: ["Valid Loss": 2])
            try store.deleteSweep(id: gone.id)
            XCTAssertEqual(try store.sweeps().map(\.id), [keep.id], name)
            XCTAssertThrowsError(try store.sweep(id: gone.id), name)
            XCTAssertEqual(try store.runs(sweepID: gone.id), [], name)
            XCTAssertEqual(try store.metrics(runID: removed.id), [], name)
            XCTAssertEqual(try store.metrics(runID: kept.id).count, 1, name)
            XCTAssertThrowsError(try store.deleteSweep(id: gone.id), "\(name): deleting twice names the sweep")
            // Run ids are never reused after a delete.
            let again = try store.createSweep(configText: "", seed: 3, now: t0)
            let next = try claimed(claim(store, again, config(), sampler: ListSampler(points: points(1))), name)
            XCTAssertGreaterThan(next.id, removed.id, name)
        }
    }

    // MARK: - Claims

    func testClaimsWalkThePointsThenFinishTheSweep() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(3))
            var runs: [StoredRun] = []
            for _ in 0..<3 { runs.append(try claimed(claim(store, sweep, config(), sampler: sampler), name)) }
            XCTAssertEqual(runs.map { $0.config["x"] }, [.int(0), .int(1), .int(2)], name)
            XCTAssertTrue(runs.allSatisfy { $0.state == .running && $0.agent == "a:1" }, name)
            XCTAssertEqual(Set(runs.map(\.id)).count, 3, name)
            XCTAssertEqual(try claim(store, sweep, config(), sampler: sampler), .done(.exhausted), name)
            XCTAssertEqual(try store.sweep(id: sweep.id).state, .running, "\(name): runs are still running")
            for run in runs {
                XCTAssertTrue(try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil,
                                                  givenBack: false, at: t0), name)
            }
            XCTAssertEqual(try claim(store, sweep, config(), sampler: sampler), .done(.exhausted), name)
            XCTAssertEqual(try store.sweep(id: sweep.id).state, .finished, name)
            XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.finished, .finished, .finished], name)
        }
    }

    func testRunSeedsFollowTheSweepSeedAndConfig() throws {
        try forEachStore { store, name in
            let s1 = try store.createSweep(configText: "", seed: 1, now: t0)
            let s2 = try store.createSweep(configText: "", seed: 2, now: t0)
            let sampler = ListSampler(points: [["x": .int(0)], ["x": .int(1)], ["x": .int(2), "seed": .int(99)]])
            let a = try (0..<3).map { _ in try claimed(claim(store, s1, config(), sampler: sampler), name).seed }
            let b = try claimed(claim(store, s2, config(), sampler: sampler), name).seed
            XCTAssertNotEqual(a[0], a[1], "\(name): different configs get different seeds")
            XCTAssertNotEqual(a[0], b, "\(name): different sweep seeds give different run seeds")
            XCTAssertEqual(a[2], 99, "\(name): a config's own seed wins")
            XCTAssertLessThan(a[0], 1 << 31, name)
            XCTAssertEqual(a[0], ClaimPolicy.runSeed(sweepSeed: 1, config: ["x": .int(0)]), name)
        }
    }

    func testTheRngStreamIsTheRunCount() throws {
        // Same seed and same claims → the same draws, in every store.
        var sequences: [[ParamValue?]] = []
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 42, now: t0)
            let sampler = ListSampler(points: points(1000), repeating: true)
            sequences.append(try (0..<6).map { _ in try claimed(claim(store, sweep, config(), sampler: sampler), name).config["x"] })
        }
        XCTAssertEqual(sequences[0], sequences[1])
        XCTAssertGreaterThan(Set(sequences[0].map { "\($0!)" }).count, 1, "each claim draws from its own stream")
    }

    func testRunCapCountsFailedRunsButNotGivenBackOnes() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(12))
            let cfg = config(runCap: 3)
            let r1 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            let r2 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            let r3 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler), .done(.runCap(3)), name)
            _ = try store.finishRun(id: r1.id, state: .failed, reason: "exit code 1: x", exitCode: 1, summary: nil, givenBack: false, at: t0)
            XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler), .done(.runCap(3)), "\(name): a failed run still counts")
            _ = try store.finishRun(id: r2.id, state: .stopped, reason: "interrupted", exitCode: 130, summary: nil, givenBack: true, at: t0)
            let r4 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            XCTAssertEqual(r4.config, r2.config, "\(name): an interrupted run's point is given back")
            XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler), .done(.runCap(3)), name)
            XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 5, now: t0.addingTimeInterval(10)).sorted(), [r3.id, r4.id], name)
            let r5 = try claimed(claim(store, sweep, cfg, sampler: sampler, at: t0.addingTimeInterval(10)), name)
            let r6 = try claimed(claim(store, sweep, cfg, sampler: sampler, at: t0.addingTimeInterval(10)), name)
            XCTAssertEqual(Set([r5.config, r6.config]), Set([r3.config, r4.config]), "\(name): stale runs' points are given back")
            XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler), .done(.runCap(3)), name)
            XCTAssertEqual(try store.runs(sweepID: sweep.id).filter(\.counts).count, 3, name)
        }
    }

    func testGivingBackFailedRunsFreesTheirPointsAndSlots() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(12))
            let cfg = config(runCap: 2)
            let r1 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            let r2 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            _ = try store.finishRun(id: r1.id, state: .failed, reason: "exit code 1: x", exitCode: 1, summary: nil, givenBack: false, at: t0)
            _ = try store.finishRun(id: r2.id, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false, at: t0)
            XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler), .done(.runCap(2)), name)
            XCTAssertEqual(try store.giveBack(failedRunIDs: [r1.id, r2.id], note: "given back"), [r1.id], "\(name): only failed runs")
            XCTAssertEqual(try store.giveBack(failedRunIDs: [r1.id], note: "given back"), [], "\(name): once")
            let stored = try store.runs(sweepID: sweep.id)
            XCTAssertEqual(stored.map(\.state), [.failed, .finished], name)
            XCTAssertEqual(stored[0].reason, "exit code 1: x; given back", name)
            let r3 = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
            XCTAssertEqual(r3.config, r1.config, "\(name): the failed run's point runs again")
            XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler), .done(.runCap(2)), name)
        }
    }

    func testTargetStopsNewRuns() throws {
        for goal in [SweepConfig.Goal.minimize, .maximize] {
            try forEachStore { store, name in
                let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
                let sampler = ListSampler(points: points(12))
                let cfg = config(target: goal == .minimize ? 0.5 : 2, goal: goal)
                let run = try claimed(claim(store, sweep, cfg, sampler: sampler), name)
                try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 1])
                _ = try claimed(claim(store, sweep, cfg, sampler: sampler), "\(name) \(goal): 1 has not reached the target")
                try store.appendMetrics(runID: run.id, step: 2, values: ["Valid Loss": goal == .minimize ? 0.5 : 2])
                XCTAssertEqual(try claim(store, sweep, cfg, sampler: sampler),
                               .done(.target(runID: run.id, value: goal == .minimize ? 0.5 : 2)), "\(name) \(goal)")
            }
        }
    }

    func testSamplerSeesRunsWithTheirMetricHistories() throws {
        struct Spy: Sampler {
            let seen: Box
            func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
                seen.runs = runs
                return [["x": .int(runs.count)]]
            }
        }
        final class Box: @unchecked Sendable { var runs: [RunRecord] = [] }
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let box = Box()
            let r1 = try claimed(claim(store, sweep, config(), sampler: Spy(seen: box)), name)
            try store.appendMetrics(runID: r1.id, step: 1, values: ["Valid Loss": 2, "epoch": 1])
            try store.appendMetrics(runID: r1.id, step: 2, values: ["Valid Loss": 1.5, "epoch": 2])
            try store.appendMetrics(runID: r1.id, step: 3, values: ["Valid Loss": nil, "epoch": 3])
            _ = try claimed(claim(store, sweep, config(), sampler: Spy(seen: box)), name)
            XCTAssertEqual(box.runs.count, 1, name)
            XCTAssertEqual(box.runs[0].history, [2, 1.5], "\(name): non-finite values are left out")
            XCTAssertEqual(box.runs[0].metric, 1.5, name)
            XCTAssertEqual(box.runs[0].state, .running, name)
        }
    }

    // MARK: - Heartbeats, finishing and staleness

    func testHeartbeatAndFinishOnlyTouchRunningRuns() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(12))
            let a = try claimed(claim(store, sweep, config(), sampler: sampler), name)
            let b = try claimed(claim(store, sweep, config(), sampler: sampler), name)
            XCTAssertEqual(try store.heartbeat(runIDs: [a.id, b.id], at: t0.addingTimeInterval(5)), [], name)
            XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.heartbeatAt), [t0.addingTimeInterval(5), t0.addingTimeInterval(5)], name)
            XCTAssertTrue(try store.finishRun(id: a.id, state: .failed, reason: "exit code 2: bad", exitCode: 2, summary: #"{"Test RMSE":1}"#,
                                              givenBack: false, at: t0.addingTimeInterval(6)), name)
            XCTAssertFalse(try store.finishRun(id: a.id, state: .finished, reason: nil, exitCode: 0, summary: nil,
                                               givenBack: false, at: t0), "\(name): a terminal run never changes")
            XCTAssertEqual(try store.heartbeat(runIDs: [a.id, b.id], at: t0.addingTimeInterval(7)), [a.id], "\(name): a is no longer running")
            let stored = try store.runs(sweepID: sweep.id)[0]
            XCTAssertEqual(stored.state, .failed, name)
            XCTAssertEqual(stored.reason, "exit code 2: bad", name)
            XCTAssertEqual(stored.exitCode, 2, name)
            XCTAssertEqual(stored.summary, #"{"Test RMSE":1}"#, name)
            XCTAssertEqual(stored.endedAt, t0.addingTimeInterval(6), name)
        }
    }

    func testStaleRunsNeedGraceAndThreeMissedHeartbeats() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(12))
            let fast = try claimed(claim(store, sweep, config(), sampler: sampler, agent: "fast:1", heartbeatEvery: 1), name)
            let slow = try claimed(claim(store, sweep, config(), sampler: sampler, agent: "slow:2", heartbeatEvery: 10), name)
            XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 5, now: t0.addingTimeInterval(5)), [], "\(name): not past the grace")
            XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 5, now: t0.addingTimeInterval(6)), [fast.id], name)
            XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 5, now: t0.addingTimeInterval(29)), [],
                           "\(name): an agent beating every 10 s is given 30 s")
            XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 5, now: t0.addingTimeInterval(31)), [slow.id], name)
            let runs = try store.runs(sweepID: sweep.id)
            XCTAssertEqual(runs.map(\.state), [.stale, .stale], name)
            XCTAssertTrue(runs.allSatisfy { $0.givenBack && !$0.counts }, name)
            XCTAssertTrue(runs[0].reason?.contains("no heartbeat from agent fast:1") ?? false, "\(name): \(runs[0].reason ?? "nil")")
            XCTAssertFalse(try store.finishRun(id: fast.id, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false,
                                               at: t0.addingTimeInterval(40)), "\(name): a late result for a stale run is refused")
            try store.appendMetrics(runID: fast.id, step: 1, values: ["Valid Loss": 3])
            XCTAssertEqual(try store.metrics(runID: fast.id).count, 1, "\(name): its metrics are still kept")
            let again = try claimed(claim(store, sweep, config(), sampler: sampler, at: t0.addingTimeInterval(40)), name)
            XCTAssertEqual(again.config, fast.config, "\(name): the stale point is run again first")
        }
    }

    // MARK: - Metrics and results

    func testMetricsAppendReplaceAndKeepNonFiniteAsNull() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let run = try claimed(claim(store, sweep, config(), sampler: ListSampler(points: points(2))), name)
            try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 1, "epoch": 1])
            try store.appendMetrics(runID: run.id, step: 2, values: ["Valid Loss": .infinity, "epoch": 2])
            try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 0.75])
            XCTAssertEqual(try store.metrics(runID: run.id), [
                MetricPoint(step: 1, name: "Valid Loss", value: 0.75), MetricPoint(step: 1, name: "epoch", value: 1),
                MetricPoint(step: 2, name: "Valid Loss", value: nil), MetricPoint(step: 2, name: "epoch", value: 2),
            ], name)
            XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss"), [run.id: [0.75]], name)
            XCTAssertThrowsError(try store.appendMetrics(runID: 9999, step: 1, values: ["a": 1]), name)
        }
    }

    func testBestRunIgnoresFailedAndGivenBackRuns() throws {
        try forEachStore { store, name in
            let sweep = try store.createSweep(configText: "", seed: 1, now: t0)
            let sampler = ListSampler(points: points(12))
            let metric = SweepConfig.Metric(name: "Valid Loss")
            var ids: [Int] = []
            for (value, state, back) in [(0.9, RunState.finished, false), (0.1, .failed, false), (0.2, .stopped, true),
                                         (0.5, .stopped, false), (0.7, .finished, false)] {
                let run = try claimed(claim(store, sweep, config(), sampler: sampler), name)
                try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": value + 1])
                try store.appendMetrics(runID: run.id, step: 2, values: ["Valid Loss": value])
                _ = try store.finishRun(id: run.id, state: state, reason: nil, exitCode: 0, summary: nil, givenBack: back, at: t0)
                ids.append(run.id)
            }
            let best = try store.bestRun(sweepID: sweep.id, metric: metric)
            XCTAssertEqual(best?.run.id, ids[3], "\(name): the hyperband-stopped run with 0.5 is best")
            XCTAssertEqual(best?.value, 0.5, name)
            let worst = try store.bestRun(sweepID: sweep.id, metric: .init(name: "Valid Loss", goal: .maximize))
            XCTAssertEqual(worst?.value, 1.9, name)
        }
    }

    // MARK: - Concurrency

    /// Threads claiming through separate connections (one SQLiteRunStore each, like separate
    /// processes) never hand out a grid point twice, and run_cap is exact.
    func testConcurrentClaimsHandOutEachPointOnce() throws {
        let path = tmp.appendingPathComponent("shared.db").path
        let first = try SQLiteRunStore(path: path, create: true)
        let sweep = try first.createSweep(configText: "", seed: 3, now: t0)
        for (cap, expected) in [(nil, 12), (Optional(7), 7)] {
            let s = try first.createSweep(configText: "", seed: 3, now: t0)
            let cfg = config(runCap: cap)
            let stores: [any RunStore] = try (0..<4).map { _ in try SQLiteRunStore(path: path, create: false) } + [InMemoryRunStore()]
            let memory = stores[4]
            let memorySweep = try memory.createSweep(configText: "", seed: 3, now: t0)
            let group = DispatchGroup()
            let failures = Failures()
            for worker in 0..<8 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let useMemory = worker >= 4
                        let store = useMemory ? memory : stores[worker]
                        let id = useMemory ? memorySweep.id : s.id
                        while case .claimed(let run) = try store.claimRun(ClaimRequest(
                            sweepID: id, config: cfg, sampler: GridSampler(), agent: "w\(worker)", heartbeatEvery: 1, now: Date())) {
                            _ = try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil,
                                                    givenBack: false, at: Date())
                        }
                    } catch {
                        failures.add("\(error)")
                    }
                }.start()
            }
            group.wait()
            XCTAssertEqual(failures.all, [])
            for (store, id, name) in [(first as any RunStore, s.id, "sqlite"), (memory, memorySweep.id, "in-memory")] {
                let runs = try store.runs(sweepID: id)
                XCTAssertEqual(runs.count, expected, "\(name) cap \(String(describing: cap))")
                XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, expected, "\(name): no point twice")
                XCTAssertTrue(runs.allSatisfy { $0.state == .finished }, name)
            }
        }
        XCTAssertEqual(try first.runs(sweepID: sweep.id), [], "other sweeps are untouched")
    }

    // MARK: - SQLite specifics

    func testSQLiteStorePersistsAndHasTheDocumentedSchema() throws {
        let path = tmp.appendingPathComponent("persist.db").path
        do {
            let store = try SQLiteRunStore(path: path, create: true)
            let sweep = try store.createSweep(configText: "method: grid\n", seed: 5, now: t0)
            let run = try claimed(claim(store, sweep, config(), sampler: ListSampler(points: [["x": .int(1), "name": .string("a b")]])), "sqlite")
            try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 0.5])
        }
        let reopened = try SQLiteRunStore(path: path, create: false)
        let sweep = try XCTUnwrap(reopened.sweeps().first)
        XCTAssertEqual(sweep.configText, "method: grid\n")
        XCTAssertEqual(try reopened.runs(sweepID: sweep.id).first?.config, ["x": .int(1), "name": .string("a b")])

        let db = try DatabaseQueue(path: path)
        try db.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT config FROM runs"), #"{"name":"a b","x":1}"#, "config is canonical JSON")
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"), ["v1", "v2"])
            func columns(_ table: String) throws -> [String] {
                try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] }
            }
            XCTAssertEqual(try columns("sweeps"), ["id", "config", "seed", "state", "created",
                                                   "data_path", "data_absolute", "data_size", "data_fingerprint"])
            XCTAssertEqual(try columns("runs"), ["id", "sweep_id", "state", "config", "seed", "reason", "exit_code", "agent",
                                                 "heartbeat_every", "started_at", "ended_at", "heartbeat_at", "given_back", "summary",
                                                 "data_override"])
            XCTAssertEqual(try columns("metrics"), ["run_id", "step", "name", "value"])
        }
    }

    func testSQLiteStoreRefusesWhatIsNotAStore() throws {
        let missing = tmp.appendingPathComponent("missing.db").path
        XCTAssertThrowsError(try SQLiteRunStore(path: missing, create: false)) { error in
            XCTAssertEqual(error as? RunStoreError, .missingStore(path: missing))
            XCTAssertTrue("\(error)".contains("Hint:"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "nothing is created")

        let garbage = tmp.appendingPathComponent("garbage.db").path
        try String(repeating: "not a database\n", count: 100).write(toFile: garbage, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SQLiteRunStore(path: garbage, create: true)) { error in
            guard case .notAStore(let path, _)? = error as? RunStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, garbage)
        }

        let foreign = tmp.appendingPathComponent("foreign.db").path
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE users (id INTEGER)") }
        XCTAssertThrowsError(try SQLiteRunStore(path: foreign, create: true)) { error in
            XCTAssertTrue("\(error)".contains("not an ncf sweep store") && "\(error)".contains("users"), "\(error)")
        }

        let newer = tmp.appendingPathComponent("newer.db").path
        _ = try SQLiteRunStore(path: newer, create: true)
        try DatabaseQueue(path: newer).write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99')") }
        XCTAssertThrowsError(try SQLiteRunStore(path: newer, create: false)) { error in
            XCTAssertEqual(error as? RunStoreError, .newerSchema(path: newer))
        }
    }
}

/// Errors collected from worker threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
