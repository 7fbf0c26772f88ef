import ArgumentParser
import Foundation
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
        let problems = agent.options.problems
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    func run() throws {
        let loaded: (config: SweepConfig, warnings: [SweepProblem])
        do { loaded = try SweepConfig.load(path: file, trainerFlags: Set(trainFlagNames)) } catch { throw CLIError(error) }
        for warning in loaded.warnings {
            FileHandle.standardError.write(Data(terminalSafe("warning: \(warning)\n").utf8))
        }
        let config = loaded.config
        var text = config.sourceText
        if text.isEmpty, let data = FileManager.default.contents(atPath: file) { text = String(decoding: data, as: UTF8.self) }

        let store = try openStore(agent.store, create: true)
        let sweep: SweepRecord
        do { sweep = try store.createSweep(configText: text, seed: seed, now: Date()) } catch { throw CLIError(error) }
        say("created sweep \(sweep.id) (\(describe(config)), seed \(seed)) in \(agent.store)")
        say("to join: ncf agent \(sweep.id) --store \(agent.store)")
        if agent.count == 0 { return }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        try runAgent(store: store, sweep: sweep, config: config, configDirectory: directory, flags: agent)
    }
}
