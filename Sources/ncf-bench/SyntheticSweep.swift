import ArgumentParser
import Foundation
import NCFKernels
import NCFRunContract
import NCFSweep

// A synthetic sweep for measuring and looking at the report without training anything: runs with
// per-epoch losses that depend mostly on the learning rate, some stopped at hyperband's rungs,
// some failed, a few without any metric. Used by `ncf-bench sweep-fixture` and the report's tests.

/// Fills a store with a synthetic sweep.
enum SyntheticSweep {
    /// The sweep's config: random search over five parameters (one log-scaled, two categorical
    /// lists of numbers, one of strings, one uniform), hyperband from 3 epochs.
    static let yaml = """
        name: synthetic
        method: random
        metric:
          name: \(MetricName.validLoss)
          goal: minimize
        early_terminate:
          type: hyperband
          min_iter: 3
          eta: 3
        parameters:
          lr:
            distribution: log_uniform_values
            min: 0.0001
            max: 0.1
          batch_size:
            values: [32, 64, 128, 256]
          embed_dim:
            values: [8, 16, 32, 64]
          mlp_dims:
            values: ["16,16", "32,32", "16,32,64", "32,64,128"]
          dropout:
            distribution: uniform
            min: 0.0
            max: 0.5
          epochs:
            value: 20
        """

    /// Creates the sweep in `store` and adds `runs` finished runs to it (every one logged per
    /// epoch: `epoch`, `Train Loss`, `Valid Loss`), all drawn from `seed`.
    ///
    /// Valid Loss at epoch e is `0.88 + 0.06·(log₁₀ lr + 2.5)² + 0.02·[embed_dim = 8] + 0.4/e + noise`:
    /// lr matters most, embed_dim a little, the rest not at all. About 30% of the runs stop at
    /// epoch 3 or 9 (`stopped`), 3% fail with a non-finite loss, 1% fail before their first epoch.
    /// - Complexity: O(runs²) store reads (each claim reads the sweep's runs) plus runs · epochs writes.
    @discardableResult
    static func fill(store: any RunStore, runs count: Int, epochs: Int = 20, seed: UInt64 = 1,
                            now: Date = Date()) throws -> SweepRecord {
        let config = try SweepConfig.parse(yaml: yaml, file: "synthetic sweep", trainer: nil).config
        var claimConfig = config
        claimConfig.metric = nil // claims need no histories: keeps filling fast
        claimConfig.earlyTerminate = nil
        let start = now.addingTimeInterval(-Double(count) * 30 - 600)
        let sweep = try store.createSweep(configText: yaml, seed: seed, now: start)
        var rng = SplitMix64(seed: seed, stream: 0xF17)
        for k in 0..<count {
            let began = start.addingTimeInterval(Double(k) * 30)
            let request = ClaimRequest(sweepID: sweep.id, config: claimConfig, sampler: RandomSampler(), agent: "synthetic:1",
                                       heartbeatEvery: 10, now: began)
            guard case .claimed(let run) = try store.claimRun(request) else { break }
            let lr = run.config["lr"]?.numericValue ?? 0.001
            let embed = run.config["embed_dim"]?.numericValue ?? 16
            let base = 0.88 + 0.06 * pow(log10(lr) + 2.5, 2) + (embed == 8 ? 0.02 : 0)
            let fate = rng.nextDouble()
            var last = epochs
            var state = RunState.finished
            var reason: String?
            if fate < 0.01 {
                last = 0
                state = .failed
                reason = "exit code 1: Error: could not read the ratings file (synthetic)"
            } else if fate < 0.04 {
                last = 2 + rng.nextInt(below: 4)
                state = .failed
                reason = "non-finite loss: Train Loss is not a finite number at epoch \(last + 1)"
            } else if base > 0.95 && fate < 0.5 {
                last = rng.nextDouble() < 0.6 ? 3 : 9
                state = .stopped
                reason = "early-terminated by hyperband after \(last) epochs"
            }
            for e in 0..<(state == .failed && last > 0 ? last + 1 : last) {
                let epoch = Double(e + 1)
                let valid = base + 0.4 / epoch + 0.01 * rng.nextGaussian()
                let train = base - 0.1 + 0.5 / epoch - 0.004 * epoch + 0.01 * rng.nextGaussian()
                let nonFinite = state == .failed && e == last
                try store.appendMetrics(runID: run.id, step: e + 1, values: [
                    "epoch": epoch, MetricName.trainLoss.description: nonFinite ? nil : train,
                    MetricName.validLoss.description: nonFinite ? nil : valid,
                    "seconds": 1.5,
                ])
            }
            var summary: String?
            if state == .finished {
                let best = base + 0.4 / Double(epochs)
                summary = ParamValue.canonicalJSON([
                    MetricName(.test, .rmse).description: .double(best + 0.005), MetricName(.test, .mae).description: .double(best * 0.79),
                    "best_epoch": .int(epochs),
                    "protocol": .string("random 80/10/10 split, synthetic"), "train_seconds": .double(1.5 * Double(epochs)),
                ])
            }
            let seconds = 2 + 1.5 * Double(max(1, last))
            _ = try store.finishRun(id: run.id, state: state, reason: reason, exitCode: state == .failed ? 1 : (state == .stopped ? 143 : 0),
                                    summary: summary, givenBack: false, at: began.addingTimeInterval(seconds))
        }
        return sweep
    }
}

/// `ncf-bench sweep-fixture`: a synthetic sweep in a store, for measuring and checking the report
/// (`ncf sweep report`) without training anything.
struct SweepFixture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-fixture",
        abstract: "Fill a store with a synthetic sweep (for measuring the report).")

    @Option(name: .customLong("runs"), help: "Runs to add.") var runs: Int = 2000
    @Option(name: .customLong("epochs"), help: "Epochs of a finished run.") var epochs: Int = 20
    @Option(name: .customLong("seed"), help: "Seed of the synthetic values.") var seed: UInt64 = 1
    @Option(name: .customLong("store"), help: "The SQLite store to write (created if absent).") var store: String

    func run() throws {
        let db = try SQLiteRunStore(path: store, create: true)
        let sweep = try SyntheticSweep.fill(store: db, runs: runs, epochs: epochs, seed: seed)
        print("created synthetic sweep \(sweep.id) with \(runs) runs in \(store)")
    }
}
