import Foundation
import NCFSweep

// The sweep page's data as JSON: what the page's script draws from. The static report embeds it;
// the live dashboard serves the same document at `/api/sweeps/{id}/report` and the page polls it.

extension SweepReport {
    /// The page's data for `model` as one JSON object (UTF-8 text, no trailing newline).
    ///
    /// Keys: `sweep` (id, state, seed, created), `metric` (name, goal) or null, `live`,
    /// `generated` (seconds since 1970), `parameters` (name, axis: linear | log | categorical,
    /// categories), `runs` (id, number, state, metric, values, labels, config), `best` (a run id or
    /// null). Non-finite numbers are written as null.
    /// - Complexity: O(runs · parameters).
    public static func pageData(_ model: ReportModel) -> String {
        var out = "{"
        out += "\"sweep\":{\"id\":\(jsonString(model.sweep.id)),\"state\":\(jsonString(model.sweep.state.rawValue)),"
        out += "\"seed\":\(model.sweep.seed),\"created\":\(jsonNumber(model.sweep.created.timeIntervalSince1970))},"
        if let metric = model.metric {
            out += "\"metric\":{\"name\":\(jsonString(metric.name)),\"goal\":\(jsonString(metric.goal.rawValue))},"
        } else {
            out += "\"metric\":null,"
        }
        out += "\"live\":\(model.live),\"generated\":\(jsonNumber(model.generated.timeIntervalSince1970)),"
        out += "\"parameters\":["
        out += model.parameters.map { p in
            let axis: String
            var categories = "null"
            switch p.axis {
            case .linear: axis = "linear"
            case .log: axis = "log"
            case .categorical(let names):
                axis = "categorical"
                categories = "[" + names.map(jsonString).joined(separator: ",") + "]"
            }
            return "{\"name\":\(jsonString(p.name)),\"axis\":\"\(axis)\",\"categories\":\(categories)}"
        }.joined(separator: ",")
        out += "],\"runs\":["
        out += model.runs.map { r in
            "{\"id\":\(r.id),\"number\":\(r.number),\"state\":\(jsonString(r.state.rawValue)),"
                + "\"metric\":\(r.metric.map(jsonNumber) ?? "null"),"
                + "\"values\":[" + r.values.map { $0.map(jsonNumber) ?? "null" }.joined(separator: ",") + "],"
                + "\"labels\":[" + r.labels.map(jsonString).joined(separator: ",") + "],"
                + "\"config\":" + ParamValue.canonicalJSON(r.config) + "}"
        }.joined(separator: ",")
        out += "],\"best\":\(model.bestIndex.map { String(model.runs[$0].id) } ?? "null")}"
        return out
    }

    /// A JSON string literal for `s` (escaped as the store's canonical JSON escapes it).
    static func jsonString(_ s: String) -> String { ParamValue.string(s).canonicalJSON }

    /// A JSON number for `d`, or `null` when it is not finite.
    static func jsonNumber(_ d: Double) -> String {
        d.isFinite ? ParamValue.double(d).canonicalJSON : "null"
    }
}
