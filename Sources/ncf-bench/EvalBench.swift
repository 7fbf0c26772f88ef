// `ncf-bench eval`: how fast ncf scores every item for every user (full-ranking evaluation), beside
// the per-pair reference path and, with --compare torch, the PyTorch reference's `--eval` mode.
//
// The figure is pairs per second: users × items scored, ranked against the positive and counted
// into HR@K / NDCG@K / MRR / AUC, divided by the wall time of the whole evaluation.

import ArgumentParser
import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFTraining

struct EvalBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure full-ranking evaluation speed (pairs/s) on the NCF ML-1M split.",
        discussion: """
            Loads the NCF paper's files (--prefix PREFIX; default ../shared/data/ncf-ml-1m/ml-1m), \
            builds a NeuMF of the given shape (untrained: speed does not depend on the weights) and \
            times Evaluator.evaluate over every test case against every item the user has not seen \
            in train. --reference also times the per-pair path once and prints the largest metric \
            difference. Examples:
              ncf-bench eval
              ncf-bench eval --mlp_dims 32,64,128 --torch --reference
              ncf-bench eval --eval_threads 2
            """
    )

    // Names differ from the root command's (--data, --threads, --compare, --json): the parser hands
    // a parent's options to the parent even after the subcommand's name.
    @Option(name: .customLong("prefix"), help: ArgumentHelp("The NCF files' prefix.", valueName: "prefix"))
    var data = "../shared/data/ncf-ml-1m/ml-1m"

    @Option(name: [.customLong("embed_dim"), .customLong("embed-dim")], help: ArgumentHelp("Embedding width.", valueName: "d"))
    var embedDim = 32

    @Option(name: [.customLong("mlp_dims"), .customLong("mlp-dims")], help: ArgumentHelp("MLP tower sizes.", valueName: "list"))
    var mlpDims = "64,32,16"

    @Option(name: .customLong("repeats"), help: ArgumentHelp("Timed evaluations; the median is reported.", valueName: "n"))
    var repeats = 3

    @Option(name: [.customLong("eval_threads"), .customLong("eval-threads")], help: ArgumentHelp(
        "Threads for the evaluation (blocks of users run in parallel; BLAS stays at 1 thread per block).", valueName: "n"))
    var threads = 1

    @Option(name: [.customLong("tile_rows"), .customLong("tile-rows")], help: ArgumentHelp(
        "Pairs per tile of the scorer's gemms.", valueName: "n"))
    var tileRows = BatchScorer.defaultTileRows

    @Flag(name: .customLong("reference"), help: ArgumentHelp("Also time the per-pair reference path once (slow)."))
    var reference = false

    @Flag(name: .customLong("torch"), help: ArgumentHelp(
        "Also run torch_ncf.py --preset ml1m --eval (same shape and thread count, synthetic rows)."))
    var torch = false

    @Option(name: [.customLong("torch_python"), .customLong("torch-python")], help: ArgumentHelp("Python with torch.", valueName: "path"))
    var python = "/tmp/bench-venv/bin/python"

    @Option(name: [.customLong("torch_dir"), .customLong("torch-dir")], help: ArgumentHelp("Directory holding torch_ncf.py.", valueName: "path"))
    var benchDir = "../shared/bench"

    @Flag(name: .customLong("jsonl"), help: ArgumentHelp("Also print one JSON object on stdout (the text goes to stderr)."))
    var json = false

    private var dims: [Int] { mlpDims.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    mutating func validate() throws {
        var problems: [String] = []
        if embedDim < 1 { problems.append("--embed_dim \(embedDim): must be at least 1") }
        if dims.isEmpty || dims.contains(where: { $0 < 1 }) { problems.append("--mlp_dims \(mlpDims): comma-separated positive sizes, e.g. 64,32,16") }
        if tileRows < 1 { problems.append("--tile_rows \(tileRows): must be at least 1") }
        if repeats < 1 { problems.append("--repeats \(repeats): must be at least 1") }
        if threads < 1 || threads > 256 { problems.append("--eval_threads \(threads): must be 1...256") }
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    func run() throws {
        let console = Console(jsonMode: json)
        BLAS.setThreads(1)
        let loadStart = monotonicSeconds()
        let files: NCFPaperFiles
        do { files = try RatingsReader.readNCF(prefix: data, options: LoadOptions(format: .ncf)) } catch {
            throw BenchError.data(data, "\(error). Hint: pass --prefix PREFIX of the NCF files (PREFIX.train.rating[.gz], .test.rating, .test.negative).")
        }
        let options = SplitOptions(kind: .ncf, task: .implicit, seed: 0, evalNegatives: .all, lossNegatives: 0)
        let dataset = try DatasetBuilder.make(from: files, options: options)
        let loadSeconds = monotonicSeconds() - loadStart
        guard let ranking = dataset.testRanking else { throw BenchError.data(data, "no test cases. Hint: check the .test.rating file.") }

        let config = ModelConfig(kind: .neumf, task: .implicit, numUsers: dataset.numUsers, numItems: dataset.numItems,
                                 embedDim: embedDim, mlpDims: dims, dropout: 0)
        let model = NeuMF(config: config, capacity: 256, seed: 0)
        let evaluator = Evaluator(split: .test, pairs: LabeledPairs(), ranking: ranking, dataset: dataset, k: 10)
        evaluator.tileRows = tileRows
        evaluator.threads = threads
        let pairs = ranking.count * dataset.numItems
        for line in machineLines() { console.progress(line) }
        console.progress("data: \(data) (\(ranking.count) test cases × \(dataset.numItems) items = \(pairs) pairs; loaded in "
                         + String(format: "%.2f", loadSeconds) + " s)")
        console.progress("model: NeuMF d\(embedDim) MLP \(mlpDims), untrained; \(threads) thread\(threads == 1 ? "" : "s")")

        var times: [Double] = []
        var cpuTimes: [Double] = []
        var metrics: [MetricValue] = []
        var meter = LoadMeter()
        var cpuShare = Double.infinity  // CPU seconds per wall second (up to the thread count)
        _ = evaluator.evaluate(model)  // warm-up: allocates the scorer
        for _ in 0..<repeats {
            meter.start()
            metrics = evaluator.evaluate(model)
            let (wall, cpu, _) = meter.stop()
            times.append(wall)
            cpuTimes.append(cpu)
            cpuShare = min(cpuShare, cpu / max(wall, 1e-12))
        }
        let seconds = median(times)
        let rate = Double(pairs) / seconds
        // Scoring work per pair after the first-layer split (multiply-add = 2): the GMF dot 2d, the
        // first layer's addition n_1, each further layer 2·n_{l−1}·n_l, the head's dot 2·n_L.
        var flopsPerPair = 2 * embedDim + dims[0] + 2 * dims.last!
        for l in 1..<dims.count { flopsPerPair += 2 * dims[l - 1] * dims[l] }
        console.progress("FLOP/pair (2d GMF dot + n_1 first-layer add + Σ_{l≥2} 2·n_{l−1}·n_l + 2·n_L head) = \(flopsPerPair)")
        var lines = ["ncf full ranking: " + String(format: "%.3f", seconds) + " s for \(pairs) pairs = "
                     + String(format: "%.2f", rate / 1e6) + "M pairs/s (median of \(repeats); cpu/wall "
                     + String(format: "%.2f", cpuShare) + "; " + String(format: "%.2f", Double(pairs) / median(cpuTimes) / 1e6)
                     + "M pairs per CPU-second; " + String(format: "%.1f", Double(flopsPerPair) * rate / 1e9) + " GFLOP/s)",
                     "  " + metrics.map { "\($0.name) " + String(format: "%.4f", $0.value) }.joined(separator: "  ")]
        var object: [(String, JSONValue)] = [
            ("bench", .string("eval")), ("data", .string(data)), ("users", .number(Double(ranking.count))),
            ("items", .number(Double(dataset.numItems))), ("pairs", .number(Double(pairs))),
            ("embed_dim", .number(Double(embedDim))), ("mlp_dims", .string(mlpDims)), ("threads", .number(Double(threads))),
            ("flops_per_pair", .number(Double(flopsPerPair))),
            ("eval_s", JSONValue.rounded(seconds, 4)), ("pairs_per_s", JSONValue.rounded(rate, 0)),
            ("cpu_share", JSONValue.rounded(cpuShare, 3)),
            ("pairs_per_cpu_s", JSONValue.rounded(Double(pairs) / median(cpuTimes), 0)),
        ] + machineJSON()
        if reference {
            let start = monotonicSeconds()
            let slow = evaluator.evaluateReference(model)
            let slowSeconds = monotonicSeconds() - start
            let diff = zip(slow, metrics).map { abs($0.value - $1.value) }.max() ?? 0
            lines.append("reference (one forward per case): " + String(format: "%.3f", slowSeconds) + " s = "
                         + String(format: "%.2f", Double(pairs) / slowSeconds / 1e6) + "M pairs/s; largest metric difference "
                         + String(format: "%.2e", diff) + "; speed-up " + String(format: "%.1f", slowSeconds / seconds) + "×")
            object.append(("reference_eval_s", JSONValue.rounded(slowSeconds, 4)))
            object.append(("reference_max_metric_diff", .number(diff)))
        }
        if torch {
            let torch = try runTorch()
            if let eval = torch["eval"], let torchRate = eval["pairs_per_s_total"]?.double {
                lines.append("torch_ncf.py --preset ml1m --eval (same shape, synthetic rows): "
                             + String(format: "%.2f", torchRate / 1e6) + "M pairs/s ("
                             + (eval["eval_s"]?.double.map { String(format: "%.3f", $0) } ?? "?") + " s); ncf / torch = "
                             + String(format: "%.1f", rate / torchRate) + "×")
                object.append(("torch_pairs_per_s", .number(torchRate)))
                object.append(("ratio_vs_torch", JSONValue.rounded(rate / torchRate, 3)))
            } else {
                lines.append("torch_ncf.py printed no \"eval\" object")
            }
        }
        console.human(lines.joined(separator: "\n"))
        if json { console.json(.object(object)) }
    }

    /// Runs the PyTorch reference for one step of training and then its full-ranking evaluation.
    private func runTorch() throws -> JSONValue {
        let script = URL(fileURLWithPath: benchDir).appendingPathComponent("torch_ncf.py").path
        guard FileManager.default.fileExists(atPath: script) else {
            throw BenchError.data(script, "reference script not found. Hint: pass --torch_dir DIR.")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--task", "implicit", "--preset", "ml1m", "--embed_dim", String(embedDim),
                             "--mlp_dims", mlpDims, "--threads", String(threads), "--epochs", "1", "--warmup_epochs", "0",
                             "--max_steps", "1", "--eval", "--eval_repeats", String(repeats)]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw BenchError.data(python, "cannot start (\(error.localizedDescription)). Hint: create the venv as the bench README says, or pass --torch_python PATH.")
        }
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: bytes, as: UTF8.self)
        guard let value = text.split(separator: "\n").reversed().lazy.compactMap({ JSONValue.parse(String($0)) }).first else {
            throw BenchError.referenceOutput(script: "torch_ncf.py", stdoutTail: String(text.suffix(600)))
        }
        return value
    }
}
