import Foundation
import NCFSweep

// The sweep page's data as JSON: what the page's script draws from. The static report embeds it
// (`<script type="application/json" id="ncf-data">`); the live dashboard serves the same document
// at `/api/sweeps/{id}/report` and the page polls it, redrawing in place.

extension SweepReport {
    /// The page's data for `model` as one JSON object (UTF-8 text, no trailing newline).
    ///
    /// Shape (every key always present; `null` where there is no value; non-finite numbers are
    /// written as `null`; times are seconds since 1970; numbers are exact, the page rounds them):
    ///
    /// - `sweep`: `id`, `name` (or null), `method` (or null when the config no longer parses),
    ///   `state` (running | paused | stopped | cancelled | finished), `stateText` (the state as
    ///   people read it, e.g. "running, but no agent is working on it now"), `seed`, `created`.
    /// - `metric`: `{name, goal}` (goal: minimize | maximize) or null.
    /// - `live`: whether runs are still running or pending in a running sweep.
    /// - `generated`: when the data was read.
    /// - `counts`: run state → number of runs (states with no run left out).
    /// - `parameters`: one per searched parameter (constants left out), in config order:
    ///   `name`, `axis` (linear | log | categorical; log for the log-distributed forms, so the page
    ///   draws them on a log axis by default), `categories` (the values' labels in the config's
    ///   order, or null), `distribution` (as the config states it), `varies` (false when every run
    ///   so far has the same value: the page draws no axis or scatter for it), `importance` (share
    ///   0…1 of the permutation importance, or null when too few runs), `spearman` (ρ with the
    ///   metric, or null).
    /// - `importance`: `runs` (how many runs it rests on), `basis` (which runs, in words),
    ///   `caveat` (text to show beside it when it rests on fewer than 10 runs, else null).
    /// - `runs`: in order of start: `id`, `number` (1-based), `state`, `givenBack`, `metric` (best
    ///   logged value under the goal, or null), `values` (per parameter: the number on its axis;
    ///   for categorical axes the category index), `labels` (per parameter: the value as text),
    ///   `config` (the run's parameters as the trial got them), `seed`, `logged` (finite metric
    ///   values logged), `first_epoch` (the epoch of the first: 0 when the run logs its start),
    ///   `epochs` (how many of them trained epochs logged: `logged` less the start's), `started`, `ended` (or null), `duration` (seconds), `reason` (or null),
    ///   `test` (held-out test metrics of its summary, name → value), `history` (its finite values
    ///   of the sweep metric in order of logging).
    /// - `best`: the best run's id or null; `top`: ids of the best runs, best first.
    /// - `curveMetrics`: the metrics the learning curves show; `curves`: per-epoch values of the
    ///   best and some stopped runs: `{run, role: best | stopped, rank (or null), series: {metric:
    ///   [[epoch, value], …]}}`.
    /// - `rungs`: hyperband's rungs, `{band, threshold (or null)}`.
    /// - `html`: the page's server-drawn sections as HTML (`chips`, `best`, `progress`,
    ///   `importance`, `curves`, `time`), which the live page swaps in place; an empty object
    ///   when `sections` is false (the static page, which holds them already).
    /// - Complexity: O(runs · (parameters + epochs)).
    public static func pageData(_ model: ReportModel, sections withSections: Bool = true) -> String {
        var out = "{"
        let s = model.sweep
        let running = model.runs.contains { $0.state == .running }
        out += "\"sweep\":{\"id\":\(jsonString(s.id)),\"name\":\(model.config?.name.map(jsonString) ?? "null"),"
        out += "\"method\":\(model.config.map { jsonString($0.method.rawValue) } ?? "null"),"
        out += "\"state\":\(jsonString(s.state.rawValue)),\"stateText\":\(jsonString(s.state.described(anyRunRunning: running))),"
        out += "\"seed\":\(s.seed),\"created\":\(jsonNumber(s.created.timeIntervalSince1970))},"
        if let metric = model.metric {
            out += "\"metric\":{\"name\":\(jsonString(metric.name)),\"goal\":\(jsonString(metric.goal.rawValue))},"
        } else {
            out += "\"metric\":null,"
        }
        out += "\"live\":\(model.live),\"generated\":\(jsonNumber(model.generated.timeIntervalSince1970)),"
        out += "\"counts\":{" + model.counts.map { "\(jsonString($0.state.rawValue)):\($0.count)" }.joined(separator: ",") + "},"
        out += "\"parameters\":["
        out += model.parameters.enumerated().map { p, parameter in
            let axis: String
            var categories = "null"
            switch parameter.axis {
            case .linear: axis = "linear"
            case .log: axis = "log"
            case .categorical(let names):
                axis = "categorical"
                categories = "[" + names.map(jsonString).joined(separator: ",") + "]"
            }
            let imp = model.importance.indices.contains(p) ? model.importance[p] : ReportModel.Importance(share: nil, spearman: nil)
            return "{\"name\":\(jsonString(parameter.name)),\"axis\":\"\(axis)\",\"categories\":\(categories),"
                + "\"distribution\":\(jsonString(parameter.distribution)),\"varies\":\(model.varies(p)),"
                + "\"importance\":\(imp.share.map(jsonNumber) ?? "null"),\"spearman\":\(imp.spearman.map(jsonNumber) ?? "null")}"
        }.joined(separator: ",")
        out += "],\"importance\":{\"runs\":\(model.importanceCount),\"basis\":\(jsonString(model.importanceBasis)),"
        out += "\"caveat\":\(importanceCaveat(model).map(jsonString) ?? "null")},"
        out += "\"runs\":["
        out += model.runs.map { r in
            var run = "{\"id\":\(r.id),\"number\":\(r.number),\"state\":\(jsonString(r.state.rawValue)),\"givenBack\":\(r.givenBack),"
            run += "\"metric\":\(r.metric.map(jsonNumber) ?? "null"),"
            run += "\"values\":[" + r.values.map { $0.map(jsonNumber) ?? "null" }.joined(separator: ",") + "],"
            run += "\"labels\":[" + r.labels.map(jsonString).joined(separator: ",") + "],"
            run += "\"config\":" + ParamValue.canonicalJSON(r.config) + ",\"seed\":\(r.seed),\"logged\":\(r.logged),\"first_epoch\":\(r.firstEpoch),\"epochs\":\(r.epochs),"
            run += "\"started\":\(jsonNumber(r.startedAt.timeIntervalSince1970)),"
            run += "\"ended\":\(r.endedAt.map { jsonNumber($0.timeIntervalSince1970) } ?? "null"),"
            run += "\"duration\":\(jsonNumber(r.duration)),\"reason\":\(r.reason.map(jsonString) ?? "null"),"
            run += "\"test\":{" + r.testMetrics.map { "\(jsonString($0.name)):\(jsonNumber($0.value))" }.joined(separator: ",") + "},"
            run += "\"history\":[" + r.history.map(jsonNumber).joined(separator: ",") + "]}"
            return run
        }.joined(separator: ",")
        out += "],\"best\":\(model.bestIndex.map { String(model.runs[$0].id) } ?? "null"),"
        out += "\"top\":[" + model.topIndices.map { String(model.runs[$0].id) }.joined(separator: ",") + "],"
        out += "\"curveMetrics\":[" + model.curveMetrics.map(jsonString).joined(separator: ",") + "],"
        out += "\"curves\":[" + model.curves.map { c in
            let role: String, rank: String
            switch c.role {
            case .best(let k): role = "best"; rank = String(k)
            case .stopped: role = "stopped"; rank = "null"
            }
            let series = c.series.keys.sorted().map { name in
                jsonString(name) + ":[" + c.series[name]!.map { "[\(jsonNumber($0.epoch)),\(jsonNumber($0.value))]" }.joined(separator: ",") + "]"
            }.joined(separator: ",")
            return "{\"run\":\(c.runID),\"role\":\"\(role)\",\"rank\":\(rank),\"series\":{\(series)}}"
        }.joined(separator: ",") + "],"
        out += "\"rungs\":[" + model.rungs.map { "{\"band\":\($0.band),\"threshold\":\($0.threshold.map(jsonNumber) ?? "null")}" }.joined(separator: ",") + "],"
        let html = withSections ? sections(model) : []
        out += "\"html\":{" + html.map { "\(jsonString($0.key)):\(jsonString($0.html))" }.joined(separator: ",") + "}"
        out += "}"
        return out
    }

    /// The page data made safe to embed in `<script type="application/json">`: every `<` (only
    /// ever inside a JSON string) written as `\u003c`, so no `</script>` or `<!--` in a config,
    /// a name or a reason can end the element; U+2028/U+2029 escaped too.
    static func embeddable(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count + 64)
        for c in json.unicodeScalars {
            switch c {
            case "<": out += "\\u003c"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A JSON string literal for `s` (escaped as the store's canonical JSON escapes it).
    static func jsonString(_ s: String) -> String { ParamValue.string(s).canonicalJSON }

    /// A JSON number for `d`, or `null` when it is not finite.
    static func jsonNumber(_ d: Double) -> String {
        d.isFinite ? ParamValue.double(d).canonicalJSON : "null"
    }
}
