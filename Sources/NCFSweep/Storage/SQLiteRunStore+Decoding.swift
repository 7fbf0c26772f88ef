import Foundation
import GRDB

// Reading store rows into values, with every conversion checked.
//
// A store file is data: `sqlite3` can write anything into it, and a damaged page can turn a
// number into text or NULL. GRDB's `row["column"]` subscripts stop the process on such a value
// (they `try!` the conversion), so no store code uses them. Each value is read here through
// `StoreRowReader`, which throws a `StoreRowProblem` naming the table, the row and the column, and
// saying what was expected and what was found.

/// A value in a store row that ncf cannot use: where it is and what is wrong with it.
public struct StoreRowProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// `sweeps`, `runs` or `metrics`.
    public var table: String
    /// How to find the row with `sqlite3`: `row 3` (its rowid), or the primary key of a
    /// `metrics` row (`run_id 3, step 2, name "Valid Loss"`).
    public var row: String
    /// The column, or nil when the problem is the row as a whole.
    public var column: String?
    /// What was expected and what was found.
    public var detail: String

    public init(table: String, row: String, column: String?, detail: String) {
        self.table = table
        self.row = row
        self.column = column
        self.detail = detail
    }

    /// `runs row 3, column started_at: expected Unix seconds (a number), found TEXT "yesterday"`.
    public var description: String {
        "\(table) \(row)\(column.map { ", column \($0)" } ?? ""): \(detail)"
    }
}

/// Checked reads of one row's columns; each failure is a `StoreRowProblem` naming the column.
struct StoreRowReader: StoreRowReading {
    let row: Row
    let table: String
    /// `row 3`, or a `metrics` key.
    let name: String

    func problem(_ column: String?, _ detail: String) -> StoreRowProblem {
        StoreRowProblem(table: table, row: name, column: column, detail: detail)
    }

    /// The column's value as SQLite holds it: `Int64`, `Double`, `String`, `Data`, or nil for
    /// NULL or a missing column (this subscript never stops the process).
    static func value(_ row: Row, _ column: String) -> (any DatabaseValueConvertible)? {
        let value: (any DatabaseValueConvertible)? = row[column]
        return value
    }

    private func raw(_ column: String) throws(StoreRowProblem) -> (any DatabaseValueConvertible)? {
        guard row.hasColumn(column) else { throw problem(column, "the column is missing") }
        return Self.value(row, column)
    }

    /// `NULL`, `INTEGER 5`, `REAL 1.5`, `TEXT "abc"` (cut at 40 characters), `BLOB (12 bytes)`.
    static func describe(_ value: (any DatabaseValueConvertible)?) -> String {
        switch value {
        case nil: return "NULL"
        case let i as Int64: return "INTEGER \(i)"
        case let d as Double: return "REAL \(d)"
        case let s as String:
            let cut = s.count > 40 ? String(s.prefix(40)) + "…" : s
            return "TEXT \"\(cut.unicodeScalars.map { $0.value < 32 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())\""
        case let b as Data: return "BLOB (\(b.count) bytes)"
        default: return "a value of type \(type(of: value!))"
        }
    }

    func optionalString(_ column: String) throws(StoreRowProblem) -> String? {
        let value = try raw(column)
        switch value {
        case nil: return nil
        case let s as String: return s
        default: throw problem(column, "expected text, found \(Self.describe(value))")
        }
    }

    /// An integer in `range` (a whole REAL is taken too, as SQLite compares them equal).
    func optionalInt64(_ column: String, range: ClosedRange<Int64>) throws(StoreRowProblem) -> Int64? {
        let value = try raw(column)
        let i: Int64
        switch value {
        case nil: return nil
        case let v as Int64: i = v
        case let d as Double:
            guard let v = Int64(exactly: d) else { throw problem(column, "expected an integer, found \(Self.describe(value))") }
            i = v
        default: throw problem(column, "expected an integer, found \(Self.describe(value))")
        }
        guard range.contains(i) else {
            throw problem(column, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(i)")
        }
        return i
    }

    /// A finite number (an INTEGER is taken as its value).
    func optionalDouble(_ column: String, what: String) throws(StoreRowProblem) -> Double? {
        let value = try raw(column)
        switch value {
        case nil: return nil
        case let d as Double:
            guard d.isFinite else { throw problem(column, "expected \(what), found \(Self.describe(value))") }
            return d
        case let i as Int64: return Double(i)
        default: throw problem(column, "expected \(what), found \(Self.describe(value))")
        }
    }

    func bool(_ column: String) throws(StoreRowProblem) -> Bool {
        try int64(column, range: 0...1) == 1
    }

    func describe(text: String) -> String { Self.describe(text) }
}

// MARK: - The three tables

extension SQLiteRunStore {
    /// The columns `sweep(from:)` reads, for `SELECT`.
    /// The columns `sweep(from:)` reads, for `SELECT` (a v1 store has no data columns).
    var sweepColumns: String {
        "rowid AS row_id, id, config, seed, state, created, "
            + (hasV2Columns ? "data_path, data_absolute, data_size, data_fingerprint"
                : "NULL AS data_path, NULL AS data_absolute, NULL AS data_size, NULL AS data_fingerprint")
    }
    /// The columns `run(from:)` reads, for `SELECT` (a v1 store has no `data_override`).
    var runColumns: String {
        "id, sweep_id, state, config, seed, reason, exit_code, agent, heartbeat_every, started_at, ended_at, "
            + "heartbeat_at, given_back, summary, " + (hasV2Columns ? "data_override" : "NULL AS data_override")
    }

    /// A `sweeps` row (selected with `sweepColumns`) as a record.
    static func sweep(from row: Row) throws(StoreRowProblem) -> SweepRecord {
        let rowID = StoreRowReader.value(row, "row_id") as? Int64
        return try StoreRowReader(row: row, table: "sweeps", name: rowID.map { "row \($0)" } ?? "row ?").sweepRecord()
    }

    /// A `runs` row (selected with `runColumns`) as a record. Its config must be a JSON object.
    static func run(from row: Row) throws(StoreRowProblem) -> StoredRun {
        let rowID = StoreRowReader.value(row, "id") as? Int64
        return try StoreRowReader(row: row, table: "runs", name: rowID.map { "row \($0)" } ?? "row ?").storedRun()
    }

    /// The name of a `metrics` row by its primary key, as far as it can be read.
    static func metricRowName(_ row: Row) -> String {
        let key = ["run_id", "step", "name"].map { c in "\(c) \(StoreRowReader.describe(StoreRowReader.value(row, c)))" }
        return "row (" + key.joined(separator: ", ").replacingOccurrences(of: "INTEGER ", with: "") + ")"
    }

    /// The steps a store may hold: 1-based numbers of a trial's JSON lines. A larger one is
    /// damage (and would overflow the integer axes of the learning curves).
    static let stepRange: ClosedRange<Int64> = 1...1_000_000_000

    /// A `metrics` row (`step, name, value`) as a point; a non-finite REAL reads as nil (the
    /// store's spelling of NaN and ±inf is NULL, but `sqlite3` can write `1e999`).
    static func metricPoint(from row: Row) throws(StoreRowProblem) -> MetricPoint {
        let r = StoreRowReader(row: row, table: "metrics", name: metricRowName(row))
        return MetricPoint(step: Int(try r.int64("step", range: stepRange)), name: try r.string("name"), value: try metricValue(r))
    }

    /// `value`: a number, or nil for NULL and non-finite REALs.
    static func metricValue(_ r: StoreRowReader) throws(StoreRowProblem) -> Double? {
        if let d = StoreRowReader.value(r.row, "value") as? Double, !d.isFinite { return nil }
        return try r.optionalDouble("value")
    }
}
