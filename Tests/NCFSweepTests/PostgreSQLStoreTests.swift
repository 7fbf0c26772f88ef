import Foundation
import NCFKernels
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// What only the PostgreSQL store has to show, against the real server `.ci/run` starts
/// (`NCF_TEST_POSTGRES_URL`): claims from many connections, the server's clock, its schema,
/// refusing a foreign database, surviving a server restart. The shared conformance suite
/// (StoreTests) runs against it too.
final class PostgreSQLStoreTests: XCTestCase {
    private func grid(runCap: Int? = nil) -> SweepConfig {
        SweepConfig(method: .grid, metric: .init(name: "Valid Loss", goal: .minimize),
                    parameters: [Parameter(name: "x", spec: .categorical((0..<12).map { .int($0) }, probabilities: nil))],
                    runCap: runCap)
    }

    private func claimed(_ outcome: ClaimOutcome, file: StaticString = #filePath, line: UInt = #line) throws -> StoredRun {
        guard case .claimed(let run) = outcome else {
            XCTFail("expected a claimed run, got \(outcome)", file: file, line: line)
            throw XCTSkip("no run")
        }
        return run
    }

    // MARK: - Claims

    /// Eight threads, each with its own connection (as eight agents on eight hosts), claim until
    /// the sweep is done: each grid point once, and run_cap exact.
    func testConcurrentClaimsFromManyConnectionsHandOutEachPointOnce() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        let first = try PostgreSQLRunStore(url: url)
        for (cap, expected) in [(nil, 12), (Optional(7), 7)] {
            let sweep = try first.createSweep(configText: "", seed: 3, now: Date())
            let config = grid(runCap: cap)
            let stores = try (0..<8).map { _ in try PostgreSQLRunStore(url: url) }
            let group = DispatchGroup()
            let failures = Failures()
            for (worker, store) in stores.enumerated() {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        while case .claimed(let run) = try store.claimRun(ClaimRequest(
                            sweepID: sweep.id, config: config, sampler: GridSampler(), agent: "w\(worker)", heartbeatEvery: 1, now: Date())) {
                            try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 1])
                            _ = try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil,
                                                    givenBack: false, at: Date())
                        }
                    } catch {
                        failures.add("\(error)")
                    }
                }.start()
            }
            group.wait()
            XCTAssertEqual(failures.all, [])
            let runs = try first.runs(sweepID: sweep.id)
            XCTAssertEqual(runs.count, expected, "cap \(String(describing: cap))")
            XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, expected, "no point twice")
            XCTAssertTrue(runs.allSatisfy { $0.state == .finished })
            XCTAssertEqual(try first.sweep(id: sweep.id).state, .finished)
        }
    }

    // MARK: - The server's clock

    /// Agents whose clocks are 10 minutes ahead and behind: the times the store writes are the
    /// server's, and a live run is never marked stale because a caller's clock says so; a run
    /// whose heartbeats did stop (its heartbeat moved back 100 s on the server) is.
    func testSkewedAgentClocksDoNotMatter() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        let ahead = try PostgreSQLRunStore(url: url)
        let behind = try PostgreSQLRunStore(url: url)
        let admin = try TestPostgres.admin(url)
        func serverNow() throws -> Double {
            try XCTUnwrap(admin.execute("SELECT extract(epoch FROM now())::float8 AS t").rows.first?.double("t"))
        }
        let skew: Double = 600
        let aheadClock = { Date().addingTimeInterval(skew) }
        let behindClock = { Date().addingTimeInterval(-skew) }

        let sweep = try ahead.createSweep(configText: "", seed: 1, now: aheadClock())
        let a = try claimed(ahead.claimRun(ClaimRequest(sweepID: sweep.id, config: grid(), sampler: GridSampler(), agent: "ahead:1",
                                                        heartbeatEvery: 10, now: aheadClock())))
        let b = try claimed(behind.claimRun(ClaimRequest(sweepID: sweep.id, config: grid(), sampler: GridSampler(), agent: "behind:2",
                                                         heartbeatEvery: 10, now: behindClock())))
        XCTAssertEqual(try behind.heartbeat(runIDs: [b.id], at: behindClock()), [])
        XCTAssertEqual(try ahead.heartbeat(runIDs: [a.id], at: aheadClock()), [])
        // Every stored time is the server's: far from both agents' (±600 s) clocks.
        let now = try serverNow()
        for run in try ahead.runs(sweepID: sweep.id) {
            for time in [run.startedAt, run.heartbeatAt] {
                XCTAssertLessThan(abs(time.timeIntervalSince1970 - now), skew / 2, "run \(run.id): \(time) is not the server's time")
            }
        }
        XCTAssertLessThan(abs(try ahead.sweep(id: sweep.id).created.timeIntervalSince1970 - now), skew / 2)

        // The agent behind sees the other's heartbeat 10 minutes in its future, the agent ahead
        // sees it 10 minutes old: neither marks anything stale, whatever date it passes.
        XCTAssertEqual(try ahead.markStale(sweepID: sweep.id, grace: 60, now: aheadClock()), [])
        XCTAssertEqual(try behind.markStale(sweepID: sweep.id, grace: 60, now: behindClock()), [])
        XCTAssertEqual(try ahead.markStale(sweepID: sweep.id, grace: 60, now: Date().addingTimeInterval(86_400)), [],
                       "a caller's date a day ahead marks nothing")

        // The ahead agent goes silent: on the server its last heartbeat is now 100 s old.
        try admin.execute("UPDATE runs SET heartbeat_at = heartbeat_at - 100 WHERE id = $1", [a.id])
        XCTAssertEqual(try behind.markStale(sweepID: sweep.id, grace: 60, now: behindClock()), [a.id],
                       "the agent 10 minutes behind still sees the silent run as stale")
        let runs = try ahead.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map(\.state), [.stale, .running])
        let reason = try XCTUnwrap(runs[0].reason)
        XCTAssertTrue(reason.contains("no heartbeat from agent ahead:1 for 100 s"), reason)
        XCTAssertEqual(try ahead.heartbeat(runIDs: [a.id], at: aheadClock()), [a.id], "the stale run's agent is told to stop")
        XCTAssertFalse(try ahead.finishRun(id: a.id, state: .finished, reason: nil, exitCode: 0, summary: #"{"x":1}"#,
                                           givenBack: false, at: aheadClock()), "a late result is kept, not counted")
        XCTAssertEqual(try ahead.runs(sweepID: sweep.id)[0].summary, #"{"x":1}"#)
    }

    // MARK: - Schema and foreign databases

    func testSchemaHasTheSQLiteColumnsAndVersions() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        _ = try PostgreSQLRunStore(url: url)
        let admin = try TestPostgres.admin(url)
        func columns(_ table: String) throws -> [String] {
            try admin.execute("""
                SELECT column_name AS c FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
                """, [table]).rows.compactMap { $0.string("c") }
        }
        XCTAssertEqual(try columns("sweeps"), ["id", "config", "seed", "state", "created",
                                               "data_path", "data_absolute", "data_size", "data_fingerprint"])
        XCTAssertEqual(try columns("runs"), ["id", "sweep_id", "state", "config", "seed", "reason", "exit_code", "agent",
                                             "heartbeat_every", "started_at", "ended_at", "heartbeat_at", "given_back", "summary",
                                             "data_override"])
        XCTAssertEqual(try columns("metrics"), ["run_id", "step", "name", "value"])
        XCTAssertEqual(try admin.execute("SELECT identifier FROM ncf_migrations ORDER BY identifier").rows.compactMap { $0.string("identifier") },
                       ["v1", "v2"])
        _ = try PostgreSQLRunStore(url: url)  // reopening changes nothing
        XCTAssertEqual(try admin.execute("SELECT count(*) AS n FROM ncf_migrations").rows.first?.int("n"), 2)
    }

    /// A v1 store (as an ncf before schema v2 left it) is migrated in place, its rows kept.
    func testAVersion1StoreIsMigrated() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        let admin = try TestPostgres.admin(url)
        try admin.execute("CREATE TABLE ncf_migrations (identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        for statement in PostgreSQLRunStore.migrations[0].statements { try admin.execute(statement) }
        try admin.execute("INSERT INTO ncf_migrations (identifier) VALUES ('v1')")
        try admin.execute("INSERT INTO sweeps VALUES ('old12345', 'method: grid', 4, 'finished', 1700000000)")
        let store = try PostgreSQLRunStore(url: url)
        XCTAssertEqual(try store.sweep(id: "old12345").state, .finished)
        XCTAssertEqual(try store.setState(sweepID: "old12345", .paused), .finished, "the v2 states are accepted")
    }

    func testAForeignDatabaseIsRefusedUntouched() throws {
        let base = try TestPostgres.requireURL()
        let url = try TestPostgres.freshStoreURL(base: base)
        let admin = try TestPostgres.admin(url)
        try admin.execute("CREATE TABLE users (id integer, name text)")
        try admin.execute("INSERT INTO users VALUES (1, 'ada')")
        // A password in the URL (the trust-authenticated test server ignores it) is never shown.
        let withPassword = url.replacingOccurrences(of: "://ncfci@", with: "://ncfci:s3cret-pw@")
        XCTAssertThrowsError(try PostgreSQLRunStore(url: withPassword)) { error in
            guard case .notAStore(_, let tables)? = error as? PostgreSQLStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(tables, ["users"])
            XCTAssertTrue("\(error)".contains("not an ncf sweep store") && "\(error)".contains("Hint:"), "\(error)")
            XCTAssertFalse("\(error)".contains("s3cret"), "the password is shown: \(error)")
            XCTAssertTrue("\(error)".contains("ncfci:***@"), "\(error)")
        }
        XCTAssertEqual(try admin.execute("""
            SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()
            """).rows.compactMap { $0.string("t") }, ["users"], "nothing was created")
        XCTAssertEqual(try admin.execute("SELECT name FROM users").rows.compactMap { $0.string("name") }, ["ada"])
    }

    func testANewerStoreIsRefused() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        _ = try PostgreSQLRunStore(url: url)
        try TestPostgres.admin(url).execute("INSERT INTO ncf_migrations (identifier) VALUES ('v99')")
        XCTAssertThrowsError(try PostgreSQLRunStore(url: url)) { error in
            guard case .newerSchema(_, let versions)? = error as? PostgreSQLStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(versions, ["v99"])
        }
    }

    func testASearchPathWithoutASchemaIsExplained() throws {
        let base = try TestPostgres.requireURL()
        XCTAssertThrowsError(try PostgreSQLRunStore(url: TestPostgres.withSchema(base, "no_such_schema"))) { error in
            XCTAssertTrue("\(error)".contains("search_path names no existing schema"), "\(error)")
        }
    }

    // MARK: - Damaged rows

    /// Values a hand edit can leave (after loosening the schema) stop the store with a message
    /// naming the table, the row and the column, as the SQLite store's checked decoding does;
    /// none reads as 0, "" or a default state, and none decides a claim.
    func testADamagedRowGivesAClearError() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        let store = try PostgreSQLRunStore(url: url)
        let admin = try TestPostgres.admin(url)
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let run = try claimed(store.claimRun(ClaimRequest(sweepID: sweep.id, config: grid(), sampler: GridSampler(), agent: "a:1",
                                                          heartbeatEvery: 10, now: Date())))
        try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 2])
        try admin.execute("ALTER TABLE runs ALTER COLUMN started_at DROP NOT NULL, DROP CONSTRAINT runs_state_check")
        try admin.execute("ALTER TABLE sweeps ALTER COLUMN created DROP NOT NULL")

        func assertBadRow(_ call: () throws -> Void, table: String, row: String, column: String, detail: String,
                          file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try call(), file: file, line: line) { error in
                guard case .badRow(_, let problem)? = error as? PostgreSQLStoreError else {
                    return XCTFail("expected a bad row, got \(error)", file: file, line: line)
                }
                XCTAssertEqual(problem, StoreRowProblem(table: table, row: row, column: column, detail: detail), file: file, line: line)
                XCTAssertTrue("\(error)".contains("\(table) \(row), column \(column): \(detail)") && "\(error)".contains("Hint:"),
                              "\(error)", file: file, line: line)
            }
        }
        let claim = { _ = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: self.grid(), sampler: GridSampler(), agent: "a:2",
                                                           heartbeatEvery: 10, now: Date())) }
        let cases: [(sql: String, table: String, column: String, detail: String)] = [
            ("UPDATE runs SET started_at = NULL", "runs", "started_at", "expected Unix seconds, found NULL"),
            ("UPDATE runs SET state = 'exploded'", "runs", "state",
             "expected one of 'pending', 'running', 'finished', 'failed', 'stopped', 'stale', found \"exploded\""),
            ("UPDATE runs SET config = 'not json'", "runs", "config", ""),
            ("UPDATE runs SET heartbeat_at = 'Infinity'", "runs", "heartbeat_at", "expected Unix seconds (a number), found \"Infinity\""),
            ("UPDATE runs SET exit_code = -1, seed = -5", "runs", "seed", "expected an integer from 0 to \(Int64.max), found -5"),
        ]
        for damage in cases {
            try admin.execute("BEGIN")
            try admin.execute(damage.sql)
            try admin.execute("COMMIT")
            if damage.column == "config" {
                XCTAssertThrowsError(try store.runs(sweepID: sweep.id)) { error in
                    XCTAssertTrue("\(error)".contains("runs id \(run.id), column config: expected the run's parameters as a JSON object, found \"not json\""), "\(error)")
                }
            } else {
                assertBadRow({ _ = try store.runs(sweepID: sweep.id) }, table: "runs", row: "id \(run.id)", column: damage.column, detail: damage.detail)
                assertBadRow(claim, table: "runs", row: "id \(run.id)", column: damage.column, detail: damage.detail)
            }
            // Repaired, the store reads the run again.
            try admin.execute("""
                UPDATE runs SET started_at = heartbeat_every, state = 'running', config = '{"x":0}', heartbeat_at = 1700000000, seed = 1
                """)
            XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.id), [run.id])
        }
        XCTAssertEqual(try store.runs(sweepID: sweep.id).count, 1, "no claim went through a damaged row")

        try admin.execute("UPDATE metrics SET step = 0")
        assertBadRow({ _ = try store.metrics(runID: run.id) }, table: "metrics", row: "row (run_id \(run.id), step 0, name \"Valid Loss\")",
                     column: "step", detail: "expected an integer from 1 to 1000000000, found 0")
        try admin.execute("UPDATE metrics SET step = 1, value = 'NaN'")
        XCTAssertEqual(try store.metrics(runID: run.id), [MetricPoint(step: 1, name: "Valid Loss", value: nil)], "NaN reads as a missing value")

        try admin.execute("UPDATE sweeps SET created = NULL")
        assertBadRow({ _ = try store.sweep(id: sweep.id) }, table: "sweeps", row: "id \"\(sweep.id)\"", column: "created",
                     detail: "expected Unix seconds, found NULL")
        assertBadRow({ _ = try store.sweeps() }, table: "sweeps", row: "id \"\(sweep.id)\"", column: "created",
                     detail: "expected Unix seconds, found NULL")
    }

    // MARK: - The server going away

    /// The server drops the store's connection (as a restart or a network cut does: here
    /// `pg_terminate_backend`, which ends the server process serving it): the next calls
    /// reconnect, and what was written before is there; a metric line written again replaces
    /// itself, so writing it twice after a lost answer is harmless.
    func testTheStoreReconnectsAfterTheServerDropsItsConnection() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        let store = try PostgreSQLRunStore(url: url)
        let admin = try TestPostgres.admin(url)
        func dropOtherConnections() throws {
            let dropped = try admin.execute("""
                SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                """).rows
            XCTAssertFalse(dropped.isEmpty, "the store's connection was there to drop")
        }
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let run = try claimed(store.claimRun(ClaimRequest(sweepID: sweep.id, config: grid(), sampler: GridSampler(), agent: "a:1",
                                                          heartbeatEvery: 10, now: Date())))
        try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 2])

        try dropOtherConnections()
        XCTAssertEqual(try store.heartbeat(runIDs: [run.id], at: Date()), [], "a heartbeat after the drop reconnects")
        try dropOtherConnections()
        try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 2])
        try store.appendMetrics(runID: run.id, step: 2, values: ["Valid Loss": 1.5])
        XCTAssertEqual(try store.metrics(runID: run.id).map(\.value), [2, 1.5])
        try dropOtherConnections()
        XCTAssertTrue(try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false, at: Date()),
                      "a claim or result is not repeated blindly, but the next one after a drop runs on a new connection")
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.state), [.finished])
    }

    /// The server goes away mid-trial (its database refuses connections and the store's is
    /// cut): metric lines are kept in memory instead of failing, heartbeats report the outage;
    /// when the server is back the next call reconnects and writes the kept lines first, and
    /// writing a line again changes nothing.
    func testMetricLinesWaitForAServerThatWentAway() throws {
        let base = try TestPostgres.requireURL()
        let admin = try TestPostgres.admin(base)
        let database = "ncf_away_" + UUID().uuidString.prefix(8).lowercased()
        try admin.execute("CREATE DATABASE \(database)")
        defer { _ = try? admin.execute("DROP DATABASE \(database) WITH (FORCE)") }
        guard let slash = base.range(of: "/", options: .backwards), let question = Optional(base[slash.upperBound...].firstIndex(of: "?") ?? base.endIndex) else {
            return XCTFail("no database in \(base)")
        }
        let url = String(base[..<slash.upperBound]) + database + String(base[question...])
        let store = try PostgreSQLRunStore(url: url)
        let sweep = try store.createSweep(configText: "", seed: 1, now: Date())
        let run = try claimed(store.claimRun(ClaimRequest(sweepID: sweep.id, config: grid(), sampler: GridSampler(), agent: "a:1",
                                                          heartbeatEvery: 10, now: Date())))
        try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 3])

        // The server goes away: no new connections to the store's database, and its connection cut.
        try admin.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
        try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database])
        try store.appendMetrics(runID: run.id, step: 2, values: ["Valid Loss": 2])
        try store.appendMetrics(runID: run.id, step: 3, values: ["Valid Loss": 1])
        XCTAssertEqual(store.pendingMetricLines, 2)
        XCTAssertThrowsError(try store.heartbeat(runIDs: [run.id], at: Date())) { error in
            XCTAssertTrue((error as? PostgreSQLStoreError)?.isConnectionFailure ?? false, "\(error)")
        }

        // Back: the next heartbeat reconnects and writes the kept lines.
        try admin.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
        XCTAssertEqual(try store.heartbeat(runIDs: [run.id], at: Date()), [])
        XCTAssertEqual(store.pendingMetricLines, 0)
        try store.appendMetrics(runID: run.id, step: 3, values: ["Valid Loss": 1])
        XCTAssertEqual(try store.metrics(runID: run.id), (1...3).map { MetricPoint(step: $0, name: "Valid Loss", value: Double(4 - $0)) })
        XCTAssertTrue(try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false, at: Date()))
    }

    // MARK: - Copying a sweep between stores

    /// A sweep started in a SQLite file moves to PostgreSQL, continues there, and comes back:
    /// the sweep, every run (state, reason, times, given-back flag, summary) and every metric
    /// value (a NULL one too) arrive as they were; only run ids are the destination's own.
    func testACopiedSweepRoundTripsSQLitePostgreSQLSQLite() throws {
        let url = try TestPostgres.freshStoreURL(base: TestPostgres.requireURL())
        let tmp = try makeTemporaryDirectory(prefix: "ncf-copy")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let laptop = try SQLiteRunStore(path: tmp.appendingPathComponent("laptop.db").path, create: true)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let data = SweepData(path: "u.data", absolutePath: "/data/u.data", size: 123, fingerprint: "sha256:ab")
        let sweep = try laptop.createSweep(configText: "method: grid\n", seed: UInt64.max - 5, data: data, now: t0)
        func claim(_ store: any RunStore, at: Date) throws -> StoredRun {
            try claimed(store.claimRun(ClaimRequest(sweepID: sweep.id, config: grid(), sampler: GridSampler(), agent: "laptop:1",
                                                    heartbeatEvery: 10, now: at, dataOverride: nil)))
        }
        let done = try claim(laptop, at: t0)
        try laptop.appendMetrics(runID: done.id, step: 1, values: ["Valid Loss": 0.9, "epoch": 1])
        try laptop.appendMetrics(runID: done.id, step: 2, values: ["Valid Loss": .nan, "epoch": 2])
        _ = try laptop.finishRun(id: done.id, state: .finished, reason: nil, exitCode: 0, summary: #"{"Test RMSE":0.95}"#,
                                 givenBack: false, at: t0.addingTimeInterval(30))
        let lost = try claim(laptop, at: t0.addingTimeInterval(31))
        XCTAssertEqual(try laptop.markStale(sweepID: sweep.id, grace: 60, now: t0.addingTimeInterval(200)), [lost.id])
        let failed = try claim(laptop, at: t0.addingTimeInterval(201))
        _ = try laptop.finishRun(id: failed.id, state: .failed, reason: "exit code 1: Error: boom", exitCode: 1, summary: nil,
                                 givenBack: false, at: t0.addingTimeInterval(202))
        _ = try laptop.setState(sweepID: sweep.id, .paused)

        let cluster = try PostgreSQLRunStore(url: url)
        let there = try copySweep(id: sweep.id, from: laptop, to: cluster)
        XCTAssertEqual(there.runs, 3)
        XCTAssertEqual(there.values, 4)
        XCTAssertEqual(there.running, 0)
        try assertSameSweep(laptop, cluster, id: sweep.id)
        XCTAssertThrowsError(try copySweep(id: sweep.id, from: laptop, to: cluster)) { error in
            XCTAssertEqual(error as? SweepCopyError, .alreadyThere(id: sweep.id, store: cluster.shownURL))
        }

        // It continues on the cluster where it stopped: the stale point was already run again
        // (by the failed run), so the next point of the grid follows.
        XCTAssertEqual(failed.config, lost.config)
        XCTAssertEqual(try cluster.setState(sweepID: sweep.id, .running), .paused)
        let next = try claim(cluster, at: Date())
        XCTAssertEqual(next.config, ["x": .int(2)], "no point of the laptop's runs again")
        _ = try cluster.finishRun(id: next.id, state: .finished, reason: nil, exitCode: 0, summary: nil, givenBack: false, at: Date())

        let back = try SQLiteRunStore(path: tmp.appendingPathComponent("back.db").path, create: true)
        XCTAssertEqual(try copySweep(id: sweep.id, from: cluster, to: back).runs, 4)
        try assertSameSweep(cluster, back, id: sweep.id)
        XCTAssertEqual(try back.runs(sweepID: sweep.id).prefix(3).map(\.config), try laptop.runs(sweepID: sweep.id).map(\.config))
    }

    private func assertSameSweep(_ a: any RunStore, _ b: any RunStore, id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try a.sweep(id: id), try b.sweep(id: id), file: file, line: line)
        let runsA = try a.runs(sweepID: id), runsB = try b.runs(sweepID: id)
        XCTAssertEqual(runsA.count, runsB.count, file: file, line: line)
        for (x, y) in zip(runsA, runsB) {
            var renumbered = y
            renumbered.id = x.id
            XCTAssertEqual(x, renumbered, file: file, line: line)
            XCTAssertEqual(try a.metrics(runID: x.id), try b.metrics(runID: y.id), "run \(x.id)", file: file, line: line)
        }
    }

    // MARK: - URLs and messages (no server needed)

    func testPasswordsAreRedacted() {
        XCTAssertEqual(redactedStoreURL("postgresql://ncf:s3cret@db.example:5432/ncf"), "postgresql://ncf:***@db.example:5432/ncf")
        XCTAssertEqual(redactedStoreURL("postgres://ncf@db/ncf?sslmode=require&password=s3cret"),
                       "postgres://ncf@db/ncf?sslmode=require&password=***")
        XCTAssertEqual(redactedStoreURL("postgresql://ncf:p%40ss@db/ncf?password=x&sslmode=verify-full"),
                       "postgresql://ncf:***@db/ncf?password=***&sslmode=verify-full")
        XCTAssertEqual(redactedStoreURL("postgresql://db.example/ncf"), "postgresql://db.example/ncf")
        XCTAssertEqual(redactedStoreURL("ncf-sweeps.db"), "ncf-sweeps.db")
        XCTAssertTrue(isPostgreSQLStoreURL("postgres://h/d") && isPostgreSQLStoreURL("PostgreSQL://h/d"))
        XCTAssertFalse(isPostgreSQLStoreURL("postgres.db"))
    }

    /// libpq's two-line messages read as sentences in ncf's one-line errors.
    func testLibpqMessagesReadAsSentences() {
        let libpq = "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n"
        let line = PGConnection.oneLine(libpq)
        XCTAssertEqual(line, "connection to server at \"127.0.0.1\", port 1 failed: Connection refused; Is the server running on that host and accepting TCP/IP connections?")
        let message = PostgreSQLStoreError.cannotConnect(url: "postgresql://ncf@127.0.0.1:1/x", detail: line).description
        XCTAssertTrue(message.contains("connections? Hint:"), message)
    }

    /// A command printed to be run again names the server without the password, so libpq takes it
    /// from PGPASSWORD or ~/.pgpass (a `***` placeholder would be tried as the password).
    func testPrintedCommandsLeaveThePasswordOut() {
        XCTAssertEqual(storeURLWithoutPassword("postgresql://ncf:s3cret@db.example:5432/ncf"), "postgresql://ncf@db.example:5432/ncf")
        XCTAssertEqual(storeURLWithoutPassword("postgres://ncf@db/ncf?sslmode=require&password=s3cret"), "postgres://ncf@db/ncf?sslmode=require")
        XCTAssertEqual(storeURLWithoutPassword("postgresql://ncf:p%40ss@db/ncf?password=x&sslmode=verify-full"),
                       "postgresql://ncf@db/ncf?sslmode=verify-full")
        XCTAssertEqual(storeURLWithoutPassword("postgresql://ncf@db/ncf?Password=x"), "postgresql://ncf@db/ncf")
        XCTAssertEqual(storeURLWithoutPassword("postgresql://db.example/ncf"), "postgresql://db.example/ncf")
    }

    func testAnUnreachableServerOrBadURLIsExplainedWithoutThePassword() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        XCTAssertThrowsError(try PostgreSQLRunStore(url: "postgresql://ncf:s3cret@127.0.0.1:1/ncf?connect_timeout=5")) { error in
            guard case .cannotConnect? = error as? PostgreSQLStoreError else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains("s3cret"), "\(error)")
            XCTAssertTrue("\(error)".contains("Hint:"), "\(error)")
        }
        XCTAssertThrowsError(try PostgreSQLRunStore(url: "postgresql://ncf:s3cret@host/db?colour=blue")) { error in
            guard case .badURL? = error as? PostgreSQLStoreError else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains("s3cret"), "\(error)")
        }
    }
}
