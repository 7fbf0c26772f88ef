import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// `ncf agent SWEEP_ID`: join an existing sweep from another shell (or under `nohup`).
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Join a sweep: claim runs from its store and train them until it is done.",
        discussion: """
            Any number of agents, in any number of shells, may share one store: each grid point runs \
            once and run_cap is exact. Ctrl-C (or SIGTERM) once lets running trials finish their \
            epoch (they end `stopped`, their points go back to the sweep) and exits 130 (143 for \
            SIGTERM); a second signal stops them now. SIGHUP is ignored, so `nohup ncf agent ID &` \
            survives the terminal. Every agent writes one heartbeat every --heartbeat seconds \
            (default 10) for all its runs, however long their epochs; a run whose agent is silent \
            for --grace seconds (default 60) is marked stale and its point is run again.
            """)

    @Argument(help: ArgumentHelp("The sweep's id, as `ncf sweep` printed it (see `ncf sweep list`).", valueName: "sweep-id"))
    var sweepID: String

    @OptionGroup(title: "Agent") var agent: AgentFlags

    func validate() throws {
        // `ncf agent Sweeps/ncf.yaml`: a config file where a sweep's id goes.
        if sweepID.hasSuffix(".yaml") || sweepID.hasSuffix(".yml") || sweepID.contains("/") {
            throw ValidationError("`\(sweepID)` is not a sweep id: `ncf sweep \(sweepID)` starts a sweep from a config file and prints its id, which `ncf agent ID` joins (`ncf sweep list` shows the ids)")
        }
        let problems = agent.options.problems
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    func run() throws {
        try writingStore(agent.store, create: false) { store in
            let sweep: SweepRecord
            do { sweep = try store.sweep(id: sweepID) } catch { throw CLIError(error) }
            var config: SweepConfig
            do {
                config = try SweepConfig.parse(yaml: sweep.configText, file: "sweep \(sweep.id)", trainer: builtInTrainer).config
            } catch {
                throw CLIError(message: "the stored config of sweep \(sweep.id) no longer loads:\n\(error)")
            }
            try keepTheSweepsTrainer(&config, sweep: sweep)
            say("joining sweep \(sweep.id) in \(agent.shownStore) (\(describe(config)))")
            try runAgent(store: store, sweep: sweep, config: config, configDirectory: nil, flags: agent)
        }
    }

    /// Who runs the trials was settled when the sweep was created, where `ncf sweep FILE` looked
    /// for `program`: the built-in trainer's data is recorded with the sweep exactly when the
    /// built-in trainer runs it and no `data` parameter sets it. An agent elsewhere keeps that
    /// choice, so one sweep's runs do not come from two trainers: it runs the built-in trainer
    /// even where a file of the program's name exists, and refuses to fall back to it when the
    /// sweep's program is not found here. Two cases it cannot tell apart and leaves to where the
    /// agent runs: a sweep with a `data` parameter (nothing is recorded), and a sweep with no
    /// recorded data joined with `--data` (a store from before ncf recorded the data: its runs
    /// came from the built-in trainer on each agent's `--data`).
    func keepTheSweepsTrainer(_ config: inout SweepConfig, sweep: SweepRecord) throws {
        guard let program = config.program, program != "ncf" else { return }
        let dataParameter = config.parameters.contains { $0.name == "data" }
        if sweep.data != nil && !config.usesBuiltInTrainer {
            config.builtInFallback = true
            say("note: sweep \(sweep.id)'s runs come from ncf's built-in trainer (program `\(program)` was not found where the sweep was created), so this agent runs it too, not the `\(program)` found here")
        } else if sweep.data == nil && config.builtInFallback && !dataParameter {
            guard let data = agent.data else {
                throw CLIError(message: "sweep \(sweep.id) runs program `\(program)`, which is not found here (\(FileManager.default.currentDirectoryPath)). Hint: start the agent in the directory `ncf sweep` ran in, or where `\(program)` is; for a sweep whose runs came from ncf's built-in trainer before sweeps recorded their data, pass --data FILE.")
            }
            say("note: program `\(program)` is not found here; this agent runs ncf's built-in trainer on --data \(data), as a sweep from before ncf recorded the data did")
        }
    }
}

// MARK: - Flags shared by `ncf sweep FILE` and `ncf agent ID`

/// The default sweep store: a SQLite file in the working directory.
let defaultStorePath = "ncf-sweeps.db"

/// `--store PATH|URL`, for every sweep command.
struct StoreOption: ParsableArguments {
    @Option(name: .customLong("store"), help: storeHelp)
    var storeArgument: String?

    /// The store to open: --store, else `NCF_STORE`, else `ncf-sweeps.db`.
    var store: String { resolveStore(storeArgument) }
    /// The store as messages show it (a URL's password hidden).
    var shownStore: String { redactedStoreURL(store) }
}

/// The help of every `--store`.
let storeHelp = ArgumentHelp(
    "The sweep store: a SQLite file (relative paths from the working directory), or a PostgreSQL server, postgresql://USER@HOST:5432/DATABASE. (default: $NCF_STORE, else \(defaultStorePath))",
    valueName: "path|url")

/// The store a command opens: the one given, else `NCF_STORE` from the environment, else
/// `ncf-sweeps.db` in the working directory.
func resolveStore(_ given: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let given { return given }
    if let fromEnvironment = environment["NCF_STORE"], !fromEnvironment.isEmpty { return fromEnvironment }
    return defaultStorePath
}

/// How an agent runs its trials.
struct AgentFlags: ParsableArguments {
    /// The library's defaults (parallel trials, heartbeat, grace, fail-fast).
    private static let d = AgentOptions()

    @Option(name: .customLong("count"), parsing: .unconditional, help: ArgumentHelp(
        "Runs this agent starts, then it exits. (default: until the sweep is done)", valueName: "n"))
    var count: Int?

    @Option(name: .customLong("parallel"), parsing: .unconditional, help: ArgumentHelp(
        "Trials run at the same time, each a child process. (default: as many as fit the cores: cores ÷ the sweep's largest `threads`, at least 1)",
        valueName: "p"))
    var parallel: Int?

    @Option(name: .customLong("store"), help: storeHelp)
    var storeArgument: String?

    /// The store to open: --store, else `NCF_STORE`, else `ncf-sweeps.db`.
    var store: String { resolveStore(storeArgument) }
    /// The store as messages show it (a URL's password hidden).
    var shownStore: String { redactedStoreURL(store) }
    /// The store as a command in another directory or shell names it: a SQLite file's absolute
    /// path, a PostgreSQL URL without its password (libpq finds it in `PGPASSWORD` or `~/.pgpass`).
    var storeForOtherShells: String {
        isPostgreSQLStoreURL(store) ? storeURLWithoutPassword(store) : URL(fileURLWithPath: store).standardizedFileURL.path
    }

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Ratings file for the built-in trainer's trials (unless the config sets `data`). `ncf sweep` records it with the sweep; an agent trains on the sweep's data and refuses another --data unless --override_data.", valueName: "path"))
    var data: String?

    @Flag(name: [.customLong("override_data"), .customLong("override-data")], help: ArgumentHelp(
        "Train on --data although the sweep recorded other data (or its data changed); each run records it."))
    var overrideData = false

    @Option(name: .customLong("heartbeat"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds between this agent's heartbeats.", valueName: "s"))
    var heartbeat: Double = d.heartbeat

    @Option(name: .customLong("grace"), parsing: .unconditional, help: ArgumentHelp(
        "A run silent for this many seconds (and 3 of its agent's heartbeats) is stale; its point is run again.", valueName: "s"))
    var grace: Double = d.grace

    @Option(name: [.customLong("trial_timeout"), .customLong("trial-timeout")], parsing: .unconditional, help: ArgumentHelp(
        "Stop a trial (as failed) after this many seconds. (default: no limit)", valueName: "s"))
    var trialTimeout: Double?

    @Option(name: [.customLong("max_initial_failures"), .customLong("max-initial-failures")], parsing: .unconditional,
            help: ArgumentHelp("Stop when the first N trials all fail within a minute (a broken config); 0 = never.", valueName: "n"))
    var maxInitialFailures: Int = d.maxInitialFailures

    var options: AgentOptions {
        AgentOptions(count: count, parallel: parallel ?? Self.d.parallel, heartbeat: heartbeat, grace: grace, trialTimeout: trialTimeout,
                     maxInitialFailures: maxInitialFailures)
    }
}

// MARK: - Running an agent from the command line

/// `grid, metric Valid Loss (minimize), 12 grid points`.
func describe(_ config: SweepConfig) -> String {
    var parts = [config.method.rawValue]
    if let m = config.metric { parts.append("metric \(m.name) (\(m.goal.rawValue))") }
    if config.method == .grid, let n = GridSampler.pointCount(config.parameters) { parts.append("\(n) grid point\(n == 1 ? "" : "s")") }
    if let cap = config.runCap { parts.append("run_cap \(cap)") }
    return parts.joined(separator: ", ")
}

/// Where an external `program` is: as written when it exists from the working directory (or
/// is absolute; `./` is put in front of a bare file name, so it is not looked up in `PATH`),
/// else beside the config file.
func resolveProgram(_ program: String, configDirectory: String?) -> String {
    let fm = FileManager.default
    if program.hasPrefix("/") { return program }
    if fm.fileExists(atPath: program) { return program.contains("/") ? program : "./" + program }
    if let dir = configDirectory {
        let candidate = URL(fileURLWithPath: dir).appendingPathComponent(program).path
        if fm.fileExists(atPath: candidate) { return candidate }
    }
    return program
}

/// One line to stdout, prefixed with the local time, written in one call so lines from
/// parallel trials never interleave; flushed at once (for `nohup` logs). Control characters
/// (from a trial's output or a config's values) are shown as text (`terminalSafe`).
func say(_ line: String) {
    let formatter = DateFormatter()
    formatter.dateFormat = "HH:mm:ss"
    let text = terminalSafe(line).split(separator: "\n", omittingEmptySubsequences: false)
        .map { "\(formatter.string(from: Date())) \($0)" }.joined(separator: "\n") + "\n"
    if let live = LiveDisplay.active { live.print(text) } else { FileHandle.standardOutput.write(Data(text.utf8)) }
}

/// Runs an agent on `sweep` with Ctrl-C/SIGTERM handling, prints the best run, and exits with
/// the agent's status (130 when interrupted, 1 when the config looks broken or every trial failed).
func runAgent(store: any RunStore, sweep: SweepRecord, config: SweepConfig, configDirectory: String?, flags: AgentFlags) throws {
    let data = try trialData(sweep: sweep, given: flags.data, override: flags.overrideData)
    if let recorded = sweep.data {
        say(data.override == nil ? "data: \(describe(recorded))" : "data: \(data.path ?? "?") instead of the sweep's \(describe(recorded)) (--override_data; recorded on each run)")
    }
    var options = flags.options
    options.dataOverride = data.override
    options.rejoinCommand = "ncf agent \(sweep.id) --store \(shellQuoted(flags.storeForOtherShells))"
    // Trials × threads per trial ≤ cores unless --parallel says otherwise (TrialSlots).
    let slots = TrialSlots.choose(requested: flags.parallel, threadsPerTrial: TrialSlots.threadsPerTrial(config),
                                  cores: try plannedCores())
    options.parallel = slots.parallel
    if let note = slots.note { say(note) }
    if let warning = slots.warning { FileHandle.standardError.write(Data(terminalSafe("warning: \(warning)\n").utf8)) }
    var command = TrialCommand(config: config, ncfExecutable: TrialCommand.currentExecutable(), data: data.path)
    if case .external(let program, let list) = command {
        command = .external(program: resolveProgram(program, configDirectory: configDirectory), command: list)
    }
    if flags.data != nil, config.parameters.contains(where: { $0.name == "data" }) {
        say("note: the config sets `data`, so --data is not passed to the trials")
    }
    // Orphans of trials (a `setsid` child) are reparented to this process, which ends and reaps them.
    Agent.adoptOrphans()
    let agent = Agent(store: store, sweep: sweep, config: config, sampler: config.sampler, pruner: config.pruner,
                      command: command, options: options, log: { say($0) })
    // On a terminal: a live line per running trial, redrawn in place (plain lines otherwise).
    let live = LiveDisplay.start(store: store, sweepID: sweep.id, agentID: agent.agentID, metric: config.metric)
    defer { live?.stop() }

    // The terminal's Ctrl-C reaches only the agent (trials run in their own process groups);
    // the agent decides what each trial gets. SIGHUP is ignored for `nohup`.
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { agent.interrupt(signal: sig) }
        source.resume()
        sources.append(source)
    }
    defer {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    let report: AgentReport
    do { report = try agent.run() } catch { throw CLIError(error) }
    live?.stop()
    let counts = Dictionary(grouping: report.runs.values, by: { $0 }).mapValues(\.count)
    let tally = RunState.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
    switch report.end {
    case .configLooksBroken(let message), .storeFailed(let message): throw CLIError(message: message)
    default: break
    }
    say("agent stops: \(report.end)\(report.runs.isEmpty ? "" : "; it ran \(report.runs.count) run\(report.runs.count == 1 ? "" : "s") (\(tally))")")
    if let metric = config.metric, let best = try? store.bestRun(sweepID: sweep.id, metric: metric) {
        say("best so far: run \(best.run.id), \(metric.name) \(formatMetric(best.value)); details: ncf sweep best \(sweep.id) --store \(flags.shownStore)")
    }
    if report.exitCode == 1 {
        throw CLIError(message: "every trial this agent ran failed (see the reasons above). Hint: `ncf sweep status \(sweep.id) --store \(flags.shownStore)` lists them.")
    }
    if report.exitCode != 0 { throw ExitCode(report.exitCode) }
}

/// The cores an agent plans its trials for: `NCF_CORES` when set (a share of a machine that other
/// work uses too; the tests set 1), else the CPUs this process may run on.
/// - Throws: `CLIError` naming `NCF_CORES` when it is not a whole number 1...4096.
func plannedCores(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Int {
    guard let text = environment["NCF_CORES"], !text.isEmpty else { return ProcessInfo.processInfo.activeProcessorCount }
    guard let n = Int(text), (1...4096).contains(n) else {
        throw CLIError(message: "NCF_CORES=\(text): the cores an agent plans its trials for must be a whole number 1...4096 (or unset: all CPUs)")
    }
    return n
}
