import Foundation

// Reading the PostgreSQL store's rows into values, every conversion checked, as the SQLite
// store's (`StoreRowReader`): anyone with `psql` can write a NULL or a nonsense value into a
// column the schema leaves open (`reason`) or loosen a constraint, and such a value must stop the
// store with a message naming the table, the row and the column rather than read as 0, "" or
// `failed` and quietly decide a claim.

/// Checked reads of one row of a PostgreSQL result (values in PostgreSQL's text output); each
/// failure is a `StoreRowProblem` naming the table, the row and the column.
struct PGRowReader: StoreRowReading {
    let row: PGRow
    let table: String
    /// `id 3`, `id "abc12345"`, or a `metrics` key.
    let name: String

    func problem(_ column: String?, _ detail: String) -> StoreRowProblem {
        StoreRowProblem(table: table, row: name, column: column, detail: detail)
    }

    /// `NULL`, or the text cut at 40 characters, control characters escaped.
    static func describe(_ value: String?) -> String {
        guard let value else { return "NULL" }
        let cut = value.count > 40 ? String(value.prefix(40)) + "…" : value
        return "\"" + cut.unicodeScalars.map { $0.value < 32 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }

    private func raw(_ column: String) throws(StoreRowProblem) -> String? {
        guard let value = row.value(column) else { throw problem(column, "the column is missing") }
        return value
    }

    func optionalString(_ column: String) throws(StoreRowProblem) -> String? { try raw(column) }

    func optionalInt64(_ column: String, range: ClosedRange<Int64>) throws(StoreRowProblem) -> Int64? {
        guard let text = try raw(column) else { return nil }
        guard let i = Int64(text) else { throw problem(column, "expected an integer, found \(Self.describe(text))") }
        guard range.contains(i) else {
            throw problem(column, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(i)")
        }
        return i
    }

    /// A finite number.
    func optionalDouble(_ column: String, what: String) throws(StoreRowProblem) -> Double? {
        guard let text = try raw(column) else { return nil }
        guard let d = Double(text), d.isFinite else { throw problem(column, "expected \(what), found \(Self.describe(text))") }
        return d
    }

    func bool(_ column: String) throws(StoreRowProblem) -> Bool {
        switch try raw(column) {
        case "t"?, "true"?: return true
        case "f"?, "false"?: return false
        case let other: throw problem(column, "expected a boolean, found \(Self.describe(other))")
        }
    }

    func describe(text: String) -> String { Self.describe(text) }
}

extension PostgreSQLRunStore {
    /// A `sweeps` row (`SELECT *`) as a record.
    static func sweep(from row: PGRow) throws(StoreRowProblem) -> SweepRecord {
        try PGRowReader(row: row, table: "sweeps", name: "id \(PGRowReader.describe(row.value("id") ?? nil))").sweepRecord()
    }

    /// A `runs` row (`SELECT *`) as a record. Its config must be a JSON object.
    static func run(from row: PGRow) throws(StoreRowProblem) -> StoredRun {
        try PGRowReader(row: row, table: "runs", name: "id \((row.value("id") ?? nil) ?? "NULL")").storedRun()
    }

    /// A `metrics` row (`run_id, step, name, value`) as a point. PostgreSQL's `NaN` and
    /// `Infinity` read as nil, as NULL does (the store writes non-finite values as NULL).
    static func metricPoint(from row: PGRow) throws(StoreRowProblem) -> MetricPoint {
        try metricRow(from: row).point
    }

    /// A `metrics` row (`run_id, step, name, value`): its run and its point.
    static func metricRow(from row: PGRow) throws(StoreRowProblem) -> (runID: Int, point: MetricPoint) {
        let key = "run_id \((row.value("run_id") ?? nil) ?? "NULL"), step \((row.value("step") ?? nil) ?? "NULL"), name \(PGRowReader.describe(row.value("name") ?? nil))"
        let r = PGRowReader(row: row, table: "metrics", name: "row (" + key + ")")
        let point = MetricPoint(step: Int(try r.int64("step", range: SQLiteRunStore.stepRange)), name: try r.string("name"),
                                value: try metricValue(r))
        return (Int(try r.int64("run_id", range: 1 ... .max)), point)
    }

    static func metricValue(_ r: PGRowReader) throws(StoreRowProblem) -> Double? {
        if let text = r.row.value("value") ?? nil, let d = Double(text), !d.isFinite { return nil }
        return try r.optionalDouble("value")
    }

    /// `decode` for each row; a row it cannot read stops the call with `PostgreSQLStoreError.badRow`.
    func decoded<T>(_ rows: [PGRow], _ decode: (PGRow) throws(StoreRowProblem) -> T) throws -> [T] {
        var out: [T] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            do throws(StoreRowProblem) { out.append(try decode(row)) } catch {
                throw PostgreSQLStoreError.badRow(url: shownURL, problem: error)
            }
        }
        return out
    }
}

// MARK: - Versions, for benchmark headers

extension PostgreSQLRunStore {
    /// The server's version (`SHOW server_version`), e.g. `15.20 (Debian 15.20-0+deb12u1)`.
    public func serverVersion() throws -> String {
        try locked(retry: true) { c in try c.execute("SHOW server_version").rows.first?.string("server_version") ?? "unknown" }
    }

    /// The libpq this ncf runs with, e.g. `15.20`.
    public static var clientVersion: String { PGConnection.libraryVersion }
}
