import Foundation
import GRDB
import NCFKernels
import NCFTestSupport
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// Seeded random damage to a small finished store (the schema-1 asset: one sweep, six runs in
/// every state, their metrics), then every path that opens a store: the readers (`sweep status`,
/// `best`, `list`, the report model and page, `check`) and the writer (open, mark stale, claim,
/// heartbeat, log, finish). Nothing traps or crashes; every refusal is a `RunStoreError` whose
/// message ends in a hint; a writer never opens a file whose `PRAGMA integrity_check` fails.
///
/// Damage: bytes flipped anywhere in the file (the header too), the file cut short, or 1–3 SQL
/// updates writing NULLs, wrong types, out-of-range numbers and times, bad JSON run configs and
/// summaries, bad YAML sweep configs, unknown states, and deleted rows (orphans).
///
/// Iterations: `NCF_FUZZ_ITERATIONS / 20` (default 50, about 3 s: each builds a report).
final class StoreFuzzTests: XCTestCase {
    static var iterations: Int {
        let n = ProcessInfo.processInfo.environment["NCF_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1000
        return max(1, n / 20)
    }

    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory(prefix: "ncf-store-fuzz")
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    /// Values a damaged row may hold, as SQL literals.
    static let badValues = [
        "NULL", "'yesterday'", "''", "x'00ff10'", "-1", "0", "1.5", "1e300", "-1e300", "1e999", "9223372036854775807",
        "-9223372036854775808", "'{'", "'[]'", "'{\"x\":'", "'null'", "'{\"x\":1e999}'", "'{\"epochs\":1e300,\"x\":2}'",
        "'RUNNING'", "'stale'", "'finished'", "'v1sweep0'", "'method: ['", "'method: grid'", "'\u{1}\u{7f}'",
    ]

    static let columns: [(table: String, names: [String])] = [
        ("sweeps", ["id", "config", "seed", "state", "created"]),
        ("runs", ["sweep_id", "state", "config", "seed", "reason", "exit_code", "agent", "heartbeat_every", "started_at",
                  "ended_at", "heartbeat_at", "given_back", "summary"]),
        ("metrics", ["run_id", "step", "name", "value"]),
    ]

    /// Writes a damaged copy of `loose` to `path`.
    private func damage(_ loose: Data, to path: String, rng: inout SplitMix64) throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        switch rng.nextInt(below: 10) {
        case 0...2:
            var bytes = loose
            for _ in 0..<(1 + rng.nextInt(below: 24)) {
                let at = rng.nextInt(below: 8) == 0 ? rng.nextInt(below: 100) : rng.nextInt(below: bytes.count)
                bytes[at] ^= UInt8(1 + rng.nextInt(below: 255))
            }
            try bytes.write(to: URL(fileURLWithPath: path))
        case 3:
            try loose.prefix(rng.nextInt(below: loose.count)).write(to: URL(fileURLWithPath: path))
        default:
            try loose.write(to: URL(fileURLWithPath: path))
            var statements: [String] = []
            for _ in 0..<(1 + rng.nextInt(below: 3)) {
                let (table, names) = Self.columns[rng.nextInt(below: Self.columns.count)]
                if rng.nextInt(below: 8) == 0 {
                    statements.append("DELETE FROM \(table) WHERE rowid IN (SELECT rowid FROM \(table) ORDER BY random() LIMIT 1)")
                    continue
                }
                let column = names[rng.nextInt(below: names.count)]
                let value = Self.badValues[rng.nextInt(below: Self.badValues.count)]
                let which = table == "metrics" ? "run_id = \(1 + rng.nextInt(below: 6)) AND step = \(1 + rng.nextInt(below: 3))"
                                               : "rowid = \(1 + rng.nextInt(below: table == "runs" ? 6 : 1))"
                statements.append("UPDATE OR IGNORE \(table) SET \(column) = \(value) WHERE \(which)")
            }
            try DatabaseQueue(path: path).writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF")
                for sql in statements { try? db.execute(sql: sql) }
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
    }

    /// Asserts `error` is a refusal with a message: a `RunStoreError` (or `ReportError`) whose
    /// text ends in a hint.
    private func isMessage(_ error: Error, _ context: String) {
        let text = "\(error)"
        XCTAssertTrue(error is RunStoreError || error is ReportError, "\(context): \(type(of: error)): \(text)")
        XCTAssertTrue(text.contains("Hint:"), "\(context): no hint: \(text)")
    }

    /// Everything the read-only commands do with a store.
    private func read(_ path: String, _ context: String) {
        let store: SQLiteRunStore
        do { store = try SQLiteRunStore(path: path, access: .readOnly) } catch { return isMessage(error, "\(context) open") }
        defer { store.close() }
        let metric = SweepConfig.Metric(name: "Valid Loss")
        do {
            var ids = Set(try store.sweeps().map(\.id))
            ids.insert("v1sweep0")
            for id in ids.sorted() {
                do {
                    let sweep = try store.sweep(id: id)
                    _ = try? SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id)
                    let runs = try store.runs(sweepID: id)
                    for run in runs {
                        _ = RunProgress(run: run, points: try store.metrics(runID: run.id), metric: metric, now: Date())
                    }
                    _ = try store.histories(sweepID: id, metric: metric.name)
                    _ = try store.bestRun(sweepID: id, metric: metric)
                    let model = try ReportModel.build(store: store, sweepID: id)
                    _ = SweepReport.html(model, storePath: path)
                } catch {
                    isMessage(error, "\(context) sweep \(id)")
                }
            }
        } catch {
            isMessage(error, "\(context) sweeps")
        }
        let report = store.check()
        if store.openCheck != ["ok"] { XCTAssertFalse(report.isSound, "\(context): check() missed the damage integrity_check found") }
        for problem in store.rowProblems.first { XCTAssertFalse(problem.table.isEmpty || problem.detail.isEmpty, context) }
    }

    /// Everything an agent does with a store.
    private func write(_ path: String, _ context: String, quickCheckPassed: Bool) {
        let store: SQLiteRunStore
        do { store = try SQLiteRunStore(path: path, access: .write) } catch { return isMessage(error, "\(context) open for writing") }
        defer { store.close() }
        XCTAssertTrue(quickCheckPassed, "\(context): a store whose integrity_check fails was opened for writing")
        do {
            let sweep = try store.sweep(id: "v1sweep0")
            let config = try (try? SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id))
                ?? SweepConfig.parseStored(yaml: FaultStoreTests.v1ConfigText, sweepID: sweep.id)
            _ = try store.markStale(sweepID: sweep.id, grace: 60, now: Date())
            let outcome = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: config.sampler, agent: "fuzz:1",
                                                          heartbeatEvery: 1, now: Date()))
            guard case .claimed(let run) = outcome else { return }
            _ = try store.heartbeat(runIDs: [run.id], at: Date())
            try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": 0.5, "epoch": 1])
            _ = try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: "{}", givenBack: false, at: Date())
        } catch {
            isMessage(error, "\(context) agent")
        }
    }

    /// Whether SQLite's `integrity_check` passes, through a connection of its own (false when the
    /// file cannot even be opened as a database).
    private func quickCheckPasses(_ path: String) -> Bool {
        var config = Configuration()
        config.readonly = true
        guard let queue = try? DatabaseQueue(path: path, configuration: config) else { return false }
        defer { try? queue.close() }
        return (try? queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }) == ["ok"]
    }

    func testDamagedStoresNeverCrashAndEveryRefusalIsAMessage() throws {
        let loosePath = tmp.appendingPathComponent("loose.db").path
        try FaultStoreDamageTests.looseCopy(to: loosePath)
        try DatabaseQueue(path: loosePath).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let loose = try Data(contentsOf: URL(fileURLWithPath: loosePath))
        read(loosePath, "the undamaged store")

        var rng = SplitMix64(seed: 2024, stream: 0)
        let path = tmp.appendingPathComponent("fuzz.db").path
        var refusedForWriting = 0, withProblems = 0 // damaged files; files read with a warning
        for iteration in 0..<Self.iterations {
            try damage(loose, to: path, rng: &rng)
            let context = "iteration \(iteration)"
            read(path, context)
            if let reader = try? SQLiteRunStore(path: path, access: .readOnly) {
                _ = try? reader.runs(sweepID: "v1sweep0")
                if reader.rowProblems.count > 0 || reader.openCheck != ["ok"] { withProblems += 1 }
                reader.close()
            }
            let sound = quickCheckPasses(path)
            if !sound { refusedForWriting += 1 }
            write(path, context, quickCheckPassed: sound)
        }
        print("store fuzz: \(Self.iterations) damaged stores, \(refusedForWriting) failing integrity_check, \(withProblems) read with a warning")
        // The damage reached both kinds of outcome (so the pass tests something).
        if Self.iterations >= 40 {
            XCTAssertGreaterThan(refusedForWriting, 0)
            XCTAssertGreaterThan(withProblems, 0)
        }
    }
}
