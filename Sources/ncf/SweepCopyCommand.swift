import ArgumentParser
import Foundation
import NCFReport
import NCFSweep

/// `ncf sweep copy ID --from STORE --to STORE`: move a sweep between stores (a laptop's SQLite
/// file and a cluster's PostgreSQL server), with every run and metric value.
struct SweepCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a sweep with all its runs and metrics to another store, to continue it there.",
        discussion: """
            The sweep keeps its id, state, seed and data; its runs get new ids in the destination \
            (in the same order) and keep everything else. The source is only read. Pause or stop \
            the sweep first (`ncf sweep pause ID`): a run still running is copied as running, and \
            the destination's agents mark it stale after --grace and run its point again. Resume \
            it in the destination with `ncf sweep resume ID --store TO`.
            """)

    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String

    @Option(name: .customLong("from"), help: ArgumentHelp(
        "The store that holds the sweep, a SQLite file or a postgresql:// URL. (default: $NCF_STORE, else \(defaultStorePath))",
        valueName: "path|url"))
    var from: String?

    @Option(name: .customLong("to"), help: ArgumentHelp(
        "The store to copy it to, a SQLite file or a postgresql:// URL; created when it does not exist.", valueName: "path|url"))
    var to: String

    func run() throws {
        let source = resolveStore(from)
        guard source != to else {
            throw CLIError(message: "--from and --to are the same store (\(redactedStoreURL(to))). Hint: name another store with --to.")
        }
        let from = try openStore(source, access: .readOnly)
        defer { closeStore(from) }
        let opened = try openStore(to, access: .create)
        defer { closeStore(opened) }
        guard let destination = opened as? any SweepImporting else {
            throw CLIError(message: "the store \(redactedStoreURL(to)) cannot take a copied sweep")
        }
        let summary: SweepCopySummary
        do { summary = try copySweep(id: sweepID, from: from, to: destination) } catch { throw CLIError(error) }
        print("copied sweep \(sweepID) (\(summary.sweep.state.rawValue); \(summary.runs) run\(summary.runs == 1 ? "" : "s"), \(summary.values) metric value\(summary.values == 1 ? "" : "s")) from \(redactedStoreURL(source)) to \(redactedStoreURL(to))")
        if summary.running > 0 {
            print("  \(summary.running) run\(summary.running == 1 ? " was" : "s were") still running in the source: the destination's agents will mark \(summary.running == 1 ? "it" : "them") stale and run \(summary.running == 1 ? "its point" : "their points") again")
        }
        print("  continue it there: ncf agent \(sweepID) --store \(shellQuoted(redactedStoreURL(to)))")
    }
}
