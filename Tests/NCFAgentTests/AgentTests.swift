import Foundation
import NCFKernels
import NCFRunContract
import NCFTestSupport
import XCTest

@testable import NCFAgent
@testable import NCFSweep

/// The agent in-process, running the fake trial script (`FakeTrial`) as child processes.
final class AgentTests: XCTestCase {
    private var tmp: URL!
    private var script: String!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-agent")
        script = try FakeTrial.write(into: tmp)
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    // MARK: Helpers

    private func cat(_ values: ParamValue...) -> ParameterSpec { .categorical(values, probabilities: nil) }

    private func gridConfig(_ parameters: [Parameter], runCap: Int? = nil, target: Double? = nil) -> SweepConfig {
        SweepConfig(method: .grid, metric: .init(name: "Valid Loss", target: target), parameters: parameters,
                    runCap: runCap, program: script, command: ["${program}", "${args}"])
    }

    private func xs(_ n: Int) -> Parameter { Parameter(name: "x", spec: .categorical((0..<n).map { .int($0) }, probabilities: nil)) }

    private typealias Log = LineLog

    private func makeAgent(_ store: any RunStore, _ sweep: SweepRecord, _ config: SweepConfig, options: AgentOptions = AgentOptions(),
                           pruner: any Pruner = NopPruner(), log: Log = Log()) -> Agent {
        Agent(store: store, sweep: sweep, config: config, sampler: config.sampler, pruner: pruner,
              command: .external(program: script, command: ["${program}", "${args}"]), options: options, log: { log.add($0) })
    }

    private func sqliteStore() throws -> SQLiteRunStore {
        try SQLiteRunStore(path: tmp.appendingPathComponent("store-\(UUID().uuidString.prefix(6)).db").path, create: true)
    }

    /// Runs the agent on a background thread; the returned closure waits for its report.
    private func runInBackground(_ agent: Agent) -> () throws -> AgentReport { inBackground { try agent.run() } }

    // MARK: - Whole sweeps

    func testParallelAgentRunsEveryGridPointOnce() throws {
        for store in [try sqliteStore() as any RunStore, InMemoryRunStore()] {
            let config = gridConfig([xs(12)])
            let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
            let report = try makeAgent(store, sweep, config, options: AgentOptions(parallel: 3)).run()
            XCTAssertEqual(report.end, .sweepDone(.exhausted))
            XCTAssertEqual(report.exitCode, 0)
            let runs = try store.runs(sweepID: sweep.id)
            XCTAssertEqual(runs.count, 12)
            XCTAssertEqual(Set(runs.compactMap { $0.config["x"] }), Set((0..<12).map { ParamValue.int($0) }))
            XCTAssertTrue(runs.allSatisfy { $0.state == .finished && $0.exitCode == 0 }, "\(runs.map(\.state))")
            XCTAssertEqual(try store.sweep(id: sweep.id).state, .finished)
            let first = try XCTUnwrap(runs.first { $0.config["x"] == .int(2) })
            XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss")[first.id], [3, 2.5, 2.333333])
            XCTAssertEqual(try store.metrics(runID: first.id).filter { $0.name == "epoch" }.map(\.value), [1, 2, 3])
            XCTAssertEqual(first.summary, #"{"Test MAE":0.5,"Test RMSE":2,"protocol":"fake"}"#)
            XCTAssertEqual(try store.bestRun(sweepID: sweep.id, metric: config.metric!)?.run.config["x"], .int(0))
        }
    }

    func testFailingNaNAndCrashingTrialsDoNotStopTheSweep() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(2), Parameter(name: "mode", spec: cat(.string("ok"), .string("fail"), .string("nan"), .string("crash")))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try makeAgent(store, sweep, config).run()
        XCTAssertEqual(report.end, .sweepDone(.exhausted))
        XCTAssertEqual(report.exitCode, 0, "some trials finished")
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 8)
        func run(_ mode: String, _ x: Int) throws -> StoredRun {
            try XCTUnwrap(runs.first { $0.config["mode"] == .string(mode) && $0.config["x"] == .int(x) })
        }
        XCTAssertEqual(try run("ok", 1).state, .finished)
        XCTAssertEqual(try run("fail", 1).state, .failed)
        XCTAssertEqual(try run("fail", 1).reason, "exit code 3: Error: boom (x=1)")
        XCTAssertEqual(try run("fail", 1).exitCode, 3)
        XCTAssertEqual(try run("nan", 0).state, .failed)
        XCTAssertEqual(try run("nan", 0).reason, "non-finite loss: Train Loss is not a finite number at epoch 2")
        XCTAssertEqual(try run("crash", 0).state, .failed)
        XCTAssertEqual(try run("crash", 0).reason, "killed by signal 9 (SIGKILL)")
        XCTAssertEqual(try run("crash", 0).exitCode, 137)
    }

    func testFirstTrialsAllFailingFastStopTheAgent() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(6), Parameter(name: "mode", spec: .constant(.string("fail")))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try makeAgent(store, sweep, config).run()
        guard case .configLooksBroken(let message) = report.end else { return XCTFail("\(report.end)") }
        XCTAssertTrue(message.contains("the first 3 trials all failed"), message)
        XCTAssertTrue(message.contains("run 1: exit code 3: Error: boom (x=0)"), message)
        XCTAssertTrue(message.contains("--max_initial_failures 0"), message)
        XCTAssertEqual(report.exitCode, 1)
        XCTAssertEqual(try store.runs(sweepID: sweep.id).count, 3, "the rest of the grid is not burnt")
        XCTAssertTrue(message.contains("Their points are given back"), message)
        let broken = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(broken.map(\.state), [.failed, .failed, .failed])
        XCTAssertEqual(broken.map(\.givenBack), [true, true, true], "their points go back to the sweep")
        XCTAssertTrue(broken.allSatisfy { $0.reason?.contains("point given back") == true }, "\(broken.map(\.reason))")
        // A later agent on the same sweep (say, after the data was fixed) runs every point, those too.
        let resumed = try makeAgent(store, sweep, config, options: AgentOptions(maxInitialFailures: 0)).run()
        XCTAssertEqual(resumed.end, .sweepDone(.exhausted))
        let after = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(after.count, 9, "3 given-back runs + all 6 points")
        XCTAssertEqual(Set(after.dropFirst(3).map { ParamValue.canonicalJSON($0.config) }).count, 6)

        let sweep2 = try store.createSweep(configText: "", seed: 1, now: Date())
        let all = try makeAgent(store, sweep2, config, options: AgentOptions(maxInitialFailures: 0)).run()
        XCTAssertEqual(all.end, .sweepDone(.exhausted))
        XCTAssertEqual(all.exitCode, 1, "every trial failed")
        XCTAssertEqual(try store.runs(sweepID: sweep2.id).count, 6)
    }

    func testDivergingTrialsAreNonFiniteFailuresNotABrokenConfig() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(4), Parameter(name: "mode", spec: .constant(.string("diverge")))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try makeAgent(store, sweep, config).run()
        XCTAssertEqual(report.end, .sweepDone(.exhausted), "diverging points do not look like a broken config")
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(runs[0].reason, "non-finite loss (exit code \(RunExitCode.diverged)): "
                       + RunExitCode.divergenceMessage(epoch: 1, step: 3, value: .nan))
        XCTAssertTrue(runs.allSatisfy { $0.state == .failed })
    }

    func testARunThatNeverLogsTheMetricFailsAndCountsAsABrokenConfig() throws {
        let store = InMemoryRunStore()
        var config = gridConfig([xs(6)])
        config.metric = .init(name: "Valid loss")  // the fake trial logs `Valid Loss`
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try makeAgent(store, sweep, config).run()
        guard case .configLooksBroken(let message) = report.end else { return XCTFail("\(report.end)") }
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 3, "the agent stops after its first 3 trials")
        XCTAssertEqual(runs.map(\.state), [.failed, .failed, .failed])
        XCTAssertTrue(runs[0].reason?.hasPrefix("metric `Valid loss` never logged; it logged: Train Loss, Valid Loss") ?? false,
                      runs[0].reason ?? "")
        XCTAssertTrue(message.contains("metric `Valid loss` never logged"), message)
    }

    /// Another program may number its epochs from 0: its epoch 0 is a trained epoch (only the
    /// built-in trainer's run from pre-trained parts logs a start as epoch 0), so a one-epoch run
    /// that logs the metric at epoch 0 finished; it did not fail to log the metric.
    func testAProgramsEpochZeroIsATrainedEpoch() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(2), Parameter(name: "epochs", spec: .constant(.int(1))),
                                 Parameter(name: "first_epoch", spec: .constant(.int(0)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try makeAgent(store, sweep, config).run()
        XCTAssertEqual(report.end, .sweepDone(.exhausted))
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .finished], runs.map { $0.reason ?? "" }.joined(separator: "; "))
        let histories = try store.histories(sweepID: sweep.id, metric: "Valid Loss")
        XCTAssertEqual(histories.values.map(\.count), [1, 1])
    }

    func testCountRunCapAndTarget() throws {
        let store = InMemoryRunStore()
        let s1 = try store.createSweep(configText: "", seed: 1, now: Date())
        let counted = try makeAgent(store, s1, gridConfig([xs(6)]), options: AgentOptions(count: 2)).run()
        XCTAssertEqual(counted.end, .countReached(2))
        XCTAssertEqual(try store.runs(sweepID: s1.id).count, 2)
        XCTAssertEqual(try store.sweep(id: s1.id).state, .running, "work is left")

        let s2 = try store.createSweep(configText: "", seed: 1, now: Date())
        let capped = try makeAgent(store, s2, gridConfig([xs(6)], runCap: 4), options: AgentOptions(parallel: 2)).run()
        XCTAssertEqual(capped.end, .sweepDone(.runCap(4)))
        XCTAssertEqual(try store.runs(sweepID: s2.id).count, 4)

        // x = 5 first (best 5.33), then x = 0 reaches 0.33 ≤ 1.5: no third run.
        let s3 = try store.createSweep(configText: "", seed: 1, now: Date())
        let targeted = gridConfig([Parameter(name: "x", spec: cat(.int(5), .int(0), .int(3), .int(4)))], target: 1.5)
        let report = try makeAgent(store, s3, targeted).run()
        let runs = try store.runs(sweepID: s3.id)
        XCTAssertEqual(runs.map { $0.config["x"] }, [.int(5), .int(0)])
        XCTAssertEqual(report.end, .sweepDone(.target(runID: runs[1].id, value: 1)))
    }

    // MARK: - Stopping trials

    func testInterruptLetsTrialsFinishTheirEpochAndGivesPointsBack() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(2), Parameter(name: "sleep", spec: .constant(.double(0.3))),
                                 Parameter(name: "epochs", spec: .constant(.int(20)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let agent = makeAgent(store, sweep, config, options: AgentOptions(parallel: 2))
        let finish = runInBackground(agent)
        try waitUntil("both trials logged an epoch") {
            let runs = try store.runs(sweepID: sweep.id)
            let logged = try runs.filter { try !store.metrics(runID: $0.id).isEmpty }
            return runs.count == 2 && logged.count == 2
        }
        agent.interrupt()
        let report = try finish()
        XCTAssertEqual(report.end, .interrupted)
        XCTAssertEqual(report.exitCode, 130)
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.stopped, .stopped])
        XCTAssertTrue(runs.allSatisfy { $0.givenBack && $0.reason!.hasPrefix("interrupted (Ctrl-C) after") }, "\(runs.map(\.reason))")
        XCTAssertTrue(runs.allSatisfy { $0.summary != nil }, "the trials finished their epoch and printed a summary")
        XCTAssertTrue(runs.allSatisfy { $0.exitCode == 130 })

        // The points come back: another agent runs both again.
        let fast = gridConfig([xs(2)])
        XCTAssertEqual(try makeAgent(store, sweep, fast).run().end, .sweepDone(.exhausted))
        let after = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(after.map(\.state), [.stopped, .stopped, .finished, .finished])
    }

    /// A trial that completes every epoch and exits 0 although the agent was interrupted (its
    /// last epoch was ending when the signal came) is finished, not stopped: its result counts and
    /// its point is not run again.
    func testATrialThatCompletesDespiteAnInterruptIsFinished() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(1), Parameter(name: "mode", spec: .constant(.string("complete"))),
                                 Parameter(name: "sleep", spec: .constant(.double(0.3)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let agent = makeAgent(store, sweep, config)
        let finish = runInBackground(agent)
        try waitUntil("the trial logged an epoch") {
            try store.runs(sweepID: sweep.id).contains { try !store.metrics(runID: $0.id).isEmpty }
        }
        agent.interrupt()
        let report = try finish()
        XCTAssertEqual(report.end, .interrupted)
        let run = try XCTUnwrap(store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(run.state, .finished, "reason: \(run.reason ?? "none")")
        XCTAssertFalse(run.givenBack)
        XCTAssertEqual(run.exitCode, 0)
        XCTAssertEqual(try store.metrics(runID: run.id).filter { $0.name == "Valid Loss" }.count, 3, "every epoch is kept")
    }

    func testSecondInterruptKillsTrialsNow() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(1), Parameter(name: "mode", spec: .constant(.string("stubborn")))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = Log()
        let agent = makeAgent(store, sweep, config, log: log)
        let finish = runInBackground(agent)
        try waitUntil("the trial started") { try store.runs(sweepID: sweep.id).count == 1 }
        usleep(200_000)
        agent.interrupt()
        usleep(200_000)
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.running], "it ignores SIGINT")
        agent.interrupt()
        let report = try finish()
        XCTAssertEqual(report.end, .interrupted)
        let run = try XCTUnwrap(store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(run.state, .stopped)
        XCTAssertTrue(run.givenBack)
        XCTAssertEqual(run.exitCode, 137)
        XCTAssertTrue(log.all.contains { $0.contains("Ctrl-C again to stop now") }, "\(log.all)")
    }

    func testTrialTimeoutFailsTheRun() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(1), Parameter(name: "mode", spec: .constant(.string("hang")))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        _ = try makeAgent(store, sweep, config, options: AgentOptions(trialTimeout: 0.5)).run()
        let run = try XCTUnwrap(store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(run.state, .failed)
        XCTAssertEqual(run.reason, "timed out after 0.5 s")
    }

    func testPrunedRunsAreStoppedWithTheirHistory() throws {
        /// Stops every running run with x = 1 once it has logged a value.
        struct StopX1: Pruner {
            func runsToStop(_ runs: [RunRecord], metric: SweepConfig.Metric) -> [Int] {
                runs.filter { $0.state == .running && $0.config["x"] == .int(1) && !$0.history.isEmpty }.map(\.id)
            }
        }
        let store = try sqliteStore()
        let config = gridConfig([xs(2), Parameter(name: "sleep", spec: .constant(.double(0.1))),
                                 Parameter(name: "epochs", spec: .constant(.int(8)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try makeAgent(store, sweep, config, pruner: StopX1()).run()
        XCTAssertEqual(report.end, .sweepDone(.exhausted), "a pruned point is not run again")
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .stopped])
        XCTAssertFalse(runs[1].givenBack)
        XCTAssertTrue(runs[1].reason?.hasPrefix("early-terminated by hyperband after") ?? false, "\(runs[1].reason ?? "nil")")
        let history = try store.histories(sweepID: sweep.id, metric: "Valid Loss")[runs[1].id] ?? []
        XCTAssertFalse(history.isEmpty)
        XCTAssertLessThan(history.count, 8)
    }

    func testHyperbandStopsAWorseRunAtItsBand() throws {
        // x = 0 runs first and logs 1, 0.5, …; x = 5 logs 6, 5.5: at band 2 the threshold is the
        // best of the two second values (⌊2/3⌋ = 0), 0.5, so x = 5 is stopped there.
        let store = InMemoryRunStore()
        var config = gridConfig([Parameter(name: "x", spec: cat(.int(0), .int(5))),
                                 Parameter(name: "epochs", spec: .constant(.int(6))),
                                 Parameter(name: "sleep", spec: .constant(.double(0.05)))])
        config.earlyTerminate = .init(minIter: 2, eta: 3)
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        _ = try makeAgent(store, sweep, config, pruner: config.pruner).run()
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .stopped])
        XCTAssertEqual(runs[1].reason, "early-terminated by hyperband after 2 epochs")
        XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss")[runs[1].id]?.prefix(2), [6, 5.5])
    }

    /// The built-in trainer's runs from pre-trained parts log their start as epoch 0: hyperband's
    /// bands count trained epochs after it, so with min_iter 2 the worse run is stopped after its
    /// second trained epoch (its third logged value), not after its first.
    func testHyperbandBandsOfPretrainedRunsCountTrainedEpochs() throws {
        let store = InMemoryRunStore()
        // The built-in trainer's sweep (no program), run here by the fake trial, which numbers
        // its epochs from 0 as the trainer does for such a run.
        var config = SweepConfig(method: .grid, metric: .init(name: "Valid Loss"), parameters: [
            Parameter(name: "x", spec: cat(.int(0), .int(5))), Parameter(name: "epochs", spec: .constant(.int(6))),
            Parameter(name: "sleep", spec: .constant(.double(0.05))), Parameter(name: "first_epoch", spec: .constant(.int(0))),
            Parameter(name: "init_gmf", spec: .constant(.string("gmf.ncf"))), Parameter(name: "init_mlp", spec: .constant(.string("mlp.ncf"))),
        ])
        config.earlyTerminate = .init(minIter: 2, eta: 3)
        XCTAssertTrue(config.usesBuiltInTrainer)
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        _ = try makeAgent(store, sweep, config, pruner: config.pruner).run()
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .stopped])
        XCTAssertEqual(runs[1].reason, "early-terminated by hyperband after 2 epochs")
        let history = try XCTUnwrap(try store.histories(sweepID: sweep.id, metric: "Valid Loss")[runs[1].id])
        XCTAssertGreaterThanOrEqual(history.count, 3, "the start and two trained epochs were logged before the stop")
    }

    /// A sweep whose `data` is a parameter records no file, so each run's summary says which
    /// content it trained on: a run whose copy of the same `data` value differs from an earlier
    /// run's fails, naming both, instead of standing beside them as a result on the same data.
    func testARunOnAnotherCopyOfTheSameDataValueFails() throws {
        let store = InMemoryRunStore()
        let data = tmp.appendingPathComponent("ratings.tsv")
        try "1\t1\t5\n".write(to: data, atomically: true, encoding: .utf8)
        // The built-in trainer's sweep (no program), its trials played by the fake trial.
        let config = SweepConfig(method: .grid, metric: .init(name: "Valid Loss"), parameters: [
            xs(4), Parameter(name: "epochs", spec: .constant(.int(1))), Parameter(name: "data", spec: .constant(.string(data.path))),
        ])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        _ = try makeAgent(store, sweep, config, options: AgentOptions(count: 2)).run()
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.finished, .finished], "the same content: no complaint")
        // Another agent's copy of the file differs.
        try "1\t1\t4\n".write(to: data, atomically: true, encoding: .utf8)
        _ = try makeAgent(store, sweep, config, options: AgentOptions(count: 1)).run()
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .finished, .failed])
        let reason = runs[2].reason ?? ""
        XCTAssertTrue(reason.contains("differs from what run \(runs[0].id) trained on") && reason.contains("copies of that file differ"), reason)
        // The copies made the same again: the failed run's summary does not count against it.
        try "1\t1\t5\n".write(to: data, atomically: true, encoding: .utf8)
        _ = try makeAgent(store, sweep, config, options: AgentOptions(count: 1)).run()
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.finished, .finished, .failed, .finished])
    }

    func testARunMarkedStaleByAnotherAgentIsStoppedAndNotOverwritten() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(1), Parameter(name: "sleep", spec: .constant(.double(0.02))),
                                 Parameter(name: "epochs", spec: .constant(.int(100)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = Log()
        let agent = makeAgent(store, sweep, config, options: AgentOptions(heartbeat: 0.1, grace: 1), log: log)
        let finish = runInBackground(agent)
        try waitUntil("the trial logged an epoch") {
            try store.runs(sweepID: sweep.id).first.map { try !store.metrics(runID: $0.id).isEmpty } ?? false
        }
        // Another agent, with a clock far ahead, decides this run is stale.
        XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 1, now: Date().addingTimeInterval(3600)).count, 1)
        let report = try finish()
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.first?.state, .stale, "the late result does not overwrite the stale state")
        XCTAssertEqual(report.runs[runs[0].id], .stale)
        XCTAssertEqual(runs.filter { $0.state == .finished }.count, 1, "the point was run again")
        XCTAssertTrue(log.all.contains { $0.contains("another agent marked it stale") }, "\(log.all)")
    }

    // MARK: - Other agents

    func testWaitsForAnotherAgentsRunAndRerunsItWhenStale() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(3)])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        // An agent that claimed x = 0 and died.
        guard case .claimed(let dead) = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: GridSampler(),
                                                                        agent: "dead:1", heartbeatEvery: 0.1, now: Date())) else {
            return XCTFail("no claim")
        }
        let log = Log()
        let report = try makeAgent(store, sweep, config, options: AgentOptions(heartbeat: 0.1, grace: 0.5), log: log).run()
        XCTAssertEqual(report.end, .sweepDone(.exhausted))
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(runs[0].id, dead.id)
        XCTAssertEqual(runs[0].state, .stale)
        XCTAssertEqual(runs.filter { $0.state == .finished }.map { $0.config["x"] }.sorted { "\($0!)" < "\($1!)" },
                       [.int(0), .int(1), .int(2)])
        XCTAssertTrue(log.all.contains { $0.contains("waiting for run \(dead.id) of other agents") }, "\(log.all)")
        XCTAssertTrue(log.all.contains { $0.contains("run \(dead.id): marked stale") }, "\(log.all)")
    }

    func testMissingProgramFailsTheRunWithAReason() throws {
        let store = InMemoryRunStore()
        let config = gridConfig([xs(1)])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let agent = Agent(store: store, sweep: sweep, config: config, sampler: GridSampler(), pruner: NopPruner(),
                          command: .external(program: "/nonexistent/train.py", command: ["${program}", "${args}"]),
                          options: AgentOptions(), log: { _ in })
        let report = try agent.run()
        XCTAssertEqual(report.exitCode, 1)
        let run = try XCTUnwrap(store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(run.state, .failed)
        XCTAssertEqual(run.reason, "cannot start /nonexistent/train.py: No such file or directory")
    }

    func testOptionProblems() {
        XCTAssertEqual(AgentOptions().problems, [])
        XCTAssertEqual(AgentOptions(parallel: 0, heartbeat: 10, grace: 5).problems.count, 2)
        XCTAssertTrue(AgentOptions(heartbeat: 10, grace: 5).problems[0].contains("--grace 5.0 must be longer than --heartbeat 10.0"))
    }

    // MARK: - Command lines and JSON Lines

    func testBuiltInTrainerArguments() {
        let command = TrialCommand.builtIn(executable: "/bin/ncf", data: "ratings.tsv")
        let config: [String: ParamValue] = ["lr": .double(0.001), "mlp_dims": .string("16,32,64"), "epochs": .int(10),
                                            "skip_bad_lines": .bool(true), "dropout": .double(1.0), "dims": .list([.int(8), .int(4)])]
        XCTAssertEqual(try command.arguments(config: config, seed: 7, jsonFile: "/tmp/a.json"), [
            "/bin/ncf", "train", "--dims=8,4", "--dropout=1", "--epochs=10", "--lr=0.001", "--mlp_dims=16,32,64",
            "--skip_bad_lines", "--seed=7", "--data=ratings.tsv", "--json",
        ])
        XCTAssertEqual(try command.arguments(config: ["seed": .int(3), "data": .string("x.csv")], seed: 7, jsonFile: ""),
                       ["/bin/ncf", "train", "--data=x.csv", "--seed=3", "--json"], "the config's own seed and data win")
    }

    /// No argv word ever holds a NUL (execve would cut it there, silently changing the value).
    func testArgumentsNeverHoldANUL() {
        let config: [String: ParamValue] = ["tag": .string("a\u{0}b"), "list": .list([.string("c\u{0}")])]
        for command in [TrialCommand.builtIn(executable: "/bin/ncf", data: nil),
                        .external(program: "p", command: TrialCommand.defaultCommand + ["${args_no_hyphens}", "${args_json}"])] {
            XCTAssertThrowsError(try command.arguments(config: config, seed: 1, jsonFile: "/tmp/x.json")) { error in
                XCTAssertEqual((error as? TrialCommandError)?.word, "--list=c\u{0}", "the first such word is named")
                XCTAssertTrue("\(error)".contains(#"'--list=c\0' holds a NUL character"#), "\(error)")
            }
        }
    }

    func testCommandMacros() {
        let config: [String: ParamValue] = ["lr": .double(0.01), "flag": .bool(true), "off": .bool(false),
                                            "opt": .map(["b": .int(1)])]
        func args(_ command: [String]) -> [String] {
            (try? TrialCommand.external(program: "train.py", command: command).arguments(config: config, seed: 1, jsonFile: "/tmp/p.json")) ?? []
        }
        XCTAssertEqual(args(TrialCommand.defaultCommand),
                       ["/usr/bin/env", "python3", "train.py", "--flag=true", "--lr=0.01", "--off=false", #"--opt={"b":1}"#])
        XCTAssertEqual(args(["${program}", "${args_no_hyphens}"]), ["train.py", "flag=true", "lr=0.01", "off=false", #"opt={"b":1}"#])
        XCTAssertEqual(args(["${program}", "${args_no_boolean_flags}"]), ["train.py", "--flag", "--lr=0.01", #"--opt={"b":1}"#])
        XCTAssertEqual(args(["${interpreter}", "${program}", "${args_json}"]),
                       ["python3", "train.py", #"{"flag":true,"lr":0.01,"off":false,"opt":{"b":1}}"#])
        XCTAssertEqual(args(["${program}", "--config=${args_json_file}", "fixed"]), ["train.py", "--config=/tmp/p.json", "fixed"])
        XCTAssertTrue(TrialCommand.external(program: "p", command: ["${args_json_file}"]).usesJSONFile)
        XCTAssertFalse(TrialCommand.external(program: "p", command: TrialCommand.defaultCommand).usesJSONFile)
    }

    func testBuiltInTrialsKeepTheEpochTheSweepRanksThemBy() throws {
        let metric = SweepConfig.Metric(name: "Valid HR@10", goal: .maximize)
        let command = TrialCommand.builtIn(executable: "/bin/ncf", data: nil, metric: metric)
        XCTAssertEqual(try command.arguments(config: ["epochs": .int(2)], seed: 1, jsonFile: ""),
                       ["/bin/ncf", "train", "--epochs=2", "--seed=1", "--select_metric=Valid HR@10", "--select_goal=maximize", "--json"])
        XCTAssertEqual(try command.arguments(config: ["select_metric": .string("Valid NDCG@10")], seed: 1, jsonFile: ""),
                       ["/bin/ncf", "train", "--select_metric=Valid NDCG@10", "--seed=1", "--json"], "the config's own choice wins")
    }

    func testParameterValuesForPeopleAreRounded() {
        XCTAssertEqual(TrialCommand.displayText(.double(0.007900491811886342)), "0.0079")
        XCTAssertEqual(TrialCommand.flagText(.double(0.007900491811886342)), "0.007900491811886342")
        XCTAssertEqual(TrialCommand.displayText(.int(64)), "64")
    }

    // MARK: - Steering (ncf sweep stop|cancel|pause|resume)

    /// Cancel: the running trials are stopped within a heartbeat, each run `stopped` with the
    /// reason, and the agent claims nothing more.
    func testCancelStopsRunningTrialsWithinAHeartbeat() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(6), Parameter(name: "sleep", spec: .constant(.double(0.4))), Parameter(name: "epochs", spec: .constant(.int(20)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = Log()
        let wait = runInBackground(makeAgent(store, sweep, config, options: AgentOptions(parallel: 2, heartbeat: 0.2), log: log))
        try waitUntil("two trials logged an epoch", timeout: 30) { try store.histories(sweepID: sweep.id, metric: "Valid Loss").count == 2 }
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .cancelled), .running)
        let report = try wait()
        XCTAssertEqual(report.end, .sweepDone(.cancelled))
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 2, "no claim after the cancel:\n\(log.all.joined(separator: "\n"))")
        for run in runs {
            XCTAssertEqual(run.state, .stopped, "\(run)")
            XCTAssertTrue(run.reason?.contains("cancelled") ?? false, "\(run.reason ?? "no reason")")
            XCTAssertFalse(run.givenBack, "a cancelled run keeps its point")
            let epochs = try store.metrics(runID: run.id).filter { $0.name == "epoch" }.count
            XCTAssertLessThan(epochs, 20, "stopped early")
        }
        XCTAssertEqual(try store.sweep(id: sweep.id).state, .cancelled)
    }

    /// Stop: running trials finish, nothing new is claimed.
    func testStopLetsRunningTrialsFinishAndClaimsNothingMore() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(6), Parameter(name: "sleep", spec: .constant(.double(0.3)))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let wait = runInBackground(makeAgent(store, sweep, config, options: AgentOptions(heartbeat: 0.2)))
        try waitUntil("a run claimed", timeout: 30) { try store.runs(sweepID: sweep.id).count == 1 }
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .stopped), .running)
        let report = try wait()
        XCTAssertEqual(report.end, .sweepDone(.stopped))
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished], "the running run finished; nothing more was claimed")
    }

    /// Pause: the agent waits (spending nothing of --count); resume: it goes on to the end.
    func testPausedSweepWaitsUntilResumed() throws {
        let store = try sqliteStore()
        let config = gridConfig([xs(3)])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .paused), .running)
        let log = Log()
        let wait = runInBackground(makeAgent(store, sweep, config, options: AgentOptions(count: 3, heartbeat: 0.1), log: log))
        try waitUntil("the agent says it waits", timeout: 10) { log.all.contains { $0.contains("paused") } }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(try store.runs(sweepID: sweep.id).count, 0, "nothing claimed while paused")
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .running), .paused)
        let report = try wait()
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.finished, .finished, .finished], log.all.joined(separator: "\n"))
        XCTAssertEqual(report.end, .countReached(3))
    }

    /// More slots than --count: the slots that find the count reserved by another slot's claim
    /// wait for that claim, which a paused sweep gives back, instead of ending the agent.
    func testPausedSweepWaitsWithMoreSlotsThanTheCount() throws {
        let store = try sqliteStore()
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .paused), .running)
        let log = Log()
        let wait = runInBackground(makeAgent(store, sweep, gridConfig([xs(3)]), options: AgentOptions(count: 1, parallel: 4, heartbeat: 0.1), log: log))
        try waitUntil("the agent says it waits", timeout: 10) { log.all.contains { $0.contains("paused") } }
        Thread.sleep(forTimeInterval: 0.5)
        let whilePaused = log.all
        XCTAssertEqual(whilePaused.filter { $0.contains("paused") }.count, 1, "one notice, not one per slot:\n" + whilePaused.joined(separator: "\n"))
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .running), .paused)
        let report = try wait()
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.finished], log.all.joined(separator: "\n"))
        XCTAssertEqual(report.end, .countReached(1))
    }

    /// A stopped sweep ends an agent with more slots than its count as stopped, not as count reached.
    func testStoppedSweepEndsAnAgentWithMoreSlotsThanTheCount() throws {
        let store = try sqliteStore()
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .stopped), .running)
        let report = try runInBackground(makeAgent(store, sweep, gridConfig([xs(3)]), options: AgentOptions(count: 1, parallel: 4)))()
        XCTAssertEqual(report.end, .sweepDone(.stopped))
        XCTAssertEqual(try store.runs(sweepID: sweep.id).count, 0)
    }
}
