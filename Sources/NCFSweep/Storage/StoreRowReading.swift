import Foundation

/// Checked reads of one row of either store, each failure a `StoreRowProblem` naming the table,
/// the row and the column. A store's reader supplies how its values look (SQLite's typed values,
/// PostgreSQL's text output); what a column must hold, and how the `sweeps` and `runs` rows
/// become records, is written once here, so both stores refuse the same damage with the same words.
protocol StoreRowReading {
    func problem(_ column: String?, _ detail: String) -> StoreRowProblem
    /// Text, or nil for NULL.
    func optionalString(_ column: String) throws(StoreRowProblem) -> String?
    /// An integer in `range`, or nil for NULL.
    func optionalInt64(_ column: String, range: ClosedRange<Int64>) throws(StoreRowProblem) -> Int64?
    /// A finite number, or nil for NULL; `what` names it in the message.
    func optionalDouble(_ column: String, what: String) throws(StoreRowProblem) -> Double?
    func bool(_ column: String) throws(StoreRowProblem) -> Bool
    /// A text value as this store's messages show it.
    func describe(text: String) -> String
}

/// The earliest and latest time a store may hold, Unix seconds (1970 to the year 5138): a value
/// outside is damage, and would overflow the arithmetic of durations and ages.
let storeTimeRange: ClosedRange<Double> = 0...1e11

extension StoreRowReading {
    func string(_ column: String) throws(StoreRowProblem) -> String {
        guard let s = try optionalString(column) else { throw problem(column, "expected text, found NULL") }
        return s
    }

    func int64(_ column: String, range: ClosedRange<Int64> = .min ... .max) throws(StoreRowProblem) -> Int64 {
        guard let i = try optionalInt64(column, range: range) else { throw problem(column, "expected an integer, found NULL") }
        return i
    }

    func optionalInt64(_ column: String) throws(StoreRowProblem) -> Int64? {
        try optionalInt64(column, range: .min ... .max)
    }

    func double(_ column: String, what: String = "a number") throws(StoreRowProblem) -> Double {
        guard let d = try optionalDouble(column, what: what) else { throw problem(column, "expected \(what), found NULL") }
        return d
    }

    func optionalDouble(_ column: String) throws(StoreRowProblem) -> Double? {
        try optionalDouble(column, what: "a number")
    }

    func time(_ column: String) throws(StoreRowProblem) -> Date {
        guard let t = try optionalTime(column) else { throw problem(column, "expected Unix seconds, found NULL") }
        return t
    }

    /// Unix seconds within `storeTimeRange`.
    func optionalTime(_ column: String) throws(StoreRowProblem) -> Date? {
        guard let t = try optionalDouble(column, what: "Unix seconds (a number)") else { return nil }
        guard storeTimeRange.contains(t) else {
            throw problem(column, "expected Unix seconds between 0 and 1e11, found \(t)")
        }
        return Date(timeIntervalSince1970: t)
    }

    func rawEnum<T: RawRepresentable & CaseIterable>(_ column: String, _ type: T.Type) throws(StoreRowProblem) -> T
        where T.RawValue == String
    {
        let text = try string(column)
        guard let value = T(rawValue: text) else {
            let known = T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw problem(column, "expected one of \(known), found \(describe(text: text))")
        }
        return value
    }

    // MARK: - Records

    /// The row as a `sweeps` record (its columns: id, config, seed, state, created and the data's
    /// path, absolute path, size and fingerprint, which may be NULL).
    func sweepRecord() throws(StoreRowProblem) -> SweepRecord {
        var data: SweepData?
        if let path = try optionalString("data_path") {
            data = SweepData(path: path, absolutePath: try optionalString("data_absolute") ?? path,
                             size: try optionalInt64("data_size", range: 0 ... .max) ?? 0,
                             fingerprint: try optionalString("data_fingerprint") ?? "")
        }
        return SweepRecord(id: try string("id"), configText: try string("config"),
                           seed: UInt64(bitPattern: try int64("seed")), state: try rawEnum("state", SweepState.self),
                           created: try time("created"), data: data)
    }

    /// The row as a `runs` record. Its config must be a JSON object.
    func storedRun() throws(StoreRowProblem) -> StoredRun {
        let id = try int64("id", range: 1 ... .max)
        let configText = try string("config")
        let config: [String: ParamValue]
        do throws(ParamValue.JSONParseError) { config = try ParamValue.parseJSONConfig(configText) } catch {
            throw problem("config", "expected the run's parameters as a JSON object, found \(describe(text: configText)) (\(error.message))")
        }
        return StoredRun(
            id: Int(id), sweepID: try string("sweep_id"), state: try rawEnum("state", RunState.self),
            config: config,
            // Run seeds are 31-bit or a config's own non-negative `seed`, so they fit in an Int.
            seed: UInt64(try int64("seed", range: 0 ... .max)), reason: try optionalString("reason"),
            exitCode: try optionalInt64("exit_code", range: Int64(Int32.min)...Int64(Int32.max)).map { Int32($0) },
            agent: try string("agent"),
            heartbeatEvery: try double("heartbeat_every", what: "seconds (a number)"),
            startedAt: try time("started_at"), endedAt: try optionalTime("ended_at"),
            heartbeatAt: try time("heartbeat_at"), givenBack: try bool("given_back"),
            summary: try optionalString("summary"), dataOverride: try optionalString("data_override"))
    }
}
