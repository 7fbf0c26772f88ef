import Foundation
import GRDB
import NCFReport
@testable import NCFSweep
import NCFTestSupport
import XCTest

@testable import NCFDashboard

/// The dashboard's API over loopback: a server on port 0 in this process, a store the test
/// fills through the store API (as agents do), requests over a raw socket.
final class DashboardAPITests: XCTestCase {
    private var tmp: URL!
    private var servers: [HTTPServer] = []

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-dashboard")
    }

    override func tearDownWithError() throws {
        for server in servers { server.stop() }
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    static let yaml = """
        name: api-test
        method: grid
        metric:
          name: Valid Loss
          goal: minimize
        parameters:
          x:
            values: [1, 2, 3]
          opt:
            values: [adam, sgd]
          epochs:
            value: 3
        """

    /// A value whose text has every digit a double holds: it must come back exactly.
    static let exact = 0.12345678901234568

    /// Runs `count` grid points of the sweep: epochs 1–3 of `Valid Loss = x/10 + exact/epoch`
    /// (epoch 2 of the second run non-finite), then finishes them: the third fails, the rest finish.
    @discardableResult
    static func addRuns(_ store: any RunStore, sweepID: String, count: Int, finish: Bool = true) throws -> [StoredRun] {
        let config = try SweepConfig.parse(yaml: yaml, file: "t.yaml", trainer: nil).config
        var claimed: [StoredRun] = []
        for k in 0..<count {
            guard case .claimed(let run) = try store.claimRun(ClaimRequest(sweepID: sweepID, config: config, sampler: GridSampler(),
                                                                          agent: "test:1", heartbeatEvery: 1, now: Date())) else { break }
            let x = run.config["x"]?.numericValue ?? 0
            for epoch in 1...3 {
                let loss: Double? = (k == 1 && epoch == 2) ? nil : x / 10 + exact / Double(epoch)
                try store.appendMetrics(runID: run.id, step: epoch, values: ["epoch": Double(epoch), "Valid Loss": loss])
            }
            if finish {
                let failed = k == 2
                _ = try store.finishRun(id: run.id, state: failed ? .failed : .finished, reason: failed ? "exit code 3: boom" : nil,
                                        exitCode: failed ? 3 : 0, summary: failed ? nil : "{\"Test RMSE\": 0.5, \"odd\": NaN}",
                                        givenBack: false, at: Date())
            }
            claimed.append(run)
        }
        return claimed
    }

    /// A new SQLite store with one sweep of `runs` runs; the store is closed (its log folded in).
    private func makeStore(runs: Int = 5) throws -> (path: String, sweepID: String) {
        let path = tmp.appendingPathComponent("sweeps-\(UUID().uuidString.prefix(6)).db").path
        let store = try SQLiteRunStore(path: path, access: .create)
        defer { store.close() }
        let sweep = try store.createSweep(configText: Self.yaml, seed: 7, now: Date())
        try Self.addRuns(store, sweepID: sweep.id, count: runs)
        return (path, sweep.id)
    }

    /// A server on port 0 answering from `store`.
    private func serve(_ store: DashboardStore) throws -> UInt16 {
        let holder = Box()
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { holder.dashboard!.respond($0) }
        holder.dashboard = Dashboard(store: store, allowedHostNames: ["dash.example"])
        server.start()
        servers.append(server)
        return server.port
    }

    private func get(_ port: UInt16, _ path: String, method: String = "GET", headers: [String: String] = [:]) throws -> LoopbackHTTPResponse {
        try loopbackGET(port: port, path, method: method, headers: headers)
    }

    // MARK: - Shapes

    func testTheSweepListAndOneSweepHaveTheirFieldsAndExactNumbers() throws {
        let (path, id) = try makeStore()
        let port = try serve(DashboardStore(location: path))

        let list = try get(port, "/api/sweeps")
        XCTAssertEqual(list.status, 200, "\(list)")
        XCTAssertEqual(list.headers["content-type"], "application/json; charset=utf-8")
        let sweeps = try XCTUnwrap(list.object["sweeps"] as? [[String: Any]])
        XCTAssertEqual(sweeps.count, 1)
        let s = sweeps[0]
        XCTAssertEqual(s["id"] as? String, id)
        XCTAssertEqual(s["name"] as? String, "api-test")
        XCTAssertEqual(s["method"] as? String, "grid")
        XCTAssertEqual(s["state"] as? String, "running")
        XCTAssertEqual(s["state_text"] as? String, "running, but no agent is working on it now")
        XCTAssertEqual((s["metric"] as? [String: Any])?["name"] as? String, "Valid Loss")
        XCTAssertEqual(s["runs"] as? Int, 5)
        let counts = try XCTUnwrap(s["counts"] as? [String: Int])
        XCTAssertEqual(counts["finished"], 4)
        XCTAssertEqual(counts["failed"], 1)
        XCTAssertEqual(counts["stale"], 0)
        // Best: x = 1 at epoch 3: 0.1 + exact/3 — written in full, read back bit for bit.
        let best = try XCTUnwrap(s["best"] as? [String: Any])
        let expected = 0.1 + Self.exact / 3
        // (Compared as text: Foundation's JSON parser on Linux may miss the last bit.)
        XCTAssertNotNil(best["value"] as? Double)
        XCTAssertTrue(list.body.contains("\"best\":{\"run\":\(best["run"] as? Int ?? -1),\"value\":\(expected)}"), list.body)
        XCTAssertNotNil(s["created"] as? Double)

        let one = try get(port, "/api/sweeps/\(id)")
        XCTAssertEqual(one.status, 200, "\(one)")
        let o = one.object
        XCTAssertEqual(o["config"] as? String, Self.yaml)
        XCTAssertEqual(o["seed"] as? Int, 7)
        XCTAssertTrue(o["data"] is NSNull, "no data recorded for this sweep")
        let parameters = try XCTUnwrap(o["parameters"] as? [[String: Any]])
        XCTAssertEqual(Set(parameters.map { $0["name"] as? String ?? "" }), ["x", "opt", "epochs"])
        XCTAssertEqual(parameters.first { $0["name"] as? String == "epochs" }?["searched"] as? Bool, false)
        let bestRun = try XCTUnwrap(o["best_run"] as? [String: Any])
        XCTAssertTrue(one.body.contains("\"best_run\":{\"id\":\(bestRun["id"] as? Int ?? -1),\"value\":\(expected),"), one.body)
        XCTAssertEqual((bestRun["config"] as? [String: Any])?["x"] as? Int, 1)
        XCTAssertTrue((bestRun["summary"] as? [String: Any])?["odd"] is NSNull, "a NaN in a summary is null: \(one.body)")
        // The command that reruns it: the built-in trainer with the run's flags, its seed, and no data recorded.
        let command = try XCTUnwrap(bestRun["command"] as? [String], one.body)
        XCTAssertEqual(Array(command.prefix(2)), ["ncf", "train"])
        XCTAssertTrue(command.contains("--x=1"), "\(command)")
        XCTAssertTrue(command.contains("--seed=\(bestRun["seed"] as? Int ?? -1)"), "\(command)")
        XCTAssertEqual(command.last, "--data=PATH", "\(command)")
    }

    func testOneRunAndItsMetricsPerEpoch() throws {
        let (path, id) = try makeStore()
        let port = try serve(DashboardStore(location: path))
        let runs = try get(port, "/api/sweeps/\(id)/runs").object["runs"] as? [[String: Any]] ?? []
        let second = try XCTUnwrap(runs.dropFirst().first)
        let runID = try XCTUnwrap(second["id"] as? Int)

        let run = try get(port, "/api/sweeps/\(id)/runs/\(runID)")
        XCTAssertEqual(run.status, 200, "\(run)")
        let r = run.object
        for key in ["id", "number", "state", "given_back", "metric", "config", "seed", "reason", "exit_code", "agent",
                    "started", "ended", "heartbeat", "duration", "data_override", "summary", "metric_history"] {
            XCTAssertNotNil(r[key], "run field \(key) missing: \(run.body)")
        }
        XCTAssertEqual(r["number"] as? Int, 2)
        XCTAssertEqual(r["state"] as? String, "finished")
        XCTAssertEqual((r["metric_history"] as? [Double])?.count, 2, "the non-finite epoch is not part of the history")

        let failed = try XCTUnwrap(runs.first { $0["state"] as? String == "failed" })
        let f = try get(port, "/api/sweeps/\(id)/runs/\(failed["id"] as? Int ?? -1)").object
        XCTAssertEqual(f["reason"] as? String, "exit code 3: boom")
        XCTAssertEqual(f["exit_code"] as? Int, 3)

        let metrics = try get(port, "/api/sweeps/\(id)/runs/\(runID)/metrics")
        XCTAssertEqual(metrics.status, 200, "\(metrics)")
        XCTAssertEqual(metrics.object["names"] as? [String], ["Valid Loss", "epoch"])
        let steps = try XCTUnwrap(metrics.object["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.map { $0["step"] as? Int }, [1, 2, 3])
        let values = steps.map { $0["values"] as? [String: Any] ?? [:] }
        XCTAssertTrue(values[1]["Valid Loss"] is NSNull, "a non-finite value is null: \(metrics.body)")
        let x = (second["config"] as? [String: Any])?["x"] as? Int ?? 0
        XCTAssertTrue(metrics.body.contains("{\"step\":1,\"values\":{\"Valid Loss\":\(Double(x) / 10 + Self.exact),\"epoch\":1}}"), metrics.body)
    }

    // MARK: - Filters

    func testRunFiltersSortAndPage() throws {
        let (path, id) = try makeStore(runs: 6)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let port = try serve(DashboardStore(location: path))
        defer {
            XCTAssertEqual(try? Data(contentsOf: URL(fileURLWithPath: path)), before, "the dashboard never writes the store")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-journal"))
        }
        func ids(_ query: String) throws -> [Int] {
            let response = try get(port, "/api/sweeps/\(id)/runs?\(query)")
            XCTAssertEqual(response.status, 200, "\(query): \(response)")
            return (response.object["runs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
        }
        let all = try ids("")
        XCTAssertEqual(all.count, 6)
        XCTAssertEqual(try ids("state=failed"), [all[2]])
        XCTAssertEqual(try ids("state=finished,failed").count, 6)
        XCTAssertEqual(try ids("state=running"), [])
        let sgd = try ids("param.opt=sgd")
        XCTAssertEqual(sgd.count, 3)
        XCTAssertEqual(try ids("param.x=2").count, 2)
        XCTAssertEqual(try ids("param.x=2.0").count, 2, "numbers compare by value")
        XCTAssertEqual(try ids("param.x=1&param.x=3").count, 4, "a repeated parameter matches any of its values")
        XCTAssertEqual(try ids("param.x=2&param.opt=sgd").count, 1)

        let sorted = try get(port, "/api/sweeps/\(id)/runs?sort=metric&state=finished").object["runs"] as? [[String: Any]] ?? []
        let metrics = sorted.compactMap { $0["metric"] as? Double }
        XCTAssertEqual(metrics, metrics.sorted(), "sort=metric: best (smallest) first")
        let reversed = try get(port, "/api/sweeps/\(id)/runs?sort=-metric&state=finished").object["runs"] as? [[String: Any]] ?? []
        XCTAssertEqual(reversed.compactMap { $0["metric"] as? Double }, metrics.reversed())

        let page = try get(port, "/api/sweeps/\(id)/runs?limit=2&offset=1")
        XCTAssertEqual(page.object["total"] as? Int, 6)
        XCTAssertEqual((page.object["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }, Array(all[1...2]))

        for (query, named) in [("state=done", "state"), ("sort=speed", "sort"), ("limit=-1", "limit"), ("offset=x", "offset"),
                               ("param.lr=0.1", "param.lr"), ("colour=red", "colour"), ("limit=1&limit=2", "limit")] {
            let bad = try get(port, "/api/sweeps/\(id)/runs?\(query)")
            XCTAssertEqual(bad.status, 400, "\(query): \(bad)")
            let message = bad.object["error"] as? String ?? ""
            XCTAssertTrue(message.contains("bad filter \(named)"), "\(query): \(message)")
        }
        let lr = try get(port, "/api/sweeps/\(id)/runs?param.lr=1").object["error"] as? String ?? ""
        XCTAssertTrue(lr.contains("has no parameter lr") && lr.contains("opt"), lr)
    }

    // MARK: - Errors

    func testUnknownIdsRoutesAndMethodsGetTheirStatus() throws {
        let (path, id) = try makeStore(runs: 2)
        let port = try serve(DashboardStore(location: path))
        for (target, status, named) in [
            ("/api/sweeps/zzzzzzzz", 404, "no sweep zzzzzzzz"),
            ("/api/sweeps/zzzzzzzz/runs", 404, "no sweep zzzzzzzz"),
            ("/api/sweeps/zzzzzzzz/report", 404, "no sweep zzzzzzzz"),
            ("/api/sweeps/\(id)/runs/999", 404, "no run 999 in sweep \(id)"),
            ("/api/sweeps/\(id)/runs/999/metrics", 404, "no run 999 in sweep \(id)"),
            ("/api/sweeps/\(id)/runs/abc", 404, "no run abc in sweep \(id)"),
            ("/api/nothing", 404, "no route /api/nothing"),
        ] {
            let response = try get(port, target)
            XCTAssertEqual(response.status, status, "\(target): \(response)")
            XCTAssertTrue((response.object["error"] as? String ?? "").contains(named), "\(target): \(response.body)")
        }
        let page = try get(port, "/sweeps/zzzzzzzz")
        XCTAssertEqual(page.status, 404)
        XCTAssertTrue(page.body.contains("no sweep zzzzzzzz"), page.body)

        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            let response = try get(port, "/api/sweeps", method: method)
            XCTAssertEqual(response.status, 405, "\(method): \(response)")
            XCTAssertEqual(response.headers["allow"], "GET, HEAD")
            XCTAssertTrue((response.object["error"] as? String ?? "").contains("method \(method) is not allowed"), response.body)
        }
        let head = try get(port, "/api/sweeps", method: "HEAD")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, "", "HEAD has no body")
        XCTAssertNotEqual(head.headers["content-length"], "0")

        let foreign = try get(port, "/api/sweeps", headers: ["Host": "attacker.example:\(port)"])
        XCTAssertEqual(foreign.status, 403, "a request for another host name (DNS rebinding) is refused: \(foreign)")
        for host in ["127.0.0.1:\(port)", "127.0.0.2", "localhost:\(port)", "[::1]:\(port)", "DASH.example:\(port)", "10.0.0.5"] {
            XCTAssertEqual(try get(port, "/api/sweeps", headers: ["Host": host]).status, 200, "Host \(host)")
        }
        for host in ["localhost.attacker.example", "127.0.0.1.nip.io:\(port)", "[::1", "[not-an-address]:80", "dash.example.evil"] {
            XCTAssertEqual(try get(port, "/api/sweeps", headers: ["Host": host]).status, 403, "Host \(host)")
        }
    }

    func testMalformedAndOversizedRequestsAreAnsweredAndTheServerGoesOn() throws {
        let (path, _) = try makeStore(runs: 1)
        let port = try serve(DashboardStore(location: path))
        let garbage = try loopbackHTTP(port: port, raw: Array("HELLO\r\n\r\n".utf8))
        XCTAssertEqual(garbage.status, 400, "\(garbage)")
        let version = try loopbackHTTP(port: port, raw: Array("GET / HTTP/2.0\r\n\r\n".utf8))
        XCTAssertEqual(version.status, 400, "\(version)")
        let escape = try loopbackHTTP(port: port, raw: Array("GET /api/sweeps/%zz HTTP/1.1\r\n\r\n".utf8))
        XCTAssertEqual(escape.status, 400, "\(escape)")
        let huge = "GET /api/sweeps HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 40_000) + "\r\n\r\n"
        let big = try loopbackHTTP(port: port, raw: Array(huge.utf8))
        XCTAssertEqual(big.status, 431, "\(big)")
        let body = try loopbackHTTP(port: port, raw: Array("POST /api/sweeps HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".utf8))
        XCTAssertEqual(body.status, 405)
        XCTAssertEqual(try get(port, "/api/sweeps").status, 200, "the server answers on after bad requests")
    }

    // MARK: - Pages

    func testTheSweepPagePollsTheReportDataAndTheListLinksIt() throws {
        let (path, id) = try makeStore(runs: 3)
        let port = try serve(DashboardStore(location: path))
        let index = try get(port, "/")
        XCTAssertEqual(index.status, 200)
        XCTAssertTrue(index.headers["content-type"]?.hasPrefix("text/html") ?? false)
        XCTAssertTrue(index.body.contains("href=\"/sweeps/\(id)\""), index.body)
        XCTAssertTrue(index.headers["content-security-policy"]?.contains("default-src 'none'") ?? false, "\(index.headers)")

        let page = try get(port, "/sweeps/\(id)")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("/api/sweeps/\(id)/report"), "the page polls its live data URL")
        XCTAssertFalse(page.body.contains("http://") && page.body.contains("<script src"), "nothing loaded from the network")

        let data = try get(port, "/api/sweeps/\(id)/report")
        XCTAssertEqual(data.status, 200)
        let store = try SQLiteRunStore(path: path, access: .readOnly)
        defer { store.close() }
        let model = try ReportModel.build(store: store, sweepID: id)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(SweepReport.pageData(model).utf8)) as? [String: Any])
        XCTAssertEqual(Set(data.object.keys), Set(expected.keys), "the report data is SweepReport.pageData")
        XCTAssertEqual((data.object["runs"] as? [Any])?.count, 3)
        XCTAssertEqual(try get(port, "/favicon.ico").status, 204)
    }

    // MARK: - The store's trouble

    func testADamagedStoreGets500WithTheReasonAndNoCrash() throws {
        let (path, id) = try makeStore(runs: 3)
        let port = try serve(DashboardStore(location: path))
        XCTAssertEqual(try get(port, "/api/sweeps").status, 200)

        // A value ncf cannot read (a state no run has) in one row.
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE runs SET state = 'RUNNING' WHERE id = 2")
        }
        let bad = try get(port, "/api/sweeps/\(id)/runs")
        XCTAssertEqual(bad.status, 500, "\(bad)")
        let message = bad.object["error"] as? String ?? ""
        XCTAssertTrue(message.contains("runs row 2, column state") && message.contains("ncf sweep check"), message)

        // The file cut in half: refused before SQLite reads it, on every route, pages included.
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertEqual(truncate(path, off_t(size / 2)), 0)
        for target in ["/api/sweeps", "/api/sweeps/\(id)", "/api/sweeps/\(id)/report"] {
            let response = try get(port, target)
            XCTAssertEqual(response.status, 500, "\(target): \(response)")
            XCTAssertTrue((response.object["error"] as? String ?? "").contains("is damaged"), "\(target): \(response.body)")
        }
        for target in ["/", "/sweeps/\(id)"] {
            let page = try get(port, target)
            XCTAssertEqual(page.status, 500, target)
            XCTAssertTrue(page.headers["content-type"]?.hasPrefix("text/html") ?? false, "\(target): a page gets an HTML error page")
            XCTAssertTrue(page.body.contains("damaged"), page.body)
        }
    }

    func testALockedStoreGets503WithRetryAfterThenServesAgain() throws {
        let (path, id) = try makeStore(runs: 2)
        // Another process's connection holds the store locked (exclusive locking mode, a write
        // transaction left open): readers wait for it, and give up after the busy timeout.
        let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let holder = try DatabaseQueue(path: path)
        Thread.detachNewThread {
            try? holder.inDatabase { db in
                try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
                try db.execute(sql: "BEGIN EXCLUSIVE")
                try db.execute(sql: "UPDATE sweeps SET seed = seed")
                locked.signal()
                release.wait()
                try db.execute(sql: "COMMIT")
                try db.execute(sql: "PRAGMA locking_mode = NORMAL")
                _ = try Row.fetchAll(db, sql: "SELECT 1 FROM sweeps")  // drops the exclusive lock
            }
            try? holder.close()
            done.signal()
        }
        locked.wait()
        let port = try serve(DashboardStore(location: path, busyTimeout: 0.3))
        let busy = try get(port, "/api/sweeps/\(id)")
        XCTAssertEqual(busy.status, 503, "\(busy)")
        XCTAssertEqual(busy.headers["retry-after"], "2")
        XCTAssertTrue((busy.object["error"] as? String ?? "").contains("is locked by another process"), busy.body)
        release.signal()
        done.wait()
        let again = try get(port, "/api/sweeps/\(id)")
        XCTAssertEqual(again.status, 200, "served once the lock is gone: \(again)")
    }

    func testReadingWhileAnAgentWrites() throws {
        let (path, id) = try makeStore(runs: 0)
        let port = try serve(DashboardStore(location: path))
        // The "agent": another connection that claims, logs and finishes all six grid points.
        let writer = try SQLiteRunStore(path: path, access: .write)
        let finished = DispatchSemaphore(value: 0)
        let failure = Box()
        Thread.detachNewThread {
            do {
                for _ in 0..<6 {
                    try Self.addRuns(writer, sweepID: id, count: 1, finish: false).forEach { run in
                        _ = try writer.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false, at: Date())
                    }
                }
            } catch {
                failure.message = "\(error)"
            }
            finished.signal()
        }
        var seen: [Int] = []
        var writerDone = false
        while !writerDone {
            writerDone = finished.wait(timeout: .now()) == .success
            for target in ["/api/sweeps/\(id)/runs", "/api/sweeps/\(id)/report"] {
                let response = try get(port, target)
                XCTAssertEqual(response.status, 200, "\(target) while the agent writes: \(response)")
            }
            seen.append((try get(port, "/api/sweeps/\(id)").object["runs"] as? Int) ?? -1)
        }
        writer.close()
        XCTAssertNil(failure.message)
        XCTAssertEqual(seen, seen.sorted(), "the count of runs never goes back: \(seen)")
        XCTAssertEqual(seen.last, 6)
        let counts = try get(port, "/api/sweeps").object["sweeps"] as? [[String: Any]]
        XCTAssertEqual((counts?.first?["counts"] as? [String: Int])?["finished"], 6)
    }

    /// A missing store is an error that says so (the command exits at start on it).
    func testAMissingStoreIsNamed() throws {
        let store = DashboardStore(location: tmp.appendingPathComponent("none.db").path)
        XCTAssertThrowsError(try store.check()) { error in
            guard let error = error as? DashboardError else { return XCTFail("\(error)") }
            XCTAssertTrue(error.unusableStore)
            XCTAssertTrue(error.message.contains("no sweep store at"), error.message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("none.db").path), "nothing is created")
    }

    // MARK: - PostgreSQL

    /// The same API over a PostgreSQL store (`NCF_TEST_POSTGRES_URL`); the dashboard's session
    /// is read-only: the server refuses its writes.
    func testTheAPIOverAPostgreSQLStore() throws {
        let base = try TestPostgres.requireURL(for: "the dashboard's PostgreSQL test")
        let schema = TestPostgres.newSchemaName("ncf_dash_")
        try PGConnection(url: base).execute("CREATE SCHEMA \(schema)")
        let url = TestPostgres.withSchema(base, schema)
        let writer = try PostgreSQLRunStore(url: url)
        let sweep = try writer.createSweep(configText: Self.yaml, seed: 7, now: Date())
        try Self.addRuns(writer, sweepID: sweep.id, count: 4)

        let store = DashboardStore(location: url)
        let port = try serve(store)
        let list = try get(port, "/api/sweeps")
        XCTAssertEqual(list.status, 200, "\(list)")
        let s = (list.object["sweeps"] as? [[String: Any]])?.first ?? [:]
        XCTAssertEqual(s["id"] as? String, sweep.id)
        XCTAssertEqual((s["counts"] as? [String: Int])?["finished"], 3)
        XCTAssertTrue(list.body.contains("\"value\":\(0.1 + Self.exact / 3)}"), "exact through PostgreSQL: \(list.body)")
        XCTAssertEqual((try get(port, "/api/sweeps/\(sweep.id)/runs?state=failed").object["runs"] as? [Any])?.count, 1)
        XCTAssertEqual(try get(port, "/api/sweeps/zzzzzzzz").status, 404)
        XCTAssertEqual(try get(port, "/api/sweeps/\(sweep.id)/report").status, 200)
        XCTAssertTrue(try get(port, "/sweeps/\(sweep.id)").body.contains("/api/sweeps/\(sweep.id)/report"))

        let reader = try PostgreSQLRunStore(readOnlyURL: url)
        XCTAssertThrowsError(try reader.setState(sweepID: sweep.id, .paused), "a read-only session cannot write") { error in
            XCTAssertTrue("\(error)".contains("read-only"), "\(error)")
        }
        XCTAssertEqual(try writer.sweep(id: sweep.id).state, .running)
    }
}

/// A mutable holder a closure can capture.
private final class Box: @unchecked Sendable {
    var dashboard: Dashboard?
    var message: String?
}
