import Foundation
import GRDB

// `ncf sweep check`: SQLite's own integrity check of the file, then ncf's checks of every row.

/// What `SQLiteRunStore.check()` found.
public struct StoreCheckReport: Sendable {
    /// `PRAGMA integrity_check`'s rows: `["ok"]` for a sound file, else SQLite's findings (at most 100).
    public var integrity: [String]
    /// Rows read per table, in the order sweeps, runs, metrics.
    public var rows: [(table: String, count: Int)]
    /// The first problems with rows (at most `SQLiteRunStore.problemLimit`).
    public var problems: [StoreRowProblem]
    /// How many row problems there were in all.
    public var problemCount: Int

    /// Whether the file and every row are as ncf writes them.
    public var isSound: Bool { integrity == ["ok"] && problemCount == 0 }
}

extension SQLiteRunStore {
    /// `PRAGMA integrity_check`: `["ok"]` for a sound file, else SQLite's list of problems.
    /// - Complexity: O(file size).
    public func integrityCheck() throws -> [String] {
        try reading { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Checks the whole store and lists what is wrong; never throws (an error is a finding).
    ///
    /// 1. `PRAGMA integrity_check`: the file's structure (pages, indexes, NOT NULL and CHECK constraints).
    /// 2. Every row of `sweeps`, `runs` and `metrics` is read as ncf reads it (types, known
    ///    states, times in range, run configs as JSON objects), and more: each sweep's config
    ///    loads, each run's summary is a JSON object, each run belongs to a sweep and each metric
    ///    to a run, a run has an end time exactly when it has ended, and a stale run is given back.
    /// - Complexity: O(file size); memory O(problems kept), rows are read one at a time.
    public func check() -> StoreCheckReport {
        var report = StoreCheckReport(integrity: [], rows: [], problems: [], problemCount: 0)
        func note(_ problem: StoreRowProblem) {
            report.problemCount += 1
            if report.problems.count < Self.problemLimit { report.problems.append(problem) }
        }
        do {
            report.integrity = try db.read { db in
                try Row.fetchAll(db, sql: "PRAGMA integrity_check").map { row in
                    (StoreRowReader.value(row, row.columnNames.first ?? "") as? String) ?? "an unreadable integrity_check row"
                }
            }
        } catch {
            report.integrity = ["integrity_check stopped: \((error as? DatabaseError)?.message ?? "\(error)")"]
        }
        if report.integrity.isEmpty { report.integrity = ["integrity_check returned nothing"] }

        /// Reads every row of `sql`, checking each with `body`; counts them.
        func scan(_ table: String, _ sql: String, _ body: (Row) throws(StoreRowProblem) -> Void) {
            var count = 0
            do {
                try db.read { db in
                    let rows = try Row.fetchCursor(db, sql: sql)
                    while let row = try rows.next() {
                        count += 1
                        do throws(StoreRowProblem) { try body(row) } catch { note(error) }
                    }
                }
            } catch {
                note(StoreRowProblem(table: table, row: "rows after the first \(count)", column: nil,
                                     detail: "could not be read (\((error as? DatabaseError)?.message ?? "\(error)"))"))
            }
            report.rows.append((table, count))
        }

        scan("sweeps", "SELECT \(sweepColumns) FROM sweeps ORDER BY rowid") { row throws(StoreRowProblem) in
            let sweep = try Self.sweep(from: row)
            do {
                _ = try SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id)
            } catch {
                let first = (error as? SweepError).map { "\($0)".split(separator: "\n").first.map(String.init) ?? "" } ?? "\(error)"
                let rowName = (StoreRowReader.value(row, "row_id") as? Int64).map { "row \($0)" } ?? "row ?"
                throw StoreRowProblem(table: "sweeps", row: rowName, column: "config", detail: "the sweep config does not load: \(first)")
            }
        }
        scan("runs", "SELECT \(runColumns), (SELECT count(*) FROM sweeps s WHERE s.id = runs.sweep_id) AS sweeps_found FROM runs ORDER BY id") { row throws(StoreRowProblem) in
            let run = try Self.run(from: row)
            let r = StoreRowReader(row: row, table: "runs", name: "row \(run.id)")
            if (StoreRowReader.value(row, "sweeps_found") as? Int64) == 0 {
                throw r.problem("sweep_id", "no sweep \(run.sweepID) in the store")
            }
            if let text = run.summary {
                guard case .map? = try? ParamValue.parseJSON(text) else {
                    throw r.problem("summary", "expected a JSON object, found \(StoreRowReader.describe(text))")
                }
            }
            if run.state.isFinished != (run.endedAt != nil) {
                throw r.problem("ended_at", run.state.isFinished ? "a \(run.state.rawValue) run without an end time" : "a \(run.state.rawValue) run with an end time")
            }
            if run.state == .stale && !run.givenBack { throw r.problem("given_back", "a stale run whose point was not given back") }
        }
        scan("metrics", "SELECT run_id, step, name, value, (SELECT count(*) FROM runs r WHERE r.id = metrics.run_id) AS runs_found FROM metrics ORDER BY run_id, step, name") { row throws(StoreRowProblem) in
            let r = StoreRowReader(row: row, table: "metrics", name: Self.metricRowName(row))
            _ = try r.int64("run_id")
            _ = try Self.metricPoint(from: row)
            if (StoreRowReader.value(row, "runs_found") as? Int64) == 0 { throw r.problem("run_id", "no such run in the store") }
        }
        return report
    }
}
