// `ncf-bench sweep-quality`: how well ncf's bayes search finds minima, beside random search and,
// when their Python packages are installed, Optuna's TPE and the W&B sweeps engine's own bayes.
//
// Every method minimises the same standard test functions over the same search spaces, sequentially
// (one trial at a time, each told before the next is asked), for --seeds seeds. The table shows the
// mean (± standard error) over seeds of the best value found after 10, 20 and --trials trials.
// Deliberately left out: wall-clock comparisons between methods (Python and Swift processes differ
// too much for that to mean anything); only ncf's own suggestion time is reported.

import ArgumentParser
import Foundation
import NCFKernels
import NCFSweep

struct SweepQuality: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-quality",
        abstract: "Compare ncf's bayes search with random search, Optuna TPE and W&B's bayes on standard test functions.",
        discussion: """
            Functions: branin (2 reals), hartmann6 (6 reals), rosenbrock4 (4 reals), mixed (a 4-value \
            categorical whose best value is third in the list, an integer 0…20, a real and a log-scale real; \
            the best integer and reals depend on the category), ncf (the canonical NCF sweep space: \
            log-uniform lr and five categoricals, on a synthetic validation-loss surface), ncf-uniform (Sweeps/ncf.yaml's \
            space as written, lr uniform over 0.0001–0.01, on a surface shaped after the measured ML-100K landscape: \
            the best lr is near 0.0005, so most of the prior's range is poor). Examples:
              ncf-bench sweep-quality
              ncf-bench sweep-quality --seeds 5 --functions branin,mixed --against tpe
            """
    )

    @Option(name: .customLong("seeds"), help: ArgumentHelp("Seeds per function and method.", valueName: "n"))
    var seeds = 20

    @Option(name: .customLong("trials"), help: ArgumentHelp("Trials per seed (at least 20).", valueName: "n"))
    var trials = 50

    @Option(name: .customLong("functions"), help: ArgumentHelp(
        "Comma list of test functions: branin, hartmann6, rosenbrock4, mixed, ncf, ncf-uniform.", valueName: "list"))
    var functions = "branin,hartmann6,rosenbrock4,mixed,ncf,ncf-uniform"

    @Option(name: .customLong("against"), help: ArgumentHelp(
        "Python methods to run beside ncf: tpe, wandb, or none. Missing packages are reported and skipped.", valueName: "list"))
    var against = "tpe,wandb"

    @Option(name: [.customLong("optuna_python"), .customLong("optuna-python")], help: ArgumentHelp(
        "Python with optuna (for tpe).", valueName: "path"))
    var python = "/tmp/bench-venv/bin/python"

    @Option(name: [.customLong("wandb_python"), .customLong("wandb-python")], help: ArgumentHelp(
        "Python with the W&B `sweeps` package (for wandb; it needs numpy < 2, hence its own venv).", valueName: "path"))
    var wandbPython = "/tmp/sweeps-venv/bin/python"

    @Option(name: .customLong("warpings"), help: ArgumentHelp(
        "Also run ncf bayes with these output warpings (none, log, auto), each as a method of its own.", valueName: "list"))
    var warpings = ""

    mutating func validate() throws {
        var problems: [String] = []
        for name in warpingNames where OutputWarping(rawValue: name) == nil {
            problems.append("--warpings: \"\(name)\" is not one of \(OutputWarping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if seeds < 1 { problems.append("--seeds \(seeds): must be at least 1") }
        if trials < 20 { problems.append("--trials \(trials): must be at least 20 (the table reports 10, 20 and --trials)") }
        for name in functionNames where QualityProblem.named(name) == nil {
            problems.append("--functions: \"\(name)\" is not one of \(QualityProblem.all.map(\.name).joined(separator: ", "))")
        }
        for name in methodNames where !["tpe", "wandb"].contains(name) {
            problems.append("--against: \"\(name)\" is not tpe or wandb (or none)")
        }
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    private var functionNames: [String] {
        functions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private var warpingNames: [String] {
        warpings.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    private var methodNames: [String] {
        against.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty && $0 != "none" }
    }

    // MARK: - Run

    func run() throws {
        let problems = functionNames.compactMap(QualityProblem.named)
        let seedList = (0..<seeds).map { UInt64($0) }
        let milestones = [10, 20, trials].reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-bench-quality-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let script = scratch.appendingPathComponent("quality.py")
        try Data(pythonScript.utf8).write(to: script)

        for line in machineLines() { progress(line) }
        progress("sweep-quality: \(problems.count) functions × \(seeds) seeds × \(trials) trials; methods: random, ncf bayes"
                 + (methodNames.isEmpty ? "" : ", " + methodNames.joined(separator: ", ")))
        var notes: [String] = []
        var table = TextTable(headers: ["function", "optimum", "method"] + milestones.map { "best@\($0)" } + ["wins@20", "wins@\(trials)"],
                              leftAligned: [0, 2])
        var timing: [Double] = []
        for problem in problems {
            var results: [(String, [[Double]])] = []
            // The Python methods run as child processes while ncf's run here (two cores).
            var children: [(String, PythonJob)] = []
            for method in methodNames {
                let interpreter = method == "tpe" ? python : wandbPython
                guard FileManager.default.isExecutableFile(atPath: interpreter) else {
                    appendOnce(&notes, "\(method): no Python at \(interpreter); skipped (pass --\(method == "tpe" ? "optuna_python" : "wandb_python"))")
                    continue
                }
                children.append((method, try PythonJob.start(interpreter: interpreter, script: script.path, engine: method,
                                                             function: problem.name, seeds: seedList, trials: trials)))
            }
            let random = seedList.map { problem.trace(method: .random, seed: $0, trials: trials).values }
            progress("  \(problem.name): random done")
            var bayes: [[Double]] = []
            for seed in seedList {
                let t = problem.trace(method: .bayes, seed: seed, trials: trials)
                bayes.append(t.values)
                timing.append(contentsOf: t.secondsPerSuggestion.suffix(5))
            }
            progress("  \(problem.name): ncf bayes done")
            results = [("random", random), ("ncf bayes", bayes)]
            for name in warpingNames {
                guard let warping = OutputWarping(rawValue: name) else { continue }
                var sampler = BayesSampler()
                sampler.outputWarping = warping
                results.append(("ncf bayes, warp \(name)", seedList.map { problem.trace(method: .bayes, seed: $0, trials: trials, sampler: sampler).values }))
                progress("  \(problem.name): ncf bayes, warp \(name) done")
            }
            for (method, job) in children {
                switch job.wait() {
                case .success(let traces):
                    results.append((method == "tpe" ? "optuna tpe" : "wandb bayes", traces))
                    progress("  \(problem.name): \(method) done")
                case .failure(let message):
                    appendOnce(&notes, "\(method) failed on \(problem.name): \(message)")
                    progress("  \(problem.name): \(method) FAILED")
                }
            }
            // Best-so-far curves and, per milestone, which method has the lowest mean.
            let curves = results.map { ($0.0, $0.1.map(bestSoFar)) }
            func mean(_ c: [[Double]], _ m: Int) -> Double { c.map { $0[m - 1] }.reduce(0, +) / Double(c.count) }
            for (i, (method, curve)) in curves.enumerated() {
                var row = [i == 0 ? problem.name : "", i == 0 ? (problem.optimum == 0 ? "0" : Fmt.sig3(problem.optimum)) : "", method]
                for m in milestones {
                    let values = curve.map { $0[m - 1] }
                    let mu = values.reduce(0, +) / Double(values.count)
                    let sd = (values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(max(values.count - 1, 1))).squareRoot()
                    let best = curves.allSatisfy { mean($0.1, m) >= mu }
                    row.append(Fmt.sig3(mu) + " ± " + Fmt.sig3(sd / Double(values.count).squareRoot()) + (best ? " *" : "  "))
                }
                // Seeds on which this method is strictly best of all (ties split nobody).
                for m in [20, trials] {
                    var wins = 0
                    for s in 0..<seeds {
                        let v = curve[s][m - 1]
                        if curves.allSatisfy({ $0.0 == method || $0.1[s][m - 1] > v }) { wins += 1 }
                    }
                    row.append("\(wins)/\(seeds)")
                }
                table.add(row)
            }
        }
        var lines = ["", "mean best value found (± standard error over \(seeds) seeds; * = lowest mean); wins: seeds on which the method is strictly best",
                     table.render()]
        if !timing.isEmpty {
            let sorted = timing.sorted()
            lines.append("ncf bayes suggestion time over the last 5 trials of each run (in process): median "
                         + "\(Fmt.fixed(sorted[sorted.count / 2] * 1000, 1)) ms, max \(Fmt.fixed(sorted.last! * 1000, 1)) ms")
        }
        lines.append("settings: ncf bayes defaults (GP Matérn 5/2 ARD, expected improvement, one-hot categoricals); "
                     + "optuna: TPESampler(seed) defaults; wandb: sweeps.next_run bayes with numpy and random seeded")
        for note in notes { lines.append("note: " + note) }
        print(lines.joined(separator: "\n"))
    }

    private func progress(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    private func appendOnce(_ notes: inout [String], _ note: String) { if !notes.contains(note) { notes.append(note) } }

    private func bestSoFar(_ values: [Double]) -> [Double] {
        var best = Double.infinity
        return values.map { v in
            if v.isFinite { best = min(best, v) }
            return best
        }
    }
}

// MARK: - Test problems

/// A test function with its search space as a sweep config.
struct QualityProblem: Sendable {
    let name: String
    let optimum: Double
    let parameters: [Parameter]
    let f: @Sendable ([String: ParamValue]) -> Double

    static let all: [QualityProblem] = [branin, hartmann6, rosenbrock4, mixed, ncf, ncfUniform]

    static func named(_ name: String) -> QualityProblem? { all.first { $0.name == name } }

    /// One sequential run: each trial asks `suggest` (or `sampler`, drawing as `suggest` does)
    /// with every earlier trial finished.
    func trace(method: SweepConfig.Method, seed: UInt64, trials: Int, sampler: (any Sampler)? = nil)
        -> (values: [Double], secondsPerSuggestion: [Double])
    {
        let config = SweepConfig(method: method, metric: SweepConfig.Metric(name: "loss"), parameters: parameters)
        var runs: [RunRecord] = []
        var seconds: [Double] = []
        for i in 0..<trials {
            let start = DispatchTime.now().uptimeNanoseconds
            var rng = SplitMix64(seed: seed, stream: UInt64(runs.count))
            let suggestion = sampler.map { $0.next(1, config: config, runs: runs, rng: &rng)[0] }
                ?? suggest(config: config, history: runs, seed: seed, n: 1).suggestions[0]
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            let y = f(suggestion)
            runs.append(RunRecord(id: i, config: suggestion, state: .finished, history: [y], metric: y))
        }
        return (runs.map { $0.metric! }, seconds)
    }

    private static func real(_ c: [String: ParamValue], _ key: String) -> Double { c[key]?.numericValue ?? .nan }

    private static func uniform(_ name: String, _ lo: Double, _ hi: Double) -> Parameter {
        Parameter(name: name, spec: .uniform(min: lo, max: hi))
    }

    private static func categorical(_ name: String, _ values: [ParamValue]) -> Parameter {
        Parameter(name: name, spec: .categorical(values, probabilities: nil))
    }

    static let branin = QualityProblem(
        name: "branin", optimum: 0.397887,
        parameters: [uniform("x1", -5, 10), uniform("x2", 0, 15)]
    ) { c in
        let x1 = real(c, "x1"), x2 = real(c, "x2")
        let b = 5.1 / (4 * Double.pi * Double.pi), cc = 5 / Double.pi, t = 1 / (8 * Double.pi)
        let u = x2 - b * x1 * x1 + cc * x1 - 6
        return u * u + 10 * (1 - t) * cos(x1) + 10
    }

    static let hartmann6 = QualityProblem(
        name: "hartmann6", optimum: -3.32237,
        parameters: (1...6).map { uniform("x\($0)", 0, 1) }
    ) { c in
        let alpha = [1.0, 1.2, 3.0, 3.2]
        let a: [[Double]] = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                             [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
        let p: [[Double]] = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                             [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
        let x = (1...6).map { real(c, "x\($0)") }
        var total = 0.0
        for i in 0..<4 {
            var inner = 0.0
            for j in 0..<6 { inner += a[i][j] * (x[j] - p[i][j] * 1e-4) * (x[j] - p[i][j] * 1e-4) }
            total -= alpha[i] * exp(-inner)
        }
        return total
    }

    static let rosenbrock4 = QualityProblem(
        name: "rosenbrock4", optimum: 0,
        parameters: (1...4).map { uniform("x\($0)", -2, 2) }
    ) { c in
        let x = (1...4).map { real(c, "x\($0)") }
        var total = 0.0
        for i in 0..<3 { total += 100 * (x[i + 1] - x[i] * x[i]) * (x[i + 1] - x[i] * x[i]) + (1 - x[i]) * (1 - x[i]) }
        return total
    }

    /// A categorical whose best value sits third of four (so list order is no help), an integer,
    /// a real and a log-scale real whose best values depend on the category.
    static let mixed = QualityProblem(
        name: "mixed", optimum: 0,
        parameters: [
            categorical("kind", ["a", "b", "c", "d"].map { .string($0) }),
            Parameter(name: "n", spec: .intUniform(min: 0, max: 20)),
            uniform("x", -2, 2),
            Parameter(name: "lr", spec: .logUniformValues(min: 1e-5, max: 1e-1)),
        ]
    ) { c in
        guard case .string(let k)? = c["kind"], let idx = ["a", "b", "c", "d"].firstIndex(of: k) else { return .nan }
        let base = [1.0, 0.4, 0.0, 0.7], nOpt = [4.0, 15, 11, 2], xOpt = [-1.0, 0.5, 1.2, 0], lrOpt = [-2.0, -4, -3, -2]
        let n = real(c, "n"), x = real(c, "x"), lr = log10(real(c, "lr"))
        return base[idx] + 0.02 * (n - nOpt[idx]) * (n - nOpt[idx]) + (x - xOpt[idx]) * (x - xOpt[idx])
            + 0.25 * (lr - lrOpt[idx]) * (lr - lrOpt[idx])
    }

    /// `Sweeps/ncf.yaml`'s parameters other than `lr`.
    private static let ncfCategoricals: [Parameter] = [
        categorical("batch_size", [.int(32), .int(64), .int(128)]),
        categorical("embed_dim", [.int(8), .int(16), .int(32)]),
        categorical("mlp_dims", ["16,16", "32,32", "16,32,64", "32,64,128"].map { .string($0) }),
        categorical("epochs", [.int(10), .int(30), .int(50), .int(100)]),
        categorical("dropout", [.double(0.1), .double(0.2), .double(0.3)]),
        Parameter(name: "model", spec: .constant(.string("NCF"))),
    ]

    /// The canonical NCF sweep space on a synthetic validation-loss surface: the best lr grows
    /// with the batch size, the best dropout with the epochs.
    static let ncf = QualityProblem(
        name: "ncf", optimum: 0.88,
        parameters: [Parameter(name: "lr", spec: .logUniformValues(min: 1e-4, max: 1e-2))] + ncfCategoricals
    ) { c in
        let u = log10(real(c, "lr")), batch = real(c, "batch_size"), embed = real(c, "embed_dim")
        let epochs = real(c, "epochs"), dropout = real(c, "dropout")
        guard case .string(let mlp)? = c["mlp_dims"] else { return .nan }
        let uOpt = -2.6 + 0.15 * log2(batch / 32)
        let mlpPenalty = ["16,16": 0.02, "32,32": 0.0, "16,32,64": 0.01, "32,64,128": 0.005][mlp] ?? .nan
        let dropoutOpt = epochs >= 50 ? 0.3 : 0.1
        return 0.88 + 0.08 * (u - uOpt) * (u - uOpt) + 0.01 * abs(log2(embed / 16)) + mlpPenalty
            + 0.015 * log2(epochs / 30) * log2(epochs / 30) + 0.2 * abs(dropout - dropoutOpt)
    }

    /// `Sweeps/ncf.yaml`'s space as written (lr `uniform` over 0.0001–0.01) on a surface shaped
    /// after the ML-100K landscape that a 100-run random sweep measured: the best lr is near
    /// 0.0004–0.0006 and grows with the batch, the loss climbs steeply above ~0.002 (so about nine
    /// tenths of the prior's lr range is poor), larger embeddings help a little and the other
    /// parameters matter less.
    static let ncfUniform = QualityProblem(
        name: "ncf-uniform", optimum: 0.91,
        parameters: [uniform("lr", 1e-4, 1e-2)] + ncfCategoricals
    ) { c in
        let u = log10(real(c, "lr")), batch = real(c, "batch_size"), embed = real(c, "embed_dim")
        let epochs = real(c, "epochs"), dropout = real(c, "dropout")
        guard case .string(let mlp)? = c["mlp_dims"] else { return .nan }
        let uOpt = -3.4 + 0.15 * log2(batch / 32)
        let mlpPenalty = ["16,16": 0.002, "32,32": 0.0, "16,32,64": 0.003, "32,64,128": 0.001][mlp] ?? .nan
        // Too few epochs hurt a small learning rate only.
        let shortRun = epochs <= 10 && u < uOpt ? 0.01 * (uOpt - u) : 0
        let steep = max(0, u - uOpt - 0.5)
        return 0.91 + 0.03 * (u - uOpt) * (u - uOpt) + 0.04 * steep * steep
            + 0.002 * abs(log2(embed / 32)) + mlpPenalty + shortRun + 0.01 * abs(dropout - 0.2)
    }
}

// MARK: - Python methods

/// A Python method running as a child process; its stdout is one JSON line per seed.
private final class PythonJob: @unchecked Sendable {
    enum Outcome { case success([[Double]]), failure(String) }

    private let process: Process
    private let output: Pipe
    private let errors: Pipe
    private var stdoutData = Data()
    private var stderrData = Data()
    private let group = DispatchGroup()
    private let seeds: Int

    private init(process: Process, output: Pipe, errors: Pipe, seeds: Int) {
        self.process = process
        self.output = output
        self.errors = errors
        self.seeds = seeds
    }

    static func start(interpreter: String, script: String, engine: String, function: String, seeds: [UInt64],
                      trials: Int) throws -> PythonJob {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = [script, engine, function, seeds.map(String.init).joined(separator: ","), String(trials)]
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment["PYTHONWARNINGS"] = "ignore"
        process.environment = environment
        let job = PythonJob(process: process, output: Pipe(), errors: Pipe(), seeds: seeds.count)
        process.standardOutput = job.output
        process.standardError = job.errors
        // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
        job.group.enter()
        DispatchQueue.global().async {
            job.stdoutData = job.output.fileHandleForReading.readDataToEndOfFile()
            job.group.leave()
        }
        job.group.enter()
        DispatchQueue.global().async {
            job.stderrData = job.errors.fileHandleForReading.readDataToEndOfFile()
            job.group.leave()
        }
        try process.run()
        return job
    }

    func wait() -> Outcome {
        process.waitUntilExit()
        group.wait()
        let text = String(decoding: stdoutData, as: UTF8.self)
        var traces: [[Double]] = []
        for line in text.split(separator: "\n") where line.hasPrefix("{") {
            guard case .map(let object)? = try? ParamValue.parseJSON(String(line)),
                  case .list(let values)? = object["values"] else { continue }
            traces.append(values.map { $0.numericValue ?? .nan })
        }
        if process.terminationStatus == 0, traces.count == seeds { return .success(traces) }
        let tail = String(decoding: stderrData, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
        return .failure("exit status \(process.terminationStatus), \(traces.count)/\(seeds) seeds; stderr: \(tail)")
    }
}

/// The Python side: the same test functions and spaces, run through Optuna's TPE or the W&B
/// sweeps engine's bayes search. Arguments: engine function seeds(comma list) trials.
private let pythonScript = #"""
import json, math, random, sys

def branin(c):
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10

def hartmann6(c):
    alpha = [1.0, 1.2, 3.0, 3.2]
    A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
    P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
    x = [c["x%d" % (j + 1)] for j in range(6)]
    return -sum(alpha[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4))

def rosenbrock4(c):
    x = [c["x%d" % (j + 1)] for j in range(4)]
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3))

def mixed(c):
    i = ["a", "b", "c", "d"].index(c["kind"])
    base, nopt, xopt, lropt = [1.0, 0.4, 0.0, 0.7], [4, 15, 11, 2], [-1.0, 0.5, 1.2, 0.0], [-2.0, -4.0, -3.0, -2.0]
    lr = math.log10(c["lr"])
    return base[i] + 0.02 * (c["n"] - nopt[i]) ** 2 + (c["x"] - xopt[i]) ** 2 + 0.25 * (lr - lropt[i]) ** 2

def ncf(c):
    u = math.log10(c["lr"])
    uopt = -2.6 + 0.15 * math.log2(c["batch_size"] / 32)
    mlp = {"16,16": 0.02, "32,32": 0.0, "16,32,64": 0.01, "32,64,128": 0.005}[c["mlp_dims"]]
    dopt = 0.3 if c["epochs"] >= 50 else 0.1
    return (0.88 + 0.08 * (u - uopt) ** 2 + 0.01 * abs(math.log2(c["embed_dim"] / 16)) + mlp
            + 0.015 * math.log2(c["epochs"] / 30) ** 2 + 0.2 * abs(c["dropout"] - dopt))

def ncf_uniform(c):
    u = math.log10(c["lr"])
    uopt = -3.4 + 0.15 * math.log2(c["batch_size"] / 32)
    mlp = {"16,16": 0.002, "32,32": 0.0, "16,32,64": 0.003, "32,64,128": 0.001}[c["mlp_dims"]]
    short = 0.01 * (uopt - u) if c["epochs"] <= 10 and u < uopt else 0.0
    steep = max(0.0, u - uopt - 0.5)
    return (0.91 + 0.03 * (u - uopt) ** 2 + 0.04 * steep ** 2 + 0.002 * abs(math.log2(c["embed_dim"] / 32)) + mlp
            + short + 0.01 * abs(c["dropout"] - 0.2))

def u(lo, hi): return {"distribution": "uniform", "min": lo, "max": hi}

NCF_CATEGORICALS = {"batch_size": {"values": [32, 64, 128]}, "embed_dim": {"values": [8, 16, 32]},
                    "mlp_dims": {"values": ["16,16", "32,32", "16,32,64", "32,64,128"]},
                    "epochs": {"values": [10, 30, 50, 100]}, "dropout": {"values": [0.1, 0.2, 0.3]},
                    "model": {"value": "NCF"}}

SPACES = {
    "branin": (branin, {"x1": u(-5.0, 10.0), "x2": u(0.0, 15.0)}),
    "hartmann6": (hartmann6, {"x%d" % j: u(0.0, 1.0) for j in range(1, 7)}),
    "rosenbrock4": (rosenbrock4, {"x%d" % j: u(-2.0, 2.0) for j in range(1, 5)}),
    "mixed": (mixed, {"kind": {"values": ["a", "b", "c", "d"]}, "n": {"distribution": "int_uniform", "min": 0, "max": 20},
                      "x": u(-2.0, 2.0), "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}),
    "ncf": (ncf, {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}, **NCF_CATEGORICALS}),
    "ncf-uniform": (ncf_uniform, {"lr": u(1e-4, 1e-2), **NCF_CATEGORICALS}),
}

def run_tpe(f, space, seed, trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    def objective(trial):
        c = {}
        for name, spec in sorted(space.items()):
            if "value" in spec:
                c[name] = spec["value"]
            elif "values" in spec:
                c[name] = trial.suggest_categorical(name, spec["values"])
            elif spec["distribution"] == "int_uniform":
                c[name] = trial.suggest_int(name, spec["min"], spec["max"])
            elif spec["distribution"] == "log_uniform_values":
                c[name] = trial.suggest_float(name, spec["min"], spec["max"], log=True)
            else:
                c[name] = trial.suggest_float(name, spec["min"], spec["max"])
        return f(c)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return [t.value for t in study.trials]

def run_wandb(f, space, seed, trials):
    import logging, numpy as np, sweeps
    logging.disable(logging.WARNING)
    random.seed(seed)
    np.random.seed(seed)
    config = {"method": "bayes", "metric": {"name": "loss", "goal": "minimize"}, "parameters": space}
    runs, values = [], []
    for i in range(trials):
        r = sweeps.next_run(config, runs)
        c = {k: v["value"] for k, v in r.config.items()}
        y = f(c)
        values.append(y)
        runs.append(sweeps.SweepRun(name="r%d" % i, config=r.config, state=sweeps.RunState.finished,
                                    summary_metrics={"loss": y}, history=[{"loss": y}]))
    return values

engine, name, seeds, trials = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")], int(sys.argv[4])
f, space = SPACES[name]
for seed in seeds:
    values = (run_tpe if engine == "tpe" else run_wandb)(f, space, seed, trials)
    print(json.dumps({"seed": seed, "values": values}), flush=True)
"""#
