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

    /// The subcommand names, for "did you mean" when `ncf sweep WORD` is neither one nor a file.
    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }
}
