import Foundation
import NCFRunContract
import NCFSweep

// `ncf report RUN.jsonl`: one training run's `--json` log as a self-contained HTML page, drawn
// with the sweep report's chart code: learning curves per epoch, the best epoch, test metrics.

/// A training run's JSON Lines log, read through the run contract (`TrialLine`): the config
/// record, one object per epoch, then `{"summary": {...}}`.
public struct RunLog: Sendable, Equatable {
    /// The opening config record (hyperparameters, data, seed, version); nil when the log has none.
    public var config: RunConfigRecord?
    /// Each epoch line's numeric values (nil for a non-finite value), in order.
    public var lines: [[String: Double?]]
    /// The closing summary (test metrics, `best_epoch`, `protocol`, …); empty when the run printed none.
    public var summary: [String: ParamValue]
    /// The 1-based numbers of the lines skipped because they are not valid UTF-8 (a damaged byte
    /// costs its line, not the whole log).
    public var invalidLines: [Int]

    public init(config: RunConfigRecord? = nil, lines: [[String: Double?]], summary: [String: ParamValue],
                invalidLines: [Int] = []) {
        self.config = config
        self.lines = lines
        self.summary = summary
        self.invalidLines = invalidLines
    }

    /// Reads a log's text; lines that are not JSON objects (human output) are skipped.
    public static func parse(_ text: String) -> RunLog {
        var log = RunLog(lines: [], summary: [:])
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            log.add(String(line))
        }
        return log
    }

    /// Reads a log's bytes line by line: a line that is not valid UTF-8 is skipped and its number
    /// recorded in `invalidLines`; other lines as in `parse(_:)`.
    /// - Complexity: O(bytes).
    public static func parse(bytes: [UInt8]) -> RunLog {
        var log = RunLog(lines: [], summary: [:])
        var number = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if line.isEmpty { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                log.invalidLines.append(number)
                continue
            }
            log.add(text)
        }
        return log
    }

    private mutating func add(_ line: String) {
        switch TrialLine.parse(line) {
        case .config(let record)?: config = record
        case .metrics(let values)?: lines.append(values)
        case .summary(let json, _)?:
            if case .map(let map)? = try? ParamValue.parseJSON(json) { summary = map }
        case nil: break
        }
    }

    /// Reads the log at `path`; lines of invalid UTF-8 are skipped (see `invalidLines`).
    /// - Throws: `ReportError.unreadable`, or `.emptyLog` when it holds no JSON line.
    public static func read(path: String) throws -> RunLog {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ReportError.unreadable(path: path, detail: (error as NSError).localizedDescription)
        }
        let log = parse(bytes: [UInt8](data))
        if log.lines.isEmpty && log.summary.isEmpty { throw ReportError.emptyLog(path: path) }
        return log
    }

    /// The logged metric names, losses first, then in first-seen order.
    public var metricNames: [String] {
        var names: [String] = []
        for line in lines {
            for key in line.keys.sorted() where !RunLogRecord.bookkeepingKeys.contains(key) && !names.contains(key) { names.append(key) }
        }
        let losses = MetricName.lossCurves.map(\.description).filter(names.contains)
        return losses + names.filter { !losses.contains($0) }
    }

    /// `name`'s finite values by epoch (the line's `epoch`, else its 1-based position).
    public func series(_ name: String) -> [ReportModel.CurvePoint] {
        lines.enumerated().compactMap { k, line in
            guard let v = line[name] ?? nil, v.isFinite else { return nil }
            let epoch = (line["epoch"] ?? nil) ?? Double(k + 1)
            return ReportModel.CurvePoint(epoch: epoch, value: v)
        }
    }
}

/// Renders a `RunLog` as one HTML page.
public enum RunReport {
    /// The page: a loss chart (Train and Valid Loss together), one chart per other metric, the
    /// test metrics and the summary, and the per-epoch table.
    public static func html(_ log: RunLog, title: String, generated: Date = Date()) -> String {
        var page = HTMLPage()
        page.head(title: "ncf run — \(title)", refresh: nil)
        page.add("<header><h1>Training run <code>\(htmlEscape(title))</code></h1>")
        var facts = ["\(log.lines.count) epoch line\(log.lines.count == 1 ? "" : "s")"]
        if let e = log.summary["best_epoch"]?.numericValue {
            var by = ""
            if case .string(let m)? = log.summary["select_metric"] { by = " (by \(htmlEscape(m)))" }
            facts.append("best epoch \(formatValue(e))\(by)")
        }
        if let s = log.summary["train_seconds"]?.numericValue { facts.append("trained in \(formatDuration(s))") }
        if case .string(let p)? = log.summary["protocol"] { facts.append("protocol \(htmlEscape(p))") }
        page.add("<p class=\"sub\">\(facts.joined(separator: " · "))</p>")
        let nonFinite = log.lines.filter { $0.values.contains { $0 == nil } }.count
        if nonFinite > 0 {
            page.add("<p class=\"warn\">\(nonFinite) epoch line\(nonFinite == 1 ? "" : "s") hold a non-finite value (left out of the charts).</p>")
        }
        if let config = log.config {
            var run: [String] = []
            if let data = config.data {
                run.append("data <code>\(htmlEscape(data.path))</code>" + (data.format.map { " (\(htmlEscape($0)))" } ?? "")
                           + (data.fingerprint.map { " <span title=\"\(htmlEscape($0))\">\(htmlEscape(String($0.prefix(15))))…</span>" } ?? ""))
            }
            if let seed = config.seed { run.append("seed \(seed)") }
            if let version = config.version { run.append("ncf \(htmlEscape(version))") }
            if !run.isEmpty { page.add("<p class=\"sub\">\(run.joined(separator: " · "))</p>") }
        }
        page.add("</header>")
        configSection(&page, log)

        let bestEpoch = log.summary["best_epoch"]?.numericValue
        let names = log.metricNames
        var charts: [(String, String)] = []
        let losses = names.filter { MetricName.lossCurves.map(\.description).contains($0) }
        if !losses.isEmpty, let svg = ReportCharts.runCurves(title: "loss", series: losses.map { ($0, log.series($0)) }, bestEpoch: bestEpoch,
                                                             clipID: "clip-loss") {
            charts.append((losses.joined(separator: " and "), svg))
        }
        for (k, name) in names.enumerated() where !losses.contains(name) {
            if let svg = ReportCharts.runCurves(title: name, series: [(name, log.series(name))], bestEpoch: bestEpoch, clipID: "clip-\(k)") {
                charts.append((name, svg))
            }
        }
        page.add("<section id=\"curves\"><h2>Learning curves</h2>")
        if charts.isEmpty {
            page.add("<p class=\"note\">The log holds no per-epoch metric.</p>")
        } else {
            if losses.count == 2 {
                page.add("<p class=\"legend\"><span><i class=\"sw best0\"></i>\(losses[0])</span><span><i class=\"sw best1\"></i>\(losses[1])</span>"
                         + (bestEpoch == nil ? "" : "<span>dashed: the best epoch (its model is the one kept)</span>") + "</p>")
            }
            page.add("<div class=\"grid two\">")
            for (name, svg) in charts { page.add("<figure>\(svg)<figcaption>\(htmlEscape(name))</figcaption></figure>") }
            page.add("</div>")
        }
        page.add("</section>")

        page.add("<section id=\"summary\"><h2>Held-out test metrics</h2>")
        let tests = log.summary.keys.filter { MetricSplit.of($0) == .test }.sorted()
        if tests.isEmpty {
            page.add("<p class=\"note\">The log has no summary with test metrics (the run may have been stopped before its end).</p>")
        } else {
            var rows = ""
            for name in tests { rows += "<tr><th>\(htmlEscape(name))</th><td>\(htmlEscape(valueText(log.summary[name]!)))</td></tr>" }
            page.add("<table class=\"kv\">\(rows)</table>")
        }
        let others = log.summary.keys.filter { MetricSplit.of($0) != .test }.sorted()
        if !others.isEmpty {
            var rows = ""
            for name in others { rows += "<tr><th>\(htmlEscape(name))</th><td>\(htmlEscape(valueText(log.summary[name]!, key: name)))</td></tr>" }
            page.add("<table class=\"kv\"><caption>Summary</caption>\(rows)</table>")
        }
        page.add("</section>")

        if !log.lines.isEmpty {
            let columns = ["epoch"] + names + ["seconds"].filter { c in log.lines.contains { $0[c] != nil } }
            var head = ""
            for c in columns { head += "<th data-type=\"num\">\(htmlEscape(c))</th>" }
            var body = ""
            for (k, line) in log.lines.enumerated() {
                body += "<tr data-state=\"\">"
                for c in columns {
                    let v: Double?? = c == "epoch" ? .some((line["epoch"] ?? nil) ?? Double(k + 1)) : line[c]
                    switch v {
                    case .some(.some(let x)): body += "<td data-v=\"\(x)\">\(htmlEscape(c == "epoch" ? formatValue(x) : formatMetric(x)))</td>"
                    case .some(.none): body += "<td data-v=\"\" class=\"dim\">non-finite</td>"
                    case .none: body += "<td data-v=\"\" class=\"dim\">—</td>"
                    }
                }
                body += "</tr>"
            }
            page.add("<section id=\"runs\"><h2>Per epoch</h2><div class=\"scroll\"><table id=\"runs-table\" class=\"runs\"><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div></section>")
        }
        page.add("<footer>Written by ncf \(htmlEscape(ncfReportVersion)) on \(htmlEscape(SweepReport.timestamp(generated))). Self-contained: charts are inline SVG; nothing is loaded from the network.</footer>")
        page.finish(script: SweepReport.tableScript)
        return page.text
    }

    /// The run's configuration: its data (path, format, fingerprint), seed, ncf version and
    /// every parameter, from the log's opening config record.
    private static func configSection(_ page: inout HTMLPage, _ log: RunLog) {
        page.add("<section id=\"config\"><h2>Configuration and data</h2>")
        guard let config = log.config else {
            page.add("<p class=\"note\">The log has no config record (its first line is not <code>{\"config\": …}</code>): it was written by an older ncf or another program.</p></section>")
            return
        }
        // (name, text for people, exact text on hover)
        var facts: [(String, String, String?)] = []
        if let data = config.data {
            facts.append(("data", data.path + (data.format.map { " (\($0))" } ?? ""), nil))
            if let print = data.fingerprint { facts.append(("data fingerprint", print, nil)) }
        }
        if let seed = config.seed { facts.append(("seed", String(seed), nil)) }
        if let version = config.version { facts.append(("ncf version", version, nil)) }
        for (name, value) in config.parameters {
            let text = Self.parameterText(value)
            facts.append((name, text, text == value.text ? nil : value.text))
        }
        var rows = ""
        for (name, text, exact) in facts {
            rows += "<tr><th>\(htmlEscape(name))</th><td\(exact.map { " title=\"\(htmlEscape($0))\"" } ?? "")>\(htmlEscape(text))</td></tr>"
        }
        page.add("<table class=\"kv\">\(rows)</table></section>")
    }

    /// A recorded parameter for people: a fractional number to 4 significant digits.
    private static func parameterText(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .double(let d) where d.isFinite && d != d.rounded(): return formatValue(d)
        default: return v.text
        }
    }

    /// A summary value for people; `…_bytes` in MB.
    private static func valueText(_ v: ParamValue, key: String = "") -> String {
        if key.hasSuffix("_bytes"), let n = v.numericValue { return String(format: "%.1f MB", n / 1e6) }
        switch v {
        case .int(let i): return String(i)
        case .double(let d): return formatMetric(d)
        case .string(let s): return s
        default: return v.canonicalJSON
        }
    }
}
