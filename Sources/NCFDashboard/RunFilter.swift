import Foundation
import NCFSweep

/// The query of `GET /api/sweeps/{id}/runs`: which runs, in what order, which page.
///
/// - `state=finished,stopped`: runs in any of these states (repeatable).
/// - `param.NAME=VALUE`: runs whose parameter NAME (dotted for nested groups, `model.dropout`)
///   has this value, compared as the flag text (`16,32,64`, `adam`) or, for numbers, by value
///   (`0.001` matches `1e-3`). Repeating a name matches any of its values.
/// - `sort=metric` (best first under the sweep's goal; runs without a value last), `id`
///   (default, claim order), `started`, `duration`; `-` in front reverses (`sort=-metric`).
/// - `limit=N`, `offset=N`: a page of the sorted list (`total` says how many matched).
///
/// Anything else, or a value that is not one of these, is a 400 naming the parameter.
struct RunFilter {
    var states: Set<RunState>?
    var params: [(path: [String], name: String, values: [String])] = []
    var sort: Sort = .id
    var descending = false
    var limit: Int?
    var offset = 0

    enum Sort: String, CaseIterable { case id, metric, started, duration }

    static let known = ["state", "param.NAME", "sort", "limit", "offset"]

    init(query: [(name: String, value: String)], summary: SweepSummary) throws(DashboardError) {
        var seen: Set<String> = []
        func bad(_ name: String, _ detail: String) -> DashboardError {
            DashboardError(status: 400, message: "bad filter \(name): \(detail)")
        }
        for (name, value) in query {
            if name.hasPrefix("param.") {
                let parameter = String(name.dropFirst("param.".count))
                guard !parameter.isEmpty else { throw bad(name, "name the parameter, as in param.lr=0.001") }
                let path = parameter.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                let known = Self.parameterNames(summary)
                guard known.contains(parameter) else {
                    let list = known.sorted().joined(separator: ", ")
                    throw bad(name, "sweep \(summary.sweep.id) has no parameter \(parameter)" + (list.isEmpty ? "" : " (its parameters: \(list))"))
                }
                if let i = params.firstIndex(where: { $0.name == parameter }) {
                    params[i].values.append(value)
                } else {
                    params.append((path, parameter, [value]))
                }
                continue
            }
            switch name {
            case "state":
                var set = states ?? []
                for word in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let text = word.trimmingCharacters(in: .whitespaces)
                    guard let state = RunState(rawValue: text) else {
                        throw bad("state", "unknown run state \"\(text.prefix(40))\"; the states are \(RunState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    set.insert(state)
                }
                states = set
            case "sort":
                guard seen.insert(name).inserted else { throw bad(name, "given twice") }
                descending = value.hasPrefix("-")
                let key = descending ? String(value.dropFirst()) : value
                guard let s = Sort(rawValue: key) else {
                    throw bad("sort", "\"\(value.prefix(40))\" is not a sort key; sort by \(Sort.allCases.map(\.rawValue).joined(separator: ", ")), with - in front to reverse")
                }
                if s == .metric && summary.config?.metric == nil {
                    throw bad("sort", "sweep \(summary.sweep.id) has no metric to sort by")
                }
                sort = s
            case "limit", "offset":
                guard seen.insert(name).inserted else { throw bad(name, "given twice") }
                guard let n = Int(value), n >= 0 else { throw bad(name, "\"\(value.prefix(40))\" is not a whole number ≥ 0") }
                if name == "limit" { limit = n } else { offset = n }
            default:
                throw bad(name, "unknown parameter; the runs take \(Self.known.joined(separator: ", "))")
            }
        }
        if let metric = summary.config?.metric { isBetter = { metric.isBetter($0, than: $1) } }
    }

    /// The dotted names a `param.` filter may name: the config's parameters, else the runs' keys.
    static func parameterNames(_ summary: SweepSummary) -> Set<String> {
        if let config = summary.config { return Set(flattenParameters(config.parameters).map(\.dottedName)) }
        return Set(summary.runs.flatMap(\.config.keys))
    }

    func matches(_ run: StoredRun) -> Bool {
        if let states, !states.contains(run.state) { return false }
        for p in params {
            guard let value = leafValue(in: run.config, at: p.path) else { return false }
            let text = TrialCommand.flagText(value)
            let number = value.numericValue
            let hit = p.values.contains { wanted in
                if wanted == text { return true }
                if let number, let w = Double(wanted) { return w == number }
                return false
            }
            if !hit { return false }
        }
        return true
    }

    /// The runs in the requested order (ties: claim order).
    func sorted(_ runs: [(number: Int, run: StoredRun)], metricOf: (StoredRun) -> Double?) -> [(number: Int, run: StoredRun)] {
        switch sort {
        case .id:
            return descending ? runs.reversed() : runs
        case .started:
            let s = runs.sorted { ($0.run.startedAt, $0.run.id) < ($1.run.startedAt, $1.run.id) }
            return descending ? s.reversed() : s
        case .duration:
            let now = Date()
            func duration(_ r: StoredRun) -> Double { (r.endedAt ?? (r.state.isFinished ? r.heartbeatAt : now)).timeIntervalSince(r.startedAt) }
            let s = runs.sorted { (duration($0.run), $0.run.id) < (duration($1.run), $1.run.id) }
            return descending ? s.reversed() : s
        case .metric:
            // Best first (worst first with -metric); runs without a value last either way.
            let with = runs.filter { metricOf($0.run) != nil }
            let without = runs.filter { metricOf($0.run) == nil }
            return with.sorted { a, b in
                let va = metricOf(a.run)!, vb = metricOf(b.run)!
                if va == vb { return a.run.id < b.run.id }
                return isBetter(va, vb) != descending
            } + without
        }
    }

    /// Whether one metric value beats another under the sweep's goal.
    private var isBetter: (Double, Double) -> Bool = { $0 < $1 }
}
