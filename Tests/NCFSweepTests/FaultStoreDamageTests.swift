import Foundation
import GRDB
import NCFKernels
import NCFTestSupport
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// Stores with values ncf cannot read, damaged pages, foreign files and odd `--store` values,
/// at the level of `SQLiteRunStore`: each problem is named (table, row, column), a writer
/// refuses, a reader shows the rest, nothing is initialised that ncf did not make, and a closed
/// store is one self-contained file.
final class FaultStoreDamageTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-store-damage")
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    /// A copy of the schema-1 asset (sweep `v1sweep0`, six runs with ids 1–6) whose columns may
    /// hold NULL: the NOT NULL constraints are taken out of the schema text, so a test can write
    /// what a damaged page could hold.
    static func looseCopy(of name: String = "store-v1.db", to path: String) throws {
        try FileManager.default.copyItem(at: FaultStoreTests.asset(name), to: URL(fileURLWithPath: path))
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: """
                PRAGMA writable_schema = ON;
                UPDATE sqlite_master SET sql = replace(sql, 'NOT NULL', '') WHERE name IN ('sweeps', 'runs');
                PRAGMA writable_schema = OFF;
                """)
        }
    }

    private func execute(_ sql: String, in path: String) throws {
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: sql)
        }
    }

    // MARK: - Values ncf cannot read

    /// Each bad value is named by table, row and column: a writer throws `badRow`; a reader
    /// returns the other rows and lists the bad one in `rowProblems`. None of them stops the process.
    func testEveryUnreadableValueIsNamedByTableRowAndColumn() throws {
        let cases: [(sql: String, named: String)] = [
            ("UPDATE runs SET started_at = 'yesterday' WHERE id = 3", #"runs row 3, column started_at: expected Unix seconds (a number), found TEXT "yesterday""#),
            ("UPDATE runs SET started_at = 1e300 WHERE id = 3", "runs row 3, column started_at: expected Unix seconds between 0 and 1e11"),
            ("UPDATE runs SET heartbeat_at = NULL WHERE id = 3", "runs row 3, column heartbeat_at: expected Unix seconds, found NULL"),
            ("UPDATE runs SET config = '{\"x\":' WHERE id = 3", "runs row 3, column config: expected the run's parameters as a JSON object"),
            ("UPDATE runs SET config = '[1]' WHERE id = 3", "runs row 3, column config"),
            ("UPDATE runs SET state = 'RUNNING' WHERE id = 3", "runs row 3, column state: expected one of"),
            ("UPDATE runs SET seed = -1 WHERE id = 3", "runs row 3, column seed: expected an integer from 0"),
            ("UPDATE runs SET seed = 'x' WHERE id = 3", #"runs row 3, column seed: expected an integer, found TEXT "x""#),
            ("UPDATE runs SET exit_code = 1e12 WHERE id = 3", "runs row 3, column exit_code"),
            ("UPDATE runs SET agent = x'00ff' WHERE id = 3", "runs row 3, column agent: expected text, found BLOB (2 bytes)"),
            ("UPDATE runs SET given_back = 7 WHERE id = 3", "runs row 3, column given_back"),
            ("UPDATE runs SET heartbeat_every = 'often' WHERE id = 3", "runs row 3, column heartbeat_every"),
        ]
        for (k, (sql, named)) in cases.enumerated() {
            let path = tmp.appendingPathComponent("bad-\(k).db").path
            try Self.looseCopy(to: path)
            try execute(sql, in: path)

            let reader = try SQLiteRunStore(path: path, access: .readOnly)
            XCTAssertEqual(reader.openCheck, ["ok"], sql)
            XCTAssertEqual(try reader.runs(sweepID: "v1sweep0").map(\.id), [1, 2, 4, 5, 6], "\(sql): the other runs are shown")
            XCTAssertEqual(reader.rowProblems.count, 1, sql)
            XCTAssertTrue(reader.rowProblems.first.first.map { "\($0)".contains(named) } ?? false, "\(sql): \(reader.rowProblems.first)")
            reader.close()

            let writer = try SQLiteRunStore(path: path, access: .write)
            XCTAssertThrowsError(try writer.runs(sweepID: "v1sweep0"), sql) { error in
                guard case .badRow(let p, let problem)? = error as? RunStoreError else { return XCTFail("\(sql): \(error)") }
                XCTAssertEqual(p, path)
                XCTAssertTrue("\(problem)".contains(named), "\(sql): \(problem)")
                XCTAssertTrue("\(error)".contains("ncf sweep check --store \(path)"), "\(error)")
            }
            let config = try SweepConfig.parse(yaml: FaultStoreTests.v1ConfigText, file: "v1.yaml", trainer: nil).config
            XCTAssertThrowsError(try writer.claimRun(ClaimRequest(sweepID: "v1sweep0", config: config, sampler: GridSampler(),
                                                                  agent: "a:1", heartbeatEvery: 1, now: Date())), "\(sql): no claim") { error in
                XCTAssertTrue("\(error)".contains(named), "\(error)")
            }
            XCTAssertEqual(writer.check().problems.map(\.description).filter { $0.contains(named) }.count, 1, sql)
        }
    }

    /// A bad sweeps row stops `sweep(id:)` with its name; `sweeps()` of a reader leaves it out.
    func testAnUnreadableSweepRowIsNamed() throws {
        let path = tmp.appendingPathComponent("sweep.db").path
        try Self.looseCopy(to: path)
        try execute("UPDATE sweeps SET created = 'noon', config = NULL", in: path)
        let reader = try SQLiteRunStore(path: path, access: .readOnly)
        XCTAssertEqual(try reader.sweeps(), [])
        XCTAssertTrue(reader.rowProblems.first.first?.description.hasPrefix("sweeps row 1, column config: expected text, found NULL") ?? false,
                      "\(reader.rowProblems)")
        XCTAssertThrowsError(try reader.sweep(id: "v1sweep0")) { error in
            XCTAssertTrue("\(error)".contains("sweeps row 1, column config"), "\(error)")
        }
    }

    // MARK: - Damaged files

    /// Copies with flipped bytes until `PRAGMA integrity_check` fails: such a store is refused for
    /// writing with a message saying what to do, opened for reading with its damage in
    /// `openCheck`, and `check()` reports it.
    func testADamagedStoreIsRefusedForWritingAndReadWithItsDamageListed() throws {
        let original = try Data(contentsOf: FaultStoreTests.asset("store-v1.db"))
        var rng = SplitMix64(seed: 3, stream: 0)
        var found = false
        for attempt in 0..<50 where !found {
            var bytes = original
            for _ in 0..<8 { bytes[4096 + rng.nextInt(below: bytes.count - 4096)] ^= 0xA5 }
            let path = tmp.appendingPathComponent("flipped-\(attempt).db").path
            try bytes.write(to: URL(fileURLWithPath: path))
            guard let reader = try? SQLiteRunStore(path: path, access: .readOnly), reader.openCheck != ["ok"] else { continue }
            found = true
            XCTAssertFalse(reader.check().isSound)
            reader.close()
            XCTAssertThrowsError(try SQLiteRunStore(path: path, access: .write)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("sweep store \(path) is damaged"), message)
                XCTAssertTrue(message.contains("ncf sweep check --store \(path)") && message.contains(".recover"), message)
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), bytes, "the damaged file was written")
        }
        XCTAssertTrue(found, "no flip damaged the store")
    }

    // MARK: - What ncf initialises

    /// An SQLite file without tables is not ncf's: refused untouched for every access; a
    /// read-only open of a missing path creates nothing.
    func testOnlyAFileNcfMakesItselfGetsASchema() throws {
        let blank = tmp.appendingPathComponent("blank.db").path
        try DatabaseQueue(path: blank).writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 7") }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: blank))
        for access in [SQLiteRunStore.Access.create, .write, .readOnly] {
            XCTAssertThrowsError(try SQLiteRunStore(path: blank, access: access)) { error in
                XCTAssertTrue("\(error)".contains("\(blank) is not an ncf sweep store (an SQLite database with no tables"), "\(error)")
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: blank)), bytes, "\(access)")
        }
        let missing = tmp.appendingPathComponent("missing.db").path
        XCTAssertThrowsError(try SQLiteRunStore(path: missing, access: .readOnly)) { error in
            XCTAssertEqual(error as? RunStoreError, .missingStore(path: missing))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), ["blank.db"])

        // A new store appears complete, and no temporary file is left beside it.
        let made = tmp.appendingPathComponent("made.db").path
        _ = try SQLiteRunStore(path: made, access: .create).createSweep(configText: "x", seed: 1, now: Date())
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: tmp.path)).filter { $0.contains(".new-") }, [])
        XCTAssertEqual(try SQLiteRunStore(path: made, access: .readOnly).sweeps().count, 1)
    }

    /// `file:` URIs and `scheme://` URLs are refused; `./file:x.db` is a file of that name.
    func testTheStorePathIsNeverAnSQLiteURI() throws {
        for value in ["file:foreign.db", "FILE:x.db?mode=rwc", "file:///tmp/x.db", "postgresql://u@host/db", "postgres://h/d", "mysql://h", ""] {
            XCTAssertThrowsError(try SQLiteRunStore(path: value, access: .create), value) { error in
                guard case .unsupportedLocation? = error as? RunStoreError else { return XCTFail("\(value): \(error)") }
                XCTAssertTrue("\(error)".contains("Hint:"), "\(error)")
            }
        }
        let literal = tmp.appendingPathComponent("file:x.db").path
        _ = try SQLiteRunStore(path: literal, access: .create)
        XCTAssertTrue(FileManager.default.fileExists(atPath: literal))
        XCTAssertEqual(SQLiteRunStore.urlScheme("dir/with://inside.db"), nil, "a path with :// after a slash is a path")
    }

    // MARK: - One file after close

    /// `close()` folds the write-ahead log into the store file: a copy of the file alone holds
    /// everything, and reading the copy changes nothing in it.
    func testClosingFoldsTheLogIntoTheFile() throws {
        let path = tmp.appendingPathComponent("w.db").path
        let store = try SQLiteRunStore(path: path, access: .create)
        let sweep = try store.createSweep(configText: FaultStoreTests.v1ConfigText, seed: 3, now: Date())
        store.close()
        store.close()
        var info = stat()
        if stat(path + "-wal", &info) == 0 { XCTAssertEqual(info.st_size, 0) }
        let copy = tmp.appendingPathComponent("copy.db").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        let reader = try SQLiteRunStore(path: copy, access: .readOnly)
        XCTAssertEqual(try reader.sweeps().map(\.id), [sweep.id])
        XCTAssertThrowsError(try reader.createSweep(configText: "", seed: 0, now: Date()), "a reader does not write")
        reader.close()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), bytes)
    }

    // MARK: - Stored configs

    /// A stored config is read without looking for its `program` on disk (that depends on the
    /// working directory); loading it to run trials still looks (and warns when it is absent).
    func testAStoredConfigIsReadWithoutLookingForItsProgram() throws {
        let yaml = "method: grid\nprogram: not-here/train.sh\nmetric: {name: Valid Loss}\nparameters:\n  x: {values: [1]}\n"
        XCTAssertEqual(try SweepConfig.parseStored(yaml: yaml, sweepID: "abc").metric?.name, "Valid Loss")
        XCTAssertEqual(SweepConfig.check(yaml: yaml, file: "s", trainer: nil, checksProgram: false).warnings, [])
        let looked = SweepConfig.check(yaml: yaml, file: "s.yaml", trainer: nil).warnings
        XCTAssertTrue(looked.contains { $0.message.contains("program `not-here/train.sh` not found") }, "\(looked)")
    }
}
