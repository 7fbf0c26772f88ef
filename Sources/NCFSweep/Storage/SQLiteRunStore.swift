import Foundation
import GRDB

/// A `RunStore` in one SQLite file that many agent processes share.
///
/// The file is opened in WAL mode (readers never block the writer) with a busy timeout, so agents
/// queue for the write lock instead of failing with "database is locked". Every change is one
/// `BEGIN IMMEDIATE` transaction: the write lock is taken before anything is read, so a claim's
/// read of the runs, the sampler's decision and the insert of the new run cannot interleave with
/// another agent's. The schema is versioned by `DatabaseMigrator`; a store from a newer ncf, or
/// an SQLite file that is not a store, is refused with a clear error, never re-created.
///
/// Schema (version 2; the README describes it for `sqlite3` users):
/// ```
/// sweeps  (id TEXT PK, config TEXT (the YAML), seed INTEGER, state TEXT, created REAL,
///          data_path TEXT, data_absolute TEXT, data_size INTEGER, data_fingerprint TEXT)
/// runs    (id INTEGER PK, sweep_id TEXT, state TEXT, config TEXT (canonical JSON), seed INTEGER,
///          reason TEXT, exit_code INTEGER, agent TEXT, heartbeat_every REAL, started_at REAL,
///          ended_at REAL, heartbeat_at REAL, given_back INTEGER, summary TEXT (JSON),
///          data_override TEXT)
/// metrics (run_id INTEGER, step INTEGER, name TEXT, value REAL; PK (run_id, step, name))
/// ```
/// Times are Unix seconds (`datetime(started_at, 'unixepoch')` in `sqlite3`); a non-finite
/// metric value is stored as NULL.
///
/// Opening (`SQLiteRunStore+Opening.swift`): a store is opened for writing (`ncf sweep`, `ncf
/// agent`) only after `PRAGMA integrity_check` passed, and for reading (`status`, `list`, `best`,
/// `report`, `check`) through a read-only connection that never creates, initialises or
/// migrates anything. Only a file ncf builds itself gets a schema: a new store is written under a
/// temporary name and linked into place complete, so no other file is ever initialised.
///
/// Reading: every value is decoded with checked conversions (`SQLiteRunStore+Decoding.swift`).
/// A row ncf cannot read stops a writer (`RunStoreError.badRow`, naming table, row and column);
/// a reader leaves the row out and lists it in `rowProblems`.
///
/// Closing: `close()` checkpoints the write-ahead log into the store file and truncates it, so
/// after a clean exit the store is one self-contained file that can be copied.
public final class SQLiteRunStore: RunStore, @unchecked Sendable {
    /// What a command may do with the store.
    public enum Access: Sendable, Equatable {
        /// Write, creating the store when no file is at the path (`ncf sweep FILE`).
        case create
        /// Write an existing store (`ncf agent`).
        case write
        /// Only read, through a read-only connection (`ncf sweep status`, `list`, `best`, `report`, `check`).
        case readOnly
    }

    /// The database file, as given.
    public let path: String
    public let accessMode: Access
    /// `PRAGMA integrity_check`'s findings when the store was opened: `["ok"]` for a sound file. A
    /// store opened for writing is always sound (a damaged one is refused); one opened read-only
    /// is read anyway, and its damage is listed here for the command to warn about.
    public let openCheck: [String]
    /// Whether the file has schema v2's columns; false for a v1 store opened read-only (readers
    /// do not migrate), whose rows then read with no data and no override.
    let hasV2Columns: Bool
    /// The connections: a `DatabasePool` for writing, a read-only `DatabaseQueue` for reading.
    let db: any DatabaseWriter
    private let lock = NSLock()
    // Guarded by `lock`.
    private var problems: [StoreRowProblem] = []
    private var problemCount = 0
    private var isClosed = false

    /// How long a writer waits for another agent's transaction before giving up.
    public static let busyTimeout: TimeInterval = 30

    /// At most this many unreadable rows are kept in `rowProblems` (the rest are counted).
    static let problemLimit = 100

    /// Opens the store at `path` (a file path, never an SQLite URI; see `Access`).
    ///
    /// Before SQLite touches the file, it is checked: a directory, an empty file, a file shorter
    /// than its own SQLite header says (truncated), an SQLite file that is not a store, or (for
    /// writing) a damaged store or a file or directory this process may not write is refused with
    /// a message naming the path, so nothing is ever re-created over it.
    /// - Throws: `RunStoreError.unsupportedLocation`, `.missingStore` (no file, and `access` is
    ///   not `.create`), `.notAStore`, `.damaged`, `.notWritable`, `.newerSchema`, `.database`.
    /// - Parameter busyTimeout: how long a read-only store waits for a lock another process holds
    ///   before a read fails with `RunStoreError.busy` (the dashboard answers sooner than an agent).
    public init(path: String, access: Access, busyTimeout: TimeInterval = SQLiteRunStore.busyTimeout) throws {
        self.path = path
        self.accessMode = access
        let file = try Self.fileName(for: path)
        if access == .create { try Self.createIfMissing(path: path, file: file) }
        try Self.checkFile(path: path, file: file, writable: access != .readOnly)
        let inspection = try Self.inspect(path: path, file: file, busyTimeout: access == .readOnly ? busyTimeout : Self.busyTimeout)
        if access == .readOnly {
            let applied = (try? inspection.queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }) ?? []
            guard inspection.migrated || applied == ["v1"] else {
                try? inspection.queue.close()
                throw RunStoreError.olderSchema(path: path)
            }
            db = inspection.queue
            openCheck = inspection.quickCheck
            hasV2Columns = inspection.migrated
            return
        }
        if inspection.quickCheck != ["ok"] {
            throw RunStoreError.damaged(path: path, detail: inspection.quickCheck.prefix(3).joined(separator: "; "))
        }
        try? inspection.queue.close()
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "ncf-store"
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: file, configuration: config)
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
        db = pool
        openCheck = ["ok"]
        hasV2Columns = true
        if !inspection.migrated { try migrate() }
    }

    /// Opens the store for writing (`create`: making it when no file is there), as `init(path:access:)`.
    public convenience init(path: String, create: Bool) throws {
        try self.init(path: path, access: create ? .create : .write)
    }

    deinit { close() }

    /// Checkpoints the write-ahead log into the store file, truncates the log, and closes the
    /// connections; later calls do nothing.
    ///
    /// Without this the last transactions stay in `PATH-wal` after ncf exits (a process that
    /// exits does not close its connections), and a copy of `PATH` alone would miss them. When
    /// other agents still use the store the checkpoint does what it can without waiting for
    /// them (at most 1 s); the last one to close completes it. Errors are ignored: the log is
    /// replayed by the next connection in any case.
    public func close() {
        let first = lock.withLock {
            defer { isClosed = true }
            return !isClosed
        }
        guard first else { return }
        if accessMode != .readOnly {
            _ = try? db.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA busy_timeout = 1000")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        try? db.close()
    }

    // MARK: - Rows that could not be read

    /// Forgets the rows noted so far, so `rowProblems` then tells what the next reads met (the
    /// dashboard, which keeps a store open, asks per request).
    public func resetRowProblems() {
        lock.withLock {
            problems = []
            problemCount = 0
        }
    }

    /// The rows a read-only store left out because a value in them could not be read (at most
    /// `problemLimit` of them, in the order met), and how many there were in all.
    public var rowProblems: (first: [StoreRowProblem], count: Int) {
        lock.withLock { (problems, problemCount) }
    }

    /// A row that could not be read: a writer stops (`RunStoreError.badRow`); a reader notes it
    /// and goes on without the row.
    func unreadable(_ problem: StoreRowProblem) throws {
        if accessMode != .readOnly { throw RunStoreError.badRow(path: path, problem: problem) }
        lock.withLock {
            guard !problems.contains(problem) else { return }
            problemCount += 1
            if problems.count < Self.problemLimit { problems.append(problem) }
        }
    }

    /// Decodes each row of a query with `decode`; rows that cannot be read go to `unreadable`.
    /// For a reader, an SQLite error part-way (a damaged page) ends the list with what was read
    /// before it and a problem naming the table; a writer throws it.
    func decodeRows<T>(_ db: Database, table: String, sql: String, arguments: StatementArguments = [],
                       _ decode: (Row) throws(StoreRowProblem) -> T) throws -> [T] {
        var out: [T] = []
        do {
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                do throws(StoreRowProblem) { out.append(try decode(row)) } catch { try unreadable(error) }
            }
        } catch let error as DatabaseError where accessMode == .readOnly && error.resultCode == .SQLITE_CORRUPT {
            try unreadable(StoreRowProblem(table: table, row: "rows after the first \(out.count)", column: nil,
                                           detail: "could not be read (\(error.message ?? "database disk image is malformed"))"))
        }
        return out
    }

    // MARK: - Schema

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE sweeps (
                    id      TEXT PRIMARY KEY NOT NULL,
                    config  TEXT NOT NULL,
                    seed    INTEGER NOT NULL,
                    state   TEXT NOT NULL CHECK (state IN ('running', 'finished')),
                    created REAL NOT NULL
                );
                CREATE TABLE runs (
                    id              INTEGER PRIMARY KEY AUTOINCREMENT,
                    sweep_id        TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'finished', 'failed', 'stopped', 'stale')),
                    config          TEXT NOT NULL,
                    seed            INTEGER NOT NULL,
                    reason          TEXT,
                    exit_code       INTEGER,
                    agent           TEXT NOT NULL,
                    heartbeat_every REAL NOT NULL,
                    started_at      REAL NOT NULL,
                    ended_at        REAL,
                    heartbeat_at    REAL NOT NULL,
                    given_back      INTEGER NOT NULL DEFAULT 0,
                    summary         TEXT
                );
                CREATE INDEX runs_by_sweep ON runs(sweep_id, state);
                CREATE TABLE metrics (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    step   INTEGER NOT NULL,
                    name   TEXT NOT NULL,
                    value  REAL,
                    PRIMARY KEY (run_id, step, name)
                ) WITHOUT ROWID;
                """)
        }
        // v2: the sweep's data (`ncf sweep --data`), the states a user steers to, and the data a
        // run trained on when its agent overrode the sweep's. SQLite cannot widen a CHECK
        // constraint, so `sweeps` is rebuilt (foreign keys are off during a migration, so the
        // runs that reference it are untouched).
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE sweeps_v2 (
                    id               TEXT PRIMARY KEY NOT NULL,
                    config           TEXT NOT NULL,
                    seed             INTEGER NOT NULL,
                    state            TEXT NOT NULL CHECK (state IN ('running', 'paused', 'stopped', 'cancelled', 'finished')),
                    created          REAL NOT NULL,
                    data_path        TEXT,
                    data_absolute    TEXT,
                    data_size        INTEGER,
                    data_fingerprint TEXT
                );
                INSERT INTO sweeps_v2 (id, config, seed, state, created) SELECT id, config, seed, state, created FROM sweeps;
                DROP TABLE sweeps;
                ALTER TABLE sweeps_v2 RENAME TO sweeps;
                ALTER TABLE runs ADD COLUMN data_override TEXT;
                """)
        }
        return m
    }

    /// Applies the migrations that are due (the store was checked, and found sound and an ncf
    /// store of an older or the current schema, by `inspect`). Two processes migrating one store
    /// at once may race; the loser retries once and finds it done.
    private func migrate() throws {
        do {
            do {
                try Self.migrator.migrate(db)
            } catch {
                try Self.migrator.migrate(db)
            }
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
    }

    static func translate(_ error: DatabaseError, path: String) -> RunStoreError {
        if error.resultCode == .SQLITE_NOTADB {
            return .notAStore(path: path, detail: "not an SQLite database")
        }
        if error.resultCode == .SQLITE_CORRUPT {
            return .damaged(path: path, detail: error.message ?? "\(error)")
        }
        if error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR {
            return .writeFailed(path: path, detail: error.message ?? "\(error)")
        }
        if error.resultCode == .SQLITE_READONLY {
            return .notWritable(path: path, detail: error.message ?? "\(error)")
        }
        if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            return .busy(path: path, detail: error.message ?? "\(error)")
        }
        return .database(path: path, detail: error.message ?? "\(error)")
    }

    // MARK: - Transactions

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction (the write lock taken before any read).
    private func immediate<T>(_ body: (Database) throws -> T) throws -> T {
        guard accessMode != .readOnly else {
            throw RunStoreError.database(path: path, detail: "the store was opened read-only, for looking at it")
        }
        do {
            return try db.writeWithoutTransaction { db in
                var result: Result<T, Error>?
                try db.inTransaction(.immediate) {
                    result = .success(try body(db))
                    return .commit
                }
                guard let result else { throw RunStoreError.database(path: path, detail: "a transaction ended without a result") }
                return try result.get()
            }
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
    }

    func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try db.read(body)
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
    }

    // MARK: - Sweeps

    public func createSweep(configText: String, seed: UInt64, data: SweepData?, now: Date) throws -> SweepRecord {
        try immediate { db in
            var attempt = 0
            var id = ClaimPolicy.newSweepID()
            while try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sweeps WHERE id = ?)", arguments: [id]) ?? false {
                attempt += 1
                id = ClaimPolicy.newSweepID(attempt: attempt)
            }
            let sweep = SweepRecord(id: id, configText: configText, seed: seed, state: .running, created: now, data: data)
            try db.execute(sql: """
                INSERT INTO sweeps (id, config, seed, state, created, data_path, data_absolute, data_size, data_fingerprint)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, configText, Int64(bitPattern: seed), sweep.state.rawValue, now.timeIntervalSince1970,
                                 data?.path, data?.absolutePath, data?.size, data?.fingerprint])
            return sweep
        }
    }

    public func setState(sweepID: String, _ state: SweepState) throws -> SweepState {
        try immediate { db in
            guard let old = try String.fetchOne(db, sql: "SELECT state FROM sweeps WHERE id = ?", arguments: [sweepID]) else {
                throw RunStoreError.noSuchSweep(id: sweepID, store: path)
            }
            try db.execute(sql: "UPDATE sweeps SET state = ? WHERE id = ?", arguments: [state.rawValue, sweepID])
            return SweepState(rawValue: old) ?? .running
        }
    }

    public func deleteSweep(id: String) throws {
        try immediate { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sweeps WHERE id = ?)", arguments: [id]) ?? false else {
                throw RunStoreError.noSuchSweep(id: id, store: path)
            }
            try db.execute(sql: "DELETE FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE sweep_id = ?)", arguments: [id])
            try db.execute(sql: "DELETE FROM runs WHERE sweep_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM sweeps WHERE id = ?", arguments: [id])
        }
    }

    public func sweep(id: String) throws -> SweepRecord {
        let found = try reading { db in
            try self.fetchSweep(db, id: id)
        }
        guard let found else { throw RunStoreError.noSuchSweep(id: id, store: path, near: nearestSweepID(to: id)) }
        return found
    }

    public func sweeps() throws -> [SweepRecord] {
        try reading { db in
            try decodeRows(db, table: "sweeps", sql: "SELECT \(sweepColumns) FROM sweeps ORDER BY created, id", Self.sweep(from:))
        }
    }

    /// The sweep `id`, or nil; a row that cannot be read throws `RunStoreError.badRow` (a sweep
    /// cannot be shown or run without its config, seed and state).
    private func fetchSweep(_ db: Database, id: String) throws -> SweepRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(sweepColumns) FROM sweeps WHERE id = ?", arguments: [id]) else {
            return nil
        }
        do throws(StoreRowProblem) { return try Self.sweep(from: row) } catch { throw RunStoreError.badRow(path: path, problem: error) }
    }

    // MARK: - Runs

    public func claimRun(_ request: ClaimRequest) throws -> ClaimOutcome {
        try immediate { db in
            guard let sweep = try fetchSweep(db, id: request.sweepID) else {
                throw RunStoreError.noSuchSweep(id: request.sweepID, store: path)
            }
            if let steered = SweepDone.steered(sweep.state) { return .done(steered) }
            let runs = try fetchRuns(db, sweepID: request.sweepID)
            let histories = try request.config.metric.map { try fetchHistories(db, sweepID: request.sweepID, name: $0.name) } ?? [:]
            switch ClaimPolicy.decide(config: request.config, sweepSeed: sweep.seed, runs: runs, histories: histories,
                                      sampler: request.sampler) {
            case .done(let done):
                if !runs.contains(where: { $0.state == .running || $0.state == .pending }) {
                    try db.execute(sql: "UPDATE sweeps SET state = 'finished' WHERE id = ?", arguments: [sweep.id])
                }
                return .done(done)
            case .run(let config):
                let seed = ClaimPolicy.runSeed(sweepSeed: sweep.seed, config: config)
                let now = request.now.timeIntervalSince1970
                try db.execute(sql: """
                    INSERT INTO runs (sweep_id, state, config, seed, agent, heartbeat_every, started_at, heartbeat_at, data_override)
                    VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [sweep.id, ParamValue.canonicalJSON(config), Int64(bitPattern: seed), request.agent,
                                     request.heartbeatEvery, now, now, request.dataOverride])
                let id = Int(db.lastInsertedRowID)
                if sweep.state != .running {
                    try db.execute(sql: "UPDATE sweeps SET state = 'running' WHERE id = ?", arguments: [sweep.id])
                }
                TestPause.at("claim")
                return .claimed(StoredRun(id: id, sweepID: sweep.id, state: .running, config: config, seed: seed,
                                          agent: request.agent, heartbeatEvery: request.heartbeatEvery,
                                          startedAt: request.now, heartbeatAt: request.now, dataOverride: request.dataOverride))
            }
        }
    }

    public func heartbeat(runIDs: [Int], at: Date) throws -> [Int] {
        guard !runIDs.isEmpty else { return [] }
        return try immediate { db in
            var gone: [Int] = []
            for id in runIDs {
                try db.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND state = 'running'",
                               arguments: [at.timeIntervalSince1970, id])
                if db.changesCount == 0 { gone.append(id) }
            }
            return gone
        }
    }

    public func appendMetrics(runID: Int, step: Int, values: [String: Double?]) throws {
        guard !values.isEmpty else { return }
        try immediate { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)", arguments: [runID]) ?? false else {
                throw RunStoreError.noSuchRun(id: runID)
            }
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                let stored: Double? = value.flatMap { $0.isFinite ? $0 : nil }
                try db.execute(sql: "INSERT OR REPLACE INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)",
                               arguments: [runID, step, name, stored])
            }
        }
    }

    public func finishRun(id: Int, state: RunState, reason: String?, exitCode: Int32?, summary: String?,
                          givenBack: Bool, at: Date) throws -> Bool {
        precondition(state.isFinished, "finishRun needs a terminal state, got \(state)")
        return try immediate { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)", arguments: [id]) ?? false else {
                throw RunStoreError.noSuchRun(id: id)
            }
            try db.execute(sql: """
                UPDATE runs SET state = ?, reason = ?, exit_code = ?, summary = ?, given_back = ?, ended_at = ?
                WHERE id = ? AND state = 'running'
                """, arguments: [state.rawValue, reason, exitCode.map { Int($0) }, summary,
                                 givenBack || state == .stale, at.timeIntervalSince1970, id])
            if db.changesCount == 1 {
                TestPause.at("finish")
                return true
            }
            // A late result for a run marked stale meanwhile: kept, the state left alone.
            if let row = try Row.fetchOne(db, sql: "SELECT state, reason FROM runs WHERE id = ?", arguments: [id]) {
                let r = StoreRowReader(row: row, table: "runs", name: "row \(id)")
                let old: String?
                do throws(StoreRowProblem) {
                    guard try r.rawEnum("state", RunState.self) == .stale else { return false }
                    old = try r.optionalString("reason")
                } catch {
                    throw RunStoreError.badRow(path: path, problem: error)
                }
                let late = lateResultNote(state: state, reason: reason, exitCode: exitCode, at: at)
                try db.execute(sql: "UPDATE runs SET reason = ?, summary = COALESCE(?, summary), exit_code = COALESCE(?, exit_code) WHERE id = ?",
                               arguments: [old.map { $0 + "; " + late } ?? late, summary, exitCode.map { Int($0) }, id])
            }
            return false
        }
    }

    public func giveBack(failedRunIDs: [Int], note: String) throws -> [Int] {
        guard !failedRunIDs.isEmpty else { return [] }
        return try immediate { db in
            var changed: [Int] = []
            for id in failedRunIDs {
                try db.execute(sql: """
                    UPDATE runs SET given_back = 1, reason = CASE WHEN reason IS NULL THEN ? ELSE reason || '; ' || ? END
                    WHERE id = ? AND state = 'failed' AND given_back = 0
                    """, arguments: [note, note, id])
                if db.changesCount == 1 { changed.append(id) }
            }
            return changed
        }
    }

    public func markStale(sweepID: String, grace: Double, now: Date) throws -> [Int] {
        // A read first: the write lock is taken only when some run looks stale.
        let candidates = try reading { db in
            try decodeRows(db, table: "runs", sql: "SELECT \(runColumns) FROM runs WHERE sweep_id = ? AND state = 'running'",
                           arguments: [sweepID], Self.run(from:)).filter { ClaimPolicy.isStale($0, grace: grace, now: now) }
        }
        if candidates.isEmpty { return [] }
        return try immediate { db in
            let running = try decodeRows(db, table: "runs", sql: "SELECT \(runColumns) FROM runs WHERE sweep_id = ? AND state = 'running' ORDER BY id",
                                         arguments: [sweepID], Self.run(from:))
            var marked: [Int] = []
            for run in running where ClaimPolicy.isStale(run, grace: grace, now: now) {
                try db.execute(sql: """
                    UPDATE runs SET state = 'stale', given_back = 1, ended_at = ?, reason = ?
                    WHERE id = ? AND state = 'running'
                    """, arguments: [now.timeIntervalSince1970, staleReason(run, now: now), run.id])
                marked.append(run.id)
            }
            return marked
        }
    }

    public func runs(sweepID: String) throws -> [StoredRun] {
        try reading { db in try fetchRuns(db, sweepID: sweepID) }
    }

    public func metrics(runID: Int) throws -> [MetricPoint] {
        try reading { db in
            try decodeRows(db, table: "metrics", sql: "SELECT run_id, step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name",
                           arguments: [runID], Self.metricPoint(from:))
        }
    }

    public func histories(sweepID: String, metric name: String) throws -> [Int: [Double]] {
        try reading { db in try fetchHistories(db, sweepID: sweepID, name: name) }
    }

    // MARK: - Row decoding

    private func fetchRuns(_ db: Database, sweepID: String) throws -> [StoredRun] {
        try decodeRows(db, table: "runs", sql: "SELECT \(runColumns) FROM runs WHERE sweep_id = ? ORDER BY id",
                       arguments: [sweepID], Self.run(from:))
    }

    /// - Complexity: O(values of `name` logged by the sweep's runs), through the metrics primary key.
    private func fetchHistories(_ db: Database, sweepID: String, name: String) throws -> [Int: [Double]] {
        let points = try decodeRows(db, table: "metrics", sql: """
            SELECT m.run_id, m.step, m.name, m.value FROM runs r JOIN metrics m ON m.run_id = r.id
            WHERE r.sweep_id = ? AND m.name = ? AND m.value IS NOT NULL
            ORDER BY m.run_id, m.step
            """, arguments: [sweepID, name]) { row throws(StoreRowProblem) -> (Int, Double?) in
            let r = StoreRowReader(row: row, table: "metrics", name: Self.metricRowName(row))
            return (Int(try r.int64("run_id")), try Self.metricValue(r))
        }
        var out: [Int: [Double]] = [:]
        for (id, value) in points {
            if let value { out[id, default: []].append(value) }
        }
        return out
    }
}
