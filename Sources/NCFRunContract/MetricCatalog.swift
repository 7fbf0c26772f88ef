import Foundation

// The names of the metrics a trainer logs, built in one place: `Train Loss`, then per split
// (`Valid`, `Test`) the task's measures. The trainer names what it computes through `MetricName`;
// sweep validation, the agent and the reports ask `MetricCatalog` what a run logs.

/// What a model is trained to predict (the trainer's `--task`).
public enum TaskKind: String, Sendable, Codable, CaseIterable {
    /// Predict the rating: MSE objective; RMSE and MAE.
    case rating
    /// Every interaction is a positive: BCE objective; ranking metrics at K.
    case implicit
}

/// Which way a metric is better.
public enum MetricGoal: String, Sendable, Codable, CaseIterable {
    case minimize
    case maximize
}

/// Where a metric is measured.
public enum MetricSplit: String, Sendable, Codable, CaseIterable {
    /// The training batches of the epoch (only `Train Loss`).
    case train = "Train"
    case valid = "Valid"
    case test = "Test"
}

/// What a metric measures.
public enum Measure: Sendable, Hashable {
    /// RMSE (rating) or mean binary cross-entropy (implicit).
    case loss
    case rmse
    case mae
    /// Hit rate at K.
    case hitRate(k: Int)
    /// NDCG at K.
    case ndcg(k: Int)
    case mrr
    case auc

    /// `Loss`, `RMSE`, `HR@10`, ….
    public var label: String {
        switch self {
        case .loss: return "Loss"
        case .rmse: return "RMSE"
        case .mae: return "MAE"
        case .hitRate(let k): return "HR@\(k)"
        case .ndcg(let k): return "NDCG@\(k)"
        case .mrr: return "MRR"
        case .auc: return "AUC"
        }
    }

    /// Errors and losses are minimised, ranking quality is maximised.
    public var goal: MetricGoal {
        switch self {
        case .loss, .rmse, .mae: return .minimize
        case .hitRate, .ndcg, .mrr, .auc: return .maximize
        }
    }
}

/// A metric's name as logged: split, a space, measure (`Valid HR@10`).
public struct MetricName: Sendable, Hashable, CustomStringConvertible {
    public var split: MetricSplit
    public var measure: Measure

    public init(_ split: MetricSplit, _ measure: Measure) {
        self.split = split
        self.measure = measure
    }

    /// `Train Loss`.
    public static let trainLoss = MetricName(.train, .loss)
    /// `Valid Loss`.
    public static let validLoss = MetricName(.valid, .loss)

    /// The name as logged, e.g. `Valid HR@10`.
    public var description: String { "\(split.rawValue) \(measure.label)" }

    public var goal: MetricGoal { measure.goal }
}

/// The metrics a trainer logs for one task and K (`--topk`).
///
/// - rating: `Train Loss`; `Valid Loss` (= RMSE), `Valid RMSE`, `Valid MAE`; the same with `Test`.
/// - implicit: `Train Loss`; `Valid Loss` (log loss), `Valid HR@K`, `Valid NDCG@K`, `Valid MRR`,
///   `Valid AUC`; the same with `Test`.
///
/// `Train Loss` and the `Valid` metrics are logged on every epoch line; the `Test` metrics once, in
/// the closing summary (measured with the selected epoch's weights).
public struct MetricCatalog: Sendable, Equatable {
    public var task: TaskKind
    public var topk: Int

    public init(task: TaskKind, topk: Int) {
        self.task = task
        self.topk = topk
    }

    /// The measures of one held-out split, in print order.
    public var heldOutMeasures: [Measure] {
        switch task {
        case .rating: return [.loss, .rmse, .mae]
        case .implicit: return [.loss, .hitRate(k: topk), .ndcg(k: topk), .mrr, .auc]
        }
    }

    /// Logged on every epoch line, in print order.
    public var epochMetrics: [MetricName] {
        [.trainLoss] + heldOutMeasures.map { MetricName(.valid, $0) }
    }

    /// Logged once, in the summary.
    public var testMetrics: [MetricName] { heldOutMeasures.map { MetricName(.test, $0) } }

    /// The metric and goal that pick the kept epoch when nothing else is asked for: `Valid Loss`
    /// (RMSE) for ratings; `Valid HR@K`, maximised, for implicit data (the NCF paper's reference
    /// code keeps the epoch with the best HR@10, and it is what a recommender is judged by).
    public var defaultSelection: (metric: MetricName, goal: MetricGoal) {
        switch task {
        case .rating: return (.validLoss, .minimize)
        case .implicit: return (MetricName(.valid, .hitRate(k: topk)), .maximize)
        }
    }

    /// The epoch metric named `name`, if this trainer logs it on every epoch line.
    public func epochMetric(named name: String) -> MetricName? {
        epochMetrics.first { $0.description == name }
    }
}

extension MetricCatalog {
    /// The logged name nearest to `name`, for "did you mean" hints: the same measure at this K
    /// (`Valid HR@20` → `Valid HR@10`), a name that ends with it, the `Valid` one first (`HR@10` →
    /// `Valid HR@10`, `loss` → `Valid Loss`), else the
    /// fewest edits, ignoring case and reading `_` as a space (`val_loss` → `Valid Loss`).
    /// - Parameter among: the candidates (default: the epoch metrics).
    public func nearest(to name: String, among candidates: [MetricName]? = nil) -> MetricName? {
        let names = candidates ?? epochMetrics
        func normal(_ s: String) -> String { s.lowercased().replacingOccurrences(of: "_", with: " ") }
        func withoutK(_ s: String) -> String { s.split(separator: "@").first.map(String.init) ?? s }
        let n = normal(name)
        if let same = names.first(where: { n.contains("@") && normal(withoutK($0.description)) == withoutK(n) }) { return same }
        // A bare measure (`loss`, `rmse`) means the validation split's: a sweep steers by it, and
        // `Train Loss` only measures how well the model fits what it trained on.
        let suffixed = names.filter { normal($0.description).hasSuffix(" " + n) }
        if let suffix = suffixed.first(where: { $0.split == .valid }) ?? suffixed.first { return suffix }
        return names.min { Spelling.distance(normal($0.description), n) < Spelling.distance(normal($1.description), n) }
    }
}

extension MetricSplit {
    /// The split a logged name belongs to by its first word (`Test RMSE` → `.test`, also for
    /// another program's `Test accuracy`); nil for names without one.
    public static func of(_ name: String) -> MetricSplit? {
        allCases.first { name.hasPrefix($0.rawValue + " ") }
    }
}

extension MetricName {
    /// The two loss curves of a run, drawn together: `Train Loss` and `Valid Loss`.
    public static let lossCurves: [MetricName] = [.trainLoss, .validLoss]
}
