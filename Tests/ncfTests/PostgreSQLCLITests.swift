import Foundation
import NCFSweep
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// `--store postgresql://…`, `NCF_STORE` and `ncf sweep copy` through the built binary, against
/// the server `.ci/run` starts (`NCF_TEST_POSTGRES_URL`); skipped with a message without it
/// (a failure under CI).
final class PostgreSQLCLITests: SweepProcessTestCase {
    /// A fresh schema on the test server, as a store URL carrying a password the server (trust
    /// authentication) ignores, so every output can be checked for it.
    private func freshURL() throws -> String {
        let base = try TestPostgres.requireURL(for: "the PostgreSQL CLI tests")
        let schema = TestPostgres.newSchemaName("ncf_cli_")
        try PGConnection(url: base).execute("CREATE SCHEMA \(schema)")
        return TestPostgres.withSchema(base.replacingOccurrences(of: "://ncfci@", with: "://ncfci:pw-secret-1@"), schema)
    }

    private func assertNoPassword(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(text.contains("pw-secret-1"), "the password is printed:\n\(text)", file: file, line: line)
    }

    /// Three agents on three "hosts" (processes; the third finds the store through NCF_STORE)
    /// share a PostgreSQL store: every grid point once.
    func testAgentsShareAPostgreSQLStore() throws {
        let url = try freshURL()
        let config = try writeConfig(parameters: grid(9))
        let created = try ncfSucceeds(["sweep", config, "--count", "0", "--store", url])
        assertNoPassword(created.stdout + created.stderr)
        XCTAssertTrue(created.stdout.contains("ncfci:***@"), created.stdout)
        let id = try sweepID(created)
        let agents = try [start(["agent", id, "--store", url]), start(["agent", id, "--store", url]),
                          start(["agent", id], environment: ["NCF_STORE": url])]
        for agent in agents {
            XCTAssertEqual(finish(agent), 0, agent.output)
            assertNoPassword(agent.output)
        }
        let runs = try PostgreSQLRunStore(url: url).runs(sweepID: id)
        XCTAssertEqual(runs.count, 9)
        XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, 9, "no point twice")
        XCTAssertTrue(runs.allSatisfy { $0.state == .finished })
        let status = try ncfSucceeds(["sweep", "status", id, "--store", url])
        XCTAssertTrue(status.stdout.contains("9 finished"), status.stdout)
        assertNoPassword(status.stdout)
    }

    /// Started on a laptop's SQLite file, continued on the server, brought back: `ncf sweep copy`.
    func testASweepMovesSQLiteToPostgreSQLAndBack() throws {
        let url = try freshURL()
        let config = try writeConfig(parameters: grid(6))
        let id = try createSweep(config)
        XCTAssertEqual(finish(try start(["agent", id, "--store", store, "--count", "2"])), 0)
        try ncfSucceeds(["sweep", "pause", id, "--store", store])

        let copied = try ncfSucceeds(["sweep", "copy", id, "--from", store, "--to", url])
        XCTAssertTrue(copied.stdout.contains("copied sweep \(id) (paused; 2 runs, 18 metric values)"), copied.stdout)
        assertNoPassword(copied.stdout)
        let again = try ncfFails(["sweep", "copy", id, "--from", store, "--to", url])
        XCTAssertTrue(again.contains("already holds a sweep \(id)"), again)
        assertNoPassword(again)

        try ncfSucceeds(["sweep", "resume", id, "--store", url])
        let agent = try start(["agent", id, "--store", url])
        XCTAssertEqual(finish(agent), 0, agent.output)
        let cluster = try PostgreSQLRunStore(url: url).runs(sweepID: id)
        XCTAssertEqual(cluster.count, 6)
        XCTAssertEqual(Set(cluster.map { ParamValue.canonicalJSON($0.config) }).count, 6, "the laptop's points are not run again")

        let back = tmp.appendingPathComponent("back.db").path
        try ncfSucceeds(["sweep", "copy", id, "--from", url, "--to", back])
        let home = try SQLiteRunStore(path: back, create: false)
        XCTAssertEqual(try home.sweep(id: id).state, .finished)
        XCTAssertEqual(try home.runs(sweepID: id).map(\.config), cluster.map(\.config))
        XCTAssertEqual(try home.histories(sweepID: id, metric: "Valid Loss").count, 6)
    }

    /// The server goes away in the middle of a trial and comes back: the agent keeps the trial
    /// running, keeps its metric line while the server is away, writes it when the server is
    /// back, and the run ends `finished` with every epoch. The trial moves on only when the test
    /// opens a gate file, so each step happens in order whatever the machine's speed.
    func testAnAgentRidesOutTheServerGoingAway() throws {
        _ = try freshURL()  // skips without a server (fails under CI)
        let plain = try TestPostgres.requireURL(for: "the PostgreSQL CLI tests")
        let admin = try PGConnection(url: plain)
        let database = "ncf_away_" + UUID().uuidString.prefix(8).lowercased()
        try admin.execute("CREATE DATABASE \(database)")
        defer { _ = try? admin.execute("DROP DATABASE \(database) WITH (FORCE)") }
        let slash = plain.range(of: "/", options: .backwards)!
        let url = String(plain[..<slash.upperBound]) + database

        let gates = tmp.appendingPathComponent("gates").path
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: true)
        let trial = tmp.appendingPathComponent("gated-trial").path
        try """
            #!/usr/bin/env bash
            # One JSON line per epoch; before epochs 2 and 3 it waits for the test's gate file.
            for e in 1 2 3; do
              if [ "$e" -gt 1 ]; then
                for ((i = 0; i < 6000; i++)); do [ -e "\(gates)/$e" ] && break; sleep 0.05; done
              fi
              printf '{"epoch": %d, "Valid Loss": %d}\\n' "$e" "$((4 - e))"
            done
            """.write(toFile: trial, atomically: true, encoding: .utf8)
        chmod(trial, 0o755)
        let config = tmp.appendingPathComponent("gated.yaml").path
        try FakeTrial.sweepYAML(program: trial, parameters: "  x:\n    values: [1]").write(toFile: config, atomically: true, encoding: .utf8)
        let id = try sweepID(ncfSucceeds(["sweep", config, "--count", "0", "--store", url]))
        let agent = try start(["agent", id, "--store", url, "--heartbeat", "0.5"])
        let store = try PostgreSQLRunStore(url: url)
        func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(60)
            while try !condition() {
                guard Date() < deadline else {
                    XCTFail("gave up waiting for \(what):\n\(agent.output)")
                    throw CLIRunnerError.timedOut(arguments: ["waiting for", what], seconds: 60)
                }
                usleep(20_000)
            }
        }
        try waitFor("epoch 1 in the store") {
            guard let run = try store.runs(sweepID: id).first else { return false }
            return try store.metrics(runID: run.id).contains { $0.step == 1 }
        }
        let runID = try XCTUnwrap(store.runs(sweepID: id).first?.id)

        // The server goes away: no connections to the store's database, and the open ones cut.
        try admin.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
        try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database])
        FileManager.default.createFile(atPath: gates + "/2", contents: nil)
        try waitFor("the agent to notice the outage") { agent.output.contains("heartbeat failed") }

        // Back: epoch 3, the end of the trial, and the kept epoch 2 reach the store.
        try admin.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
        FileManager.default.createFile(atPath: gates + "/3", contents: nil)
        XCTAssertEqual(finish(agent), 0, agent.output)
        let run = try XCTUnwrap(PostgreSQLRunStore(url: url).runs(sweepID: id).first)
        XCTAssertEqual(run.id, runID)
        XCTAssertEqual(run.state, .finished, "\(run.reason ?? "")\n\(agent.output)")
        XCTAssertEqual(try PostgreSQLRunStore(url: url).histories(sweepID: id, metric: "Valid Loss")[runID], [3, 2, 1],
                       "every epoch, the one logged while the server was away too")
        XCTAssertFalse(agent.output.contains("could not record its metrics"), agent.output)
    }

    /// `ncf-bench claims` measures both stores side by side, its header naming the CPU and the
    /// versions, and leaves each store as it found it (its sweep deleted).
    func testTheClaimBenchPrintsBothStoresSideBySide() throws {
        let url = try freshURL()
        let db = tmp.appendingPathComponent("bench.db").path
        let result = try CLIRunner(executableNamed: "ncf-bench").run(
            ["claims", "--agents", "2", "--claims", "5", "--store", db, "--store", url], in: tmp)
        XCTAssertEqual(result.exitCode, 0, "\(result)")
        let out = result.stdout
        XCTAssertTrue(out.contains("cpu: ") && out.contains("sqlite: ") && out.contains("libpq: "), out)
        XCTAssertTrue(out.contains("p50 ms") && out.contains("p99 ms"), out)
        let rows = out.split(separator: "\n").filter { $0.contains("SQLite 3") || $0.contains("PostgreSQL 1") }
        XCTAssertEqual(rows.count, 2, out)
        XCTAssertTrue(rows.allSatisfy { $0.split(separator: " ").contains("10") }, "10 claims each:\n\(out)")
        assertNoPassword(out + result.stderr)
        XCTAssertEqual(try PostgreSQLRunStore(url: url).sweeps(), [], "the bench's sweep is deleted")
        XCTAssertEqual(try SQLiteRunStore(path: db, create: false).sweeps(), [])
    }

    /// Another database's URL is refused as no store location, its password hidden too.
    func testOtherURLsAreRefusedWithoutTheirPassword() throws {
        let stderr = try ncfFails(["sweep", "list", "--store", "mysql://ncf:pw-secret-1@db.invalid/ncf"])
        XCTAssertTrue(stderr.contains("--store mysql://ncf:***@db.invalid/ncf") && stderr.contains("postgresql://"), stderr)
        assertNoPassword(stderr)
    }

    func testAnEmptyDatabaseIsNoStoreForReadingCommands() throws {
        let url = try freshURL()
        let stderr = try ncfFails(["sweep", "list", "--store", url])
        XCTAssertTrue(stderr.contains("no sweep store at postgresql://ncfci:***@"), stderr)
        assertNoPassword(stderr)
    }
}
