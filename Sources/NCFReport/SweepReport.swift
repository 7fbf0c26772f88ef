import Foundation
import NCFSweep

// The sweep report: one self-contained HTML file (inline CSS, inline SVG charts, a few lines of
// inline script for sorting and paging the runs table; no network, no external font or script).
// Everything taken from the store (config text, parameter names, values, reasons) is escaped.

/// Renders a `ReportModel` as one HTML document and writes it atomically.
public enum SweepReport {
    /// The HTML document of `model`.
    ///
    /// The page embeds its data (`pageData`, in `<script type="application/json" id="ncf-data">`)
    /// and its script draws the interactive views from it: parallel coordinates with brushing,
    /// the runs table, the comparison, scatters, the EDF and the two-parameter view. The best
    /// run, the metric of every run, importance, learning curves, time and config are drawn here
    /// (readable without JavaScript), and so is a first runs table.
    ///
    /// - Parameters:
    ///   - refreshSeconds: when given, the page reloads itself this often
    ///     (`<meta http-equiv="refresh">`), for `--watch` while the sweep runs.
    ///   - storePath: shown in the footer.
    ///   - liveDataURL: when given (the dashboard's `/api/sweeps/{id}/report`), the page polls
    ///     it every 2 s and redraws in place (no reload) when the sweep's data changed, keeping
    ///     the brushes, the selection and the scroll position.
    /// - Complexity: O(runs · parameters) text.
    public static func html(_ model: ReportModel, refreshSeconds: Double? = nil, storePath: String? = nil,
                            liveDataURL: String? = nil) -> String {
        var page = HTMLPage()
        page.head(title: "ncf sweep \(model.sweep.id)" + (model.config?.name.map { " — \($0)" } ?? ""), refresh: refreshSeconds)
        let parts = Dictionary(uniqueKeysWithValues: sections(model).map { ($0.key, $0.html) })
        // Without JavaScript the sections only the script can draw are left out.
        page.add("<noscript><style>#compare,#scatter,#distribution,#explore .controls{display:none}</style></noscript>")
        header(&page, model, refreshSeconds: refreshSeconds, live: liveDataURL != nil, chips: parts["chips"] ?? "")
        page.add("<section id=\"no-runs\"\(model.runs.isEmpty ? "" : " hidden")><h2>No runs yet</h2><p>Start one with <code>ncf agent \(htmlEscape(model.sweep.id))</code>; the report fills in as runs finish.</p></section>")
        // Without runs a static page shows only the note above; a live page keeps the sections
        // (hidden) for the runs to come.
        if !model.runs.isEmpty || liveDataURL != nil {
            page.add("<div id=\"has-runs\"\(model.runs.isEmpty ? " hidden" : "")>")
            page.add("<section id=\"best\"><div data-part=\"best\">\(parts["best"] ?? "")</div></section>")
            explore(&page, model)
            table(&page, model)
            page.add("<section id=\"compare\"><h2>Compare runs</h2><div id=\"compare-body\"><p class=\"note\">Tick runs in the table (or click lines in the parallel coordinates) to compare their configs and learning curves.</p></div></section>")
            page.add("<section id=\"progress\"><div data-part=\"progress\">\(parts["progress"] ?? "")</div></section>")
            page.add("<section id=\"importance\"><div data-part=\"importance\">\(parts["importance"] ?? "")</div></section>")
            if model.metric != nil {
                page.add("<section id=\"scatter\"><h2>\(htmlEscape(model.metric?.name ?? "Metric")) against each parameter</h2><p class=\"sub\">Runs outside the selection are grey; ticked runs are ringed. Parameters every run has the same value of are left out.</p><div id=\"scatters\" class=\"grid\"></div></section>")
                page.add("<section id=\"distribution\"><div class=\"grid two\"><div><h2>How good runs get: empirical distribution</h2><p class=\"sub\" id=\"edf-sub\">The fraction of runs whose \(htmlEscape(model.metric?.name ?? "metric")) is at least as good as each value (one line per group when grouped).</p><div id=\"edf\"></div></div><div><h2>Two parameters</h2><p class=\"sub\">Each point is a run in the filters, coloured by its rank (darkest is best, as in the parallel coordinates); the background interpolates the rank between runs (inverse-distance weighting), a guide only where runs are dense.</p><div id=\"contour-controls\" class=\"controls\"></div><div id=\"contour\"></div></div></div></section>")
            }
            page.add("<section id=\"curves\"><div data-part=\"curves\">\(parts["curves"] ?? "")</div></section>")
            page.add("<section id=\"time\"><div data-part=\"time\">\(parts["time"] ?? "")</div></section>")
            page.add("</div>")
        }
        configSection(&page, model)
        page.add("<footer>Written by ncf \(htmlEscape(ncfReportVersion)) on \(htmlEscape(timestamp(model.generated)))"
                 + (storePath.map { " from <code>\(htmlEscape($0))</code>" } ?? "")
                 + ". Self-contained: the data is in the page and charts are drawn by its own script or inline SVG; nothing is loaded from the network"
                 + (liveDataURL == nil ? "" : " but this sweep's data, which the page polls") + ".</footer>")
        page.add("<div id=\"tooltip\" role=\"status\" hidden></div>")
        // The live page takes the server-drawn sections from the data it polls; here they are in the page.
        page.add("<script type=\"application/json\" id=\"ncf-data\">\(embeddable(pageData(model, sections: false)))</script>")
        let live = liveDataURL.map { "window.ncfLiveURL=\(jsonString($0));\n" } ?? ""
        page.finish(script: live + PageScript.source)
        return page.text
    }

    /// The server-drawn parts of the page, by name: the state chips, the best run, the metric of
    /// every run, importance, learning curves and time. The page shows them and the live page
    /// swaps them in place (`pageData`'s `html`).
    static func sections(_ m: ReportModel) -> [(key: String, html: String)] {
        var out: [(String, String)] = []
        var chips = "<span class=\"chip total\">\(m.runs.count) run\(m.runs.count == 1 ? "" : "s")</span>"
        for (state, n) in m.counts { chips += "<span class=\"chip \(state.rawValue)\">\(n) \(state.rawValue)</span>" }
        out.append(("chips", chips))
        for (key, draw) in [("best", best), ("progress", progress), ("importance", importance), ("curves", curves), ("time", timing)]
            as [(String, (inout HTMLPage, ReportModel) -> Void)] {
            var part = HTMLPage(bare: true)
            if !m.runs.isEmpty { draw(&part, m) }
            out.append((key, part.text))
        }
        return out
    }

    /// The caveat shown with importance that rests on fewer than 10 runs, or nil.
    static func importanceCaveat(_ m: ReportModel) -> String? {
        let n = m.importanceCount
        guard n < 10 else { return nil }
        if n < 5 { return "Importance needs at least 5 runs with a metric; it rests on \(n) so far." }
        return "Only \(n) runs: with fewer than about 10, a forest easily credits the wrong parameter. Read the shares as a rough hint, and the scatters below as the evidence."
    }

    /// Writes `text` to `path` atomically: a temporary file in the same directory, then `rename`,
    /// so a browser reloading the page never reads half a file.
    /// - Throws: `ReportError.write` naming the path.
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(text.utf8).write(to: temp)
        } catch {
            throw ReportError.write(path: path, detail: (error as NSError).localizedDescription)
        }
        if rename(temp.path, url.path) != 0 {
            let detail = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw ReportError.write(path: path, detail: detail)
        }
    }

    // MARK: - Sections

    private static func header(_ page: inout HTMLPage, _ m: ReportModel, refreshSeconds: Double?, live: Bool, chips: String) {
        let name = m.config?.name.map { " <span class=\"name\">\(htmlEscape($0))</span>" } ?? ""
        page.add("<header><h1>Sweep <code>\(htmlEscape(m.sweep.id))</code>\(name)</h1>")
        var facts: [String] = []
        if let c = m.config { facts.append(htmlEscape(c.method.rawValue)) } else { facts.append("config unreadable") }
        if let metric = m.metric {
            facts.append("metric <b>\(htmlEscape(metric.name))</b> (\(metric.goal.rawValue))")
        } else {
            facts.append("no metric: runs are listed, not ranked")
        }
        let state = m.sweep.state.described(anyRunRunning: m.runs.contains { $0.state == .running })
        facts.append("sweep <b id=\"sweep-state\" class=\"sweep-\(m.sweep.state.rawValue)\">\(htmlEscape(state))</b>")
        facts.append("seed \(m.sweep.seed)")
        facts.append("created \(htmlEscape(timestamp(m.sweep.created)))")
        page.add("<p class=\"sub\">\(facts.joined(separator: " · "))</p>")
        if let data = m.sweep.data {
            page.add("<p class=\"sub\">Data <code title=\"\(htmlEscape(data.absolutePath))\">\(htmlEscape(data.path))</code> (\(data.size) bytes, <span title=\"\(htmlEscape(data.fingerprint))\">\(htmlEscape(String(data.fingerprint.prefix(15))))…</span>)</p>")
        }
        page.add("<p class=\"chips\" data-part=\"chips\">\(chips)</p>")
        if m.withoutMetric > 0, let metric = m.metric {
            let n = m.withoutMetric
            page.add("<p class=\"warn\">\(n) run\(n == 1 ? "" : "s") without a \(htmlEscape(metric.name)) (\(n == 1 ? "it is" : "they are") left out of the charts and listed in the table).</p>")
        }
        if !m.protocols.isEmpty {
            let list = m.protocols.map { "<b>\(htmlEscape($0))</b>" }.joined(separator: "; ")
            page.add("<p class=\"sub\">Evaluation protocol\(m.protocols.count == 1 ? "" : "s"): \(list). The sweep chooses on the validation split; test metrics are held out and only reported.</p>")
        }
        if let refreshSeconds {
            page.add("<p class=\"live\">The sweep is running: this page is rewritten every \(formatValue(refreshSeconds)) s and reloads itself.</p>")
        }
        if live {
            page.add("<p class=\"live\" id=\"live-note\">Live: the page checks the store every 2 s and redraws in place.</p>")
        }
        if !m.runs.isEmpty || live { page.add("<nav><a href=\"#best\">best run</a><a href=\"#explore\">parallel coordinates</a><a href=\"#runs\">runs</a><a href=\"#compare\">compare</a><a href=\"#progress\">metric by run</a><a href=\"#importance\">importance</a><a href=\"#scatter\">per parameter</a><a href=\"#distribution\">distribution</a><a href=\"#curves\">learning curves</a><a href=\"#time\">time</a><a href=\"#config\">config</a></nav>") }
        page.add("</header>")
    }

    private static func best(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<h2>Best run</h2>")
        guard let metric = m.metric, let b = m.bestIndex, let value = m.runs[b].metric else {
            page.add("<p class=\"note\">No finished or stopped run has logged \(htmlEscape(m.metric?.name ?? "a metric")) yet.</p>")
            return
        }
        let run = m.runs[b]
        page.add("<div class=\"best-grid\"><div><p class=\"big\">run \(run.id): \(htmlEscape(metric.name)) <b title=\"\(value)\">\(htmlEscape(formatValue(value)))</b></p>")
        page.add("<p class=\"sub\">\(run.state.rawValue), best of \(run.logged) logged value\(run.logged == 1 ? "" : "s")"
                 + (run.summary["best_epoch"]?.numericValue.map { ", best epoch \(formatValue($0))" } ?? "")
                 + ", \(formatDuration(run.duration))</p>")
        var rows = ""
        for name in run.config.keys.sorted() {
            let value = run.config[name]!
            rows += "<tr><th>\(htmlEscape(name))</th><td title=\"\(htmlEscape(TrialCommand.flagText(value)))\">\(htmlEscape(ReportModel.displayText(value)))</td></tr>"
        }
        page.add("<table class=\"kv\"><caption>Config</caption>\(rows)</table></div><div>")
        let tests = run.testMetrics
        if tests.isEmpty {
            page.add("<p class=\"note\">Its trial printed no test metrics.</p>")
        } else {
            var t = ""
            for (name, v) in tests { t += "<tr><th>\(htmlEscape(name))</th><td title=\"\(v)\">\(htmlEscape(formatMetric(v)))</td></tr>" }
            page.add("<table class=\"kv\"><caption>Held-out test metrics (best epoch)</caption>\(t)</table>")
        }
        if case .string(let p)? = run.summary["protocol"] { page.add("<p class=\"sub\">Protocol: \(htmlEscape(p))</p>") }
        page.add("</div></div>")
        page.add("<h3>Reproduce it</h3><pre class=\"cmd\">\(htmlEscape(reproduceCommand(m, run: run)))</pre>")
        if m.config?.usesBuiltInTrainer ?? true, run.config["data"] == nil, run.dataOverride ?? m.sweep.data?.path == nil {
            page.add("<p class=\"sub\">Give <code>--data</code> the ratings file the agents trained on (this sweep was created before ncf recorded its data). The seed is the run's own, so the run trains exactly as it did.</p>")
        }
    }

    /// The words of the command that reruns a run, each ready for a shell: `ncf train --k=v …
    /// --seed=S --data=PATH` for the built-in trainer, the program with the run's flags otherwise.
    public static func reproduceWords(sweepConfig: SweepConfig?, sweepData: String?, runConfig: [String: ParamValue],
                                      seed: UInt64, dataOverride: String?) -> [String] {
        if sweepConfig?.usesBuiltInTrainer ?? true {
            let config = TrialCommand.reproducingConfig(runConfig, seed: seed, data: dataOverride ?? sweepData,
                                                        metric: sweepConfig?.metric)
            return ["ncf", "train"] + commandLineWords(config) + (config["data"] == nil ? ["--data=PATH"] : [])
        }
        return [shellQuoted(sweepConfig?.program ?? "PROGRAM")] + commandLineWords(runConfig)
    }

    /// `reproduceWords` as lines of at most ~90 characters, for the page.
    static func reproduceCommand(_ m: ReportModel, run: ReportModel.Run) -> String {
        let words = reproduceWords(sweepConfig: m.config, sweepData: m.sweep.data?.absolutePath, runConfig: run.config,
                                   seed: run.seed, dataOverride: run.dataOverride)
        // Lines of at most ~90 characters, continued with a backslash (still one shell command),
        // broken only between words: a quoted value with spaces is one word.
        var lines: [String] = []
        var current = ""
        for word in words {
            if !current.isEmpty && current.count + 1 + word.count > 88 {
                lines.append(current)
                current = "  " + word
            } else {
                current += current.isEmpty ? word : " " + word
            }
        }
        lines.append(current)
        return lines.joined(separator: " \\\n")
    }

    private static func legend(_ items: [(cls: String, label: String)]) -> String {
        "<p class=\"legend\">" + items.map { "<span><i class=\"sw \($0.cls)\"></i>\(htmlEscape($0.label))</span>" }.joined() + "</p>"
    }

    private static func progress(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<h2>\(htmlEscape(m.metric?.name ?? "Metric")) of every run</h2>")
        guard let svg = ReportCharts.metricByRun(m) else {
            page.add("<p class=\"note\">\(m.metric == nil ? "The sweep has no metric." : "No run has logged a value yet.")</p>")
            return
        }
        page.add("<p class=\"sub\">Each run's best value, runs in order of start; the line is the best so far over finished and stopped runs.</p>")
        page.add("<div class=\"scroll\">\(svg)</div>")
        var items: [(String, String)] = []
        for state in [RunState.finished, .stopped, .failed, .running, .stale] where m.runs.contains(where: { $0.state == state && $0.metric != nil }) {
            items.append(("pt-\(state.rawValue)", state == .stopped ? "stopped early" : state == .failed ? "failed (its last values)" : state.rawValue))
        }
        items.append(("line-best", "best so far"))
        items.append(("ring", "best run"))
        if hasOffScale(m) { items.append(("pt-out", "off the scale (drawn at the edge)")) }
        page.add(legend(items))
    }

    private static func hasOffScale(_ m: ReportModel) -> Bool {
        let values = m.runs.compactMap(\.metric)
        guard let r = robustRange(values) else { return false }
        return values.contains { $0 < r.lo || $0 > r.hi }
    }

    private static func importance(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<h2>Which parameters matter</h2>")
        guard let metric = m.metric, !m.parameters.isEmpty else {
            page.add("<p class=\"note\">\(m.metric == nil ? "The sweep has no metric." : "The sweep searches no parameter.")</p>")
            return
        }
        if let caveat = importanceCaveat(m), m.importanceCount < 5 {
            page.add("<p class=\"note\" id=\"importance-caveat\">\(htmlEscape(caveat)) Until then, the scatters show how each parameter went.</p>")
            return
        }
        page.add("""
            <p class="sub">Importance is <b>random-forest permutation importance</b>, computed by ncf over \(htmlEscape(m.importanceBasis)): \
            64 regression trees are fitted to the runs' \(htmlEscape(metric.name)) ranks from their parameters; on the runs each tree \
            did not see, one parameter's values are shuffled and the rise in error is that parameter's importance (shares sum to 100%). \
            ρ is Spearman's rank correlation of the parameter's value with \(htmlEscape(metric.name)).</p>
            """)
        if let caveat = importanceCaveat(m) { page.add("<p class=\"warn\" id=\"importance-caveat\">\(htmlEscape(caveat))</p>") }
        let constant = m.parameters.indices.filter { !m.varies($0) }
        if !constant.isEmpty {
            page.add("<p class=\"sub\">Left out: \(constant.map { htmlEscape(m.parameters[$0].name) }.joined(separator: ", ")) (every run so far has the same value).</p>")
        }
        let order = m.parameters.indices.filter { m.varies($0) }.sorted { a, b in
            (m.importance[a].share ?? -1, b) > (m.importance[b].share ?? -1, a)
        }
        var rows = ""
        for p in order {
            let imp = m.importance[p]
            let share = imp.share.map { "<div class=\"bar\"><i style=\"width:\(coord($0 * 100))%\"></i></div><span>\(String(format: "%.0f%%", $0 * 100))</span>" } ?? "<span class=\"note\">too few runs</span>"
            var rho = "<span class=\"note\">—</span>"
            var reading = ""
            if let r = imp.spearman {
                let w = abs(r) * 50
                let left = r < 0 ? 50 - w : 50
                rho = "<div class=\"bar rho\"><b></b><i class=\"\(r < 0 ? "neg" : "pos")\" style=\"left:\(coord(left))%;width:\(coord(w))%\"></i></div><span>\(String(format: "%+.2f", r))</span>"
                // Roughly the 5% significance level of ρ for the number of runs, and never below 0.1.
                if abs(r) >= max(0.1, 2 / Double(max(4, m.importanceCount)).squareRoot()) {
                    let higherIsBetter = (r > 0) == (metric.goal == .maximize)
                    reading = "higher \(htmlEscape(m.parameters[p].name)) → \(higherIsBetter ? "better" : "worse")"
                }
            } else if case .categorical = m.parameters[p].axis {
                reading = "categories: see the scatter"
            }
            rows += "<tr><th>\(htmlEscape(m.parameters[p].name))</th><td class=\"barcell\">\(share)</td><td class=\"barcell\">\(rho)</td><td>\(reading)</td><td class=\"dim\">\(htmlEscape(m.parameters[p].distribution))</td></tr>"
        }
        page.add("<table class=\"imp\(m.importanceCount < 10 ? " weak" : "")\"><thead><tr><th>parameter</th><th>importance</th><th>Spearman ρ</th><th>reading</th><th>searched as</th></tr></thead><tbody>\(rows)</tbody></table>")
    }

    private static func curves(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<h2>Learning curves</h2>")
        let charts = m.curveMetrics.enumerated().compactMap { k, name in
            ReportCharts.learningCurve(m, name: name, clipID: "clip-curve-\(k)").map { (name, $0) }
        }
        guard !charts.isEmpty else {
            page.add("<p class=\"note\">No per-epoch values logged yet.</p>")
            return
        }
        var text = "The \(m.topIndices.count) best runs (solid)"
        let stopped = m.curves.filter { $0.role == .stopped }.count
        let allStopped = m.runs.filter { $0.state == .stopped }.count
        if stopped > 0 {
            text += " and \(stopped == allStopped ? "the \(stopped)" : "\(stopped) of the \(allStopped)") stopped run\(allStopped == 1 ? "" : "s") (dashed, a dot where each stopped)"
        }
        text += "."
        if !m.background.isEmpty {
            text += " Grey: \(m.background.count == m.runs.filter({ $0.logged > 0 }).count ? "every other run" : "\(m.background.count) other runs") (\(htmlEscape(m.metric?.name ?? "")) only)."
        }
        if !m.rungs.isEmpty {
            text += " Dashed verticals are hyperband's rungs (after \(m.rungs.map { String($0.band) }.joined(separator: ", ")) trained epochs); a diamond marks a rung's threshold: a running run worse than it there is stopped."
        } else if m.config?.earlyTerminate == nil {
            text += " The sweep has no early termination."
        }
        page.add("<p class=\"sub\">\(text)</p><div class=\"grid two\">")
        for (name, svg) in charts { page.add("<figure>\(svg)<figcaption>\(htmlEscape(name))</figcaption></figure>") }
        page.add("</div>")
        var items: [(String, String)] = []
        for c in m.curves {
            guard let run = m.runs.first(where: { $0.id == c.runID }) else { continue }
            let value = run.metric.map { ", \(formatValue($0))" } ?? ""
            switch c.role {
            case .best(let rank): items.append(("best\(min(rank, 4))", "run \(run.id)\(rank == 0 ? " (best)" : "")\(value)"))
            case .stopped: items.append(("stopped-curve", "run \(run.id) stopped after \(run.epochs) epoch\(run.epochs == 1 ? "" : "s")\(value)"))
            }
        }
        if !m.background.isEmpty { items.append(("bg-curve", "other runs (\(m.metric?.name ?? "metric"))")) }
        page.add(legend(items))
    }

    /// The runs table as drawn without JavaScript; the page's script redraws it from the data
    /// (sortable, paged, following the selection, with a box per run to compare).
    private static func table(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<section id=\"runs\"><h2>Runs</h2>")
        page.add("<p class=\"sub\" id=\"runs-sub\">Every run in order of start. Held-out test metrics are in the best run above and in the comparison: the sweep is judged on validation.</p>")
        page.add("<div class=\"controls\" id=\"table-controls\"><span id=\"page-info\"></span></div>")
        let shown = m.parameters.indices.filter { m.varies($0) || m.runs.count == 1 }
        var head = "<tr><th data-key=\"number\">#</th><th data-key=\"id\">run</th><th data-key=\"state\">state</th>"
        for p in shown { head += "<th data-key=\"p\(p)\" title=\"\(htmlEscape(m.parameters[p].distribution))\">\(htmlEscape(m.parameters[p].name))</th>" }
        head += "<th data-key=\"metric\">\(htmlEscape(m.metric?.name ?? "metric"))</th><th data-key=\"epochs\" title=\"epochs trained (a run from pre-trained parts also logs its start)\">epochs</th><th data-key=\"duration\">duration</th><th data-key=\"reason\">reason</th></tr>"
        var body = ""
        body.reserveCapacity(m.runs.count * 300)
        let bestID = m.bestIndex.map { m.runs[$0].id }
        for run in m.runs {
            let cls = run.id == bestID ? " class=\"best-row\"" : ""
            body += "<tr data-run=\"\(run.id)\" data-state=\"\(run.state.rawValue)\"\(cls)><td>\(run.number)</td><td>\(run.id)</td><td><span class=\"st \(run.state.rawValue)\">\(run.state.rawValue)</span>\(run.givenBack ? " <span class=\"dim\">(given back)</span>" : "")</td>"
            for p in shown {
                let exact = run.config[m.parameters[p].name].map(TrialCommand.flagText) ?? run.labels[p]
                body += "<td title=\"\(htmlEscape(exact))\">\(htmlEscape(run.labels[p]))</td>"
            }
            if let v = run.metric {
                body += "<td title=\"\(v)\">\(htmlEscape(formatValue(v)))</td>"
            } else {
                body += "<td class=\"dim\">—</td>"
            }
            body += "<td>\(run.epochs)</td><td>\(formatDuration(run.duration))</td>"
            let reason = run.reason ?? ""
            body += "<td class=\"reason\" title=\"\(htmlEscape(reason))\">\(htmlEscape(reason.count > 70 ? String(reason.prefix(69)) + "…" : reason))</td></tr>"
        }
        page.add("<div class=\"tablewrap\"><table id=\"runs-table\" class=\"runs\"><thead>\(head)</thead><tbody>\(body)</tbody></table></div></section>")
    }

    /// The interactive parallel coordinates and their controls, drawn by the page's script.
    private static func explore(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<section id=\"explore\"><h2>Parallel coordinates</h2>")
        page.add("<p class=\"sub\">One line per run with a \(htmlEscape(m.metric?.name ?? "metric")), through its value on every parameter's axis to its metric. <b>Drag along an axis</b> to keep only the runs inside (drag on several axes to combine; click the axis to clear), <b>drag an axis name</b> sideways to move it, click <b>log/linear</b> under a numeric axis to switch its scale, <b>hover</b> a line to see its run and <b>click</b> it to tick it for comparison. The table and the other charts follow.</p>")
        page.add("<div class=\"controls\" id=\"explore-controls\"></div><div id=\"pc\" class=\"pc-wrap\"><p class=\"note\">The interactive charts need JavaScript; the tables and the charts below do not.</p></div><p class=\"legend\" id=\"pc-legend\"></p></section>")
    }

    private static func timing(_ page: inout HTMLPage, _ m: ReportModel) {
        let started = m.runs.filter { $0.state != .pending }
        guard !started.isEmpty else { return }
        let total = started.map(\.duration).reduce(0, +)
        let first = started.map(\.startedAt).min()!
        let last = started.map { $0.endedAt ?? m.generated }.max()!
        let done = started.filter { $0.state == .finished }.map(\.duration).sorted()
        var parts = ["<li>compute time <b>\(formatDuration(total))</b> (the runs' durations added up)</li>",
                     "<li>wall clock <b>\(formatDuration(max(0, last.timeIntervalSince(first))))</b> from the first start to the last end\(m.live ? " (so far)" : "")</li>"]
        if !done.isEmpty {
            let mean = done.reduce(0, +) / Double(done.count)
            parts.append("<li>per finished run: median <b>\(formatDuration(done[done.count / 2]))</b>, mean \(formatDuration(mean)), shortest \(formatDuration(done.first!)), longest \(formatDuration(done.last!))</li>")
        }
        let secs = started.compactMap { $0.summary["train_seconds"]?.numericValue }
        if !secs.isEmpty {
            parts.append("<li>training time reported by the trials: \(formatDuration(secs.reduce(0, +))) in all</li>")
        }
        page.add("<h2>Time</h2><ul>\(parts.joined())</ul>")
    }

    private static func configSection(_ page: inout HTMLPage, _ m: ReportModel) {
        page.add("<section id=\"config\"><h2>Config</h2>")
        if !m.parameters.isEmpty {
            var rows = ""
            for p in m.parameters {
                let axis: String
                switch p.axis {
                case .linear: axis = "linear"
                case .log: axis = "log"
                case .categorical(let labels): axis = "categorical (\(labels.count))"
                }
                rows += "<tr><th>\(htmlEscape(p.name))</th><td>\(htmlEscape(p.distribution))</td><td>\(axis)</td></tr>"
            }
            page.add("<table class=\"kv\"><thead><tr><th>parameter</th><th>searched as</th><th>axis</th></tr></thead><tbody>\(rows)</tbody></table>")
        }
        if let hb = m.config?.earlyTerminate {
            var parts = ["eta \(formatValue(hb.eta))"]
            if let v = hb.minIter { parts.append("min_iter \(v)") }
            if let v = hb.maxIter { parts.append("max_iter \(v)") }
            if let v = hb.s { parts.append("s \(formatValue(v))") }
            parts.append(hb.strict ? "strict" : "not strict")
            page.add("<p class=\"sub\">Early termination: hyperband, \(htmlEscape(parts.joined(separator: ", "))); rungs after \(m.rungs.map { String($0.band) }.joined(separator: ", ")) trained epochs.</p>")
        }
        page.add("<pre class=\"config\">\(htmlEscape(m.sweep.configText))</pre></section>")
    }

    // MARK: - Page, style and script

    /// `2025-11-29 09:43:12` local time.
    static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }

    static let tableScript = """
        (function () {
          var table = document.getElementById('runs-table');
          if (!table) { return; }
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          var filter = document.getElementById('state-filter');
          var info = document.getElementById('page-info');
          var prev = document.getElementById('prev'), next = document.getElementById('next'), all = document.getElementById('all');
          var size = 50, page = 0, showAll = !prev, sortCol = -1, sortDir = 1;
          function key(row, col, num) {
            var cell = row.cells[col];
            if (!cell) { return num ? Infinity : ''; }
            if (num) { var v = cell.getAttribute('data-v'); return v === null || v === '' ? Infinity : parseFloat(v); }
            return cell.textContent;
          }
          function render() {
            var state = filter ? filter.value : '';
            var shown = rows.filter(function (r) { return !state || r.getAttribute('data-state') === state; });
            var pages = showAll ? 1 : Math.max(1, Math.ceil(shown.length / size));
            if (page >= pages) { page = pages - 1; }
            var slice = showAll ? shown : shown.slice(page * size, (page + 1) * size);
            var fragment = document.createDocumentFragment();
            slice.forEach(function (r) { fragment.appendChild(r); });
            while (body.firstChild) { body.removeChild(body.firstChild); }
            body.appendChild(fragment);
            if (info) { info.textContent = shown.length <= size || showAll ? shown.length + ' runs' : 'page ' + (page + 1) + ' of ' + pages + ' (' + shown.length + ' runs)'; }
            var paged = !showAll && shown.length > size;
            [prev, next, all].forEach(function (b) { if (b) { b.style.display = paged ? '' : 'none'; } });
          }
          Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
            th.addEventListener('click', function () {
              var num = th.getAttribute('data-type') === 'num';
              sortDir = sortCol === col ? -sortDir : 1;
              sortCol = col;
              rows.sort(function (a, b) {
                var x = key(a, col, num), y = key(b, col, num);
                if (num && x === Infinity && y !== Infinity) { return 1; }
                if (num && y === Infinity && x !== Infinity) { return -1; }
                return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
              });
              Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('data-sort'); });
              th.setAttribute('data-sort', sortDir > 0 ? 'asc' : 'desc');
              page = 0;
              render();
            });
          });
          if (filter) { filter.addEventListener('change', function () { page = 0; render(); }); }
          if (prev) { prev.addEventListener('click', function () { if (page > 0) { page -= 1; render(); } }); }
          if (next) { next.addEventListener('click', function () { page += 1; render(); }); }
          if (all) { all.addEventListener('click', function () { showAll = true; render(); }); }
          render();
        })();
        """
}

/// The version written in the report's footer.
let ncfReportVersion = "0.1.0"

/// Why a report could not be written.
public enum ReportError: Error, LocalizedError, CustomStringConvertible, Equatable {
    case write(path: String, detail: String)
    /// A training log (`ncf report FILE`) with no JSON line in it.
    case emptyLog(path: String)
    case unreadable(path: String, detail: String)

    public var description: String {
        switch self {
        case let .write(path, detail):
            return "could not write the report to \(path): \(detail). Hint: check that the directory exists and is writable, or pass another -o path."
        case let .emptyLog(path):
            return "\(path) holds no JSON line of a training run. Hint: write the log with `ncf train --json ... > \(path)`."
        case let .unreadable(path, detail):
            return "could not read \(path): \(detail). Hint: check the path (a training run's `--json` output)."
        }
    }

    public var errorDescription: String? { description }
}

// MARK: - The HTML page

/// An HTML document under construction with the report's inline style.
struct HTMLPage {
    private(set) var text = ""

    init() { text.reserveCapacity(1 << 16) }

    /// A fragment of a page (no head): one of the parts `SweepReport.sections` draws.
    init(bare: Bool) {}

    mutating func head(title: String, refresh: Double?) {
        text += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        if let refresh { text += "<meta http-equiv=\"refresh\" content=\"\(max(1, Int(refresh.rounded(.up))))\">" }
        text += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        text += "<meta name=\"generator\" content=\"ncf \(ncfReportVersion)\">"
        text += "<title>\(htmlEscape(title))</title><style>\(Self.css)</style></head><body>\n"
    }

    mutating func add(_ html: String) {
        text += html
        text += "\n"
    }

    mutating func finish(script: String?) {
        if let script { text += "<script>\n\(script)\n</script>\n" }
        text += "</body></html>\n"
    }

    static let css = """
        :root{--fg:#1d2330;--dim:#667085;--line:#e4e7ec;--finished:#0072b2;--stopped:#e69f00;--failed:#d55e00;--running:#009e73;--stale:#98a2b3;--best:#d55e00}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);margin:0 auto;max-width:1180px;padding:16px 24px 48px;background:#fff}
        h1{font-size:22px;margin:8px 0 4px}h1 .name{color:var(--dim);font-weight:normal}
        h2{font-size:17px;margin:0 0 6px}h3{font-size:14px;margin:14px 0 4px}
        section{border-top:1px solid var(--line);padding:16px 0 8px}
        code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
        pre{background:#f6f7f9;border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow:auto;white-space:pre-wrap;word-break:break-word}
        table.runs td.tests{white-space:normal;min-width:200px}
        .sub{color:var(--dim);margin:2px 0 8px}.note{color:var(--dim);font-style:italic}.dim{color:var(--dim)}
        .warn{background:#fff6e5;border:1px solid #f5d9a8;border-radius:6px;padding:6px 10px;display:inline-block}
        .live{background:#eaf7ef;border:1px solid #b7e2c6;border-radius:6px;padding:6px 10px;display:inline-block}
        .chips .chip{display:inline-block;border-radius:12px;padding:2px 10px;margin:0 6px 4px 0;background:#eef1f5;font-weight:600}
        .chip.finished{background:#e3edf9;color:var(--finished)}.chip.stopped{background:#fcefdc;color:#a85f06}.chip.failed{background:#fbe4e2;color:var(--failed)}
        .chip.running{background:#e2f4e9;color:var(--running)}.chip.stale,.chip.pending{color:#475467}
        nav a{margin-right:14px;color:var(--finished);text-decoration:none}nav a:hover{text-decoration:underline}
        .big{font-size:18px;margin:4px 0}
        .best-grid{display:grid;grid-template-columns:1fr 1fr;gap:24px}
        table{border-collapse:collapse}
        table.kv th,table.kv td{text-align:left;padding:2px 12px 2px 0;border-bottom:1px solid var(--line);vertical-align:top}
        table.kv th{font-weight:600}table.kv caption{text-align:left;font-weight:600;padding:4px 0;color:var(--dim);white-space:nowrap}
        table.imp{width:100%}table.imp th,table.imp td{text-align:left;padding:4px 10px 4px 0;border-bottom:1px solid var(--line)}
        td.barcell{white-space:nowrap;width:230px}td.barcell span{display:inline-block;width:48px;text-align:right;font-variant-numeric:tabular-nums}
        .bar{display:inline-block;position:relative;width:160px;height:10px;background:#f0f2f5;border-radius:3px;vertical-align:middle}
        .bar i{position:absolute;left:0;top:0;bottom:0;background:var(--finished);border-radius:3px}table.imp.weak .bar i{background:#98a2b3}
        .bar.rho b{position:absolute;left:50%;top:-2px;bottom:-2px;border-left:1px solid #98a2b3}
        .bar.rho i.neg{background:#c26b4e}.bar.rho i.pos{background:#4e8dc2}
        .scroll{overflow-x:auto}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}.grid.two{grid-template-columns:repeat(auto-fill,minmax(540px,1fr))}
        figure{margin:0}figcaption{font-size:13px;padding:2px 0 0 8px}
        svg.chart{display:block;max-width:100%;height:auto;font-family:inherit}
        svg .axis{stroke:#98a2b3;stroke-width:1}svg .gridline{stroke:#eef0f3;stroke-width:1}
        svg .tick{font-size:11px;fill:#475467}svg .axis-title{font-size:12px;fill:#1d2330}svg .axis-title.strong{font-weight:700}
        svg .label{font-size:12px;fill:var(--best);font-weight:600}svg .note{font-size:12px;fill:var(--dim)}
        svg .halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
        svg .pt{stroke:#fff;stroke-width:.6}svg .pt.finished{fill:var(--finished)}svg .pt.stopped{fill:var(--stopped)}
        svg .pt.running{fill:var(--running)}svg .pt.stale,svg .pt.pending{fill:var(--stale)}
        svg .pt.failed{fill:none;stroke:var(--failed);stroke-width:1.6}svg .pt.out{fill:#7a5af8;stroke:none}
        svg .best-line{fill:none;stroke:#1d2330;stroke-width:1.6}svg .best-ring{fill:none;stroke:var(--best);stroke-width:2}
        svg .pc{fill:none;stroke-width:1.1}svg .pc0{stroke:#1f3f75}svg .pc1{stroke:#3c6cb0}svg .pc2{stroke:#7fa3d4}svg .pc3{stroke:#b3c7e6}svg .pc4{stroke:#d5dded}
        svg .pc-top{stroke:var(--best);stroke-width:2.4;stroke-opacity:.95}svg .pc-axis{stroke:#475467}
        svg .curve{fill:none;stroke-width:1.8}svg .bg-curve{stroke:#8a94a3;stroke-width:.9;stroke-opacity:.45}
        svg .best0{stroke:#0072b2;stroke-width:2.8}svg .best1{stroke:#009e73}svg .best2{stroke:#cc79a7}svg .best3{stroke:#56b4e9}svg .best4{stroke:#e69f00}
        svg .best0-dot{fill:#0072b2}svg .best1-dot{fill:#009e73}svg .best2-dot{fill:#cc79a7}svg .best3-dot{fill:#56b4e9}svg .best4-dot{fill:#e69f00}
        svg .stopped-curve{stroke:#3d3d3d;stroke-dasharray:5 3;stroke-width:1.3;stroke-opacity:.8}svg .stop-dot{fill:#3d3d3d}
        svg .rung{stroke:#98a2b3;stroke-dasharray:3 3}svg .rung-label{font-size:10px}svg .threshold{fill:#fff;stroke:#1d2330;stroke-width:1.4}
        .legend{font-size:12.5px;color:#344054;margin:6px 0}.legend span{margin-right:16px;white-space:nowrap}
        .sw{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;border-radius:2px}
        .sw.pt-finished{background:var(--finished);border-radius:50%;width:10px}.sw.pt-stopped{background:var(--stopped);border-radius:50%;width:10px}
        .sw.pt-failed{width:10px;height:10px;background:linear-gradient(45deg,transparent 42%,var(--failed) 42%,var(--failed) 58%,transparent 58%),linear-gradient(-45deg,transparent 42%,var(--failed) 42%,var(--failed) 58%,transparent 58%)}.sw.pt-running{background:var(--running);border-radius:50%;width:10px}
        .sw.pt-stale{background:var(--stale);border-radius:50%;width:10px}.sw.pt-out{background:#7a5af8;width:10px}
        .sw.line-best{height:2px;background:#1d2330}.sw.ring{border:2px solid var(--best);border-radius:50%;width:12px;height:12px;background:none}
        .sw.pc-top{height:3px;background:var(--best)}.sw.pc0{height:3px;background:#1f3f75}.sw.pc2{height:3px;background:#7fa3d4}.sw.pc4{height:3px;background:#d5dded}
        .sw.best0{height:3px;background:#0072b2}.sw.best1{height:3px;background:#009e73}.sw.best2{height:3px;background:#cc79a7}.sw.best3{height:3px;background:#56b4e9}.sw.best4{height:3px;background:#e69f00}
        .sw.stopped-curve{height:0;border-top:2px dashed #3d3d3d}.sw.bg-curve{height:2px;background:#8a94a3;opacity:.6}
        .controls{margin:6px 0}.controls button{margin-left:4px}
        table.runs{font-size:12.5px;width:100%}table.runs th,table.runs td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
        .tablewrap{overflow-x:auto;max-width:100%}table.runs th{white-space:normal;vertical-align:bottom;max-width:120px;overflow-wrap:break-word}
        table.runs td.num{text-align:right;font-variant-numeric:tabular-nums}table.runs tr.sel{background:#fff3d6}table.runs tr.pinned{outline:2px solid #0072b2;outline-offset:-2px}
        table.runs tbody tr:hover{background:#eef5fb}.controls label{margin-right:12px;white-space:nowrap}.controls select,.controls button{font:inherit;font-size:12.5px}
        .statebox{margin-right:8px;white-space:nowrap}.pc-wrap{position:relative;overflow-x:auto}
        svg.pc .pcl{fill:none;stroke-width:1.3;cursor:pointer}svg.pc .pcl.out{stroke:#d0d5dd;stroke-opacity:.5}svg.pc .pcl.hot{stroke-width:3.2;stroke-opacity:1}
        svg.pc .pcl.sel{stroke-width:3;stroke-opacity:1}svg.pc .pcl.selhalo{stroke:#1d2330;stroke-width:5.2;stroke-opacity:.9;pointer-events:none}
        svg .brush{fill:#0072b2;fill-opacity:.14;stroke:#0072b2;stroke-width:1}svg .hit{fill:transparent;cursor:crosshair}
        svg .drag{cursor:grab}svg .toggle{font-size:10.5px;fill:#0072b2;cursor:pointer;text-decoration:underline}
        svg .ring{fill:none;stroke:#1d2330;stroke-width:1.8}svg .grey{fill:#d0d5dd}svg .heat{shape-rendering:crispEdges}
        #tooltip{position:fixed;z-index:10;background:#fff;border:1px solid #98a2b3;border-radius:6px;padding:6px 9px;font-size:12.5px;box-shadow:0 2px 8px rgba(0,0,0,.15);pointer-events:none;max-width:420px}
        #tooltip table td,#tooltip table th{padding:0 8px 0 0;text-align:left;font-weight:normal}#tooltip table th{color:var(--dim)}
        table.cmp{font-size:12.5px}table.cmp th,table.cmp td{padding:3px 10px 3px 0;border-bottom:1px solid var(--line);text-align:left}
        table.cmp tr.diff td,table.cmp tr.diff th{background:#fff3d6;font-weight:600}.gradbar{display:inline-block;width:120px;height:10px;vertical-align:middle;margin:0 6px;border-radius:2px}
        [data-part] .faded{opacity:.12}svg .curve.ticked,svg .curve.hot-run{stroke-width:3.2;stroke-opacity:1}svg .bg-curve.ticked,svg .bg-curve.hot-run{stroke:#1d2330;stroke-opacity:.9;stroke-width:2}
        svg .pt.ticked,svg .pt.hot-run{stroke:#1d2330;stroke-width:2.2}table.runs tr.hot{background:#e6f1f8}
        .sweep-finished{color:#0072b2}.sweep-stopped,.sweep-cancelled{color:#a85f06}.sweep-running{color:#009e73}.sweep-paused{color:#a85f06}
        table.runs th{position:sticky;top:0;background:#f6f7f9;cursor:pointer;user-select:none}
        table.runs th[data-sort=asc]::after{content:"\\00a0▲";font-size:9px}table.runs th[data-sort=desc]::after{content:"\\00a0▼";font-size:9px}
        table.runs td.reason{white-space:normal;min-width:240px;max-width:360px;color:#7a271a}
        tr.best-row{background:#e6f1f8}tr.top-row{background:#f3f8fc}
        .st{font-weight:600}.st.finished{color:var(--finished)}.st.stopped{color:#a85f06}.st.failed{color:var(--failed)}.st.running{color:var(--running)}.st.stale{color:var(--dim)}
        footer{border-top:1px solid var(--line);margin-top:16px;padding-top:10px;color:var(--dim);font-size:12px}
        @media (max-width:800px){.best-grid{grid-template-columns:1fr}}
        """
}
