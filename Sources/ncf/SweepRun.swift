import ArgumentParser
import Foundation
import NCFRunContract
import NCFAgent
import NCFReport
import NCFSweep

/// `ncf sweep FILE`: create a sweep from W&B sweep YAML and run an agent on it (the default
/// subcommand of `ncf sweep`).
struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Create a sweep from a W&B sweep YAML file and run an agent on it (the default).",
        discussion: """
            The config is checked completely before the store is touched. The sweep's id is printed \
            with the command that joins it from other shells (`ncf agent ID`); --count 0 only creates \
            it. Every run, its config, seed, state and per-epoch metrics are kept in the store.
            """)

    @Argument(help: ArgumentHelp("The sweep config (W&B's YAML format).", valueName: "file.yaml"))
    var file: String

    @Option(name: .customLong("seed"), parsing: .unconditional, help: ArgumentHelp(
        "Seeds the search; each run's training seed is derived from it and the run's config.", valueName: "n"))
    var seed: UInt64 = 0

    @OptionGroup(title: "Agent") var agent: AgentFlags

    func validate() throws {
        // `ncf sweep stauts ID`: a mistyped subcommand, not a missing file.
        if !FileManager.default.fileExists(atPath: file), !file.contains("/"), !file.contains("."),
           let near = Spelling.suggestion(for: file, in: Sweep.subcommandNames) {
            throw ValidationError("unknown subcommand `\(file)`; did you mean `ncf sweep \(near)`? (`ncf sweep FILE.yaml` runs a sweep config; `ncf sweep --help` lists the subcommands)")
        }
        // `ncf sweep k3v9q2xa`: a sweep's id where its config file goes.
        if !FileManager.default.fileExists(atPath: file), file.count == 8, file.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) }) {
            throw ValidationError("`\(file)` is not a file; if it is a sweep's id, `ncf agent \(file)` joins that sweep and `ncf sweep status \(file)` shows it (`ncf sweep FILE.yaml` starts a new sweep from a config)")
        }
        let problems = agent.options.problems
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    func run() throws {
        let loaded: (config: SweepConfig, warnings: [SweepProblem])
        do { loaded = try SweepConfig.load(path: file, trainer: builtInTrainer) } catch { throw CLIError(error) }
        for warning in loaded.warnings {
            FileHandle.standardError.write(Data(terminalSafe("warning: \(warning)\n").utf8))
        }
        let config = loaded.config
        var text = config.sourceText
        if text.isEmpty, let data = FileManager.default.contents(atPath: file) { text = String(decoding: data, as: UTF8.self) }

        // The built-in trainer's data is recorded with the sweep, so every agent trains on it.
        var data: SweepData?
        if config.usesBuiltInTrainer && !config.parameters.contains(where: { $0.name == "data" }) {
            guard let path = agent.data ?? locateDefaultData() else {
                throw CLIError(message: "no --data given and there is no \(defaultDataPath) in \(FileManager.default.currentDirectoryPath). Hint: pass --data FILE (the sweep records it for every agent), or write the synthetic set here with `ncf data synth`.")
            }
            data = try sweepData(path: path)
            try checkSweepDataReads(path: path, config: config)
        }
        try writingStore(agent.store, create: true) { store in
            let sweep: SweepRecord
            do { sweep = try store.createSweep(configText: text, seed: seed, data: data, now: Date()) } catch { throw CLIError(error) }
            say("created sweep \(sweep.id) (\(describe(config)), seed \(seed)) in \(agent.shownStore)")
            if config.builtInFallback, let program = config.program {
                say("note: program `\(program)` was not found and every parameter is an `ncf train` flag, so the trials run ncf's built-in trainer")
            }
            if let data { say("data: \(describe(data)), recorded for every agent") }
            say("to join: ncf agent \(sweep.id) --store \(shellQuoted(agent.storeForOtherShells))")
            if agent.count == 0 { return }
            let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
            try runAgent(store: store, sweep: sweep, config: config, configDirectory: directory, flags: agent)
        }
    }
}
