import Foundation
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// `ncf sweep serve` as a user runs it: the printed address, the API while an agent writes,
/// Ctrl-C/SIGTERM, a busy port, `--host`, a missing store.
final class DashboardCLITests: SweepProcessTestCase {
    /// Starts `ncf sweep serve ... --port 0` and waits for the address it prints.
    private func serve(_ extra: [String] = [], store: String? = nil) throws -> (Background, UInt16) {
        let server = try start(["sweep", "serve", "--store", store ?? self.store, "--port", "0"] + extra)
        var port: UInt16?
        let deadline = Date().addingTimeInterval(60)
        while port == nil && Date() < deadline && server.process.isRunning {
            if let range = server.output.range(of: #"http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression) {
                port = UInt16(server.output[range].dropFirst("http://127.0.0.1:".count).dropLast())
            } else {
                usleep(50_000)
            }
        }
        guard let port else {
            XCTFail("no address printed: \(server.output)")
            throw XCTSkip("no address")
        }
        return (server, port)
    }

    func testServeShowsASweepLiveWhileAnAgentWritesAndStopsOnSIGTERM() throws {
        let config = try writeConfig(parameters: grid(6, "  sleep:\n    value: 0.2"))
        let id = try createSweep(config)
        let (server, port) = try serve()
        XCTAssertTrue(server.output.contains("ncf dashboard for \(store) at http://127.0.0.1:\(port)/ (read-only"), server.output)

        let page = try loopbackGET(port: port, "/sweeps/\(id)")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("/api/sweeps/\(id)/report"), "the page polls its live data")

        let agent = try start(["agent", id, "--store", store])
        var counts: [Int] = []
        while agent.process.isRunning {
            let response = try loopbackGET(port: port, "/api/sweeps/\(id)")
            XCTAssertEqual(response.status, 200, "while the agent writes: \(response)")
            counts.append((response.object["counts"] as? [String: Int])?["finished"] ?? -1)
            usleep(100_000)
        }
        XCTAssertEqual(finish(agent), 0, agent.output)
        XCTAssertEqual(counts, counts.sorted(), "finished runs never go back: \(counts)")
        let after = try loopbackGET(port: port, "/api/sweeps/\(id)/runs?state=finished")
        XCTAssertEqual(after.object["total"] as? Int, 6, after.body)

        kill(server.pid, SIGTERM)
        XCTAssertEqual(finish(server), 0, server.output)
        XCTAssertTrue(server.output.contains("dashboard stopped"), server.output)
        XCTAssertEqual(try runs(id).count, 6, "the store is intact and readable after the dashboard")
    }

    /// The page as a user opens it from `ncf sweep serve`, in headless Chromium
    /// (`Tests/browser/served_page.py`): the list links to the sweep, and the sweep's page follows
    /// an agent's runs in place until the sweep is finished, with no console message.
    func testTheServedPageFollowsAnAgentInARealBrowser() throws {
        let python = try BrowserTools.required()
        let config = try writeConfig(parameters: grid(6, "  sleep:\n    value: 0.6"))
        let id = try createSweep(config)
        let (server, port) = try serve()
        defer { kill(server.pid, SIGTERM); _ = finish(server) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("browser/served_page.py").path
        let ready = tmp.appendingPathComponent("page-open").path
        let shots = ProcessInfo.processInfo.environment["NCF_PAGE_SHOTS"] ?? "/tmp/ncf-page-shots"
        let result = LockedBox<(status: Int32, output: String)?>(nil)
        let browser = Thread {
            let outcome = try? BrowserTools.run(python: python, script: script,
                                                ["http://127.0.0.1:\(port)", id, "6", "--ready", ready, "--shots", shots])
            result.set(outcome ?? (-1, "the browser check did not start"))
        }
        browser.start()
        let opened = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: ready) && result.get() == nil && Date() < opened { usleep(100_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ready), "the page did not open: \(result.get()?.output ?? "")")
        let agent = try start(["agent", id, "--store", store])
        XCTAssertEqual(finish(agent), 0, agent.output)
        let done = Date().addingTimeInterval(180)
        while result.get() == nil && Date() < done { usleep(100_000) }
        let (status, output) = try XCTUnwrap(result.get(), "the browser check did not end")
        print(output)
        XCTAssertEqual(status, 0, "the browser checks failed:\n\(output)")
        XCTAssertTrue(output.contains("every check passed"), output)
    }

    func testABusyPortIsNamedWithWhatToDo() throws {
        _ = try createSweep(try writeConfig(parameters: grid(2)))
        let (first, port) = try serve()
        let stderr = try ncfFails(["sweep", "serve", "--store", store, "--port", String(port)])
        XCTAssertTrue(stderr.contains("port \(port) is in use: --port 0 picks a free one"), stderr)
        kill(first.pid, SIGINT)
        XCTAssertEqual(finish(first), 0, first.output)
    }

    func testAnotherHostWarnsThatThereIsNoAuthentication() throws {
        _ = try createSweep(try writeConfig(parameters: grid(2)))
        let server = try start(["sweep", "serve", "--store", store, "--port", "0", "--host", "0.0.0.0"])
        let deadline = Date().addingTimeInterval(60)
        while !server.output.contains("http://") && Date() < deadline && server.process.isRunning { usleep(50_000) }
        XCTAssertTrue(server.output.contains("no authentication"), server.output)
        // Listening on every address does not open it to DNS rebinding: a foreign host name is refused.
        if let range = server.output.range(of: #"http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression),
           let port = UInt16(server.output[range].dropFirst("http://127.0.0.1:".count).dropLast()) {
            XCTAssertEqual(try loopbackGET(port: port, "/api/sweeps", headers: ["Host": "attacker.example:\(port)"]).status, 403)
            XCTAssertEqual(try loopbackGET(port: port, "/api/sweeps").status, 200)
        } else {
            XCTFail("no address printed: \(server.output)")
        }
        kill(server.pid, SIGINT)
        XCTAssertEqual(finish(server), 0, server.output)
    }

    func testAMissingStoreIsAnErrorAndNothingIsCreated() throws {
        let missing = tmp.appendingPathComponent("none.db").path
        let stderr = try ncfFails(["sweep", "serve", "--store", missing, "--port", "0"])
        XCTAssertTrue(stderr.contains("no sweep store at \(missing)"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    /// The same command over a PostgreSQL store (`NCF_TEST_POSTGRES_URL`): the sweep is served,
    /// the password never printed.
    func testServeAPostgreSQLStore() throws {
        let base = try TestPostgres.requireURL(for: "the dashboard's PostgreSQL CLI test")
        let schema = TestPostgres.newSchemaName("ncf_serve_")
        try PGConnection(url: base).execute("CREATE SCHEMA \(schema)")
        let url = TestPostgres.withSchema(base.replacingOccurrences(of: "://ncfci@", with: "://ncfci:pw-secret-2@"), schema)
        let config = try writeConfig(parameters: grid(3))
        let id = try sweepID(ncfSucceeds(["sweep", config, "--store", url]))
        let (server, port) = try serve(store: url)
        XCTAssertTrue(server.output.contains("ncfci:***@"), server.output)
        let list = try loopbackGET(port: port, "/api/sweeps")
        XCTAssertEqual(list.status, 200, "\(list)")
        XCTAssertTrue(list.body.contains("\"id\":\"\(id)\""), list.body)
        XCTAssertEqual(try loopbackGET(port: port, "/api/sweeps/\(id)/runs?state=finished").object["total"] as? Int, 3)
        XCTAssertFalse(list.body.contains("pw-secret-2") || server.output.contains("pw-secret-2"), "the password is shown")
        kill(server.pid, SIGTERM)
        XCTAssertEqual(finish(server), 0, server.output)
    }
}

/// A value one thread sets and another reads.
private final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
