import NCFRunContract

/// A sweep configuration, parsed once from W&B's YAML into types (see `SweepConfig+YAML.swift`)
/// and validated (`SweepConfig+Validation.swift`). No dictionaries travel past the parser.
public struct SweepConfig: Sendable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable { case grid, random, bayes }

    public enum Goal: String, Sendable, Codable { case minimize, maximize }

    /// The value bayes uses for a failed or crashed run (W&B's `metric.impute`).
    public enum Impute: String, Sendable, Codable { case worst, best, latest }

    public struct Metric: Sendable, Equatable {
        public var name: String
        public var goal: Goal = .minimize
        /// Once a run reaches it, no new runs start.
        public var target: Double?
        public var impute: Impute = .worst
        /// `latest`, `best`, `worst` or nil (W&B's `"false"`): bayes treats running runs as pending.
        public var imputeWhileRunning: Impute?

        public init(name: String, goal: Goal = .minimize, target: Double? = nil, impute: Impute = .worst,
                    imputeWhileRunning: Impute? = nil) {
            self.name = name
            self.goal = goal
            self.target = target
            self.impute = impute
            self.imputeWhileRunning = imputeWhileRunning
        }

        /// Whether `a` is strictly better than `b` under the goal.
        public func isBetter(_ a: Double, than b: Double) -> Bool { goal == .minimize ? a < b : a > b }
    }

    /// W&B's hyperband early termination over the per-epoch metric history.
    public struct Hyperband: Sendable, Equatable {
        public var minIter: Int?
        public var maxIter: Int?
        public var s: Double?
        public var eta: Double = 3
        public var strict: Bool = true

        public init(minIter: Int? = nil, maxIter: Int? = nil, s: Double? = nil, eta: Double = 3, strict: Bool = true) {
            self.minIter = minIter
            self.maxIter = maxIter
            self.s = s
            self.eta = eta
            self.strict = strict
        }
    }

    public var method: Method
    public var metric: Metric?
    /// Sorted by name (W&B's order for grids).
    public var parameters: [Parameter]
    public var earlyTerminate: Hyperband?
    public var runCap: Int?
    /// nil or "ncf": the built-in trainer.
    public var program: String?
    /// W&B's `command` list with its macros (`${env}`, `${interpreter}`, `${program}`, `${args}`, ...).
    public var command: [String]?
    public var name: String?
    public var description: String?
    public var project: String?
    public var entity: String?
    /// `local` or `cloud` (accepted, and ignored: ncf is always local).
    public var controller: String?
    /// The YAML text as given, stored with the sweep.
    public var sourceText: String
    /// `program` does not exist where the config was read and every parameter is an `ncf train`
    /// flag, so the built-in trainer runs the trials (set by validation).
    public var builtInFallback: Bool

    public init(method: Method, metric: Metric? = nil, parameters: [Parameter], earlyTerminate: Hyperband? = nil,
                runCap: Int? = nil, program: String? = nil, command: [String]? = nil, name: String? = nil,
                description: String? = nil, project: String? = nil, entity: String? = nil,
                controller: String? = nil, sourceText: String = "", builtInFallback: Bool = false) {
        self.method = method
        self.metric = metric
        self.parameters = parameters.sorted { $0.name < $1.name }
        self.earlyTerminate = earlyTerminate
        self.runCap = runCap
        self.program = program
        self.command = command
        self.name = name
        self.description = description
        self.project = project
        self.entity = entity
        self.controller = controller
        self.sourceText = sourceText
        self.builtInFallback = builtInFallback
    }

    /// Whether trials run the built-in trainer (`program` absent or `ncf`, or not found while every
    /// parameter is a trainer flag).
    public var usesBuiltInTrainer: Bool { program == nil || program == "ncf" || builtInFallback }

    /// Whether a run with these parameters logs its start as epoch 0 before training: the built-in
    /// trainer does so for a run from pre-trained parts (`init_gmf` and `init_mlp`, both on its
    /// command line: a `null` or `false` value leaves a flag out). Another program's epoch 0 is a
    /// trained epoch.
    public func runLogsStart(_ runConfig: [String: ParamValue]) -> Bool {
        usesBuiltInTrainer && ["init_gmf", "init_mlp"].allSatisfy { runConfig[$0].map(TrialCommand.builtInPasses) ?? false }
    }

    /// Whether such a run's start holds `metric`: the start is validated, so its line logs the
    /// `Valid` metrics, never `Train Loss`, whose history therefore begins at epoch 1.
    public func runLogsStart(_ runConfig: [String: ParamValue], of metric: String) -> Bool {
        runLogsStart(runConfig) && MetricSplit.of(metric) == .valid
    }

    /// The values of a run's history of `metric` that trained epochs logged: all but the first
    /// when it is the start's (`runLogsStart(_:of:)`). Hyperband's bands count these, so rung n
    /// compares every run after n trained epochs, with or without pre-trained parts.
    public func trainedHistory(_ history: [Double], runConfig: [String: ParamValue], metric: String) -> [Double] {
        runLogsStart(runConfig, of: metric) ? Array(history.dropFirst()) : history
    }
}
