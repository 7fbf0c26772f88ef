// `ncf-bench threads`: how much faster `ncf train --threads N` trains one model than one thread,
// through the trainer itself (`Trainer`, data-parallel for N ≥ 2): on the NCF paper's ML-1M files
// (implicit task), or with `--ratings FILE` on a ratings file split as `ncf train` splits it by
// default (random 80/10/10, rating task), such as the 20M set of `ncf data synth`.
//
// Each round trains a fresh model once per thread count, alternating the order between rounds, and
// reads each epoch's training samples/s from the trainer's own epoch records (training only:
// sampling and validation are not in it). Beside each figure: this process's CPU seconds per wall
// second over the epoch (near N when the N threads got their cores) and the cores other processes
// kept busy meanwhile, and the run's test metrics (the accuracy must not depend on N); and, measured
// just before each run, how long a value takes to go from one core to another and back
// (`crossCoreRoundTripNanoseconds`), which sets what the threads' exchange of gradients costs.

import ArgumentParser
import Foundation
import NCFData
import NCFKernels
import NCFRunContract
import NCFTraining

struct ThreadsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threads",
        abstract: "Compare training speed of `ncf train --threads N` for several N on the NCF ML-1M split or a ratings file.",
        discussion: """
            Trains NeuMF (default: batch 256, embed 32, MLP 64,32,16, lazy Adam; 4 negatives on ML-1M) for \
            --train_epochs epochs per run, once per thread count per round (--repeats rounds), alternating; prints the \
            median epoch's samples/s, its ratio to the first thread count, cpu/wall, other processes' \
            load, a per-thread CPU profile and the test metrics. Examples:
              ncf-bench threads
              ncf-bench threads --thread_counts 1,2 --repeats 3 --batch_size 64
              ncf-bench threads --ratings synth-20000000-138000x27000-seed42.tsv --batch_size 1024 --train_epochs 1
            """
    )

    // Names differ from the root command's (--data, --threads, --epochs, --json): the parser hands
    // a parent's options to the parent even after the subcommand's name.
    @Option(name: .customLong("prefix"), help: ArgumentHelp(
        "The NCF files' prefix. (default: \(Self.defaultPrefix))", valueName: "prefix"))
    var prefix: String?
    static let defaultPrefix = "../shared/data/ncf-ml-1m/ml-1m"

    @Option(name: .customLong("ratings"), help: ArgumentHelp(
        "A ratings file to train on instead (rating task, random 80/10/10 split with seed 0, as `ncf train` by default).",
        valueName: "file"))
    var ratings: String?

    @Option(name: [.customLong("thread_counts"), .customLong("thread-counts")], help: ArgumentHelp(
        "Thread counts to compare, comma-separated; ratios are against the first.", valueName: "list"))
    var threadCounts = "1,2"

    @Option(name: [.customLong("batch_size"), .customLong("batch-size")], help: ArgumentHelp("Mini-batch size.", valueName: "n"))
    var batchSize = 256

    @Option(name: [.customLong("embed_dim"), .customLong("embed-dim")], help: ArgumentHelp("Embedding width.", valueName: "d"))
    var embedDim = 32

    @Option(name: [.customLong("mlp_dims"), .customLong("mlp-dims")], help: ArgumentHelp("MLP tower sizes.", valueName: "list"))
    var mlpDims = "64,32,16"

    @Option(name: .customLong("optimizer_kind"), help: ArgumentHelp("adam, dense_adam or sgd.", valueName: "name"))
    var optimizerKind = "adam"

    @Option(name: [.customLong("train_epochs"), .customLong("train-epochs")], help: ArgumentHelp(
        "Epochs per run (each one timed).", valueName: "n"))
    var epochs = 2

    @Option(name: .customLong("repeats"), help: ArgumentHelp("Runs per thread count, alternating; medians over all their epochs.", valueName: "n"))
    var rounds = 2

    @Option(name: .customLong("run_seed"), help: ArgumentHelp("Training seed of every run.", valueName: "n"))
    var seed: UInt64 = 0

    @Flag(name: .customLong("jsonl"), help: ArgumentHelp("Also print one JSON object per thread count on stdout (the text goes to stderr)."))
    var json = false

    private var counts: [Int] { threadCounts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    private var dims: [Int] { mlpDims.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        var problems: [String] = []
        if counts.isEmpty || counts.contains(where: { $0 < 1 || $0 > 256 }) {
            problems.append("--thread_counts \(threadCounts): comma-separated counts 1...256, e.g. 1,2")
        }
        if dims.isEmpty || dims.contains(where: { $0 < 1 }) { problems.append("--mlp_dims \(mlpDims): comma-separated positive sizes, e.g. 64,32,16") }
        if OptimizerKind(rawValue: optimizerKind) == nil { problems.append("--optimizer_kind \(optimizerKind): use adam, dense_adam or sgd") }
        if epochs < 1 { problems.append("--train_epochs \(epochs): must be at least 1") }
        if rounds < 1 { problems.append("--repeats \(rounds): must be at least 1") }
        if batchSize < 1 { problems.append("--batch_size \(batchSize): must be at least 1") }
        if let prefix, let ratings {
            problems.append("--prefix \(prefix) and --ratings \(ratings): give one, the NCF files or a ratings file")
        }
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    private func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    /// One run's epochs: training samples/s, process CPU per wall second, others' cores; its test metrics.
    private struct Run {
        var samplesPerSecond: [Double] = []
        var cpuPerWall: [Double] = []
        var foreignCores: [Double] = []
        /// The run's test metrics, as printed (HR@10 and NDCG@10, or RMSE).
        var test = ""
        /// Samples per second of CPU on the critical path: 1 thread, its CPU time between the
        /// first and last progress report of each epoch; N threads, the sum over steps of the
        /// slowest thread's CPU in each phase (`ThreadProfile`). Waiting for a core is in neither.
        var criticalPathSpeed: [Double] = []
        /// Cross-core round trip in ns, measured before the run (nil on one logical CPU).
        var roundTrip: Double?
        /// N ≥ 2 threads: each thread's CPU per step in each phase, as printed under the run's line.
        var profile: String?
    }

    func run() throws {
        for line in machineLines() { say(line) }
        say("load average at start: \(loadAverage()); build: \(buildKind)")
        let dataset: Dataset, data: String
        if let ratings {
            let file = try RatingsReader.read(path: ratings)
            dataset = try DatasetBuilder.make(from: consume file, options: SplitOptions(kind: .random, task: .rating))
            data = "\(ratings) (random split, rating task, \(dataset.train.count) training ratings)"
        } else {
            let prefix = prefix ?? Self.defaultPrefix
            let files = try RatingsReader.readNCF(prefix: prefix, options: LoadOptions(format: .ncf))
            let options = SplitOptions(kind: .ncf, task: .implicit, seed: 0, evalNegatives: .sampled(99), lossNegatives: 4)
            dataset = try DatasetBuilder.make(from: files, options: options)
            data = "\(prefix) (NCF split, \(dataset.train.count) training positives, 4 negatives each)"
        }
        say("data: \(data); batch \(batchSize), embed \(embedDim), MLP \(mlpDims), \(optimizerKind), \(epochs) epoch(s) × \(rounds) round(s)")

        var runs: [Int: [Run]] = [:]
        for round in 0..<rounds {
            let order = round % 2 == 0 ? counts : counts.reversed()
            for threads in order {
                let r = try train(threads: threads, dataset: dataset)
                runs[threads, default: []].append(r)
                say(String(format: "round %d, %d thread%@: %@ samples/s per epoch (critical path %@ per CPU-s), cpu/wall %@, others busy %@ cores, cross-core round trip %@ ns, %@",
                           round + 1, threads, threads == 1 ? "" : "s",
                           r.samplesPerSecond.map { grouped($0) }.joined(separator: " / "),
                           r.criticalPathSpeed.map { grouped($0) }.joined(separator: " / "),
                           r.cpuPerWall.map { String(format: "%.2f", $0) }.joined(separator: " / "),
                           r.foreignCores.map { String(format: "%.2f", $0) }.joined(separator: " / "),
                           r.roundTrip.map { String(format: "%.0f", $0) } ?? "n/a", r.test))
                if let profile = r.profile { say("  " + profile) }
            }
        }

        let base = median(runs[counts[0]]?.flatMap(\.samplesPerSecond) ?? [])
        let pathBase = median(runs[counts[0]]?.flatMap(\.criticalPathSpeed) ?? [])
        var table = TextTable(headers: ["threads", "samples/s (median epoch)", "× \(counts[0]) thread\(counts[0] == 1 ? "" : "s")",
                                       "cpu/wall", "others busy (cores)", "critical-path samples/CPU-s", "×", "round trip (ns)",
                                       "test metrics"])
        for threads in counts {
            let rs = runs[threads] ?? []
            let speed = median(rs.flatMap(\.samplesPerSecond))
            let cpuWall = rs.flatMap(\.cpuPerWall), foreign = rs.flatMap(\.foreignCores), trips = rs.compactMap(\.roundTrip)
            table.add([
                "\(threads)", grouped(speed), String(format: "%.2f×", speed / base),
                String(format: "%.2f–%.2f", cpuWall.min() ?? .nan, cpuWall.max() ?? .nan),
                String(format: "%.2f–%.2f", foreign.min() ?? .nan, foreign.max() ?? .nan),
                grouped(median(rs.flatMap(\.criticalPathSpeed))), String(format: "%.2f×", median(rs.flatMap(\.criticalPathSpeed)) / pathBase),
                trips.isEmpty ? "n/a" : String(format: "%.0f–%.0f", trips.min() ?? .nan, trips.max() ?? .nan),
                rs.map(\.test).joined(separator: "; "),
            ])
            if json {
                var fields: [(String, JSONValue)] = [
                    ("bench", .string("threads")), ("threads", .number(Double(threads))), ("samples_per_second", .number(speed)),
                    ("ratio", .number(speed / base)), ("batch_size", .number(Double(batchSize))), ("embed_dim", .number(Double(embedDim))),
                    ("mlp_dims", .string(mlpDims)), ("optimizer", .string(optimizerKind)),
                    ("cpu_per_wall_min", .number(cpuWall.min() ?? .nan)), ("others_busy_max", .number(foreign.max() ?? .nan)),
                    ("critical_path_samples_per_cpu_second", .number(median(rs.flatMap(\.criticalPathSpeed)))),
                    ("cross_core_round_trip_ns_max", trips.max().map { .number($0) } ?? .null),
                ]
                fields += machineJSON()
                print(JSONValue.object(fields).rendered)
            }
        }
        for line in table.render().split(separator: "\n") { say(String(line)) }
        say("load average at end: \(loadAverage())")
    }

    /// A fresh trainer on `threads` threads, `epochs` epochs; per epoch the trainer's training
    /// samples/s and, from one epoch end to the next (sampling, training, validation), this
    /// process's CPU per wall second and the others' load.
    private func train(threads: Int, dataset: Dataset) throws -> Run {
        var config = TrainConfig()
        config.batch_size = batchSize
        config.embed_dim = embedDim
        config.mlp_dims = dims
        config.optimizer = OptimizerKind(rawValue: optimizerKind) ?? .adam
        config.epochs = epochs
        config.seed = seed
        config.threads = threads
        let trainer = try Trainer(config: config, dataset: dataset)
        let profile = threads > 1 ? ThreadProfile() : nil
        trainer.threadProfile = profile
        var result = Run()
        if #available(macOS 15.0, *) { result.roundTrip = crossCoreRoundTripNanoseconds() }
        var meter = LoadMeter()
        meter.start()
        var firstReport: (step: Int, cpu: Double)?, lastReport: (step: Int, cpu: Double)?
        var profiled = (steps: 0, criticalPath: 0.0)
        let summary = try trainer.run { event in
            switch event {
            case let .progress(_, step, _, _, _):
                let report = (step, LoadMeter.ownCPUSeconds())
                if firstReport == nil { firstReport = report } else { lastReport = report }
            case let .epochEnded(record):
                let load = meter.stop()
                result.samplesPerSecond.append(record.samplesPerSecond)
                result.cpuPerWall.append(load.cpu / max(load.wall, 1e-9))
                result.foreignCores.append(load.foreignCores)
                if let profile {
                    let steps = profile.steps - profiled.steps, path = profile.criticalPath - profiled.criticalPath
                    result.criticalPathSpeed.append(Double(steps * batchSize) / max(path, 1e-9))
                    profiled = (profile.steps, profile.criticalPath)
                } else if let a = firstReport, let b = lastReport, b.step > a.step {
                    result.criticalPathSpeed.append(Double((b.step - a.step) * batchSize) / max(b.cpu - a.cpu, 1e-9))
                }
                firstReport = nil
                lastReport = nil
                meter.start()
            default: break
            }
            return .proceed
        }
        if let profile, profile.steps > 0 {
            let perStep = { (x: Double) in String(format: "%.1f", x / Double(profile.steps) * 1e6) }
            result.profile = "CPU µs per step, by thread: forward/loss/backward \(profile.seconds[0].map(perStep).joined(separator: " / ")), "
                + "reduce + update \(profile.seconds[1].map(perStep).joined(separator: " / ")); critical path \(perStep(profile.criticalPath))"
        }
        let shown: [Measure] = dataset.task == .rating ? [.rmse] : [.hitRate(k: 10), .ndcg(k: 10)]
        result.test = shown.map { MetricName(.test, $0) }
            .map { name in String(format: "%@ %.4f", name.description, summary.testMetrics[metric: name] ?? .nan) }
            .joined(separator: " ")
        return result
    }

    private func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    private func grouped(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: x.rounded())) ?? String(Int(x))
    }

    private func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "n/a"
    }

    private var buildKind: String {
        #if DEBUG
        "debug (figures are not representative; use swift build -c release)"
        #else
        "release"
        #endif
    }
}
