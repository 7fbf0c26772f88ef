import NCFData
import NCFModel
import NCFRunContract

/// Which optimizer updates the parameters.
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    /// Adam that moves an embedding row only in steps where the row occurs in the batch ("lazy"
    /// Adam): its moments and bias correction use the global step count, as in sparse Adam
    /// variants. The dense layers get ordinary Adam every step. A step costs the batch, not the tables.
    case adam
    /// Adam over every parameter every step, the textbook algorithm: untouched rows see a zero
    /// gradient and still move by their momentum. For comparisons with dense reference trainers.
    case denseAdam = "dense_adam"
    /// Plain stochastic gradient descent; like `adam`, it updates only the embedding rows in the batch.
    case sgd
}

/// The hyperparameters of one training run. Property names are the command-line flags and the
/// sweep YAML's parameter names.
public struct TrainConfig: Sendable, Codable, Equatable {
    public var model: ModelKind = .neumf
    public var lr: Double = 0.001
    public var batch_size: Int = 64
    public var embed_dim: Int = 32
    public var mlp_dims: [Int] = [64, 32, 16]
    public var epochs: Int = 20
    public var dropout: Double = 0.1
    public var optimizer: OptimizerKind = .adam
    public var weight_decay: Double = 0
    /// L2 on the embedding rows in each batch (`NeuMF.embedL2`): λ·p is added to the gradient of
    /// every unique user/item row in the batch, bias tables included; the tower and head are left
    /// to `weight_decay`. 0 is off.
    public var embed_l2: Double = 0
    /// The learning rate is multiplied by this at the end of every epoch (epoch e trains at
    /// lr·lr_decay^(e−1)). 1 is off.
    public var lr_decay: Double = 1
    /// Standard deviation of the embedding tables' initial values (the NCF paper's 0.01; Rendle et
    /// al. tuned MF with 0.1). Bias tables start at 0 whatever it is.
    public var init_std: Double = 0.01
    /// Training negatives per positive (implicit task), resampled every epoch.
    public var negatives: Int = 4
    public var topk: Int = 10
    public var seed: UInt64 = 0
    /// Stop after this many epochs without a better `select_metric`; 0 turns early stopping off.
    public var patience: Int = 0
    /// The epoch metric that chooses the epoch kept, saved and tested; nil: the task's default
    /// (`MetricCatalog.defaultSelection`: `Valid Loss` for ratings, `Valid HR@K` for implicit data).
    public var select_metric: String? = nil
    /// Which way `select_metric` is better; nil: the metric's own (`minimize` for losses and errors,
    /// `maximize` for HR, NDCG, MRR, AUC).
    public var select_goal: MetricGoal? = nil
    /// Threads that train one model: 1 is the single-thread loop; N ≥ 2 splits every mini-batch
    /// N ways (`DataParallel`: deterministic for a given N, equal to one thread's training up to
    /// float rounding, not bit-identical to it). Full-ranking evaluation uses as many threads.
    public var threads: Int = 1
    /// Pre-training (NeuMF only; both or neither): a trained GMF model file whose embeddings and
    /// head initialise NeuMF's GMF branch, and a trained MLP model file for the MLP branch
    /// (`PretrainedInit`). nil: random initialisation.
    public var init_gmf: String? = nil
    public var init_mlp: String? = nil
    /// The GMF head's weight in the pre-trained NeuMF's output layer (α; the MLP head gets 1 − α).
    public var alpha: Double = 0.5
    /// Drop probability of each embedding entry in training (inverted dropout on the looked-up rows
    /// of every user/item table but the bias tables); 0 is off.
    public var embed_dropout: Double = 0

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case model, lr, batch_size, embed_dim, mlp_dims, epochs, dropout, optimizer, weight_decay, embed_l2, lr_decay, init_std,
             negatives, topk, seed, patience, select_metric, select_goal, threads, init_gmf, init_mlp, alpha, embed_dropout
    }

    /// Decodes a config; `embed_l2`, `lr_decay` and `init_std` may be absent (files written before they
    /// existed), and then take their defaults, which are what those runs trained with.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(ModelKind.self, forKey: .model)
        lr = try c.decode(Double.self, forKey: .lr)
        batch_size = try c.decode(Int.self, forKey: .batch_size)
        embed_dim = try c.decode(Int.self, forKey: .embed_dim)
        mlp_dims = try c.decode([Int].self, forKey: .mlp_dims)
        epochs = try c.decode(Int.self, forKey: .epochs)
        dropout = try c.decode(Double.self, forKey: .dropout)
        optimizer = try c.decode(OptimizerKind.self, forKey: .optimizer)
        weight_decay = try c.decode(Double.self, forKey: .weight_decay)
        embed_l2 = try c.decodeIfPresent(Double.self, forKey: .embed_l2) ?? 0
        lr_decay = try c.decodeIfPresent(Double.self, forKey: .lr_decay) ?? 1
        init_std = try c.decodeIfPresent(Double.self, forKey: .init_std) ?? 0.01
        negatives = try c.decode(Int.self, forKey: .negatives)
        topk = try c.decode(Int.self, forKey: .topk)
        seed = try c.decode(UInt64.self, forKey: .seed)
        patience = try c.decode(Int.self, forKey: .patience)
        select_metric = try c.decodeIfPresent(String.self, forKey: .select_metric)
        select_goal = try c.decodeIfPresent(MetricGoal.self, forKey: .select_goal)
        threads = try c.decode(Int.self, forKey: .threads)
        init_gmf = try c.decodeIfPresent(String.self, forKey: .init_gmf)
        init_mlp = try c.decodeIfPresent(String.self, forKey: .init_mlp)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? 0.5
        embed_dropout = try c.decodeIfPresent(Double.self, forKey: .embed_dropout) ?? 0
    }

    /// Every problem with the values, one message each (flag name, value, what is accepted).
    public func problems() -> [String] {
        var out: [String] = []
        if !(lr > 0 && lr.isFinite) { out.append("--lr \(lr): the learning rate must be a positive number, e.g. 0.001") }
        if batch_size < 1 { out.append("--batch_size \(batch_size): must be at least 1, e.g. 64") }
        if batch_size > 1 << 20 { out.append("--batch_size \(batch_size): at most 1048576") }
        if embed_dim < 1 { out.append("--embed_dim \(embed_dim): must be at least 1, e.g. 32") }
        if embed_dim > 4096 { out.append("--embed_dim \(embed_dim): at most 4096") }
        if mlp_dims.isEmpty && model.usesMLP { out.append("--mlp_dims: the MLP tower needs at least one layer, e.g. 64,32,16") }
        if let bad = mlp_dims.first(where: { $0 < 1 || $0 > 65536 }) {
            out.append("--mlp_dims: layer size \(bad) is out of range; sizes must be 1...65536")
        }
        if epochs < 1 { out.append("--epochs \(epochs): must be at least 1") }
        if !(dropout >= 0 && dropout < 1) { out.append("--dropout \(dropout): must be in [0, 1), e.g. 0.1") }
        if !(weight_decay >= 0 && weight_decay.isFinite) { out.append("--weight_decay \(weight_decay): must be ≥ 0") }
        if !(embed_l2 >= 0 && embed_l2.isFinite) { out.append("--embed_l2 \(embed_l2): must be ≥ 0, e.g. 0.01 (0 = off)") }
        if !(lr_decay > 0 && lr_decay <= 1) { out.append("--lr_decay \(lr_decay): must be in (0, 1], e.g. 0.9 (1 = off)") }
        if !(init_std >= 0 && init_std <= 10) { out.append("--init_std \(init_std): must be in [0, 10], e.g. 0.01") }
        if negatives < 1 || negatives > 1000 { out.append("--negatives \(negatives): must be 1...1000") }
        if topk < 1 { out.append("--topk \(topk): must be at least 1") }
        if patience < 0 { out.append("--patience \(patience): must be ≥ 0 (0 turns early stopping off)") }
        if threads < 1 || threads > 256 { out.append("--threads \(threads): must be 1...256") }
        if !(embed_dropout >= 0 && embed_dropout < 1) { out.append("--embed_dropout \(embed_dropout): must be in [0, 1), e.g. 0.1") }
        if init_gmf != nil || init_mlp != nil {
            if model != .neumf {
                out.append("--init_gmf/--init_mlp: pre-training initialises NeuMF, but --model is \(model.rawValue). Hint: add --model NeuMF.")
            } else if init_gmf == nil {
                out.append("--init_mlp needs --init_gmf too: NeuMF is initialised from a trained GMF and a trained MLP model file")
            } else if init_mlp == nil {
                out.append("--init_gmf needs --init_mlp too: NeuMF is initialised from a trained GMF and a trained MLP model file")
            }
        }
        if !(alpha >= 0 && alpha <= 1) { out.append("--alpha \(alpha): must be in [0, 1], e.g. 0.5") }
        return out
    }

    /// The metric and goal that choose the kept epoch on data of `task`.
    /// - Throws: `TrainingError.invalidConfig` when `select_metric` is not logged on this task's
    ///   epoch lines at this `topk`, naming the nearest one.
    public func selection(task: Task) throws -> (metric: MetricName, goal: MetricGoal) {
        let catalog = MetricCatalog(task: task, topk: topk)
        guard let name = select_metric else { return catalog.defaultSelection }
        guard let metric = catalog.epochMetric(named: name) else {
            let near = catalog.nearest(to: name).map { "did you mean `\($0)`? " } ?? ""
            let all = catalog.epochMetrics.map(\.description).joined(separator: ", ")
            throw TrainingError.invalidConfig([
                "--select_metric \(name): not a metric this run logs every epoch (\(task.rawValue) task, --topk \(topk)); \(near)"
                    + "Use one of: \(all).",
            ])
        }
        return (metric, select_goal ?? metric.goal)
    }

    /// The pre-training files and α, when both `init_gmf` and `init_mlp` are set.
    public var pretrained: PretrainedInit? {
        guard let g = init_gmf, let m = init_mlp else { return nil }
        return PretrainedInit(gmfPath: g, mlpPath: m, alpha: alpha)
    }

    /// The model shape for a dataset.
    public func modelConfig(task: Task, numUsers: Int, numItems: Int) -> ModelConfig {
        ModelConfig(kind: model, task: task, numUsers: numUsers, numItems: numItems,
                    embedDim: embed_dim, mlpDims: model.usesMLP ? mlp_dims : [], dropout: Float(dropout))
    }
}
