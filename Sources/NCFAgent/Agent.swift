import Foundation
import NCFRunContract
import NCFSweep

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The agent: claim a run from the store, run its trial as a child process, stream the trial's
// JSON Lines into the store, keep a heartbeat, ask the pruner after every epoch, and record how
// the trial ended. `--parallel P` runs P such loops side by side; any number of agents, in any
// number of processes, may share one store.

/// How an agent runs.
public struct AgentOptions: Sendable, Equatable {
    /// Runs this agent starts (nil: until the sweep has no more work).
    public var count: Int?
    /// Trials run at the same time.
    public var parallel: Int
    /// Seconds between heartbeats.
    public var heartbeat: Double
    /// A running run whose heartbeat is older than this (and than 3 of its agent's heartbeat
    /// intervals) is `stale` and its point is given back.
    public var grace: Double
    /// A trial running longer than this many seconds is stopped and `failed`.
    public var trialTimeout: Double?
    /// Stop when this agent's first N trials all fail fast (the config is broken); 0 = never.
    public var maxInitialFailures: Int
    /// A failure within this many seconds of the start counts as fast.
    public var fastFailureSeconds: Double
    /// After SIGTERM (pruned, timed out, non-finite loss), SIGKILL follows after this many seconds.
    public var killAfter: Double
    /// The data this agent trains on instead of the sweep's (`--override_data`), recorded on each
    /// run it claims; nil when it trains on the sweep's data.
    public var dataOverride: String?
    /// The command that joins this sweep again, as the hints print it (`ncf agent ID --store …`);
    /// nil: `ncf agent ID`.
    public var rejoinCommand: String?

    /// Defaults: one trial at a time, heartbeat every 10 s, stale after 60 s, the config judged
    /// broken when the first 3 trials each fail within 60 s.
    ///
    /// Why 10 s and 60 s: a heartbeat is one small write per agent (not per trial or epoch), so
    /// every 10 s costs nothing even with dozens of agents on one store; 60 s (six missed beats)
    /// rides out a busy disk or a stalled machine without marking a live run stale, yet gives a
    /// killed agent's point back within about a minute. A run's own heartbeat interval also
    /// counts: it is stale only after `max(grace, 3 × heartbeat)` seconds of silence.
    public init(count: Int? = nil, parallel: Int = 1, heartbeat: Double = 10, grace: Double = 60,
                trialTimeout: Double? = nil, maxInitialFailures: Int = 3, fastFailureSeconds: Double = 60,
                killAfter: Double = 30) {
        self.count = count
        self.parallel = parallel
        self.heartbeat = heartbeat
        self.grace = grace
        self.trialTimeout = trialTimeout
        self.maxInitialFailures = maxInitialFailures
        self.fastFailureSeconds = fastFailureSeconds
        self.killAfter = killAfter
    }

    /// The problems with these options, one sentence each (empty when usable).
    public var problems: [String] {
        var out: [String] = []
        if let count, count < 0 { out.append("--count \(count): use 0 or more runs") }
        if parallel < 1 { out.append("--parallel \(parallel): use 1 or more trials at a time") }
        // Seconds are bounded (a week) so that timers and log lines never overflow.
        let week = 7 * 86_400.0
        if !(heartbeat > 0 && heartbeat <= week) { out.append("--heartbeat \(heartbeat): use a positive number of seconds up to a week, e.g. 10") }
        if !(grace > heartbeat) {
            out.append("--grace \(grace) must be longer than --heartbeat \(heartbeat), or live runs would be marked stale; e.g. --grace \(max(60, 6 * min(heartbeat, week)))")
        } else if !(grace <= week) {
            out.append("--grace \(grace): use at most a week of seconds (\(Int(week)))")
        }
        if let t = trialTimeout, !(t > 0 && t <= 365 * 86_400) { out.append("--trial_timeout \(t): use a positive number of seconds up to a year") }
        if maxInitialFailures < 0 { out.append("--max_initial_failures \(maxInitialFailures): use 0 (off) or more") }
        return out
    }
}

/// Why an agent stopped.
public enum AgentEnd: Sendable, Equatable, CustomStringConvertible {
    /// The sweep has no more work: search space exhausted, `run_cap` reached or `metric.target` reached.
    case sweepDone(SweepDone)
    /// It started its `--count` runs.
    case countReached(Int)
    /// Ctrl-C or SIGTERM (`AgentReport.signal` says which): its running trials were stopped and given back.
    case interrupted
    /// Its first trials all failed fast; the message names them and what to do.
    case configLooksBroken(String)
    /// The store did not take a run's metrics or its end (a full disk, a file-size limit): the
    /// agent claimed nothing more; the message names the run, what became of it and what to do.
    case storeFailed(String)

    var isSweepDone: Bool {
        if case .sweepDone = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .sweepDone(let done):
            switch done {
            case .stopped, .cancelled, .paused: return "\(done)"
            default: return "the sweep is done: \(done)"
            }
        case .countReached(let n): return "started its \(n) run\(n == 1 ? "" : "s") (--count)"
        case .interrupted: return "interrupted; running trials were stopped and their points given back"
        case .configLooksBroken(let message), .storeFailed(let message): return message
        }
    }
}

/// What an agent did.
public struct AgentReport: Sendable, Equatable {
    public var end: AgentEnd
    /// The final state of each run this agent ran, by run id.
    public var runs: [Int: RunState]
    /// The signal that interrupted the agent (SIGINT for `interrupt()`), when `end` is `.interrupted`.
    public var signal: Int32

    public init(end: AgentEnd, runs: [Int: RunState], signal: Int32 = SIGINT) {
        self.end = end
        self.runs = runs
        self.signal = signal
    }

    /// 0 normally; 128 + the signal when interrupted (130 for Ctrl-C, 143 for SIGTERM); 1 when the
    /// config looks broken, the store did not take a result, or every trial failed.
    public var exitCode: Int32 {
        switch end {
        case .interrupted: return 128 + signal
        case .configLooksBroken, .storeFailed: return 1
        default: return !runs.isEmpty && runs.values.allSatisfy { $0 == .failed } ? 1 : 0
        }
    }
}

/// Runs a sweep's trials as child processes, any number of agents sharing one store.
///
/// Each of `parallel` slots loops: mark stale runs → claim (one atomic store transaction) → run
/// the trial → record its end. A heartbeat thread keeps this agent's runs alive in the store.
/// When the sweep has no unclaimed work but other agents' runs are still `running`, a slot waits:
/// if such a run goes stale, its point comes back and the slot runs it.
///
/// How a trial ends → the run's state and reason:
/// - exit 0 → `finished`; but `failed` "metric `X` never logged; it logged: …" when the sweep has
///   a metric and no line named it (a misspelt metric: it counts towards `maxInitialFailures`);
/// - a NaN/±inf/null loss (or sweep metric) on a line → stopped at once, `failed` "non-finite loss: …";
/// - pruned by hyperband → SIGTERM, `stopped` "early-terminated by hyperband after N epochs";
/// - Ctrl-C or SIGTERM to the agent → the same signal to the trial (the trainer finishes its
///   epoch), `stopped` "interrupted", point given back; a second signal SIGKILLs the trial;
/// - `--trial_timeout` → SIGTERM, `failed` "timed out after S s";
/// - a non-zero exit whose last error line reports a diverged loss (the built-in trainer's
///   divergence message, `RunExitCode`) → `failed` "non-finite loss (exit code 4): …";
/// - other non-zero exit → `failed` "exit code C: <last stderr line>"; a signal → `failed`
///   "killed by signal S (NAME)";
/// - its metrics could not be written to the store → SIGTERM, `failed` "could not record its
///   metrics …", point given back (never `finished` with a partial history), and the agent claims
///   no more runs (`AgentEnd.storeFailed`).
///
/// When the trial's process ends, whatever it started ends too (see `TrialProcess`), and a stdout
/// line longer than 1 MB is cut (noted once in the log and on the run's reason).
///
/// Non-finite losses are a property of the point, so they never count towards the
/// `maxInitialFailures` guard, which stops an agent whose first trials all fail fast otherwise.
public final class Agent: @unchecked Sendable {
    public let store: any RunStore
    public let sweep: SweepRecord
    public let config: SweepConfig
    public let sampler: any Sampler
    public let pruner: any Pruner
    public let command: TrialCommand
    public let options: AgentOptions
    /// `host:pid`, recorded with each run this agent claims.
    public let agentID: String
    private let log: @Sendable (String) -> Void
    private let scratch: URL

    /// `ncf agent ID`, with the store's words when the CLI gave them.
    private var rejoin: String { options.rejoinCommand ?? "ncf agent \(sweep.id)" }

    // MARK: State (guarded by `condition`)

    private let condition = NSCondition()
    private var active: [Int: ActiveTrial] = [:]
    /// Claims --count still allows, less those in flight (nil: no --count).
    private var claimsLeft: Int?
    /// Claims reserved from `claimsLeft` whose outcome is not known yet: a paused or finished
    /// sweep gives them back, so a slot that finds `claimsLeft` at 0 waits for them first.
    private var claimsInFlight = 0
    /// Whether this agent has said that the sweep is paused (once, not once per slot).
    private var pausedNoticeShown = false
    private var interrupts = 0
    /// The first interrupting signal.
    private var interruptSignal: Int32 = SIGINT
    private var end: AgentEnd?
    private var results: [Int: RunState] = [:]
    /// This agent's first completed trials: (run id, failed fast, reason).
    private var firstResults: [(id: Int, fast: Bool, reason: String)] = []
    private var heartbeatStopped = false
    private var bestSoFar: Double?

    /// - Parameters:
    ///   - log: receives one human-readable line per event (run started/ended, warnings).
    public init(store: any RunStore, sweep: SweepRecord, config: SweepConfig, sampler: any Sampler, pruner: any Pruner,
                command: TrialCommand, options: AgentOptions, agentID: String = Agent.defaultID(),
                log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.sweep = sweep
        self.config = config
        self.sampler = sampler
        self.pruner = pruner
        self.command = command
        self.options = options
        self.agentID = agentID
        self.log = log
        self.claimsLeft = options.count
        self.scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("ncf-agent-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    /// Makes this process a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`): a trial's
    /// descendant whose parent exits is reparented to the agent instead of init, so the agent
    /// reaps it when it ends the trial's tree, and zombies of orphans that exited on their own
    /// are reaped at each trial's end. Call once, early, and only in a process whose children
    /// are all trials (the `ncf agent` process): every other zombie child is reaped too.
    /// Elsewhere (and in tests) orphans go to init, and trees are still ended.
    /// - Returns: whether the process is now a subreaper.
    @discardableResult
    public static func adoptOrphans() -> Bool {
        #if os(Linux)
        // prctl is variadic in C, so Swift cannot call it directly; the symbol is called with
        // its five integer arguments, as the x86-64 and AArch64 Linux calling conventions allow.
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(nil, "prctl") else { return false } // nil: RTLD_DEFAULT in glibc
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        let PR_SET_CHILD_SUBREAPER: Int32 = 36
        guard prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 else { return false }
        ProcessTree.adoptsOrphans = true
        return true
        #else
        return false
        #endif
    }

    /// `host:pid`.
    public static func defaultID() -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        return "\(host):\(getpid())"
    }

    // MARK: - Running

    /// Runs until the sweep is done, `count` runs were started, the config looks broken, or
    /// `interrupt()` was called; every run this agent started is out of `running` when it returns.
    /// Call once per agent.
    /// - Throws: a store error that prevents claiming (its running trials are stopped first).
    public func run() throws -> AgentReport {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let group = DispatchGroup()
        let heartbeatDone = DispatchSemaphore(value: 0)
        Thread { [self] in
            heartbeatLoop()
            heartbeatDone.signal()
        }.start()
        let errors = ErrorBox()
        for _ in 0..<max(1, options.parallel) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                do {
                    try slotLoop()
                } catch {
                    // The store failed: stop the other slots' trials too, then throw.
                    errors.set(error)
                    interrupt(quietly: true)
                }
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
        group.wait()
        condition.lock()
        heartbeatStopped = true
        condition.broadcast()
        let report = AgentReport(end: end ?? .interrupted, runs: results, signal: interruptSignal)
        condition.unlock()
        heartbeatDone.wait()
        if let error = errors.get() { throw error }
        return report
    }

    /// Ctrl-C (`signal` SIGINT) or SIGTERM: the first call stops claiming and sends the same
    /// signal to every running trial (each finishes its epoch and is `stopped`, its point given
    /// back); the second SIGKILLs them now. The agent's exit code becomes 128 + the first signal.
    public func interrupt(signal: Int32 = SIGINT) {
        interrupt(quietly: false, signal: signal)
    }

    private func interrupt(quietly: Bool, signal sig: Int32 = SIGINT) {
        condition.lock()
        interrupts += 1
        let n = interrupts
        if n == 1 { interruptSignal = sig }
        let first = interruptSignal
        if end == nil || end!.isSweepDone { end = .interrupted }
        let trials = Array(active.values)
        condition.broadcast()
        condition.unlock()
        for trial in trials {
            trial.mark { $0.interrupted = true }
            trial.process?.signal(n == 1 ? first : SIGKILL)
        }
        if !quietly {
            let again = first == SIGINT ? "Ctrl-C" : "send \(signalName(first) ?? "the signal")"
            if n == 1 && !trials.isEmpty {
                log("stopping: \(trials.count) running trial\(trials.count == 1 ? "" : "s") will finish the current epoch (\(again) again to stop now)")
            } else if n > 1 && !trials.isEmpty {
                log("stopping now: killing \(trials.count) running trial\(trials.count == 1 ? "" : "s")")
            }
        }
    }

    /// Whether a signal (or a store failure) has asked the agent to stop.
    private var interrupted: Bool {
        condition.lock()
        defer { condition.unlock() }
        return interrupts > 0
    }

    /// Sleeps up to `seconds`, waking early when the agent is stopping.
    private func pause(_ seconds: Double) {
        condition.lock()
        if end == nil || end!.isSweepDone { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        condition.unlock()
    }

    // MARK: - One slot

    private func slotLoop() throws {
        var waitingLogged = false
        while true {
            condition.lock()
            // Another slot seeing the sweep done does not end this one: it claims once more after
            // its own trial, so the last claim of the sweep finds no run running and marks it finished.
            if let end, !end.isSweepDone { condition.unlock(); return }
            var reserved = false
            if let left = claimsLeft {
                if left <= 0 {
                    // The count is spent only by claims that got a run: another slot's claim in
                    // flight may come back (a paused sweep), so wait for its outcome first.
                    if claimsInFlight > 0 { condition.wait(); condition.unlock(); continue }
                    end = .countReached(options.count ?? 0)
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                claimsLeft = left - 1
                claimsInFlight += 1
                reserved = true
            }
            condition.unlock()
            /// Ends this slot's reservation: spent when it got a run, else given back.
            func settle(claimed: Bool) {
                guard reserved else { return }
                reserved = false
                condition.lock()
                claimsInFlight -= 1
                if !claimed { claimsLeft! += 1 }
                if claimed { pausedNoticeShown = false }
                condition.broadcast()
                condition.unlock()
            }

            let now = Date()
            let outcome: ClaimOutcome
            do {
                for id in try store.markStale(sweepID: sweep.id, grace: options.grace, now: now) {
                    log("run \(id): marked stale (its agent stopped sending heartbeats); its point goes back to the sweep")
                }
                // A signal that arrived meanwhile: claim nothing more.
                if interrupted { settle(claimed: false); return }
                outcome = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: sampler, agent: agentID,
                                                          heartbeatEvery: options.heartbeat, now: now,
                                                          dataOverride: options.dataOverride))
            } catch {
                settle(claimed: false)
                throw error
            }
            if case .claimed = outcome { settle(claimed: true) } else { settle(claimed: false) }
            switch outcome {
            case .claimed(let run):
                waitingLogged = false
                TestPause.at("after-claim")
                runTrial(run)
            case .done(.paused):
                // Paused by the user: wait for `ncf sweep resume` (or a stop/cancel) without
                // spending the count; running trials go on.
                condition.lock()
                let notice = !pausedNoticeShown
                pausedNoticeShown = true
                condition.unlock()
                if notice { log("\(SweepDone.paused); waiting (`ncf sweep resume \(sweep.id)`)") }
                pause(max(0.05, min(1, options.heartbeat)))
            case .done(let done) where done == .stopped || done == .cancelled:
                // Steered by the user: claim nothing more; this agent's running trials finish
                // (stop) or were stopped by the heartbeat (cancel).
                condition.lock()
                if end == nil { end = .sweepDone(done) }
                condition.broadcast()
                condition.unlock()
                return
            case .done(let done):
                let others = try store.runs(sweepID: sweep.id).filter { $0.state == .running && $0.agent != agentID }
                var targetReached = false
                if case .target = done { targetReached = true }
                if others.isEmpty || targetReached {
                    condition.lock()
                    if end == nil { end = .sweepDone(done) }
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                if !waitingLogged {
                    waitingLogged = true
                    let ids = others.map { String($0.id) }.joined(separator: ", ")
                    log("\(done); waiting for run\(others.count == 1 ? "" : "s") \(ids) of other agents to finish (a run whose agent died comes back here after --grace \(formatSeconds(options.grace)))")
                }
                pause(max(0.05, min(1, options.grace / 4)))
            }
        }
    }

    // MARK: - One trial

    private func runTrial(_ run: StoredRun) {
        let started = Date()
        let trial = ActiveTrial()
        let paramsText = run.config.keys.sorted().map { "\($0)=\(TrialCommand.displayText(run.config[$0]!))" }.joined(separator: " ")
        log("run \(run.id) started: \(paramsText)")

        let jsonFile = scratch.appendingPathComponent("run-\(run.id).json").path
        let stderrFile = scratch.appendingPathComponent("run-\(run.id).stderr").path
        defer {
            try? FileManager.default.removeItem(atPath: jsonFile)
            try? FileManager.default.removeItem(atPath: stderrFile)
        }
        if command.usesJSONFile {
            try? ParamValue.canonicalJSON(run.config).write(toFile: jsonFile, atomically: true, encoding: .utf8)
        }
        let arguments: [String]
        do {
            arguments = try command.arguments(config: run.config, seed: run.seed, jsonFile: jsonFile)
        } catch {
            let reason = (error as? TrialCommandError)?.reason ?? "\(error)"
            finish(run, state: .failed, reason: reason, exitCode: nil, summary: nil, givenBack: false, started: started,
                   failedFast: true)
            return
        }
        let environment = ["NCF_SWEEP_ID": sweep.id, "NCF_RUN_ID": String(run.id), "NCF_RUN_SEED": String(run.seed)]

        let process: TrialProcess
        do {
            process = try TrialProcess(arguments: arguments, environment: environment, stderrPath: stderrFile)
        } catch {
            let reason = (error as? TrialLaunchError)?.reason ?? "\(error)"
            finish(run, state: .failed, reason: reason, exitCode: nil, summary: nil, givenBack: false, started: started,
                   failedFast: true)
            return
        }
        trial.process = process
        condition.lock()
        active[run.id] = trial
        let alreadyInterrupted = interrupts
        let interruptedBy = interruptSignal
        condition.unlock()
        if alreadyInterrupted > 0 {
            trial.mark { $0.interrupted = true }
            process.signal(alreadyInterrupted == 1 ? interruptedBy : SIGKILL)
        }
        if let timeout = options.trialTimeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                // A trial whose process has exited is not timed out, only still being drained.
                guard !trial.snapshot.ended, !process.hasExited else { return }
                trial.mark { $0.timedOut = true }
                stop(trial, signal: SIGTERM)
            }
        }

        var step = 0
        var epochs = 0
        var summary: String?
        var cutBytes = 0
        var cutLines = 0
        let metricName = config.metric?.name
        var loggedNames: [String] = []
        var metricLogged = false
        // The built-in trainer logs the start of a run from pre-trained parts as epoch 0, before
        // any training: not a trained epoch. Another program's epoch 0 is its first trained epoch.
        let logsStart = config.runLogsStart(run.config)
        var startSeen = false
        process.readLines(overlong: { dropped in
            if cutLines == 0 {
                log("run \(run.id): warning: its output holds a line longer than 1 MB; only its first 1 MB is read, the rest is dropped")
            }
            cutLines += 1
            cutBytes += dropped
        }) { line in
            guard let parsed = TrialLine.parse(line) else { return }
            switch parsed {
            case .config:
                break
            case .summary(let text, _):
                summary = text
            case .metrics(let values):
                for name in values.keys.sorted() where !RunLogRecord.bookkeepingKeys.contains(name) && !loggedNames.contains(name) {
                    loggedNames.append(name)
                }
                step += 1
                // After a failed write nothing more is written, so the run's history has no gaps.
                guard trial.snapshot.storeFailure == nil else { return }
                do {
                    try store.appendMetrics(runID: run.id, step: step, values: values)
                } catch {
                    trial.mark { $0.storeFailure = (step, Self.brief(error)) }
                    log("run \(run.id): could not record its metrics at step \(step): \(Self.brief(error)); stopping it and claiming no more runs")
                    stopClaiming(.storeFailed("the store failed"))
                    stop(trial, signal: SIGTERM)
                    return
                }
                if let bad = values.keys.sorted().first(where: { values[$0]! == nil && ($0.lowercased().contains("loss") || $0 == metricName) }),
                   trial.snapshot.nonFinite == nil {
                    // A logged epoch is trial output: shown as text, never converted with a trap.
                    let at = values["epoch"].flatMap { $0 }.map { "epoch \(TrialCommand.flagText(.double($0)))" } ?? "step \(step)"
                    trial.mark { $0.nonFinite = "non-finite loss: \(bad) is not a finite number at \(at)" }
                    stop(trial, signal: SIGTERM)
                }
                // The start is not a trained epoch: the pruner is first asked after epoch 1, and its
                // bands count trained epochs (`SweepConfig.trainedHistory`).
                let isStart = logsStart && !startSeen && (values["epoch"] ?? nil) == 0
                if isStart { startSeen = true }
                if let metricName, values[metricName] != nil {
                    metricLogged = true
                    if !isStart {
                        epochs += 1
                        checkPruner(run, trial: trial, epochs: epochs)
                    }
                }
            }
        }
        let exit = process.wait()
        trial.mark { $0.ended = true }
        condition.lock()
        active[run.id] = nil
        condition.unlock()

        let flags = trial.snapshot
        let seconds = Date().timeIntervalSince(started)
        var state: RunState
        var reason: String?
        var givenBack = false
        var fast = false
        if let failure = flags.storeFailure {
            // Never `finished` with a partial history: its point goes back and runs again.
            state = .failed
            reason = "could not record its metrics at step \(failure.step) (\(failure.error)); its point is given back"
            givenBack = true
        } else if flags.cancelled, exit != .exited(0) {
            // (A trial that exits 0 trained to its end before the signal took effect: it is
            // judged below like any other, so a complete result is `finished` and counts.)
            state = .stopped
            reason = "cancelled (`ncf sweep cancel`) after \(epochs) epoch\(epochs == 1 ? "" : "s")"
        } else if flags.interrupted, exit != .exited(0) {
            state = .stopped
            condition.lock()
            let by = interruptSignal == SIGINT ? "Ctrl-C" : signalName(interruptSignal) ?? "signal \(interruptSignal)"
            condition.unlock()
            reason = "interrupted (\(by)) after \(epochs) epoch\(epochs == 1 ? "" : "s"); its point is given back"
            givenBack = true
        } else if let nonFinite = flags.nonFinite {
            state = .failed
            reason = nonFinite
        } else if flags.timedOut {
            state = .failed
            reason = "timed out after \(formatSeconds(options.trialTimeout ?? 0)) s"
        } else if let after = flags.prunedAfter {
            state = .stopped
            reason = "early-terminated by hyperband after \(after) epoch\(after == 1 ? "" : "s")"
        } else if exit == .exited(0), let metricName, !metricLogged {
            // A misspelt metric (or a program that logs another name): the sweep searches blind.
            state = .failed
            let logged = loggedNames.isEmpty ? "nothing" : loggedNames.joined(separator: ", ")
            reason = "metric `\(metricName)` never logged; it logged: \(logged)"
            fast = true
        } else if exit == .exited(0) {
            state = .finished
        } else if let line = process.lastErrorLine(), Self.reportsDivergence(line) {
            // The trainer stopped itself on a NaN/inf loss: a property of this point, not a broken config.
            state = .failed
            reason = "non-finite loss (\(exit)): " + (line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line)
        } else {
            state = .failed
            reason = exit.description + (process.lastErrorLine().map { ": " + $0 } ?? "")
            fast = seconds < options.fastFailureSeconds
        }
        if state == .finished, let differs = dataDiffers(run, summary: summary) {
            state = .failed
            reason = differs
        }
        if flags.stolen { reason = (reason.map { $0 + "; " } ?? "") + "marked stale meanwhile by another agent" }
        if cutLines > 0 {
            let note = "\(cutLines) output line\(cutLines == 1 ? "" : "s") longer than 1 MB cut (\(cutBytes) bytes dropped)"
            reason = (reason.map { $0 + "; " } ?? "") + note
        }
        let recorded = finish(run, state: state, reason: reason, exitCode: exit.code, summary: summary, givenBack: givenBack,
                              started: started, failedFast: fast)
        if let failure = flags.storeFailure {
            let fate = recorded
                ? "it was stopped and its point given back, so it runs again"
                : "it was stopped, but its end could not be recorded either: it stays `running` until an agent marks it stale (after --grace), then its point runs again"
            stopClaiming(.storeFailed("""
                could not record the metrics of run \(run.id) in the store at step \(failure.step) (\(failure.error)); \(fate). This agent claimed no more runs.
                Hint: free space on the store's disk (or raise the file-size limit, `ulimit -f`), then run `\(rejoin)` again to go on with the sweep.
                """), replacing: true)
        }
    }

    /// For a sweep whose `data` is a parameter (no file is recorded with the sweep, so agents
    /// cannot check theirs when they start), a run must have trained on the same content as every
    /// other run given the same `data` value: an agent whose copy of that file differs would
    /// otherwise put results on other data beside the rest. The first stored run of a value sets
    /// it. Returns the reason when the content differs.
    private func dataDiffers(_ run: StoredRun, summary: String?) -> String? {
        guard config.usesBuiltInTrainer, config.parameters.contains(where: { $0.name == "data" }),
              let value = run.config["data"], let mine = Self.dataFingerprint(inSummary: summary),
              let others = try? store.runs(sweepID: sweep.id) else { return nil }
        // Runs whose results stand: not a run failed for its data, whose summary names the copy that differed.
        for other in others where other.id != run.id && other.counts && (other.state == .finished || other.state == .stopped)
            && other.config["data"] == value {
            if let theirs = Self.dataFingerprint(inSummary: other.summary), theirs != mine {
                return "trained on data `\(TrialCommand.flagText(value))` whose content (\(mine.prefix(15))…) differs from what run \(other.id) "
                    + "trained on under the same value (\(theirs.prefix(15))…): the agents' copies of that file differ. "
                    + "Hint: make the copies the same, then run the point again"
            }
        }
        return nil
    }

    /// The `data_fingerprint` of a stored summary (the trial's closing record), if it has one.
    static func dataFingerprint(inSummary summary: String?) -> String? {
        guard let summary, case .map(let fields)? = try? ParamValue.parseJSON(summary),
              case .string(let fingerprint)? = fields[RunSummaryRecord.dataFingerprintKey] else { return nil }
        return fingerprint
    }

    /// Ends claiming: the agent's slots start no more trials, running ones finish as they are.
    /// Keeps an earlier reason to stop (a signal, a broken config) unless `replacing` a store failure.
    private func stopClaiming(_ reason: AgentEnd, replacing: Bool = false) {
        condition.lock()
        defer { condition.unlock() }
        switch end {
        case nil, .sweepDone?: end = reason
        case .storeFailed? where replacing: end = reason
        default: break
        }
        condition.broadcast()
    }

    /// An error's message without its hint (`… Hint: …`), for a run's reason or a log line.
    static func brief(_ error: Error) -> String {
        let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        guard let hint = text.range(of: " Hint:") else { return text }
        var head = String(text[..<hint.lowerBound])
        if head.hasSuffix(".") { head.removeLast() }
        return head
    }

    /// Whether a trial's last error line says its loss became NaN or infinite (the run contract's
    /// divergence message, or another program's naming a non-finite loss).
    static func reportsDivergence(_ line: String) -> Bool {
        RunExitCode.reportsDivergence(lastErrorLine: line)
    }

    /// SIGTERM (or another signal) now, SIGKILL after `killAfter` seconds if still running.
    private func stop(_ trial: ActiveTrial, signal sig: Int32) {
        trial.process?.signal(sig)
        DispatchQueue.global().asyncAfter(deadline: .now() + options.killAfter) {
            if !trial.snapshot.ended { trial.process?.signal(SIGKILL) }
        }
    }

    /// Asks the pruner whether this run should stop, from every run's history of the metric.
    private func checkPruner(_ run: StoredRun, trial: ActiveTrial, epochs: Int) {
        guard !(pruner is NopPruner), let metric = config.metric else { return }
        let flags = trial.snapshot
        guard flags.prunedAfter == nil, !flags.interrupted, flags.nonFinite == nil else { return }
        do {
            let histories = try store.histories(sweepID: sweep.id, metric: metric.name)
            let records = try store.runs(sweepID: sweep.id).filter(\.counts).map {
                $0.record(history: config.trainedHistory(histories[$0.id] ?? [], runConfig: $0.config, metric: metric.name), metric: metric)
            }
            if pruner.runsToStop(records, metric: metric).contains(run.id) {
                trial.mark { $0.prunedAfter = epochs }
                log("run \(run.id): early-terminated by hyperband after \(epochs) epoch\(epochs == 1 ? "" : "s")")
                stop(trial, signal: SIGTERM)
            }
        } catch {
            log("run \(run.id): warning: could not ask the pruner: \(error)")
        }
    }

    /// Records how a run ended and logs it. Returns false when the store did not take it (the
    /// run stays `running`; the agent then claims no more runs).
    @discardableResult
    private func finish(_ run: StoredRun, state: RunState, reason: String?, exitCode: Int32?, summary: String?,
                        givenBack: Bool, started: Date, failedFast: Bool) -> Bool {
        let seconds = Date().timeIntervalSince(started)
        var recorded = true
        var stored = true
        TestPause.at("before-finish")
        do {
            recorded = try store.finishRun(id: run.id, state: state, reason: reason, exitCode: exitCode, summary: summary,
                                           givenBack: givenBack, at: Date())
        } catch {
            stored = false
            log("run \(run.id): could not record its end (\(state.rawValue)): \(Self.brief(error)); claiming no more runs")
            stopClaiming(.storeFailed("""
                could not record the end of run \(run.id) (\(state.rawValue)\(reason.map { ": " + $0 } ?? "")) in the store (\(Self.brief(error))); it stays `running` until an agent marks it stale (after --grace), then its point runs again. This agent claimed no more runs.
                Hint: free space on the store's disk (or raise the file-size limit, `ulimit -f`), then run `\(rejoin)` again to go on with the sweep.
                """))
        }
        var line = "run \(run.id) \(state.rawValue) in \(formatSeconds(seconds)) s"
        if let metric = config.metric, let best = try? store.histories(sweepID: sweep.id, metric: metric.name)[run.id]
            .flatMap({ run.record(history: $0, metric: metric).metric }) {
            line += ": \(metric.name) \(formatMetric(best))"
            condition.lock()
            if state == .finished || state == .stopped, !givenBack {
                if bestSoFar.map({ metric.isBetter(best, than: $0) }) ?? true {
                    bestSoFar = best
                    line += " (this agent's best so far)"
                }
            }
            condition.unlock()
        }
        if let reason { line += " — \(reason)" }
        log(line)
        if !recorded {
            log("run \(run.id): warning: another agent had marked it stale (its heartbeat was late); this late result (\(state.rawValue)) is kept with the run, which stays stale and its point was run again")
        }

        condition.lock()
        results[run.id] = recorded ? state : .stale
        var brokenRuns: [Int] = []
        let limit = options.maxInitialFailures
        if limit > 0 && firstResults.count < limit && !givenBack {
            firstResults.append((run.id, state == .failed && failedFast, reason ?? state.rawValue))
            if firstResults.count == limit && firstResults.allSatisfy(\.fast) && (end == nil || end!.isSweepDone) {
                let list = firstResults.map { "  run \($0.id): \($0.reason)" }.joined(separator: "\n")
                end = .configLooksBroken("""
                    the first \(limit) trials all failed within seconds, so the sweep's configuration (or its data) is probably broken; stopping instead of spending the remaining runs:
                    \(list)
                    Their points are given back to the sweep. Hint: fix the problem above, then run `\(rejoin)` again (it runs those points too), or start a new sweep; --max_initial_failures 0 turns this check off. (A fixed data file no longer matches the fingerprint the sweep recorded: start a new sweep on it, or add --override_data.)
                    """)
                brokenRuns = firstResults.map(\.id)
                condition.broadcast()
            }
        }
        condition.unlock()
        // A broken config or data file is fixed and the sweep resumed: the points that failed
        // for it must run again, not count as done (or against run_cap).
        if !brokenRuns.isEmpty {
            do {
                _ = try store.giveBack(failedRunIDs: brokenRuns,
                                       note: "point given back: the agent's first trials all failed fast")
            } catch {
                log("warning: could not give back the points of runs \(brokenRuns.map(String.init).joined(separator: ", ")): \(error)")
            }
        }
        return stored
    }

    // MARK: - Heartbeat

    private func heartbeatLoop() {
        while true {
            condition.lock()
            if !heartbeatStopped { _ = condition.wait(until: Date().addingTimeInterval(options.heartbeat)) }
            if heartbeatStopped { condition.unlock(); return }
            let ids = Array(active.keys)
            condition.unlock()
            guard !ids.isEmpty else { continue }
            do {
                for id in try store.heartbeat(runIDs: ids, at: Date()) {
                    condition.lock()
                    let trial = active[id]
                    condition.unlock()
                    guard let trial, !trial.snapshot.stolen else { continue }
                    trial.mark { $0.stolen = true }
                    log("run \(id): warning: another agent marked it stale (this agent's heartbeat was late); stopping its trial, since its point was given back")
                    stop(trial, signal: SIGTERM)
                }
            } catch {
                log("warning: heartbeat failed: \(error)")
            }
            obeySteering()
        }
    }

    /// Reads the sweep's state once per heartbeat: after `ncf sweep cancel` the running trials
    /// are stopped now (each run `stopped`, its reason saying so), after `ncf sweep stop` the
    /// agent claims nothing more; pause and resume act at the next claim.
    private func obeySteering() {
        guard let state = try? store.sweep(id: sweep.id).state else { return }
        guard state == .cancelled || state == .stopped else { return }
        condition.lock()
        if end == nil || end!.isSweepDone { end = .sweepDone(state == .cancelled ? .cancelled : .stopped) }
        let trials = state == .cancelled ? active.values.filter { !$0.snapshot.cancelled } : []
        condition.broadcast()
        condition.unlock()
        guard !trials.isEmpty else { return }
        log("\(SweepDone.cancelled): stopping \(trials.count) running trial\(trials.count == 1 ? "" : "s")")
        for trial in trials {
            trial.mark { $0.cancelled = true }
            stop(trial, signal: SIGTERM)
        }
    }
}

// MARK: - Helpers

/// The flags of one running trial, set from the reader, timer, heartbeat and signal paths.
private final class ActiveTrial: @unchecked Sendable {
    struct Flags {
        var interrupted = false
        /// The epochs logged when the pruner stopped it.
        var prunedAfter: Int?
        var timedOut = false
        var stolen = false
        /// Stopped because the user cancelled the sweep.
        var cancelled = false
        var ended = false
        var nonFinite: String?
        /// The step whose metrics the store did not take, and why.
        var storeFailure: (step: Int, error: String)?
    }

    private let lock = NSLock()
    private var flags = Flags()
    // Set once before the trial is shared.
    var process: TrialProcess?

    var snapshot: Flags {
        lock.lock()
        defer { lock.unlock() }
        return flags
    }

    func mark(_ change: (inout Flags) -> Void) {
        lock.lock()
        change(&flags)
        lock.unlock()
    }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?

    func set(_ e: Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }

    func get() -> Error? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}

/// `0.4`, `12`, `1.5`: seconds with at most one decimal.
func formatSeconds(_ s: Double) -> String {
    guard s.isFinite, abs(s) < 1e15 else { return String(s) }
    return s >= 10 || s == s.rounded() ? String(Int(s.rounded())) : String(format: "%.1f", s)
}
