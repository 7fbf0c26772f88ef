import Foundation
import NCFReport
import NCFSweep

/// The dashboard's own HTML: the list of sweeps and error pages. A sweep's page is the report's
/// (`SweepReport.html`). Every page is self-contained, and its Content-Security-Policy lets it
/// load nothing from the network: only this server is reachable (`connect-src 'self'`).
enum Pages {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'"

    static func html(_ text: String, status: Int = 200, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8"),
                                               ("Content-Security-Policy", contentSecurityPolicy)] + headers,
                     body: Array(text.utf8))
    }

    static func errorPage(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        html(document(title: "ncf dashboard — \(status)", body: """
            <h1>\(status) \(htmlEscape(HTTPResponse.reason(status)))</h1>
            <p>\(htmlEscape(message))</p>
            <p><a href="/">All sweeps</a></p>
            """), status: status, headers: headers)
    }

    /// A path segment percent-encoded (sweep ids are `a-z0-9`, but the store may hold anything).
    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `/`: the store's sweeps, newest first, refreshed from `/api/sweeps` every 5 s.
    static func index(store: DashboardStore) throws(DashboardError) -> HTTPResponse {
        let sweeps = try store.read { db in try db.sweeps().map { try SweepSummary(store: db, sweep: $0) } }
        var rows = ""
        for s in sweeps.reversed() {
            let metric = s.config?.metric
            let best = s.best.map { "\(formatMetric($0.value)) (run \($0.run))" } ?? "—"
            let counts = RunState.allCases.compactMap { state -> String? in
                let n = s.runs.filter { $0.state == state }.count
                return n > 0 ? "\(n) \(state.rawValue)" : nil
            }.joined(separator: ", ")
            rows += "<tr><td><a href=\"/sweeps/\(pathSegment(s.sweep.id))\"><code>\(htmlEscape(s.sweep.id))</code></a></td>"
                + "<td>\(htmlEscape(s.config?.name ?? ""))</td><td>\(htmlEscape(s.config?.method.rawValue ?? "?"))</td>"
                + "<td>\(htmlEscape(s.sweep.state.described(anyRunRunning: s.anyRunRunning)))</td>"
                + "<td>\(metric.map { htmlEscape("\($0.name) (\($0.goal.rawValue))") } ?? "—")</td>"
                + "<td>\(s.runs.count)\(counts.isEmpty ? "" : " <span class=\"dim\">(\(htmlEscape(counts)))</span>")</td>"
                + "<td>\(htmlEscape(best))</td><td>\(htmlEscape(timestamp(s.sweep.created)))</td></tr>"
        }
        let table = sweeps.isEmpty
            ? "<p>No sweeps in this store yet. Start one with <code>ncf sweep FILE.yaml --store \(htmlEscape(store.shown))</code>; it appears here.</p>"
            : "<table><thead><tr><th>sweep</th><th>name</th><th>method</th><th>state</th><th>metric</th><th>runs</th><th>best</th><th>created</th></tr></thead><tbody id=\"sweeps\">\(rows)</tbody></table>"
        return html(document(title: "ncf sweeps — \(store.shown)", body: """
            <h1>Sweeps</h1>
            <p class="dim">in <code>\(htmlEscape(store.shown))</code> · updated every 5 s · <a href="/api/sweeps">JSON</a></p>
            <div id="list">\(table)</div>
            <script>
            (function(){var n=\(sweeps.count);setInterval(function(){fetch('/api/sweeps',{cache:'no-store'}).then(function(r){return r.ok?r.json():null}).then(function(d){
            if(!d)return;if(d.sweeps.length!==n){location.reload();return}var b=document.getElementById('sweeps');if(!b)return;
            var rows=b.rows;d.sweeps.slice().reverse().forEach(function(s,i){var r=rows[i];if(!r)return;r.cells[3].textContent=s.state_text;
            var parts=[];Object.keys(s.counts).forEach(function(k){if(s.counts[k]>0)parts.push(s.counts[k]+' '+k)});
            r.cells[5].textContent=s.runs+(parts.length?' ('+parts.join(', ')+')':'');
            r.cells[6].textContent=s.best?(s.best.value.toPrecision(4)+' (run '+s.best.run+')'):'—'})}).catch(function(){})},5000)})();
            </script>
            """))
    }

    /// `2026-12-03 23:41:07` (local time, as the report writes it).
    static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(htmlEscape(title))</title>
        <style>
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1b1b;background:#fff}
        h1{font-size:22px;margin:0 0 4px}table{border-collapse:collapse;width:100%;margin-top:12px}
        th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e4e4e4;vertical-align:top}th{font-weight:600;background:#f6f6f6}
        tr:hover td{background:#fafafa}a{color:#0a58ca}code{font:13px ui-monospace,Menlo,Consolas,monospace}.dim{color:#666}
        @media (prefers-color-scheme:dark){body{background:#151515;color:#e6e6e6}th{background:#222}th,td{border-color:#333}tr:hover td{background:#1c1c1c}a{color:#79a8ff}.dim{color:#999}}
        </style></head><body>
        \(body)
        <p class="dim">ncf dashboard · read-only · nothing is loaded from the network</p>
        </body></html>
        """
    }
}
