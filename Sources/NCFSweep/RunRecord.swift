/// The life of a run in a sweep.
public enum RunState: String, Sendable, Codable, CaseIterable {
    /// Claimed but not started yet.
    case pending
    case running
    case finished
    /// With a reason: non-finite loss, exit code, signal, timeout.
    case failed
    /// Early-terminated (hyperband) or interrupted (Ctrl-C).
    case stopped
    /// Its agent stopped sending heartbeats; its grid point or slot is given back.
    case stale

    /// Whether the run will not change any more.
    public var isFinished: Bool { self != .pending && self != .running }
}

/// An immutable view of one run, as samplers, pruners and stores see it.
public struct RunRecord: Sendable, Equatable {
    public var id: Int
    /// The parameter values the run was given (nested groups as `.map`).
    public var config: [String: ParamValue]
    public var state: RunState
    /// The per-epoch values of the sweep's metric, in order.
    public var history: [Double]
    /// The value that counts for the run: its best logged value under the goal (nil if none).
    public var metric: Double?
    public var reason: String?

    public init(id: Int, config: [String: ParamValue], state: RunState, history: [Double] = [],
                metric: Double? = nil, reason: String? = nil) {
        self.id = id
        self.config = config
        self.state = state
        self.history = history
        self.metric = metric
        self.reason = reason
    }
}
