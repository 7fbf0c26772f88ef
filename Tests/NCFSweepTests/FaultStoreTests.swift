import Foundation
import GRDB
import NCFKernels
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// Store files that are old, damaged or foreign: an old schema opens and keeps its data; a
/// truncated, empty, foreign or non-SQLite file is refused with a message naming it, and is never
/// re-created or changed.
final class FaultStoreTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-fault-store")
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    /// `Tests/NCFSweepTests/Assets/NAME`.
    static func asset(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Assets").appendingPathComponent(name)
    }

    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static let v1ConfigText = """
        method: grid
        metric:
          name: Valid Loss
        parameters:
          x:
            values: [0, 1, 2, 3, 4, 5]
        """

    /// Writes the schema-1 asset `store-v1.db` (run once, with the ncf whose schema is version 1,
    /// by `NCF_WRITE_STORE_ASSET=/path/store-v1.db swift test --filter testWriteSchemaV1Asset`).
    ///
    /// Its sweep `v1sweep0` (seed 7) has six runs, one per state a run can end in plus one running:
    /// x=0 finished (3 epochs, a summary), x=1 failed (exit 3), x=2 stopped and given back
    /// (Ctrl-C), x=3 stale, x=4 stopped by hyperband, x=5 running.
    func testWriteSchemaV1Asset() throws {
        guard let target = ProcessInfo.processInfo.environment["NCF_WRITE_STORE_ASSET"] else {
            throw XCTSkip("writes the committed store asset only when NCF_WRITE_STORE_ASSET=PATH is set")
        }
        let path = tmp.appendingPathComponent("store-v1.db").path
        do {
            let store = try SQLiteRunStore(path: path, create: true)
            _ = try store.createSweep(configText: Self.v1ConfigText, seed: 7, now: Self.t0)
            // A fixed id, so the test can name it.
            let db = try DatabaseQueue(path: path)
            try db.write { try $0.execute(sql: "UPDATE sweeps SET id = 'v1sweep0'") }
            let sweep = try store.sweep(id: "v1sweep0")
            let config = try SweepConfig.parse(yaml: Self.v1ConfigText, file: "v1.yaml", trainer: nil).config
            var runs: [StoredRun] = []
            for k in 0..<6 {
                guard case .claimed(let run) = try store.claimRun(ClaimRequest(
                    sweepID: sweep.id, config: config, sampler: GridSampler(), agent: "host:\(100 + k)", heartbeatEvery: 10,
                    now: Self.t0.addingTimeInterval(Double(k)))) else { return XCTFail("no claim") }
                runs.append(run)
                for epoch in 1...3 where k != 5 || epoch == 1 {
                    try store.appendMetrics(runID: run.id, step: epoch, values: [
                        "epoch": Double(epoch), "Valid Loss": Double(k) + 1 / Double(epoch), "Train Loss": k == 1 && epoch == 3 ? nil : 0.5,
                    ])
                }
            }
            let end = Self.t0.addingTimeInterval(100)
            _ = try store.finishRun(id: runs[0].id, state: .finished, reason: nil, exitCode: 0,
                                    summary: #"{"Test RMSE":0.9,"protocol":"fake"}"#, givenBack: false, at: end)
            _ = try store.finishRun(id: runs[1].id, state: .failed, reason: "exit code 3: Error: boom", exitCode: 3,
                                    summary: nil, givenBack: false, at: end)
            _ = try store.finishRun(id: runs[2].id, state: .stopped, reason: "interrupted (Ctrl-C) after 3 epochs", exitCode: 130,
                                    summary: nil, givenBack: true, at: end)
            _ = try store.heartbeat(runIDs: [runs[4].id, runs[5].id], at: end)
            _ = try store.markStale(sweepID: sweep.id, grace: 60, now: end)
            _ = try store.finishRun(id: runs[4].id, state: .stopped, reason: "early-terminated by hyperband after 3 epochs",
                                    exitCode: 143, summary: nil, givenBack: false, at: end)
        }
        // Every page in the main file, no -wal beside it.
        try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: path, toPath: target)
    }

    // MARK: - An older schema

    private func copyOfAsset(_ name: String) throws -> String {
        let source = Self.asset(name)
        guard FileManager.default.fileExists(atPath: source.path) else {
            XCTFail("missing test asset \(source.path)")
            throw XCTSkip("missing asset")
        }
        let path = tmp.appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
        return path
    }

    /// The schema-1 store opens (and is migrated to the current schema) with every row intact,
    /// and a new agent can go on with its sweep.
    func testSchemaV1StoreOpensAndMigratesWithItsDataIntact() throws {
        let path = try copyOfAsset("store-v1.db")
        let store = try SQLiteRunStore(path: path, create: false)
        XCTAssertEqual(try store.integrityCheck(), ["ok"])

        let sweep = try store.sweep(id: "v1sweep0")
        XCTAssertEqual(sweep.configText, Self.v1ConfigText)
        XCTAssertEqual(sweep.seed, 7)
        XCTAssertEqual(sweep.created, Self.t0)
        let runs = try store.runs(sweepID: sweep.id)
        XCTAssertEqual(runs.map { $0.config["x"] }, (0..<6).map { ParamValue.int($0) })
        XCTAssertEqual(runs.map(\.state), [.finished, .failed, .stopped, .stale, .stopped, .running])
        XCTAssertEqual(runs.map(\.givenBack), [false, false, true, true, false, false])
        XCTAssertEqual(runs.map(\.exitCode), [0, 3, 130, nil, 143, nil])
        XCTAssertEqual(runs[0].summary, #"{"Test RMSE":0.9,"protocol":"fake"}"#)
        XCTAssertEqual(runs[1].reason, "exit code 3: Error: boom")
        XCTAssertEqual(runs[3].reason, "no heartbeat from agent host:103 for 97 s; its point was given back")
        XCTAssertEqual(runs.map(\.agent), (0..<6).map { "host:\(100 + $0)" })
        XCTAssertEqual(runs[0].seed, ClaimPolicy.runSeed(sweepSeed: 7, config: ["x": .int(0)]))
        XCTAssertEqual(runs[2].startedAt, Self.t0.addingTimeInterval(2))
        XCTAssertEqual(runs[0].endedAt, Self.t0.addingTimeInterval(100))
        XCTAssertEqual(try store.metrics(runID: runs[1].id).count, 9)
        XCTAssertEqual(try store.metrics(runID: runs[1].id).first { $0.step == 3 && $0.name == "Train Loss" }?.value, .some(nil),
                       "a non-finite value stays NULL")
        XCTAssertEqual(try store.histories(sweepID: sweep.id, metric: "Valid Loss")[runs[4].id], [5, 4.5, 4 + 1.0 / 3])
        XCTAssertEqual(try store.bestRun(sweepID: sweep.id, metric: .init(name: "Valid Loss"))?.run.id, runs[0].id)

        // Every migration the current ncf knows is applied.
        let applied = try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(applied, ["v1", "v2"], "update this list (and keep the v1 asset) when the schema gains a migration")
        // v2: a v1 sweep has no recorded data, its runs no override, and the new states are allowed.
        XCTAssertNil(try store.sweep(id: sweep.id).data)
        XCTAssertEqual(try store.runs(sweepID: sweep.id).map(\.dataOverride), [nil, nil, nil, nil, nil, nil])
        XCTAssertEqual(try store.setState(sweepID: sweep.id, .paused), sweep.state)
        XCTAssertEqual(try store.setState(sweepID: sweep.id, sweep.state), .paused)

        // The sweep goes on: the given-back points 2 and 3 are claimed again, then it is exhausted.
        let config = try SweepConfig.parse(yaml: Self.v1ConfigText, file: "v1.yaml", trainer: nil).config
        var again: [ParamValue?] = []
        while case .claimed(let run) = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: GridSampler(),
                                                                      agent: "new:1", heartbeatEvery: 1, now: Date())) {
            again.append(run.config["x"])
        }
        XCTAssertEqual(Set(again.compactMap { $0 }), [.int(2), .int(3)])
        XCTAssertEqual(try store.integrityCheck(), ["ok"])
    }

    // MARK: - Files that are no store

    /// Each bad file is refused by both `create: true` and `create: false`, with a message naming
    /// it, and is left byte for byte as it was (nothing is re-created over it).
    func testTruncatedEmptyForeignAndNonSQLiteFilesAreRefusedAndLeftAlone() throws {
        let store = try Data(contentsOf: Self.asset("store-v1.db"))
        var rng = SplitMix64(seed: 6, stream: 0)
        let random = Data((0..<5000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let foreignPath = tmp.appendingPathComponent("foreign-source.db").path
        try DatabaseQueue(path: foreignPath).write { db in
            try db.execute(sql: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a')")
        }
        let foreign = try Data(contentsOf: URL(fileURLWithPath: foreignPath))
        let foreignWALPath = tmp.appendingPathComponent("foreign-wal-source.db").path
        try DatabaseQueue(path: foreignWALPath).writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        }
        let foreignWAL = try Data(contentsOf: URL(fileURLWithPath: foreignWALPath))
        // (name, bytes, a fragment of the message, whether the file must stay byte for byte the same)
        let cases: [(name: String, bytes: Data, mentions: String, untouched: Bool)] = [
            ("truncated-half", store.prefix(store.count / 2), "truncated", true),
            ("truncated-page", store.prefix(4096), "truncated", true),
            ("truncated-header", store.prefix(50), "truncated", true),
            ("empty", Data(), "empty (0 bytes)", true),
            ("text", Data(String(repeating: "not a database\n", count: 100).utf8), "not an SQLite database", true),
            ("tiny-text", Data("hello\n".utf8), "not an SQLite database", true),
            ("random", random, "not an SQLite database", true),
            ("foreign", foreign, "other tables: users", true),
            // WAL-mode files are opened for writing before their tables can be read (the SQLite
            // library writes one empty transaction then), so only the refusal is checked.
            ("foreign-wal", foreignWAL, "other tables: notes", false),
            ("zeroed-middle", { var d = store; d.replaceSubrange(4096..<12288, with: Data(count: 8192)); return d }(), "damaged", false),
        ]
        for (name, bytes, mentions, untouched) in cases {
            for create in [false, true] {
                let path = tmp.appendingPathComponent("\(name)-\(create).db").path
                try bytes.write(to: URL(fileURLWithPath: path))
                XCTAssertThrowsError(try SQLiteRunStore(path: path, create: create).sweeps(), "\(name) create \(create)") { error in
                    let message = "\(error)"
                    XCTAssertTrue(error is RunStoreError, "\(name): \(type(of: error)) \(message)")
                    XCTAssertTrue(message.contains(path), "\(name): the message names the file: \(message)")
                    XCTAssertTrue(message.contains(mentions), "\(name): \(message)")
                    XCTAssertTrue(message.contains("Hint:"), "\(name): \(message)")
                }
                guard untouched else { continue }
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), bytes, "\(name) create \(create): the file is unchanged")
                for suffix in ["-wal", "-shm"] {
                    let side = path + suffix
                    if let extra = try? Data(contentsOf: URL(fileURLWithPath: side)), !extra.isEmpty {
                        XCTFail("\(name) create \(create): \(side) was written (\(extra.count) bytes)")
                    }
                }
            }
        }

        let dir = tmp.appendingPathComponent("a-directory.db")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        XCTAssertThrowsError(try SQLiteRunStore(path: dir.path, create: true)) { error in
            XCTAssertTrue("\(error)".contains("\(dir.path) is not an ncf sweep store (it is a directory)"), "\(error)")
        }
    }

    // MARK: - Late results

    /// A result for a run already marked stale is kept (summary, exit code, a note on the reason),
    /// the state stays stale and the point stays given back; in both stores.
    func testALateResultForAStaleRunIsKept() throws {
        let path = tmp.appendingPathComponent("late.db").path
        for store in [InMemoryRunStore() as any RunStore, try SQLiteRunStore(path: path, create: true)] {
            let name = store is InMemoryRunStore ? "in-memory" : "sqlite"
            let sweep = try store.createSweep(configText: "", seed: 1, now: Self.t0)
            let config = try SweepConfig.parse(yaml: Self.v1ConfigText, file: "v1.yaml", trainer: nil).config
            guard case .claimed(let run) = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: GridSampler(),
                                                                          agent: "slow:1", heartbeatEvery: 1, now: Self.t0)) else {
                return XCTFail(name)
            }
            XCTAssertEqual(try store.markStale(sweepID: sweep.id, grace: 5, now: Self.t0.addingTimeInterval(10)), [run.id], name)
            let late = try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: #"{"Test RMSE":1}"#,
                                           givenBack: false, at: Self.t0.addingTimeInterval(20))
            XCTAssertFalse(late, "\(name): the state was not recorded")
            let stored = try XCTUnwrap(store.runs(sweepID: sweep.id).first, name)
            XCTAssertEqual(stored.state, .stale, name)
            XCTAssertTrue(stored.givenBack, name)
            XCTAssertFalse(stored.counts, name)
            XCTAssertEqual(stored.summary, #"{"Test RMSE":1}"#, "\(name): the late summary is kept")
            XCTAssertEqual(stored.exitCode, 0, name)
            XCTAssertEqual(stored.reason, "no heartbeat from agent slow:1 for 10 s; its point was given back; "
                           + "late result: finished (exit code 0) at 2023-11-14 22:13:40 UTC", name)
            // A second late word (it cannot happen from one agent, but must not crash) appends again.
            XCTAssertFalse(try store.finishRun(id: run.id, state: .failed, reason: "exit code 1: x", exitCode: 1, summary: nil,
                                               givenBack: false, at: Self.t0), name)
            XCTAssertEqual(try store.runs(sweepID: sweep.id).first?.summary, #"{"Test RMSE":1}"#, "\(name): a nil summary keeps the old one")
            // A finished run is never changed by a late word.
            guard case .claimed(let other) = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: GridSampler(),
                                                                            agent: "b:2", heartbeatEvery: 1, now: Self.t0)) else {
                return XCTFail(name)
            }
            XCTAssertTrue(try store.finishRun(id: other.id, state: .finished, reason: nil, exitCode: 0, summary: "{}", givenBack: false, at: Self.t0))
            XCTAssertFalse(try store.finishRun(id: other.id, state: .failed, reason: "x", exitCode: 9, summary: "{\"a\":1}", givenBack: false, at: Self.t0))
            let after = try XCTUnwrap(store.runs(sweepID: sweep.id).first { $0.id == other.id })
            XCTAssertEqual([after.state.rawValue, after.summary, after.reason ?? "nil"], ["finished", "{}", "nil"], name)
        }
    }
}
