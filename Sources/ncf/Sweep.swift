import ArgumentParser

/// `ncf sweep`: hyperparameter sweeps from W&B sweep YAML, run locally.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run and inspect hyperparameter sweeps described in W&B sweep YAML.",
        subcommands: [SweepRun.self, SweepValidate.self, SweepSuggest.self, SweepStatus.self, SweepList.self, SweepBest.self, SweepReportCommand.self, SweepCheck.self, SweepFixture.self],
        defaultSubcommand: SweepRun.self
    )
}
