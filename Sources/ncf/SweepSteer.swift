import ArgumentParser
import Foundation
import NCFSweep

// `ncf sweep stop | cancel | pause | resume | delete ID`: steer a sweep from any shell, as W&B's
// `wandb sweep --stop | --cancel | --pause | --resume` do. Agents obey within one heartbeat.

/// The arguments every steering command takes.
struct SteerArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String
    @OptionGroup var store: StoreOption
}

/// What each steering command does to the sweep's state.
private enum Steer {
    /// Sets the sweep's state and says what agents will do.
    static func apply(_ state: SweepState, sweepID: String, store path: String, says: String) throws {
        try writingStore(path, create: false) { db in
            let old: SweepState
            do {
                _ = try db.sweep(id: sweepID)  // an unknown id is named with the nearest one
                old = try db.setState(sweepID: sweepID, state)
            } catch { throw CLIError(error) }
            let running = (try? db.runs(sweepID: sweepID).filter { $0.state == .running }.count) ?? 0
            if old == state {
                print("sweep \(sweepID) was already \(state.rawValue)")
            } else {
                print("sweep \(sweepID): \(old.rawValue) → \(state.rawValue); \(says)")
            }
            if running > 0 { print("  \(running) run\(running == 1 ? " is" : "s are") running") }
        }
    }
}

struct SweepStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a sweep: running runs finish, no new run starts, agents exit.")
    @OptionGroup var target: SteerArguments
    func run() throws {
        try Steer.apply(.stopped, sweepID: target.sweepID, store: target.store.store,
                        says: "agents start no new run and exit when their running runs finish (`ncf sweep resume` undoes it)")
    }
}

struct SweepCancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a sweep: running runs are stopped now, no new run starts, agents exit.")
    @OptionGroup var target: SteerArguments
    func run() throws {
        try Steer.apply(.cancelled, sweepID: target.sweepID, store: target.store.store,
                        says: "agents stop their running runs within one heartbeat (they end `stopped`) and exit")
    }
}

struct SweepPause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a sweep: no new run starts until `ncf sweep resume`; agents wait.")
    @OptionGroup var target: SteerArguments
    func run() throws {
        try Steer.apply(.paused, sweepID: target.sweepID, store: target.store.store,
                        says: "running runs go on; agents wait for `ncf sweep resume \(target.sweepID)`")
    }
}

struct SweepResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused, stopped or cancelled sweep: agents claim runs again.")
    @OptionGroup var target: SteerArguments
    func run() throws {
        try Steer.apply(.running, sweepID: target.sweepID, store: target.store.store,
                        says: "waiting agents claim runs again; agents that exited can be started again with `ncf agent \(target.sweepID)`")
    }
}

struct SweepDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a sweep with all its runs and metrics from the store.",
        discussion: "Asks for confirmation on a terminal; --yes skips the question (needed when stdin is not a terminal).")
    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String
    @Flag(name: .customLong("yes"), help: "Delete without asking.") var yes = false
    @OptionGroup var store: StoreOption

    func run() throws {
        try writingStore(store.store, create: false) { db in try delete(db) }
    }

    private func delete(_ db: any RunStore) throws {
        let runs: [StoredRun]
        do {
            _ = try db.sweep(id: sweepID)
            runs = try db.runs(sweepID: sweepID)
        } catch { throw CLIError(error) }
        // Agents working on it would meet a sweep that is gone mid-trial: stop them first.
        let running = runs.filter { $0.state == .running }.count
        if running > 0 {
            throw CLIError(message: "sweep \(sweepID) has \(running) run\(running == 1 ? "" : "s") running, so agents are working on it. Hint: `ncf sweep cancel \(sweepID)` stops them within a heartbeat; delete it once `ncf sweep status \(sweepID)` shows nothing running.")
        }
        if !yes {
            guard isatty(STDIN_FILENO) == 1 else {
                throw CLIError(message: "not deleting sweep \(sweepID) without confirmation. Hint: pass --yes to delete it and its \(runs.count) runs.")
            }
            print("delete sweep \(sweepID) with its \(runs.count) runs and their metrics? [y/N] ", terminator: "")
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                print("not deleted")
                return
            }
        }
        do { try db.deleteSweep(id: sweepID) } catch { throw CLIError(error) }
        print("deleted sweep \(sweepID) (\(runs.count) runs)")
    }
}
