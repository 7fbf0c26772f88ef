import NCFKernels

/// Grid search in the reference engine's order, resuming from the store (`reference/sweep-config.md` §4).
///
/// The grid is the cartesian product of every parameter's `gridValues` (parameters sorted by name,
/// recursively; the last parameter varies fastest; each list in written order, de-duplicated).
/// A point is identified by the canonical JSON of its config, so a point used by any previous run
/// (pending, running, finished, failed or stopped) is skipped, except a `stale` run's point, which
/// is given back. When nothing is left, `next` returns an empty list: the sweep is done.
///
/// Forms a grid cannot walk (continuous, log, normal, beta, categorical with probabilities) are
/// refused by validation before a sweep starts; given one anyway, the grid is empty.
public struct GridSampler: Sampler {
    public init() {}

    public func next(_ count: Int, config: SweepConfig, runs: [RunRecord], rng: inout SplitMix64) -> [[String: ParamValue]] {
        guard count > 0, let points = Self.points(config.parameters) else { return [] }
        let names = config.parameters.map(\.name)
        let used = Set(runs.lazy.filter { $0.state != .stale }.map { Self.key($0.config, names: names) })
        var out: [[String: ParamValue]] = []
        for point in points where !used.contains(Self.key(point, names: names)) {
            out.append(point)
            if out.count == count { break }
        }
        return out
    }

    /// Every point of the grid, in order; nil when a parameter has no grid values.
    /// - Complexity: O(grid size · parameters).
    public static func points(_ parameters: [Parameter]) -> [[String: ParamValue]]? {
        guard let values = ParameterSpec.nested(parameters).gridValues else { return nil }
        return values.map { point in
            guard case .map(let map) = point else { return [:] }
            return map
        }
    }

    /// The number of grid points (the product of the de-duplicated value counts), without
    /// enumerating them; nil when a parameter has no grid values.
    public static func pointCount(_ parameters: [Parameter]) -> Int? {
        var total = 1
        for p in parameters {
            let count: Int?
            if case .nested(let children) = p.spec {
                count = pointCount(children)
            } else {
                count = p.spec.gridValues?.count
            }
            guard let c = count else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: c)
            total = overflow ? Int.max : product
        }
        return total
    }

    /// The identity of a config as a grid point: the canonical JSON of its values for `names`
    /// (keys the config has beyond the sweep's parameters are ignored).
    static func key(_ config: [String: ParamValue], names: [String]) -> String {
        var restricted: [String: ParamValue] = [:]
        for name in names { if let v = config[name] { restricted[name] = v } }
        return ParamValue.canonicalJSON(restricted)
    }
}
