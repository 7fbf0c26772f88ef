import Foundation
import GRDB
import NCFKernels
import NCFSweep
import NCFTestSupport
import XCTest

/// The commands that open a store, on stores that are damaged, foreign, copied or named oddly:
/// no command crashes, a damaged store is never written and never read silently, ncf never
/// initialises a file it did not make, a clean exit leaves one self-contained file, and what
/// the commands show does not depend on the working directory.
final class ReliabilityStoreTests: SweepProcessTestCase {
    /// Copies per fuzz pass: `NCF_FUZZ_ITERATIONS / 125` (default 8; six commands each).
    static var copies: Int {
        let iterations = ProcessInfo.processInfo.environment["NCF_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1000
        return max(2, iterations / 125)
    }

    /// A finished sweep of the fake trial (grid x = 0, 1, 2; three runs) in `store`: its id.
    private func finishedSweep() throws -> String {
        let config = try writeConfig(parameters: grid(3))
        return try sweepID(ncfSucceeds(["sweep", config, "--store", store]))
    }

    private func execute(_ sql: String, in path: String) throws {
        try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: sql) }
    }

    /// Asserts the command ended by itself (no crash): an exit status below 128, and a message
    /// on stderr whenever the status is not 0.
    @discardableResult
    private func noCrash(_ result: CLIResult, _ context: String, file: StaticString = #filePath, line: UInt = #line) -> CLIResult {
        XCTAssertLessThan(result.exitCode, 128, "\(context): ended by a signal (a crash):\n\(result)", file: file, line: line)
        if result.exitCode != 0 {
            XCTAssertFalse(result.stderr.isEmpty, "\(context): failed without a message:\n\(result)", file: file, line: line)
        }
        return result
    }

    // MARK: - Values ncf cannot read

    /// `UPDATE runs SET started_at = 'yesterday'` used to stop `status`, `best`, `report` and
    /// `agent` on a failed conversion. Now readers leave the row out with a warning naming table,
    /// row and column (and exit 1), the agent refuses to claim with the same words, and `ncf
    /// sweep check` lists the row.
    func testARowWithAValueNcfCannotReadIsNamedNeverACrash() throws {
        let id = try finishedSweep()
        let first = try XCTUnwrap(runs(id).first?.id)
        try execute("UPDATE runs SET started_at = 'yesterday' WHERE id = \(first)", in: store)
        let named = "runs row \(first), column started_at"

        let status = noCrash(try ncf(["sweep", "status", id, "--store", store]), "status")
        XCTAssertEqual(status.exitCode, 1, status.description)
        XCTAssertTrue(status.stdout.contains("sweep \(id)") && status.stdout.contains("runs: 2"), status.description)
        XCTAssertTrue(status.stderr.contains(named) && status.stderr.contains("yesterday"), status.description)
        XCTAssertTrue(status.stderr.contains("ncf sweep check --store"), status.description)

        for command in [["best", id], ["list"], ["report", id, "-o", "r.html"]] {
            let result = noCrash(try ncf(["sweep"] + command + ["--store", store]), command[0])
            XCTAssertTrue(result.stderr.contains(named), "\(command[0]): \(result)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("r.html").path))

        let agent = noCrash(try ncf(["agent", id, "--count", "1", "--store", store]), "agent")
        XCTAssertNotEqual(agent.exitCode, 0, agent.description)
        XCTAssertTrue(agent.stderr.contains(named) && agent.stderr.contains("ncf sweep check"), agent.description)
        XCTAssertEqual(try DatabaseQueue(path: store).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM runs") }, 3,
                       "the agent claimed nothing")

        let check = noCrash(try ncf(["sweep", "check", "--store", store]), "check")
        XCTAssertEqual(check.exitCode, 1, check.description)
        XCTAssertTrue(check.stdout.contains(named), check.description)
    }

    // MARK: - Damaged files (a fuzz pass through the real commands)

    /// Seeded byte flips in copies of a finished store. For every copy each command ends by
    /// itself (no crash, every failure a message); on a copy `PRAGMA integrity_check` finds
    /// damaged, the agent refuses it (saying what to do), `ncf sweep check` exits 1, and every
    /// reader either refuses it or warns that it is damaged.
    func testDamagedCopiesAreNeverWrittenAndNeverReadSilently() throws {
        let id = try finishedSweep()
        try execute("PRAGMA wal_checkpoint(TRUNCATE)", in: store)
        let original = try Data(contentsOf: URL(fileURLWithPath: store))
        var rng = SplitMix64(seed: 11, stream: 0)
        var damaged = 0
        for copy in 0..<Self.copies {
            var bytes = original
            for _ in 0..<(4 + rng.nextInt(below: 28)) {
                let at = 100 + rng.nextInt(below: bytes.count - 100)
                bytes[at] ^= UInt8(1 + rng.nextInt(below: 255))
            }
            let path = tmp.appendingPathComponent("copy-\(copy).db").path
            try bytes.write(to: URL(fileURLWithPath: path))
            let sound = (try? DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
                .read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }) == ["ok"]
            if !sound { damaged += 1 }
            let context = "copy \(copy) (integrity_check \(sound ? "ok" : "fails"))"
            var results: [String: CLIResult] = [:]
            for command in [["sweep", "status", id], ["sweep", "best", id], ["sweep", "list"],
                            ["sweep", "report", id, "-o", "copy-\(copy).html"], ["sweep", "check"], ["agent", id, "--count", "0"]] {
                results[command[0] == "agent" ? "agent" : command[1]] = noCrash(try ncf(command + ["--store", path]), "\(context): \(command.joined(separator: " "))")
            }
            guard !sound else { continue }
            let agent = results["agent"]!
            XCTAssertNotEqual(agent.exitCode, 0, "\(context): the agent used a damaged store:\n\(agent)")
            XCTAssertNotEqual(results["check"]!.exitCode, 0, "\(context): \(results["check"]!)")
            for name in ["status", "best", "list", "report"] {
                let r = results[name]!
                XCTAssertTrue(r.exitCode != 0 && r.stderr.contains("damaged") || r.exitCode != 0 && r.stderr.contains("Hint"),
                              "\(context): `sweep \(name)` read a damaged store silently:\n\(r)")
            }
        }
        XCTAssertGreaterThan(damaged, 0, "no copy was damaged; flip more bytes")
    }

    // MARK: - One file after a clean exit

    /// After `ncf sweep` exits the store is one file: no data is left in `-wal`, a copy of the
    /// file alone holds the sweep, and reading the copy does not change it.
    func testAfterNcfExitsTheStoreIsOneSelfContainedFile() throws {
        let id = try finishedSweep()
        var info = stat()
        if stat(store + "-wal", &info) == 0 { XCTAssertEqual(info.st_size, 0, "data left in \(store)-wal") }
        let copy = tmp.appendingPathComponent("copy.db").path
        try FileManager.default.copyItem(atPath: store, toPath: copy)
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        let list = try ncfSucceeds(["sweep", "list", "--store", copy])
        XCTAssertTrue(list.stdout.contains(id) && list.stdout.contains("finished"), list.description)
        let status = try ncfSucceeds(["sweep", "status", id, "--store", copy])
        XCTAssertTrue(status.stdout.contains("runs: 3 (3 finished)"), status.description)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), before, "reading changed the copy")

        // The same after an agent.
        let config = try writeConfig("more.yaml", parameters: grid(2))
        let more = try createSweep(config)
        try ncfSucceeds(["agent", more, "--store", store])
        if stat(store + "-wal", &info) == 0 { XCTAssertEqual(info.st_size, 0, "data left in \(store)-wal after the agent") }
    }

    // MARK: - Files ncf did not make

    /// An SQLite file without tables (not empty, not made by ncf) is refused untouched by
    /// writers and readers; a read-only command on a missing path creates nothing.
    func testAFileNcfDidNotMakeIsNeverInitialised() throws {
        let blank = tmp.appendingPathComponent("blank.db").path
        try execute("PRAGMA user_version = 7", in: blank)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: blank))
        XCTAssertGreaterThan(bytes.count, 0)
        let config = try writeConfig(parameters: grid(2))
        for arguments in [["sweep", config, "--count", "0"], ["sweep", "list"], ["agent", "abcdefgh"]] {
            let message = try ncfFails(arguments + ["--store", blank])
            XCTAssertTrue(message.contains("\(blank) is not an ncf sweep store"), message)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: blank)), bytes, "\(arguments): the file changed")
        }

        let missing = tmp.appendingPathComponent("missing.db").path
        for arguments in [["sweep", "list"], ["sweep", "status", "abcdefgh"], ["sweep", "best", "abcdefgh"],
                          ["sweep", "report", "abcdefgh"], ["sweep", "check"], ["agent", "abcdefgh"]] {
            let message = try ncfFails(arguments + ["--store", missing])
            XCTAssertTrue(message.contains("no sweep store at \(missing)"), "\(arguments): \(message)")
            for suffix in ["", "-wal", "-shm"] {
                XCTAssertFalse(FileManager.default.fileExists(atPath: missing + suffix), "\(arguments) created \(missing + suffix)")
            }
        }
    }

    // MARK: - --store is a path

    /// `--store file:foreign.db` is not taken as an SQLite URI (which skipped the checks and
    /// switched the foreign file to WAL mode): it is refused, naming the value, and the foreign
    /// file is untouched. A URL (`postgresql://…`) opens a PostgreSQL store, not a file. `./file:x.db`
    /// is a file literally named so.
    func testTheStoreOptionIsAPathNeverAnSQLiteURI() throws {
        let foreign = tmp.appendingPathComponent("foreign.db").path
        try execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a')", in: foreign)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: foreign))
        let config = try writeConfig(parameters: grid(2))
        for arguments in [["sweep", "list"], ["sweep", "status", "abcdefgh"], ["sweep", config, "--count", "0"], ["agent", "abcdefgh"]] {
            let message = try ncfFails(arguments + ["--store", "file:foreign.db"])
            XCTAssertTrue(message.contains("--store file:foreign.db") && message.contains("path"), "\(arguments): \(message)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: foreign)), bytes, "\(arguments): foreign.db changed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: foreign + "-wal"), "\(arguments): foreign.db-wal")
        }
        // A URL names a PostgreSQL store (see PostgreSQLCLITests), never a file: one that cannot
        // be reached is said so, and nothing is created in the working directory.
        let url = try ncfFails(["sweep", "list", "--store", "postgresql://ncf@db.invalid/sweeps"])
        XCTAssertTrue(url.contains("cannot connect to the sweep store postgresql://ncf@db.invalid/sweeps"), url)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("postgresql:").path))

        let literal = try ncfSucceeds(["sweep", config, "--count", "0", "--store", "./file:x.db"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("file:x.db").path), literal.description)
    }

    // MARK: - The working directory

    /// A sweep whose `program` is relative to its config's directory reads the same from any
    /// working directory: `best` finds its metric, `status` and `report` read its config.
    func testInspectionDoesNotDependOnTheWorkingDirectory() throws {
        let project = tmp.appendingPathComponent("project")
        let elsewhere = tmp.appendingPathComponent("elsewhere")
        for dir in [project, elsewhere] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        _ = try FakeTrial.write(into: project)
        try FakeTrial.sweepYAML(program: "fake-trial.sh", parameters: grid(2))
            .write(to: project.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
        let created = try ncf(["sweep", "sweep.yaml", "--store", store], in: project)
        XCTAssertEqual(created.exitCode, 0, created.description)
        let id = try sweepID(created)

        let best = try ncf(["sweep", "best", id, "--store", store], in: elsewhere)
        XCTAssertEqual(best.exitCode, 0, best.description)
        XCTAssertTrue(best.stdout.contains("Valid Loss: 0.3333"), best.description)
        let status = try ncf(["sweep", "status", id, "--store", store], in: elsewhere)
        XCTAssertEqual(status.exitCode, 0, status.description)
        XCTAssertFalse(status.stdout.contains("unreadable"), status.description)
        XCTAssertTrue(status.stdout.contains("grid, metric Valid Loss"), status.description)
        let report = try ncf(["sweep", "report", id, "--store", store, "-o", "r.html"], in: elsewhere)
        XCTAssertEqual(report.exitCode, 0, report.description)
        let html = try String(contentsOf: elsewhere.appendingPathComponent("r.html"), encoding: .utf8)
        XCTAssertFalse(html.contains("config unreadable"), "the report could not read the config")
    }
}
