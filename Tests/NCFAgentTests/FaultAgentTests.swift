import Foundation
import NCFKernels
import NCFTestSupport
import XCTest

@testable import NCFAgent
@testable import NCFSweep

/// Faults around one agent, in-process, with `Assets/fault-trial.sh` as the trial: heartbeats
/// during long epochs, late results for stale runs, every way a trial can fail, bayes over
/// failed runs, and SIGTERM.
final class FaultAgentTests: XCTestCase {
    private var tmp: URL!
    private var script: String!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-fault-agent")
        script = try Self.installFaultTrial(into: tmp)
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    /// Copies `Assets/fault-trial.sh` into `directory` as an executable and returns its path.
    static func installFaultTrial(into directory: URL) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Assets").appendingPathComponent("fault-trial.sh")
        let path = directory.appendingPathComponent("fault-trial.sh").path
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    // MARK: Helpers

    private func values(_ name: String, _ values: ParamValue...) -> Parameter {
        Parameter(name: name, spec: .categorical(values, probabilities: nil))
    }

    private func constant(_ name: String, _ value: ParamValue) -> Parameter { Parameter(name: name, spec: .constant(value)) }

    private func config(_ parameters: [Parameter], method: SweepConfig.Method = .grid, runCap: Int? = nil,
                        impute: SweepConfig.Impute = .worst) -> SweepConfig {
        SweepConfig(method: method, metric: .init(name: "Valid Loss", impute: impute), parameters: parameters,
                    runCap: runCap, program: script, command: ["${program}", "${args}"])
    }

    private typealias Log = LineLog

    private func agent(_ store: any RunStore, _ sweep: SweepRecord, _ config: SweepConfig, _ options: AgentOptions,
                       log: Log = Log(), id: String = Agent.defaultID()) -> Agent {
        Agent(store: store, sweep: sweep, config: config, sampler: config.sampler, pruner: config.pruner,
              command: .external(program: script, command: ["${program}", "${args}"]), options: options, agentID: id,
              log: { log.add($0) })
    }

    private func sqliteStore(_ name: String = "store.db") throws -> SQLiteRunStore {
        try SQLiteRunStore(path: tmp.appendingPathComponent(name).path, create: true)
    }

    /// Starts `agent.run()` on a thread; the returned closure waits for it (at most 60 s).
    private func background(_ agent: Agent) -> () throws -> AgentReport { inBackground { try agent.run() } }

    // MARK: - Heartbeats

    /// Heartbeats are per agent, on a timer, not per epoch: epochs of 1.2 s with a grace of 0.5 s
    /// never make a live run stale, though two agents and the test itself look for stale runs
    /// all the time.
    func testALiveRunWhoseEpochsOutlastTheGraceIsNotMarkedStale() throws {
        let store = try sqliteStore()
        let cfg = config([values("x", .int(0), .int(1)), constant("sleep", .double(1.2)), constant("epochs", .int(2))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let options = AgentOptions(heartbeat: 0.1, grace: 0.5)
        let logs = [Log(), Log()]
        let finishes = [background(agent(store, sweep, cfg, options, log: logs[0], id: "a:1")),
                        background(agent(store, sweep, cfg, options, log: logs[1], id: "b:2"))]
        let watcher = try SQLiteRunStore(path: store.path, create: false)
        var looks = 0
        // Look for stale runs with the real clock until both runs have ended.
        try waitUntil("both runs ended") {
            XCTAssertEqual(try watcher.markStale(sweepID: sweep.id, grace: 0.5, now: Date()), [], "a live run was marked stale")
            looks += 1
            let runs = try watcher.runs(sweepID: sweep.id)
            return runs.count == 2 && runs.allSatisfy { $0.state.isFinished }
        }
        let reports = try finishes.map { try $0() }
        XCTAssertGreaterThan(looks, 20, "the test looked for stale runs throughout")
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.finished, .finished])
        XCTAssertEqual(Set(runs.map(\.agent)), ["a:1", "b:2"], "each agent ran one point")
        XCTAssertTrue(reports.allSatisfy { $0.exitCode == 0 })
        for log in logs { XCTAssertFalse(log.all.contains { $0.contains("stale") }, "\(log.all)") }
        XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss").values.map(\.count), [2, 2])
    }

    /// A run marked stale while its agent was only slow: the agent's result still arrives, is
    /// kept with the run (summary, exit code, a note) with a warning, the run stays stale, the
    /// point runs again, and nothing crashes.
    func testAResultArrivingForAStaleRunIsKeptWithAWarning() throws {
        let store = try sqliteStore()
        let cfg = config([values("x", .int(4)), constant("sleep", .double(0.3)), constant("epochs", .int(3))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = Log()
        // A heartbeat every 5 s: the agent does not notice the stale mark before its trial ends.
        let finish = background(agent(store, sweep, cfg, AgentOptions(heartbeat: 5, grace: 6), log: log))
        try waitUntil("the trial logged an epoch") {
            try store.runs(sweepID: sweep.id).first.map { try !store.metrics(runID: $0.id).isEmpty } ?? false
        }
        // Another agent, whose clock runs far ahead, marks it stale.
        let first = try XCTUnwrap(store.runs(sweepID: sweep.id).first)
        XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 6, now: Date().addingTimeInterval(3600)), [first.id])
        let report = try finish()

        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.stale, .finished], "the point ran again")
        XCTAssertEqual(report.runs[first.id], .stale)
        XCTAssertEqual(report.exitCode, 0)
        let late = runs[0]
        XCTAssertEqual(late.summary, #"{"Test RMSE":4,"protocol":"fault"}"#, "the late summary is kept")
        XCTAssertEqual(late.exitCode, 0)
        XCTAssertTrue(late.reason?.contains("; late result: finished (exit code 0) at ") ?? false, late.reason ?? "nil")
        XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss")[late.id]?.count, 3, "its metrics are kept")
        XCTAssertTrue(log.all.contains { $0.contains("run \(late.id): warning: another agent had marked it stale") }, "\(log.all)")
        XCTAssertEqual(try store.bestRun(sweepID: sweep.id, metric: cfg.metric!)?.run.id, runs[1].id, "a stale run never counts as best")
    }

    // MARK: - Failing trials

    /// Every way a trial can fail ends `failed` with its reason, and the sweep goes on to finish
    /// every other point.
    func testEveryKindOfFailingTrialIsFailedWithItsReasonAndTheSweepGoesOn() throws {
        let store = try sqliteStore()
        let cfg = config([values("x", .int(0), .int(5)),
                          values("mode", .string("ok"), .string("nan"), .string("inf"), .string("fail"), .string("crash"),
                                 .string("segv"), .string("hang"))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let report = try agent(store, sweep, cfg, AgentOptions(parallel: 4, trialTimeout: 1, maxInitialFailures: 0, killAfter: 2)).run()
        XCTAssertEqual(report.end, .sweepDone(.exhausted))
        XCTAssertEqual(report.exitCode, 0, "some trials finished")
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 14)
        XCTAssertFalse(runs.contains { $0.state == .running })
        func run(_ mode: String, _ x: Int) throws -> StoredRun {
            try XCTUnwrap(runs.first { $0.config["mode"] == .string(mode) && $0.config["x"] == .int(x) }, "\(mode) \(x)")
        }
        let expected: [(mode: String, state: RunState, reason: String?)] = [
            ("ok", .finished, nil),
            ("nan", .failed, "non-finite loss: Train Loss is not a finite number at epoch 3"),
            ("inf", .failed, "non-finite loss: Train Loss is not a finite number at epoch 1"),
            ("fail", .failed, "exit code 3: Error: boom (x=X)"),
            ("crash", .failed, "killed by signal 9 (SIGKILL)"),
            ("segv", .failed, "killed by signal 11 (SIGSEGV)"),
            ("hang", .failed, "timed out after 1 s"),
        ]
        for x in [0, 5] {
            for (mode, state, reason) in expected {
                let r = try run(mode, x)
                XCTAssertEqual(r.state, state, "\(mode) x=\(x): \(r.reason ?? "")")
                XCTAssertEqual(r.reason, reason?.replacingOccurrences(of: "X", with: String(x)), "\(mode) x=\(x)")
            }
        }
        XCTAssertEqual(try run("segv", 0).exitCode, 128 + SIGSEGV)
    }

    /// Bayes imputes failed runs by `metric.impute`: `worst` is the worst value any run logged;
    /// `best` and `latest` are the run's own best and last value, or the worst when it logged none.
    func testBayesImputesFailedRunsByMetricImpute() throws {
        let store = try sqliteStore()
        let parameters = [values("x", .int(0), .int(5)), values("mode", .string("ok"), .string("nan"), .string("fail"))]
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        _ = try agent(store, sweep, config(parameters), AgentOptions(parallel: 2, maxInitialFailures: 0)).run()
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.count, 6)
        let histories = try store.histories(sweepID: sweep.id, metric: "Valid Loss")
        let worst = 6.0 // x = 5, ok, epoch 1: 5 + 1/1

        for (impute, nanValue, failValue) in [(SweepConfig.Impute.worst, { (_: Double) in worst }, worst),
                                              (.best, { (x: Double) in x + 0.5 }, worst),
                                              (.latest, { (x: Double) in x + 1 }, worst)] {
            let cfg = config(parameters, method: .bayes, impute: impute)
            let records = runs.map { $0.record(history: histories[$0.id] ?? [], metric: cfg.metric) }
            let space = SearchSpace(cfg.parameters)
            let data = BayesSampler.observations(records, space: space, metric: cfg.metric!)
            XCTAssertEqual(data.points.count, 6, "\(impute): every run is an observation")
            XCTAssertTrue(data.pending.isEmpty)
            for run in runs {
                let point = try XCTUnwrap(space.encode(run.config))
                let value = try XCTUnwrap(data.points.firstIndex(of: point).map { data.values[$0] }, "\(run.config)")
                guard case .int(let xi)? = run.config["x"], case .string(let mode)? = run.config["mode"] else { return XCTFail() }
                let x = Double(xi)
                switch mode {
                case "ok": XCTAssertEqual(value, x + 1.0 / 3, accuracy: 1e-6, "finished runs count by their best")
                case "nan": XCTAssertEqual(value, nanValue(x), accuracy: 1e-6, "\(impute) nan x=\(x)")
                default: XCTAssertEqual(value, failValue, accuracy: 1e-6, "\(impute) fail x=\(x)")
                }
            }
        }

        // A whole bayes sweep with failing points goes on to its run_cap.
        let bayes = config([Parameter(name: "x", spec: .uniform(min: 0, max: 5)),
                            values("mode", .string("ok"), .string("fail"), .string("nan"))], method: .bayes, runCap: 8)
        let sweep2 = try store.createSweep(configText: "", seed: 2, now: Date())
        let report = try agent(store, sweep2, bayes, AgentOptions(maxInitialFailures: 0)).run()
        XCTAssertEqual(report.end, .sweepDone(.runCap(8)))
        let bayesRuns = try store.runs(sweepID: sweep2.id)
        XCTAssertEqual(bayesRuns.count, 8)
        XCTAssertTrue(bayesRuns.allSatisfy { $0.state == .finished || $0.state == .failed }, "\(bayesRuns.map(\.state))")
    }

    // MARK: - Signals

    /// SIGTERM (as `ncf agent` forwards it) stops like Ctrl-C, but the trials get SIGTERM, the
    /// reason names it and the exit code is 143.
    func testSIGTERMStopsTrialsAndExits143() throws {
        let store = try sqliteStore()
        let cfg = config([values("x", .int(0), .int(1)), constant("sleep", .double(0.2)), constant("epochs", .int(50))])
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let log = Log()
        let running = agent(store, sweep, cfg, AgentOptions(parallel: 2), log: log)
        let finish = background(running)
        try waitUntil("both trials logged an epoch") {
            try store.runs(sweepID: sweep.id).filter { try !store.metrics(runID: $0.id).isEmpty }.count == 2
        }
        running.interrupt(signal: SIGTERM)
        let report = try finish()
        XCTAssertEqual(report.end, .interrupted)
        XCTAssertEqual(report.signal, SIGTERM)
        XCTAssertEqual(report.exitCode, 143)
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.stopped, .stopped])
        XCTAssertTrue(runs.allSatisfy { $0.givenBack && ($0.reason ?? "").hasPrefix("interrupted (SIGTERM) after") }, "\(runs.map(\.reason))")
        XCTAssertEqual(runs.map(\.exitCode), [143, 143], "the trials got SIGTERM, finished their epoch and exited 143")
        XCTAssertTrue(runs.allSatisfy { $0.summary != nil })
        XCTAssertTrue(log.all.contains { $0.contains("send SIGTERM again to stop now") }, "\(log.all)")
    }
}
