/// One named metric value, e.g. `Valid RMSE` = 0.91. Names follow the README's metric table.
public struct MetricValue: Sendable, Codable, Equatable {
    public var name: String
    public var value: Double
    public init(_ name: String, _ value: Double) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == MetricValue {
    /// The value of the metric named `name`, if present.
    public subscript(metric name: String) -> Double? { first { $0.name == name }?.value }
}

/// What one epoch produced.
public struct EpochRecord: Sendable, Codable, Equatable {
    public var epoch: Int
    /// `Train Loss` first, then `Valid Loss` and the other validation metrics.
    public var metrics: [MetricValue]
    public var seconds: Double
    public var samplesPerSecond: Double
}

/// The outcome of a training run.
public struct TrainSummary: Sendable, Codable, Equatable {
    /// The epoch whose weights were kept (lowest Valid Loss), 1-based.
    public var bestEpoch: Int
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
