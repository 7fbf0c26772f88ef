import NCFKernels

/// The configs a sweep has already used, and the whole space when it is small and discrete.
///
/// A run's trial seed is derived from the sweep seed and its config (`ClaimPolicy.runSeed`), so
/// a config that ran once would train exactly the same model again: random and bayes search never
/// propose a config a counting run already has (any state but `stale`, whose point is given
/// back). When every leaf takes finitely many values (constants, categorical lists and
/// `int_uniform`) and the space has at most `enumerationLimit` points, the
/// space is enumerated, so a sampler can pick an unused point directly and can tell when none is
/// left: the sweep then ends as an exhausted grid does.
struct RunConfigs {
    /// Spaces with more points than this are not enumerated (a repeat there is found by redrawing).
    static let enumerationLimit = 20_000

    /// The parameter names that identify a config (keys beyond them are ignored).
    let names: [String]
    /// Keys (`GridSampler.key`) of the configs of the counting runs that are not stale.
    private(set) var used: Set<String>
    /// The sweep's parameters (enumerated only when `unused` is asked for).
    private let parameters: [Parameter]

    init(config: SweepConfig, runs: [RunRecord]) {
        names = config.parameters.map(\.name)
        parameters = config.parameters
        let names = self.names
        used = Set(runs.lazy.filter { $0.state != .stale }.map { GridSampler.key($0.config, names: names) })
    }

    /// Whether the space is enumerated (finite and small): only then can a sampler tell that no
    /// config is left. Cheap: a product of value counts.
    var isEnumerable: Bool {
        guard parameters.allSatisfy({ $0.spec.isEnumerable }) else { return false }
        let plain = parameters.map { Parameter(name: $0.name, spec: $0.spec.ignoringProbabilities) }
        return (GridSampler.pointCount(plain) ?? .max) <= Self.enumerationLimit
    }

    func key(_ config: [String: ParamValue]) -> String { GridSampler.key(config, names: names) }

    func isUsed(_ config: [String: ParamValue]) -> Bool { used.contains(key(config)) }

    /// Records `config` as used (a suggestion made earlier in the same call).
    mutating func insert(_ config: [String: ParamValue]) { used.insert(key(config)) }

    /// The configs of the finite space no run has used, in enumeration order; nil for an
    /// infinite or large space. Enumerates the space: ask only when draws keep repeating.
    /// - Complexity: O(points · parameters).
    var unused: [[String: ParamValue]]? {
        Self.enumerate(parameters).map { $0.filter { !isUsed($0) } }
    }

    /// Every point of the space when each leaf has finitely many values and there are at most
    /// `enumerationLimit` points (categorical probabilities are ignored: they weight, not restrict).
    static func enumerate(_ parameters: [Parameter]) -> [[String: ParamValue]]? {
        guard parameters.allSatisfy({ $0.spec.isEnumerable }) else { return nil }
        let plain = parameters.map { Parameter(name: $0.name, spec: $0.spec.ignoringProbabilities) }
        guard let count = GridSampler.pointCount(plain), count <= enumerationLimit else { return nil }
        return GridSampler.points(plain)
    }
}

extension ParameterSpec {
    /// Whether the form takes finitely many values that its inverse CDF reaches exactly: constants,
    /// categorical lists and `int_uniform` (q forms are left out: their grid values and their
    /// draws need not coincide at the ends of the range).
    var isEnumerable: Bool {
        switch self {
        case .constant, .categorical, .intUniform: return true
        case .nested(let children): return children.allSatisfy { $0.spec.isEnumerable }
        default: return false
        }
    }

    /// The spec with categorical probabilities dropped, recursively (the same set of values).
    var ignoringProbabilities: ParameterSpec {
        switch self {
        case .categorical(let values, _): return .categorical(values, probabilities: nil)
        case .nested(let children): return .nested(children.map { Parameter(name: $0.name, spec: $0.spec.ignoringProbabilities) })
        default: return self
        }
    }
}
