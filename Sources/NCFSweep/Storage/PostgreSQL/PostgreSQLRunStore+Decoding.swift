import Foundation

// Reading the PostgreSQL store's rows into values, every conversion checked, as the SQLite
// store's (`StoreRowReader`): anyone with `psql` can write a NULL or a nonsense value into a
// column the schema leaves open (`reason`) or loosen a constraint, and such a value must stop the
// store with a message naming the table, the row and the column rather than read as 0, "" or
// `failed` and quietly decide a claim.

/// Checked reads of one row of a PostgreSQL result (values in PostgreSQL's text output); each
/// failure is a `StoreRowProblem` naming the table, the row and the column.
struct PGRowReader {
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

    func string(_ column: String) throws(StoreRowProblem) -> String {
        guard let s = try raw(column) else { throw problem(column, "expected text, found NULL") }
        return s
    }

    func optionalString(_ column: String) throws(StoreRowProblem) -> String? { try raw(column) }

    func int64(_ column: String, range: ClosedRange<Int64> = .min ... .max) throws(StoreRowProblem) -> Int64 {
        guard let i = try optionalInt64(column, range: range) else { throw problem(column, "expected an integer, found NULL") }
        return i
    }

    func optionalInt64(_ column: String, range: ClosedRange<Int64> = .min ... .max) throws(StoreRowProblem) -> Int64? {
        guard let text = try raw(column) else { return nil }
        guard let i = Int64(text) else { throw problem(column, "expected an integer, found \(Self.describe(text))") }
        guard range.contains(i) else {
            throw problem(column, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(i)")
        }
        return i
    }

    func double(_ column: String, what: String = "a number") throws(StoreRowProblem) -> Double {
        guard let d = try optionalDouble(column, what: what) else { throw problem(column, "expected \(what), found NULL") }
        return d
    }

    /// A finite number.
    func optionalDouble(_ column: String, what: String = "a number") throws(StoreRowProblem) -> Double? {
        guard let text = try raw(column) else { return nil }
        guard let d = Double(text), d.isFinite else { throw problem(column, "expected \(what), found \(Self.describe(text))") }
        return d
    }

    func time(_ column: String) throws(StoreRowProblem) -> Date {
        guard let t = try optionalTime(column) else { throw problem(column, "expected Unix seconds, found NULL") }
        return t
    }

    /// Unix seconds within `StoreRowReader.timeRange`.
    func optionalTime(_ column: String) throws(StoreRowProblem) -> Date? {
        guard let t = try optionalDouble(column, what: "Unix seconds (a number)") else { return nil }
        guard StoreRowReader.timeRange.contains(t) else {
            throw problem(column, "expected Unix seconds between 0 and 1e11, found \(t)")
        }
        return Date(timeIntervalSince1970: t)
    }

    func bool(_ column: String) throws(StoreRowProblem) -> Bool {
        switch try raw(column) {
        case "t"?, "true"?: return true
        case "f"?, "false"?: return false
        case let other: throw problem(column, "expected a boolean, found \(Self.describe(other))")
        }
    }

    func rawEnum<T: RawRepresentable & CaseIterable>(_ column: String, _ type: T.Type) throws(StoreRowProblem) -> T
        where T.RawValue == String
    {
        let text = try string(column)
        guard let value = T(rawValue: text) else {
            let known = T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw problem(column, "expected one of \(known), found \(Self.describe(text))")
        }
        return value
    }
}

extension PostgreSQLRunStore {
    /// A `sweeps` row (`SELECT *`) as a record.
    static func sweep(from row: PGRow) throws(StoreRowProblem) -> SweepRecord {
        let r = PGRowReader(row: row, table: "sweeps", name: "id \(PGRowReader.describe(row.value("id") ?? nil))")
        var data: SweepData?
        if let path = try r.optionalString("data_path") {
            data = SweepData(path: path, absolutePath: try r.optionalString("data_absolute") ?? path,
                             size: try r.optionalInt64("data_size", range: 0 ... .max) ?? 0,
                             fingerprint: try r.optionalString("data_fingerprint") ?? "")
        }
        return SweepRecord(id: try r.string("id"), configText: try r.string("config"),
                           seed: UInt64(bitPattern: try r.int64("seed")), state: try r.rawEnum("state", SweepState.self),
                           created: try r.time("created"), data: data)
    }

    /// A `runs` row (`SELECT *`) as a record. Its config must be a JSON object.
    static func run(from row: PGRow) throws(StoreRowProblem) -> StoredRun {
        let r = PGRowReader(row: row, table: "runs", name: "id \((row.value("id") ?? nil) ?? "NULL")")
        let id = try r.int64("id", range: 1 ... .max)
        let configText = try r.string("config")
        let config: [String: ParamValue]
        do throws(ParamValue.JSONParseError) { config = try ParamValue.parseJSONConfig(configText) } catch {
            throw r.problem("config", "expected the run's parameters as a JSON object, found \(PGRowReader.describe(configText)) (\(error.message))")
        }
        return StoredRun(
            id: Int(id), sweepID: try r.string("sweep_id"), state: try r.rawEnum("state", RunState.self),
            config: config,
            seed: UInt64(try r.int64("seed", range: 0 ... .max)), reason: try r.optionalString("reason"),
            exitCode: try r.optionalInt64("exit_code", range: Int64(Int32.min)...Int64(Int32.max)).map { Int32($0) },
            agent: try r.string("agent"),
            heartbeatEvery: try r.double("heartbeat_every", what: "seconds (a number)"),
            startedAt: try r.time("started_at"), endedAt: try r.optionalTime("ended_at"),
            heartbeatAt: try r.time("heartbeat_at"), givenBack: try r.bool("given_back"),
            summary: try r.optionalString("summary"), dataOverride: try r.optionalString("data_override"))
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
