import ArgumentParser
import Foundation
import NCFKernels

/// `ncf`: train Neural Collaborative Filtering models. `train` is the default subcommand, so
/// `ncf --lr 0.001` trains once.
@main
struct NCF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ncf",
        abstract: "Train Neural Collaborative Filtering recommenders (GMF, MLP, NeuMF) offline.",
        discussion: """
            With no subcommand, ncf trains once (`ncf train`). Flags use the sweep YAML's parameter \
            names; both --batch_size and --batch-size work, and so does --key=value.
            """,
        version: NCFVersion.string + "; " + BLASCore.status.summary,
        subcommands: [Train.self, Eval.self, Recommend.self, DataCommand.self, Sweep.self, AgentCommand.self, RunReportCommand.self,
                      Doctor.self],
        defaultSubcommand: Train.self
    )

    /// Runs the command line. `ncf --help` alone also shows the training flags: `train` is the
    /// default subcommand, so they are the flags a bare `ncf` takes.
    ///
    /// First of all, OpenBLAS's kernels: when it runs slower ones than the CPU supports, ncf
    /// executes itself again with OPENBLAS_CORETYPE set (`BLASCore.selectKernels`), before any work.
    static func main() {
        let blas = BLASCore.selectKernels()
        switch blas.decision {
        case .userSetUnsupported, .restartFailed:
            FileHandle.standardError.write(Data("ncf: warning: \(blas.decision.hint ?? blas.decision.description)\n".utf8))
        default:
            break
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = CommandLineCheck.problem(in: arguments, commands: subcommandNames) {
            FileHandle.standardError.write(Data("Error: \(problem)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        if arguments.count == 1, ["-h", "--help", "-help"].contains(arguments[0]) {
            let train = helpMessage(for: Train.self)
            let flags = train.range(of: "USAGE:").map { String(train[$0.lowerBound...]) } ?? train
            print(helpMessage() + "\n\nTRAINING (`ncf train`, the default subcommand):\n\n" + flags)
            return
        }
        main(nil)
    }
}

enum NCFVersion {
    static let string = "0.1.0"
}
