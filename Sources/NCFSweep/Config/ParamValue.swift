/// A parameter value as a sweep config writes it: YAML scalars, lists and mappings.
///
/// Runs store their config as canonical JSON (`canonicalJSON`: keys sorted, no spaces, whole-number
/// doubles written as integers, as the reference engine 0.3.0 does), so two equal configs compare
/// equal as text and grid points can be recognised across agents.
public indirect enum ParamValue: Sendable, Hashable {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    case list([ParamValue])
    /// Keys in sorted order.
    case map([String: ParamValue])
}

/// One parameter of the sweep: its name (a training flag for the built-in trainer) and its spec.
public struct Parameter: Sendable, Equatable {
    public var name: String
    public var spec: ParameterSpec
    /// 1-based line of the parameter's key in the YAML (0 when built in code).
    public var line: Int

    public init(name: String, spec: ParameterSpec, line: Int = 0) {
        self.name = name
        self.spec = spec
        self.line = line
    }
}
