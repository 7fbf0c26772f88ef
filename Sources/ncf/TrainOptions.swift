import ArgumentParser
import NCFData
import NCFModel
import NCFRunContract
import NCFTraining
import NCFSweep

/// Where the data comes from and how it is split. Shared by `train`, `eval` and `recommend`.
struct DataOptions: ParsableArguments {
    /// The library's defaults (ratios, split seed, evaluation negatives).
    private static let d = SplitOptions(kind: .random, task: .rating)

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Ratings file, or the NCF files' prefix with --format ncf. (default: Data/ratings.tsv, the bundled synthetic set)",
        valueName: "path"))
    var data: String?

    @Option(name: .customLong("format"), help: ArgumentHelp(
        "File format: auto, tsv (u.data), csv, dat (ratings.dat, '::'), ncf (PREFIX.train.rating, .test.rating, .test.negative). (default: auto)",
        valueName: "format"), transform: parseFormat)
    var format: DataFormat = .auto

    @Option(name: .customLong("columns"), help: ArgumentHelp(
        "CSV header names of the user, item, rating [and timestamp] columns, e.g. uid,iid,score,ts.",
        valueName: "names"))
    var columns: String?

    @Flag(name: [.customLong("skip_bad_lines"), .customLong("skip-bad-lines")],
          help: "Skip malformed lines (reporting how many and where) instead of stopping at the first.")
    var skipBadLines = false

    @Option(name: .customLong("task"), help: ArgumentHelp(
        "rating (predict the rating, MSE) or implicit (every interaction a positive, BCE). (default: rating; implicit for --format ncf)",
        valueName: "task"), transform: parseTask)
    var task: Task?

    @Option(name: .customLong("split"), help: ArgumentHelp(
        "random, loo (leave-one-out by time) or ncf (the paper's files). (default: random for rating, loo for implicit, ncf for --format ncf)",
        valueName: "split"), transform: parseSplit)
    var split: SplitKind?

    @Option(name: [.customLong("valid_ratio"), .customLong("valid-ratio")], parsing: .unconditional, help: ArgumentHelp(
        "Fraction of ratings held out for validation (random split).", valueName: "ratio"))
    var validRatio: Double = d.validRatio

    @Option(name: [.customLong("test_ratio"), .customLong("test-ratio")], parsing: .unconditional, help: ArgumentHelp(
        "Fraction of ratings held out for the final test (random split).", valueName: "ratio"))
    var testRatio: Double = d.testRatio

    @Option(name: [.customLong("split_seed"), .customLong("split-seed")], parsing: .unconditional, help: ArgumentHelp(
        "Seeds the split and the fixed evaluation negatives; kept apart from --seed so that runs with different seeds (a sweep's trials) are scored on the same held-out data.",
        valueName: "n"))
    var splitSeed: UInt64 = d.seed

    @Option(name: [.customLong("eval_negatives"), .customLong("eval-negatives")], parsing: .unconditional, help: ArgumentHelp(
        "Implicit task: rank each held-out item against N sampled negatives, or 'all' items the user has not seen in train. (default: \(d.evalNegatives))",
        valueName: "N|all"), transform: parseEvalNegatives)
    var evalNegatives: EvalNegatives = d.evalNegatives
}

/// Every flag of `ncf train` that a sweep parameter may set (the YAML parameter names): all its
/// options but `--save`, `--json` and `--help` (`TrainFlagTests` checks this against `ncf train`).
let trainFlagNames: [String] = [
    "model", "lr", "batch_size", "embed_dim", "mlp_dims", "epochs", "dropout", "optimizer", "weight_decay",
    "embed_l2", "lr_decay", "init_std", "negatives", "topk", "seed", "patience", "threads", "select_metric", "select_goal",
    "init_gmf", "init_mlp", "alpha", "embed_dropout",
    "data", "format", "columns", "task", "split", "split_seed", "valid_ratio", "test_ratio", "eval_negatives", "skip_bad_lines",
]

/// The hyperparameters of one run: the sweep YAML's parameter names.
struct ModelOptions: ParsableArguments {
    private static let d = TrainConfig()

    @Option(name: .customLong("model"), help: ArgumentHelp("GMF, MLP, NeuMF, NCF (= NeuMF) or MF (biased dot product). (default: \(d.model.rawValue))", valueName: "name"),
            transform: parseModel)
    var model: ModelKind = d.model

    @Option(name: .customLong("lr"), parsing: .unconditional, help: ArgumentHelp("Learning rate, > 0.", valueName: "rate"))
    var lr: Double = d.lr

    @Option(name: [.customLong("batch_size"), .customLong("batch-size")], parsing: .unconditional,
            help: ArgumentHelp("Training pairs per step, an integer ≥ 1.", valueName: "n"))
    var batchSize: Int = d.batch_size

    @Option(name: [.customLong("embed_dim"), .customLong("embed-dim")], parsing: .unconditional,
            help: ArgumentHelp("Width of each embedding table, an integer ≥ 1.", valueName: "n"))
    var embedDim: Int = d.embed_dim

    @Option(name: [.customLong("mlp_dims"), .customLong("mlp-dims")], parsing: .unconditional, help: ArgumentHelp(
        "Hidden sizes of the MLP tower, comma-separated; its input is 2·embed_dim. (default: \(d.mlp_dims.map(String.init).joined(separator: ",")))",
        valueName: "n,n,..."), transform: parseLayerSizes)
    var mlpDims: [Int] = d.mlp_dims

    @Option(name: .customLong("epochs"), parsing: .unconditional,
            help: ArgumentHelp("Passes over the training data, an integer ≥ 1.", valueName: "n"))
    var epochs: Int = d.epochs

    @Option(name: .customLong("dropout"), parsing: .unconditional, help: ArgumentHelp("Drop probability after each ReLU of the MLP tower, in [0, 1).", valueName: "p"))
    var dropout: Double = d.dropout

    @Option(name: .customLong("optimizer"), help: ArgumentHelp(
        "adam (lazy: embedding rows move only when in the batch), dense_adam (every row every step) or sgd. (default: \(d.optimizer.rawValue))",
        valueName: "name"),
            transform: parseOptimizer)
    var optimizer: OptimizerKind = d.optimizer

    @Option(name: [.customLong("weight_decay"), .customLong("weight-decay")], parsing: .unconditional,
            help: ArgumentHelp("L2 penalty added to the gradient, ≥ 0.", valueName: "λ"))
    var weightDecay: Double = d.weight_decay

    @Option(name: [.customLong("embed_l2"), .customLong("embed-l2")], parsing: .unconditional, help: ArgumentHelp(
        "L2 on the embedding rows in each batch: λ·p added to the gradient of every unique user/item row in it (bias tables included), ≥ 0; 0 = off.",
        valueName: "λ"))
    var embedL2: Double = d.embed_l2

    @Option(name: [.customLong("lr_decay"), .customLong("lr-decay")], parsing: .unconditional, help: ArgumentHelp(
        "Multiply the learning rate by this after every epoch, in (0, 1]; 1 = off.", valueName: "γ"))
    var lrDecay: Double = d.lr_decay

    @Option(name: [.customLong("init_std"), .customLong("init-std")], parsing: .unconditional, help: ArgumentHelp(
        "Standard deviation of the embeddings' initial values, in [0, 10] (bias tables start at 0).", valueName: "σ"))
    var initStd: Double = d.init_std

    @Option(name: .customLong("negatives"), parsing: .unconditional,
            help: ArgumentHelp("Implicit task: sampled negatives per positive, resampled each epoch; an integer 1...1000.", valueName: "n"))
    var negatives: Int = d.negatives

    @Option(name: .customLong("topk"), parsing: .unconditional, help: ArgumentHelp("K of HR@K and NDCG@K, an integer ≥ 1.", valueName: "k"))
    var topk: Int = d.topk

    @Option(name: .customLong("seed"), parsing: .unconditional,
            help: ArgumentHelp("Seeds initialisation, negative sampling, batch order and dropout (the split has --split_seed); an integer ≥ 0.", valueName: "n"))
    var seed: UInt64 = d.seed

    @Option(name: .customLong("patience"), parsing: .unconditional,
            help: ArgumentHelp("Stop after this many epochs without a better value of the selection metric (an integer; 0 = off).", valueName: "n"))
    var patience: Int = d.patience

    @Option(name: [.customLong("select_metric"), .customLong("select-metric")], help: ArgumentHelp(
        "The epoch metric that chooses the epoch kept, saved and tested, e.g. \"Valid NDCG@10\". (default: Valid Loss for rating, Valid HR@K for implicit)",
        valueName: "name"))
    var selectMetric: String?

    @Option(name: [.customLong("select_goal"), .customLong("select-goal")], help: ArgumentHelp(
        "minimize or maximize --select_metric. (default: the metric's own: minimize losses and errors, maximize HR, NDCG, MRR, AUC)",
        valueName: "goal"), transform: parseGoal)
    var selectGoal: MetricGoal?

    @Option(name: .customLong("threads"), parsing: .unconditional, help: ArgumentHelp(
        "Threads that train the model and rank for evaluation, 1...256. N ≥ 2 splits each batch N ways: the same result for the same seed and N, but not bit-identical to 1 thread (float rounding, dropout draws).",
        valueName: "n"))
    var threads: Int = d.threads

    @Option(name: [.customLong("embed_dropout"), .customLong("embed-dropout")], parsing: .unconditional, help: ArgumentHelp(
        "Drop probability of each entry of the looked-up user/item embeddings in training (inverted dropout; not the bias tables), in [0, 1); 0 = off.",
        valueName: "p"))
    var embedDropout: Double = d.embed_dropout

    @Option(name: [.customLong("init_gmf"), .customLong("init-gmf")], help: ArgumentHelp(
        "Pre-training: a GMF model file (ncf train --model GMF --save) whose embeddings and head initialise NeuMF's GMF branch, or an MF model of width --embed_dim − 2 (its biases become two more factors). NeuMF only; needs --init_mlp and the same data.",
        valueName: "file"))
    var initGMF: String?

    @Option(name: [.customLong("init_mlp"), .customLong("init-mlp")], help: ArgumentHelp(
        "Pre-training: an MLP model file (ncf train --model MLP --save) whose embeddings, tower and head initialise NeuMF's MLP branch. NeuMF only; needs --init_gmf, the same data, --embed_dim and --mlp_dims.",
        valueName: "file"))
    var initMLP: String?

    @Option(name: .customLong("alpha"), parsing: .unconditional, help: ArgumentHelp(
        "Pre-training: NeuMF's output layer starts as [α·h_GMF ; (1 − α)·h_MLP], in [0, 1].",
        valueName: "α"))
    var alpha: Double = d.alpha

    var trainConfig: TrainConfig {
        var c = TrainConfig()
        c.model = model
        c.lr = lr
        c.batch_size = batchSize
        c.embed_dim = embedDim
        c.mlp_dims = mlpDims
        c.epochs = epochs
        c.dropout = dropout
        c.optimizer = optimizer
        c.weight_decay = weightDecay
        c.embed_l2 = embedL2
        c.lr_decay = lrDecay
        c.init_std = initStd
        c.negatives = negatives
        c.topk = topk
        c.seed = seed
        c.patience = patience
        c.threads = threads
        c.select_metric = selectMetric
        c.select_goal = selectGoal
        c.embed_dropout = embedDropout
        c.init_gmf = initGMF
        c.init_mlp = initMLP
        c.alpha = alpha
        return c
    }

    /// Checks every value before any data is read. A too-large `--embed_dim` is left to the
    /// memory check after the data is read (`Train.run`), whose message gives the memory the
    /// model would need; one that fits in memory but exceeds 4096 is still refused by the trainer.
    func validate() throws {
        var config = trainConfig
        config.embed_dim = min(config.embed_dim, 4096)
        let problems = config.problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }
}

// MARK: - Value parsers (each error names the value and what is accepted)

func parseFormat(_ s: String) throws -> DataFormat {
    if s.lowercased() == "udata" { return .tsv }
    guard let f = DataFormat(rawValue: s.lowercased()) else {
        throw ValidationError("--format \(s): unknown format; use one of auto, tsv, csv, dat, ncf")
    }
    return f
}

func parseTask(_ s: String) throws -> Task {
    switch s.lowercased() {
    case "rating", "explicit": return .rating
    case "implicit": return .implicit
    default: throw ValidationError("--task \(s): use rating or implicit")
    }
}

func parseSplit(_ s: String) throws -> SplitKind {
    guard let k = SplitKind(rawValue: s.lowercased()) else {
        throw ValidationError("--split \(s): use random, loo or ncf")
    }
    return k
}

func parseEvalNegatives(_ s: String) throws -> EvalNegatives {
    guard let e = EvalNegatives(argument: s) else {
        throw ValidationError("--eval_negatives \(s): use a positive count such as 99, or all")
    }
    return e
}

func parseGoal(_ s: String) throws -> MetricGoal {
    guard let g = MetricGoal(rawValue: s.lowercased()) else {
        throw ValidationError("--select_goal \(s): use minimize or maximize")
    }
    return g
}

func parseModel(_ s: String) throws -> ModelKind {
    guard let m = ModelKind(argument: s) else {
        throw ValidationError("--model \(s): use GMF, MLP, NeuMF, NCF or MF")
    }
    return m
}

func parseOptimizer(_ s: String) throws -> OptimizerKind {
    guard let o = OptimizerKind(rawValue: s.lowercased().replacingOccurrences(of: "-", with: "_")) else {
        throw ValidationError("--optimizer \(s): use adam, dense_adam or sgd")
    }
    return o
}

/// Parses `16,32,64` (spaces and brackets tolerated, as a sweep may write `[16, 32, 64]`).
func parseLayerSizes(_ s: String) throws -> [Int] {
    let trimmed = s.trimmingCharacters(in: CharacterSet(charactersIn: "[] \"'"))
    if trimmed.isEmpty { throw ValidationError("--mlp_dims \"\(s)\": give at least one layer size, e.g. 64,32,16") }
    var sizes: [Int] = []
    for (i, part) in trimmed.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
        let t = part.trimmingCharacters(in: .whitespaces)
        guard let n = Int(t), n > 0 else {
            let found = t.isEmpty ? "an empty entry" : "\"\(t)\""
            throw ValidationError("--mlp_dims \"\(s)\": entry \(i + 1) is \(found); expected positive integers separated by commas, e.g. 64,32,16")
        }
        sizes.append(n)
    }
    return sizes
}

import Foundation

/// The built-in trainer as sweep validation sees it: `ncf train`'s flags, the metrics it logs
/// (the run contract's catalog) and its defaults for `topk` and `task`.
let builtInTrainer = BuiltInTrainer(
    flags: Set(trainFlagNames), metrics: MetricCatalog.init, defaultTopK: TrainConfig().topk,
    defaultTask: { format in format == DataFormat.ncf.rawValue ? .implicit : .rating })
