// ncf-bench: how fast ncf trains NeuMF, optionally side by side with the reference trainers in
// ../shared/bench (a framework trainer and a manual-backprop array trainer), measured in the same process run on the same rows, split,
// model and thread count.
//
// Subcommands: `eval` (full-ranking evaluation speed, pairs/s), `scale` (time and memory from 100k to
// 20M ratings), `memory` (resident memory per stage of an ML-1M run), `sweep-quality`, `sweep-fixture` (a synthetic sweep in a store, for the report). Deliberately left out: multi-process scaling, and any figure
// taken in a different run (the machine is shared: only ratios from one run are comparable).

import ArgumentParser
import Foundation
import NCFKernels
import NCFTraining

@main
struct NCFBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ncf-bench",
        abstract: "Measure ncf's NeuMF training speed, optionally beside the PyTorch and NumPy reference trainers.",
        discussion: """
            Each configuration trains a fresh model for --warmup_epochs + --epochs epochs and times \
            forward + loss + backward + optimizer step per epoch (the median timed epoch gives \
            samples/s). With --compare, the reference scripts run with the same flags, alternating \
            with ncf's measurement, --rounds times. Examples:
              ncf-bench
              ncf-bench --compare torch,numpy --epochs 2 --max_steps 3000
              ncf-bench --config 64:8:16,16 --config 256:32:64,32,16:implicit --optimizer adam,dense_adam --json
              ncf-bench eval --torch
              ncf-bench memory
              ncf-bench claims --store postgresql://ncf@localhost/ncf
            """,
        subcommands: [SweepQuality.self, EvalBench.self, MemoryBench.self, ThreadsBench.self, ScaleBench.self, SweepFixture.self, ClaimBench.self]
    )

    /// Gets OpenBLAS's best kernels for this CPU first (see `BLASCore.selectKernels`; it may
    /// execute the bench again with OPENBLAS_CORETYPE set), then runs the command line.
    static func main() {
        BLASCore.selectKernels()
        main(nil)
    }

    // MARK: Workload

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "A configuration B:D:DIMS[:implicit] (batch, embedding size, MLP sizes, task); repeatable. Replaces the default six rows.",
        valueName: "B:D:DIMS"))
    var configs: [String] = []

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Ratings file for the explicit rows; when missing, ncf's synthetic ML-100K-shaped set is used (and said so).",
        valueName: "path"))
    var data = "../shared/data/ml-100k/u.data"

    @Option(name: [.customLong("implicit_data"), .customLong("implicit-data")], help: ArgumentHelp(
        "Ratings file for the implicit rows (every interaction a positive); default: ncf's synthetic ML-1M-shaped set.",
        valueName: "path"))
    var implicitData: String?

    @Flag(name: [.customLong("reference_presets"), .customLong("reference-presets")], help: ArgumentHelp(
        "Let the references generate their own synthetic --preset data instead of reading ncf's synthetic rows from a file."))
    var referencePresets = false

    // MARK: Training

    @Option(name: .customLong("optimizer"), help: ArgumentHelp(
        "ncf's optimizer: adam (lazy: only the rows in the batch move), dense_adam (every row, like torch.optim.Adam), or a comma list of both.",
        valueName: "list"))
    var optimizer = "adam"

    @Option(name: .customLong("dropout"), help: ArgumentHelp("Drop probability after each ReLU of the tower.", valueName: "p"))
    var dropout = 0.1

    @Option(name: .customLong("threads"), help: ArgumentHelp("BLAS / framework threads, for every trainer.", valueName: "n"))
    var threads = 1

    @Option(name: .customLong("epochs"), help: ArgumentHelp("Timed epochs.", valueName: "n"))
    var epochs = 3

    @Option(name: [.customLong("warmup_epochs"), .customLong("warmup-epochs")], help: ArgumentHelp(
        "Untimed epochs before the timed ones.", valueName: "n"))
    var warmupEpochs = 1

    @Option(name: [.customLong("max_steps"), .customLong("max-steps")], help: ArgumentHelp(
        "If > 0, cap every epoch at this many steps (as the references do).", valueName: "n"))
    var maxSteps = 0

    @Option(name: .customLong("negatives"), help: ArgumentHelp("Implicit rows: negatives per positive.", valueName: "n"))
    var negatives = 4

    @Option(name: .customLong("seed"), help: ArgumentHelp("Seed for every trainer.", valueName: "n"))
    var seed: UInt64 = 0

    // MARK: Comparison

    @Option(name: .customLong("compare"), help: ArgumentHelp(
        "Also run the reference trainers: torch, numpy or torch,numpy.", valueName: "list"))
    var compare: String?

    @Flag(name: [.customLong("fused_adam"), .customLong("fused-adam")], help: ArgumentHelp(
        "Also run torch_ncf.py --fused_adam (PyTorch's fused Adam) as its own column."))
    var fusedAdam = false

    @Option(name: .customLong("rounds"), help: ArgumentHelp(
        "Measure every trainer this many times, alternating; figures are medians over rounds.", valueName: "n"))
    var rounds = 1

    @Option(name: [.customLong("bench_dir"), .customLong("bench-dir")], help: ArgumentHelp(
        "Directory holding torch_ncf.py and numpy_ncf.py.", valueName: "path"))
    var benchDir = "../shared/bench"

    @Option(name: .customLong("python"), help: ArgumentHelp("Python with torch, numpy and threadpoolctl.", valueName: "path"))
    var python = "/tmp/bench-venv/bin/python"

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds before a reference run is stopped.", valueName: "s"))
    var timeout = 1800.0

    // MARK: Output

    @Option(name: [.customLong("peak_gflops"), .customLong("peak-gflops")], help: ArgumentHelp(
        "The machine's peak GFLOP/s for the thread count (default: one core's FP32 peak here).", valueName: "x"))
    var peakGFLOPS = 117.0

    @Flag(name: .customLong("json"), help: ArgumentHelp(
        "Print one JSON object per configuration on stdout (JSON Lines); the tables go to stderr."))
    var json = false

    // MARK: - Validation

    mutating func validate() throws {
        var problems: [String] = []
        if epochs < 1 { problems.append("--epochs \(epochs): must be at least 1") }
        if warmupEpochs < 0 { problems.append("--warmup_epochs \(warmupEpochs): must be ≥ 0") }
        if maxSteps < 0 { problems.append("--max_steps \(maxSteps): must be ≥ 0 (0 = whole epochs)") }
        if threads < 1 || threads > 256 { problems.append("--threads \(threads): must be 1...256") }
        if !(dropout >= 0 && dropout < 1) { problems.append("--dropout \(dropout): must be in [0, 1)") }
        if negatives < 1 || negatives > 1000 { problems.append("--negatives \(negatives): must be 1...1000") }
        if rounds < 1 { problems.append("--rounds \(rounds): must be at least 1") }
        if !(peakGFLOPS > 0) { problems.append("--peak_gflops \(peakGFLOPS): must be positive") }
        if !(timeout > 0) { problems.append("--timeout \(timeout): must be positive") }
        do { _ = try parsedOptimizers() } catch { problems.append(String(describing: error)) }
        do { _ = try parsedImpls() } catch { problems.append(String(describing: error)) }
        for text in configs {
            do { _ = try BenchConfig(parsing: text) } catch { problems.append(error.description) }
        }
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    private func parsedOptimizers() throws -> [OptimizerKind] {
        var out: [OptimizerKind] = []
        for name in optimizer.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let kind = OptimizerKind(rawValue: name.replacingOccurrences(of: "-", with: "_")) else {
                throw BenchError.badFlag("--optimizer \(optimizer)", "\"\(name)\" is not one of adam, dense_adam, sgd. Hint: e.g. --optimizer adam,dense_adam.")
            }
            if !out.contains(kind) { out.append(kind) }
        }
        if out.isEmpty { throw BenchError.badFlag("--optimizer", "no optimizer given. Hint: --optimizer adam.") }
        return out
    }

    private func parsedImpls() throws -> [ReferenceImpl] {
        var out: [ReferenceImpl] = []
        for name in (compare ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch name {
            case "torch", "pytorch": if !out.contains(.torch) { out.append(.torch) }
            case "numpy": if !out.contains(.numpy) { out.append(.numpy) }
            case "torch-fused", "torch_fused": if !out.contains(.torchFused) { out.append(.torchFused) }
            default:
                throw BenchError.badFlag("--compare \(compare ?? "")", "\"\(name)\" is not torch or numpy. Hint: --compare torch,numpy.")
            }
        }
        if fusedAdam, !out.contains(.torchFused) {
            let at = (out.firstIndex(of: .torch).map { $0 + 1 }) ?? 0
            out.insert(.torchFused, at: at)
        }
        return out
    }

    // MARK: - Run

    mutating func run() throws {
        let console = Console(jsonMode: json)
        let optimizers = try parsedOptimizers()
        let impls = try parsedImpls()
        let configs = self.configs.isEmpty ? BenchConfig.defaults : try self.configs.map { try BenchConfig(parsing: $0) }
        let settings = RunSettings(threads: threads, epochs: epochs, warmupEpochs: warmupEpochs, maxSteps: maxSteps,
                                   dropout: dropout, seed: seed, negatives: negatives)

        BLAS.setThreads(threads)
        let benchDirectory = URL(fileURLWithPath: benchDir).standardizedFileURL
        if !impls.isEmpty {
            for impl in impls where !FileManager.default.fileExists(atPath: benchDirectory.appendingPathComponent(impl.script).path) {
                throw BenchError.data(benchDirectory.appendingPathComponent(impl.script).path,
                                      "reference script not found. Hint: pass --bench_dir DIR (default ../shared/bench, relative to the working directory).")
            }
            if !FileManager.default.isExecutableFile(atPath: python) {
                throw BenchError.data(python, "no Python executable here. Hint: create the venv as the bench README says, or pass --python PATH.")
            }
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        // Data, built once per task.
        var explicitWorkload: Workload?
        var implicitWorkload: Workload?
        if configs.contains(where: { !$0.implicit }) {
            explicitWorkload = try Workload.explicit(path: data, scratchDirectory: scratch, seed: seed, referencePresets: referencePresets)
        }
        if configs.contains(where: \.implicit) {
            implicitWorkload = try Workload.implicit(path: implicitData, scratchDirectory: scratch, seed: seed, referencePresets: referencePresets)
        }

        console.human(header(settings: settings, optimizers: optimizers, impls: impls, benchDirectory: benchDirectory,
                             explicit: explicitWorkload, implicit: implicitWorkload))

        let runner = ReferenceRunner(python: python, benchDirectory: benchDirectory, timeoutSeconds: timeout)
        var results: [ConfigResult] = []
        for (c, config) in configs.enumerated() {
            let workload = config.implicit ? implicitWorkload! : explicitWorkload!
            let modelConfig = config.modelConfig(numUsers: workload.dataset.numUsers, numItems: workload.dataset.numItems, dropout: dropout)
            var result = ConfigResult(config: config, workload: workload, modelConfig: modelConfig)
            let tag = "[\(c + 1)/\(configs.count)] \(config)"
            for round in 0..<rounds {
                // Alternate the order every round, so that drift in the machine's load favours no one.
                var order: [Either] = optimizers.map { .ncf($0) } + impls.map { .reference($0) }
                if round % 2 == 1 { order.reverse() }
                for entry in order {
                    let roundText = rounds > 1 ? " round \(round + 1)/\(rounds)" : ""
                    switch entry {
                    case .ncf(let kind):
                        let run = measureNCF(config: config, workload: workload, optimizer: kind, settings: settings)
                        result.ncf[kind, default: []].append(run)
                        console.progress("\(tag)\(roundText)  ncf \(kind.rawValue): \(Fmt.grouped(run.samplesPerSecond)) samples/s, "
                                         + "\(Fmt.sig3(run.microsecondsPerStep)) µs/step, loss \(Fmt.fixed(run.epochLosses.last ?? .nan, 4))"
                                         + (run.nonFinite ? " (NON-FINITE LOSS)" : ""))
                    case .reference(let impl):
                        do {
                            let run = try runner.run(impl, config: config, workload: workload, settings: settings, scratchDirectory: scratch)
                            result.references[impl, default: []].append(run)
                            console.progress("\(tag)\(roundText)  \(impl.rawValue): \(Fmt.grouped(run.samplesPerSecond)) samples/s, "
                                             + "\(run.microsecondsPerStep.map(Fmt.sig3) ?? "?") µs/step, loss "
                                             + "\(Fmt.fixed(run.epochLosses.last ?? .nan, 4)) (process \(Fmt.fixed(run.processSeconds, 1)) s)")
                        } catch {
                            let message = "\(config) \(impl.rawValue): \(error)"
                            result.failures.append(message)
                            console.progress("\(tag)\(roundText)  \(impl.rawValue) FAILED: \(error)")
                        }
                    }
                }
            }
            if json {
                console.json(result.json(settings: settings, peakGFLOPS: peakGFLOPS, optimizers: optimizers, impls: impls))
            }
            results.append(result)
        }

        let report = Report(results: results, settings: settings, peakGFLOPS: peakGFLOPS, optimizers: optimizers, impls: impls)
        console.human(footer(report: report))
    }

    private enum Either {
        case ncf(OptimizerKind)
        case reference(ReferenceImpl)
    }

    // MARK: - Text around the tables

    private func header(settings: RunSettings, optimizers: [OptimizerKind], impls: [ReferenceImpl], benchDirectory: URL,
                        explicit: Workload?, implicit: Workload?) -> String {
        var lines = ["ncf-bench: NeuMF training speed (compare ratios within one run: the machine is shared and noisy)"]
        lines += machineLines()
        let steps = maxSteps > 0 ? "at most \(Fmt.grouped(maxSteps)) steps per epoch" : "whole epochs"
        lines.append("settings: \(threads) thread\(threads == 1 ? "" : "s"), \(epochs) timed epoch\(epochs == 1 ? "" : "s") after "
                     + "\(warmupEpochs) warm-up, \(steps), dropout \(dropout), lr 0.001, seed \(seed)"
                     + (implicit != nil ? ", \(negatives) negatives per positive (implicit)" : ""))
        func describe(_ w: Workload, _ label: String) {
            let d = w.dataset
            var text = "\(label) data: \(w.title) \(w.source): \(Fmt.grouped(d.numUsers)) users, \(Fmt.grouped(d.numItems)) items, "
                + "\(Fmt.grouped(w.totalInteractions)) interactions; leave-one-out as the references (each user's latest → test, "
                + "\(Fmt.grouped(w.heldOut)) held out): \(Fmt.grouped(w.trainCount)) train "
            if d.task == .implicit {
                text += "positives + \(negatives) negatives each = \(Fmt.grouped(w.trainCount * (1 + negatives))) samples per full epoch"
            } else {
                text += "ratings = samples per full epoch"
            }
            lines.append(text + " [built in \(Fmt.fixed(w.buildSeconds, 1)) s]")
            for note in w.notes { lines.append("  note: \(note)") }
        }
        if let explicit { describe(explicit, "explicit") }
        if let implicit { describe(implicit, "implicit") }
        lines.append("timed: forward + loss + backward + optimizer step (median over the timed epochs); the epoch's shuffle and "
                     + "negative sampling are timed apart (\"prep s\"); the references shuffle inside their timed loop.")
        lines.append("FLOP/sample (ModelConfig.trainFlopsPerSample; multiply-add = 2): 9·d for GMF (product d fwd + 2d bwd, "
                     + "the head's GMF half 2d fwd + 4d bwd) + Σ 6·in·out over the tower's Linear layers (2·in·out fwd, "
                     + "4·in·out bwd: input and weight gradients) + 6·n_L for the head's MLP half; lookups, biases, ReLU/dropout, "
                     + "loss and optimizer are not counted. % peak = GFLOP/s ÷ \(Fmt.sig3(peakGFLOPS)) (--peak_gflops).")
        let opts = optimizers.map { "\($0.rawValue) = \($0.benchLabel)" }.joined(separator: ", ")
        lines.append("ncf optimizer: \(opts)"
                     + (optimizers.contains(.adam) ? "; lazy Adam moves only the embedding rows in the batch, a different "
                        + "optimizer from the references' dense Adam (torch.optim.Adam), which moves every row every step" : ""))
        if !impls.isEmpty {
            lines.append("references: \(impls.map { "\($0.rawValue) (\($0.script)\($0.extraArguments.isEmpty ? "" : " " + $0.extraArguments.joined(separator: " ")), \($0.optimizerLabel))" }.joined(separator: ", ")) "
                         + "from \(benchDirectory.path) via \(python), same flags, run in turn with ncf"
                         + (rounds > 1 ? " over \(rounds) rounds (order reversed every other round; figures are medians)" : ""))
            if impls.contains(.numpy) {
                lines.append("numpy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in its environment (they slow NumPy's OpenBLAS here)")
            }
        }
        let env = ProcessInfo.processInfo.environment
        // OPENBLAS_CORETYPE set by ncf's own restart (BLASCore) is no user tuning.
        let userCore = BLASCore.status.decision.chooser == "user"
        let tuned = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"].filter { env[$0] != nil && ($0 != "OPENBLAS_CORETYPE" || userCore) }
        if !tuned.isEmpty {
            lines.append("warning: \(tuned.map { "\($0)=\(env[$0]!)" }.joined(separator: " ")) is set for ncf-bench itself, so ncf's "
                         + "OpenBLAS runs with it; run `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ncf-bench ...` for an untuned figure")
        }
        lines.append("ncf's BLAS: OpenBLAS with \(BLAS.threads) thread\(BLAS.threads == 1 ? "" : "s") after setup")
        lines.append("")
        return lines.joined(separator: "\n")
    }

    private func footer(report: Report) -> String {
        var lines = ["", "ncf (samples/s and samples/cpu-s: medians over rounds; the other figures from the median round)",
                     report.ncfTable(),
                     "  VmHWM: the bench process's peak resident memory during that run (reset before each run via "
                        + "/proc/self/clear_refs), loaded data sets included.",
                     "  cpu/wall: the lowest share of a core the run got in a timed epoch; others busy: the most cores other "
                        + "processes kept busy meanwhile (/proc/stat; \(ProcessInfo.processInfo.activeProcessorCount) cores here). "
                        + "* cpu/wall below \(Report.cpuShareThreshold): the run waited for a CPU, its wall-clock figure is low."]
        if !report.impls.isEmpty {
            lines += ["", "ncf vs references (training samples/s; ratio > 1: ncf faster)", report.comparisonTable(),
                      "  * some trainer of that row got less than \(Report.cpuShareThreshold) of a core in a timed epoch "
                        + "(see cpu/wall): its wall-clock figure is low."]
            lines += ["", "the same ratios in samples per CPU-second of each trainer's own process (less sensitive to other "
                      + "load; Python's CPU clock ticks every 10 ms)", report.cpuRatioTable()]
            lines += ["", "reference details", report.referenceDetailTable(),
                      "  prep s: the reference's per-epoch data preparation (negative sampling), outside its timing."]
        }
        lines += ["", "training loss, first (warm-up) → last epoch: mean of batch losses, MSE (explicit) or binary "
                  + "cross-entropy (implicit)", report.lossTable()]
        var notes: [String] = []
        for result in report.results {
            for kind in report.optimizers { notes += result.countMismatches(kind) }
            notes += result.failures.map { "failed: \($0)" }
            for kind in report.optimizers where result.representative(kind)?.nonFinite == true {
                notes.append("\(result.config): ncf \(kind.rawValue) reached a non-finite loss")
            }
        }
        var versions: [String] = []
        for impl in report.impls {
            if let v = report.results.lazy.compactMap({ $0.representative(impl)?.version }).first, !versions.contains(v) { versions.append(v) }
        }
        if !versions.isEmpty { lines += ["", "reference versions: " + versions.joined(separator: "; ")] }
        if !notes.isEmpty { lines += [""] + notes.map { "note: \($0)" } }
        return lines.joined(separator: "\n")
    }
}

// MARK: - Output streams

/// Where output goes: tables and notes to stdout (stderr with `--json`), progress to stderr,
/// JSON Lines to stdout.
struct Console {
    var jsonMode: Bool

    func human(_ text: String) {
        write(text + "\n", toStandardError: jsonMode)
    }

    func progress(_ text: String) {
        write(text + "\n", toStandardError: true)
    }

    func json(_ value: JSONValue) {
        write(value.rendered + "\n", toStandardError: false)
    }

    private func write(_ text: String, toStandardError: Bool) {
        let handle = toStandardError ? FileHandle.standardError : FileHandle.standardOutput
        handle.write(Data(text.utf8))
    }
}
