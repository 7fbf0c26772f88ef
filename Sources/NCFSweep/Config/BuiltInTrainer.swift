import NCFRunContract

/// What sweep validation knows of the built-in trainer (`ncf train`): the flags a parameter may
/// set and the metrics it logs. The `ncf` command passes its own (`SweepConfig.check(…, trainer:)`);
/// nil checks a config for some other program.
public struct BuiltInTrainer: Sendable {
    /// The flag names a sweep parameter may use (`batch_size`, `lr`, …).
    public var flags: Set<String>
    /// The metrics it logs for a task and K (`topk`).
    public var metrics: @Sendable (TaskKind, Int) -> MetricCatalog
    /// `topk` when the config does not set it.
    public var defaultTopK: Int
    /// The task when the config does not set `task`, given its fixed `format` (lowercased), if any.
    public var defaultTask: @Sendable (_ format: String?) -> TaskKind

    public init(flags: Set<String>, metrics: @escaping @Sendable (TaskKind, Int) -> MetricCatalog = MetricCatalog.init,
                defaultTopK: Int, defaultTask: @escaping @Sendable (_ format: String?) -> TaskKind) {
        self.flags = flags
        self.metrics = metrics
        self.defaultTopK = defaultTopK
        self.defaultTask = defaultTask
    }
}
