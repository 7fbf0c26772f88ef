import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NCFReport
import NCFRunContract
import NCFSweep

// `ncf sweep serve`: the routes of the dashboard. docs/dashboard-api.md documents the JSON API;
// this file is its implementation, one handler per route.
//
//   GET /                                   the store's sweeps (HTML, refreshes itself)
//   GET /sweeps/{id}                        the sweep's report page, live (polls …/report)
//   GET /api                                the list of endpoints
//   GET /api/sweeps                         every sweep: state, metric, counts, best
//   GET /api/sweeps/{id}                    one sweep: config text, data, counts, best run
//   GET /api/sweeps/{id}/runs               its runs, filtered, sorted, paged
//   GET /api/sweeps/{id}/runs/{run}         one run: config, summary, reason, timing
//   GET /api/sweeps/{id}/runs/{run}/metrics its logged values, per step
//   GET /api/sweeps/{id}/report             the report page's data (SweepReport.pageData)

/// Answers the dashboard's requests from a store it only reads.
public struct Dashboard: Sendable {
    public let store: DashboardStore
    /// The host names a request's `Host` header may carry besides `localhost` and IP literals
    /// (`127.0.0.1:8080`, `[::1]`, `10.0.0.5`), lowercased, without a port. Anything else is
    /// refused with 403, whatever address the server listens on, so that a web page elsewhere
    /// cannot read the API through a DNS name of its own that points at this machine (DNS
    /// rebinding): such a request carries that name. An IP literal cannot be rebound.
    public let allowedHostNames: Set<String>
    /// Recent report models, so a page polling every 2 s does not rebuild a large sweep's report
    /// (importance included) on every poll.
    let reports: ReportCache

    public init(store: DashboardStore, allowedHostNames: Set<String> = [], reportReuse: ReportCache.Reuse = ReportCache.Reuse()) {
        self.store = store
        self.allowedHostNames = Set(allowedHostNames.map { $0.lowercased() })
        self.reports = ReportCache(reuse: reportReuse)
    }

    /// Whether a `Host` header value names this dashboard: `localhost`, an IP literal, or one of
    /// `allowedHostNames`, with or without a port.
    public func acceptsHost(_ value: String) -> Bool {
        var host = value.lowercased()
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let literal = String(host[host.index(after: host.startIndex)..<close])
            var address = in6_addr()
            return inet_pton(AF_INET6, literal, &address) == 1
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if host == "localhost" || allowedHostNames.contains(host) { return true }
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1
    }

    /// The response to one request; never throws, never traps on what the store holds.
    public func respond(_ request: HTTPRequest) -> HTTPResponse {
        let api = request.segments.first == "api"
        func failure(_ error: DashboardError) -> HTTPResponse {
            let retry = error.retryAfter.map { [("Retry-After", String($0))] } ?? []
            return api ? .error(error.status, error.message, headers: retry)
                : Pages.errorPage(error.status, error.message, headers: retry)
        }
        if let host = request.header("host"), !acceptsHost(host) {
            return failure(DashboardError(status: 403, message: "Host \(host) is not this dashboard's address: it answers requests to localhost, an IP address\(allowedHostNames.isEmpty ? "" : ", " + allowedHostNames.sorted().joined(separator: ", ")) (see --allow-host)"))
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = failure(DashboardError(status: 405, message: "method \(request.method) is not allowed: the dashboard only reads (GET or HEAD)"))
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        }
        do {
            return try route(request)
        } catch {
            return failure(error)
        }
    }

    private func route(_ request: HTTPRequest) throws(DashboardError) -> HTTPResponse {
        let s = request.segments
        switch s.count {
        case 0: return try Pages.index(store: store)
        case 1 where s[0] == "favicon.ico": return HTTPResponse(status: 204)
        case 1 where s[0] == "api": return .json(200, Self.endpoints.text)
        case 2 where s[0] == "sweeps": return try sweepPage(s[1])
        case 2 where s[0] == "api" && s[1] == "sweeps": return .json(200, try sweepList().text)
        default: break
        }
        if s.count >= 3 && s[0] == "api" && s[1] == "sweeps" {
            let id = s[2]
            switch s.count {
            case 3: return .json(200, try sweepDetail(id).text)
            case 4 where s[3] == "runs": return .json(200, try runList(id, query: request.query).text)
            case 4 where s[3] == "report": return .json(200, try reportData(id))
            case 5 where s[3] == "runs": return .json(200, try runDetail(id, runText: s[4]).text)
            case 6 where s[3] == "runs" && s[5] == "metrics": return .json(200, try runMetrics(id, runText: s[4]).text)
            default: break
            }
        }
        throw DashboardError(status: 404, message: "no route \(request.target.prefix(200)): the dashboard serves /, /sweeps/ID and the API under /api (GET /api lists its endpoints)")
    }

    static let endpoints = JSONText.object([("endpoints", .array([
        "/api/sweeps", "/api/sweeps/{id}", "/api/sweeps/{id}/runs", "/api/sweeps/{id}/runs/{run}",
        "/api/sweeps/{id}/runs/{run}/metrics", "/api/sweeps/{id}/report",
    ].map { .string($0) })), ("documentation", .string("docs/dashboard-api.md in the ncf repository"))])

    // MARK: - Pages

    private func sweepPage(_ id: String) throws(DashboardError) -> HTTPResponse {
        let model = try reports.model(sweepID: id, store: store)
        let html = SweepReport.html(model, storePath: store.shown, liveDataURL: "/api/sweeps/\(Pages.pathSegment(id))/report")
        return Pages.html(html)
    }

    private func reportData(_ id: String) throws(DashboardError) -> String {
        SweepReport.pageData(try reports.model(sweepID: id, store: store))
    }

    // MARK: - Sweeps

    func sweepList() throws(DashboardError) -> JSONText {
        let summaries = try store.read { db in try db.sweeps().map { try SweepSummary(store: db, sweep: $0) } }
        return .object([("store", .string(store.shown)), ("sweeps", .array(summaries.map(\.json)))])
    }

    func sweepDetail(_ id: String) throws(DashboardError) -> JSONText {
        let (summary, bestRun) = try store.read { db -> (SweepSummary, StoredRun?) in
            let summary = try SweepSummary(store: db, sweep: db.sweep(id: id))
            return (summary, summary.best.flatMap { b in summary.runs.first { $0.id == b.run } })
        }
        var fields = summary.fields
        fields.append(("seed", .uint(summary.sweep.seed)))
        fields.append(("config", .string(summary.sweep.configText)))
        if let data = summary.sweep.data {
            fields.append(("data", .object([("path", .string(data.path)), ("absolute_path", .string(data.absolutePath)),
                                            ("size", .int(Int(data.size))), ("fingerprint", .string(data.fingerprint))])))
        } else {
            fields.append(("data", .null))
        }
        if let config = summary.config {
            let leaves = flattenParameters(config.parameters)
            fields.append(("parameters", .array(leaves.map { leaf in
                var constant = false
                if case .constant = leaf.spec { constant = true }
                return .object([("name", .string(leaf.dottedName)), ("searched", .bool(!constant))])
            })))
        } else {
            fields.append(("parameters", .null))
        }
        if let bestRun, let best = summary.best {
            fields.append(("best_run", .object([("id", .int(bestRun.id)), ("value", .number(best.value)),
                                                ("config", JSONText(.map(bestRun.config))), ("seed", .uint(bestRun.seed)),
                                                ("summary", Self.summaryJSON(bestRun.summary)),
                                                ("command", .array(SweepReport.reproduceWords(
                                                    sweepConfig: summary.config, sweepData: summary.sweep.data?.absolutePath,
                                                    runConfig: bestRun.config, seed: bestRun.seed,
                                                    dataOverride: bestRun.dataOverride).map { .string($0) }))])))
        } else {
            fields.append(("best_run", .null))
        }
        return .object(fields)
    }

    // MARK: - Runs

    func runList(_ id: String, query: [(name: String, value: String)]) throws(DashboardError) -> JSONText {
        let summary = try store.read { db in try SweepSummary(store: db, sweep: db.sweep(id: id)) }
        let filter = try RunFilter(query: query, summary: summary)
        let numbered = summary.runs.enumerated().map { (number: $0.offset + 1, run: $0.element) }
        var matched = numbered.filter { filter.matches($0.run) }
        matched = filter.sorted(matched, metricOf: { summary.metricValue(of: $0) })
        let page = matched.dropFirst(filter.offset).prefix(filter.limit ?? Int.max)
        return .object([
            ("sweep", .string(summary.sweep.id)),
            ("metric", summary.metricJSON),
            ("total", .int(matched.count)),
            ("offset", .int(filter.offset)),
            ("limit", filter.limit.map { .int($0) } ?? .null),
            ("runs", .array(page.map { runJSON($0.run, number: $0.number, metric: summary.metricValue(of: $0.run), history: nil) })),
        ])
    }

    func runDetail(_ id: String, runText: String) throws(DashboardError) -> JSONText {
        let found = try findRun(id, runText)
        var history: [Double] = []
        var metric: Double?
        if let m = found.config?.metric {
            history = found.points.filter { $0.name == m.name }.compactMap { $0.value.flatMap { $0.isFinite ? $0 : nil } }
            metric = found.run.record(history: history, metric: m).metric
        }
        return runJSON(found.run, number: found.number, metric: metric, history: history)
    }

    func runMetrics(_ id: String, runText: String) throws(DashboardError) -> JSONText {
        let found = try findRun(id, runText)
        var names: [String] = []
        var steps: [(step: Int, values: [(String, JSONText)])] = []
        for p in found.points {
            if !names.contains(p.name) { names.append(p.name) }
            if steps.last?.step != p.step { steps.append((p.step, [])) }
            steps[steps.count - 1].values.append((p.name, .number(p.value)))
        }
        return .object([
            ("sweep", .string(id)),
            ("run", .int(found.run.id)),
            ("names", .array(names.map { .string($0) })),
            ("steps", .array(steps.map { .object([("step", .int($0.step)), ("values", .object($0.values))]) })),
        ])
    }

    /// A run of the sweep with its number, the sweep's config and the run's logged values (one
    /// read of the store; no other run's metrics are read).
    private func findRun(_ id: String, _ runText: String) throws(DashboardError)
        -> (run: StoredRun, number: Int, config: SweepConfig?, points: [MetricPoint]) {
        let runID = try Self.runID(runText, sweep: id)
        return try store.read { db in
            let sweep = try db.sweep(id: id)
            let runs = try db.runs(sweepID: id)
            guard let index = runs.firstIndex(where: { $0.id == runID }) else {
                throw DashboardError(status: 404, message: "no run \(runID) in sweep \(id) (its runs: \(Self.idRange(runs.map(\.id))))")
            }
            let config = try? SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id)
            return (runs[index], index + 1, config, try db.metrics(runID: runID))
        }
    }

    static func runID(_ text: String, sweep: String) throws(DashboardError) -> Int {
        guard let id = Int(text), id >= 0 else {
            throw DashboardError(status: 404, message: "no run \(text.prefix(80)) in sweep \(sweep): run ids are whole numbers")
        }
        return id
    }

    /// `1–12`, `none`.
    static func idRange(_ ids: [Int]) -> String {
        guard let lo = ids.min(), let hi = ids.max() else { return "none yet" }
        return lo == hi ? "\(lo)" : "\(lo)–\(hi)"
    }

    /// A run as the API shows it.
    func runJSON(_ run: StoredRun, number: Int, metric: Double?, history: [Double]?) -> JSONText {
        let end = run.endedAt ?? (run.state.isFinished ? run.heartbeatAt : Date())
        var fields: [(String, JSONText)] = [
            ("id", .int(run.id)),
            ("number", .int(number)),
            ("state", .string(run.state.rawValue)),
            ("given_back", .bool(run.givenBack)),
            ("metric", .number(metric)),
            ("config", JSONText(.map(run.config))),
            ("seed", .uint(run.seed)),
            ("reason", .string(run.reason)),
            ("exit_code", run.exitCode.map { .int(Int($0)) } ?? .null),
            ("agent", .string(run.agent)),
            ("started", .number(run.startedAt.timeIntervalSince1970)),
            ("ended", .number(run.endedAt?.timeIntervalSince1970)),
            ("heartbeat", .number(run.heartbeatAt.timeIntervalSince1970)),
            ("duration", .number(max(0, end.timeIntervalSince(run.startedAt)))),
            ("data_override", .string(run.dataOverride)),
            ("summary", Self.summaryJSON(run.summary)),
        ]
        if let history { fields.append(("metric_history", .array(history.map { .number($0) }))) }
        return .object(fields)
    }

    /// A stored summary (JSON text) as JSON: its values exact, non-finite ones null; text that
    /// does not parse is given as a string.
    static func summaryJSON(_ text: String?) -> JSONText {
        guard let text else { return .null }
        if let value = JSONValue.parse(text) { return .raw(value.canonicalText) }
        return .string(text)
    }
}

// MARK: - A sweep's summary

/// What the list and the detail of a sweep share: its parsed config, runs, counts and best run.
struct SweepSummary {
    var sweep: SweepRecord
    var config: SweepConfig?
    var configError: String?
    var runs: [StoredRun]
    /// The sweep metric's finite values per run id.
    var histories: [Int: [Double]]
    var best: (run: Int, value: Double)?

    init(store: any RunStore, sweep: SweepRecord) throws {
        self.sweep = sweep
        do {
            config = try SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id)
        } catch {
            configError = "\(error)"
        }
        runs = try store.runs(sweepID: sweep.id)
        histories = try config?.metric.map { try store.histories(sweepID: sweep.id, metric: $0.name) } ?? [:]
        if let metric = config?.metric {
            // As `RunStore.bestRun`: finished and stopped runs that were not given back.
            for run in runs where run.counts && (run.state == .finished || run.state == .stopped) {
                guard let value = metricValue(of: run) else { continue }
                if best.map({ metric.isBetter(value, than: $0.value) }) ?? true { best = (run.id, value) }
            }
        }
    }

    /// The run's best value of the sweep metric under its goal (nil: none logged, or no metric).
    func metricValue(of run: StoredRun) -> Double? {
        guard let metric = config?.metric else { return nil }
        return run.record(history: histories[run.id] ?? [], metric: metric).metric
    }

    var metricJSON: JSONText {
        guard let metric = config?.metric else { return .null }
        return .object([("name", .string(metric.name)), ("goal", .string(metric.goal.rawValue))])
    }

    var anyRunRunning: Bool { runs.contains { $0.state == .running || $0.state == .pending } }

    /// The fields of the list's entry (the detail adds to them).
    var fields: [(String, JSONText)] {
        var out: [(String, JSONText)] = [
            ("id", .string(sweep.id)),
            ("name", .string(config?.name)),
            ("method", .string(config?.method.rawValue)),
            ("state", .string(sweep.state.rawValue)),
            ("state_text", .string(sweep.state.described(anyRunRunning: anyRunRunning))),
            ("metric", metricJSON),
            ("runs", .int(runs.count)),
            ("counts", .object(RunState.allCases.map { state in (state.rawValue, .int(runs.filter { $0.state == state }.count)) })),
            ("best", best.map { .object([("run", .int($0.run)), ("value", .number($0.value))]) } ?? .null),
            ("created", .number(sweep.created.timeIntervalSince1970)),
        ]
        if let configError { out.append(("config_error", .string(configError))) }
        return out
    }

    var json: JSONText { .object(fields) }
}
