import ArgumentParser

/// `ncf sweep`: hyperparameter sweeps from W&B sweep YAML, run locally.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run and inspect hyperparameter sweeps described in W&B sweep YAML.",
        subcommands: [SweepRun.self, SweepValidate.self, SweepSuggest.self, SweepStatus.self, SweepList.self, SweepBest.self, SweepReportCommand.self,
                      SweepServe.self, SweepCheck.self, SweepStop.self, SweepCancel.self, SweepPause.self, SweepResume.self, SweepDelete.self, SweepCopyCommand.self],
        defaultSubcommand: SweepRun.self
    )

}

extension ParsableCommand {
    /// The names of its subcommands, for "did you mean" (`ncf trian`, `ncf sweep stauts`).
    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }
}
