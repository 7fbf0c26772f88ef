import NCFRunContract

/// One named metric value, e.g. `Valid RMSE` = 0.91. Names come from the run contract's `MetricName`.
public struct MetricValue: Sendable, Codable, Equatable {
    public var name: String
    public var value: Double
    public init(_ name: MetricName, _ value: Double) {
        self.name = name.description
        self.value = value
    }
}

extension Array where Element == MetricValue {
    /// The value of the metric named `name`, if present.
    public subscript(metric name: String) -> Double? { first { $0.name == name }?.value }
    /// The value of the metric `name`, if present.
    public subscript(metric name: MetricName) -> Double? { self[metric: name.description] }
    /// As the run contract's records hold them.
    public var named: [(name: String, value: Double)] { map { ($0.name, $0.value) } }
}

/// What one epoch produced.
public struct EpochRecord: Sendable, Codable, Equatable {
    public var epoch: Int
    /// `Train Loss` first, then `Valid Loss` and the other validation metrics. Epoch 0, a
    /// pre-trained run's start, has no training: only the validation metrics, 0 s and 0 samples/s.
    public var metrics: [MetricValue]
    public var seconds: Double
    public var samplesPerSecond: Double
}

/// The outcome of a training run.
public struct TrainSummary: Sendable, Codable, Equatable {
    /// The epoch whose weights were kept (the best `selectMetric` under `selectGoal`), 1-based;
    /// 0 when a run from pre-trained parts kept its start (no epoch beat it), or when a run was
    /// stopped before its first epoch ended.
    public var bestEpoch: Int
    /// The validation metric that chose `bestEpoch`, and which way it is better.
    public var selectMetric: String
    public var selectGoal: MetricGoal
    public var epochsRun: Int
    public var stoppedEarly: Bool
    /// Validation metrics of the best epoch.
    public var validMetrics: [MetricValue]
    /// Held-out test metrics, computed once, with the best epoch's weights.
    public var testMetrics: [MetricValue]
    /// How the metrics were computed, e.g. "HR@10 and NDCG@10 over 99 sampled negatives, leave-one-out, 6,040 users".
    public var protocolDescription: String
    public var trainSeconds: Double
    public var samplesPerSecond: Double
    public var peakMemoryBytes: Int
}

/// What the training loop tells its observer. The observer's answer can stop training early.
public enum TrainingEvent: Sendable {
    /// Training is about to start: epochs, steps per epoch, parameter count.
    case started(epochs: Int, stepsPerEpoch: Int, parameters: Int)
    /// Emitted a few times per second within an epoch.
    case progress(epoch: Int, step: Int, steps: Int, seconds: Double, trainLoss: Double)
    case epochEnded(EpochRecord)
    case finished(TrainSummary)
}

/// The observer's answer to an event.
public enum TrainingControl: Sendable {
    case proceed
    /// Finish now: the best epoch so far is kept and evaluated on test.
    case stop
}

extension TrainSummary {
    private enum CodingKeys: String, CodingKey {
        case bestEpoch, selectMetric, selectGoal, epochsRun, stoppedEarly, validMetrics, testMetrics, protocolDescription,
             trainSeconds, samplesPerSecond, peakMemoryBytes
    }

    /// Reads a summary; one saved by an ncf that always selected by `Valid Loss` (no
    /// `selectMetric`) reads as selected by `Valid Loss`, minimised.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bestEpoch = try c.decode(Int.self, forKey: .bestEpoch)
        selectMetric = try c.decodeIfPresent(String.self, forKey: .selectMetric) ?? MetricName.validLoss.description
        selectGoal = try c.decodeIfPresent(MetricGoal.self, forKey: .selectGoal) ?? .minimize
        epochsRun = try c.decode(Int.self, forKey: .epochsRun)
        stoppedEarly = try c.decode(Bool.self, forKey: .stoppedEarly)
        validMetrics = try c.decode([MetricValue].self, forKey: .validMetrics)
        testMetrics = try c.decode([MetricValue].self, forKey: .testMetrics)
        protocolDescription = try c.decode(String.self, forKey: .protocolDescription)
        trainSeconds = try c.decode(Double.self, forKey: .trainSeconds)
        samplesPerSecond = try c.decode(Double.self, forKey: .samplesPerSecond)
        peakMemoryBytes = try c.decode(Int.self, forKey: .peakMemoryBytes)
    }
}
