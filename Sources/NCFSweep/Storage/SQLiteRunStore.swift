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
public final class SQLiteRunStore: RunStore {
    /// The database file.
    public let path: String
    private let pool: DatabasePool

    /// How long a writer waits for another agent's transaction before giving up.
    public static let busyTimeout: TimeInterval = 30

    /// Opens the store at `path`, creating it when `create` is true and it does not exist.
    ///
    /// Before SQLite touches the file, it is checked: a directory, an empty file, a file shorter
    /// than its own SQLite header says (truncated), or a directory or file this process may not
    /// write is refused with a message naming the path, so nothing is ever re-created over it.
    /// - Throws: `RunStoreError.missingStore` (no file and `create` false), `.notAStore`,
    ///   `.damaged`, `.notWritable`, `.newerSchema`, `.database`.
    public init(path: String, create: Bool) throws {
        self.path = path
        try Self.checkFile(path: path, create: create)
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "ncf-store"
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
        try migrate()
    }

    // MARK: - Checks before opening

    /// Refuses what SQLite would open badly: a missing file (unless `create`), a directory, an
    /// empty file, a truncated file, a read-only file or directory (WAL mode needs `PATH-wal`
    /// and `PATH-shm` beside the store).
    private static func checkFile(path: String, create: Bool) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var info = stat()
        guard stat(path, &info) == 0 else {
            guard create else { throw RunStoreError.missingStore(path: path) }
            var dirInfo = stat()
            guard stat(dir, &dirInfo) == 0, (dirInfo.st_mode & S_IFMT) == S_IFDIR else {
                throw RunStoreError.database(path: path, detail: "the directory \(dir) does not exist")
            }
            if access(dir, W_OK) != 0 {
                throw RunStoreError.notWritable(path: path, detail: "cannot create it: the directory \(dir) is not writable (\(String(cString: strerror(errno))))")
            }
            return
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw RunStoreError.notAStore(path: path, detail: "it is a directory") }
        var size = Int(info.st_size)
        if size == 0 {
            // Another `ncf sweep` may be creating this store this very moment: SQLite writes its
            // header within milliseconds of creating the file.
            for _ in 0..<(create ? 10 : 0) where size == 0 {
                usleep(100_000)
                if stat(path, &info) == 0 { size = Int(info.st_size) }
            }
            if size == 0 {
                throw RunStoreError.notAStore(path: path, detail: "the file is empty (0 bytes), while a store holds at least its tables; if it was a store, it has been truncated")
            }
        }
        if let problem = truncation(path: path, size: size) { throw RunStoreError.damaged(path: path, detail: problem) }
        try refuseForeignRollbackDatabase(path: path)
        if access(path, W_OK) != 0 {
            throw RunStoreError.notWritable(path: path, detail: "the file is not writable (\(String(cString: strerror(errno))))")
        }
        if access(dir, W_OK) != 0 {
            throw RunStoreError.notWritable(path: path, detail: "its directory \(dir) is not writable (\(String(cString: strerror(errno)))), and the store needs to create \(URL(fileURLWithPath: path).lastPathComponent)-wal and -shm beside it")
        }
    }

    /// An SQLite file in rollback-journal mode (header bytes 18–19 = 1; a store is always in WAL
    /// mode, 2) is looked at through a read-only connection first: opening it for writing would
    /// switch it to WAL mode, a change to a file ncf did not create. One with tables but no
    /// `grdb_migrations` is another program's database and is refused untouched.
    private static func refuseForeignRollbackDatabase(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        let header = [UInt8](handle.readData(ofLength: 20))
        try? handle.close()
        guard header.count == 20, Array(header.prefix(16)) == Array("SQLite format 3\0".utf8), header[18] == 1 else { return }
        var config = Configuration()
        config.readonly = true
        do {
            let tables = try DatabaseQueue(path: path, configuration: config).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            }
            if !tables.isEmpty && !tables.contains("grdb_migrations") {
                throw RunStoreError.notAStore(path: path, detail: "an SQLite database with other tables: \(tables.prefix(5).joined(separator: ", "))")
            }
        } catch let error as DatabaseError {
            throw translate(error, path: path)
        }
    }

    /// Why an SQLite file looks truncated, or nil: shorter than the page count its header gives
    /// (checked only with no `-wal` file beside it, whose frames may still complete the file), or
    /// a cut-off SQLite header.
    private static func truncation(path: String, size: Int) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let header = [UInt8](handle.readData(ofLength: 100))
        let magic = Array("SQLite format 3\0".utf8)
        if header.count < 100 {
            let n = min(header.count, magic.count)
            return n > 0 && Array(header.prefix(n)) == Array(magic.prefix(n))
                ? "the file is \(size) bytes, cut off inside the SQLite header (truncated)" : nil
        }
        guard Array(header.prefix(16)) == magic else { return nil }
        var walInfo = stat()
        if stat(path + "-wal", &walInfo) == 0 && walInfo.st_size > 0 { return nil }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        let pages = header[28..<32].reduce(0) { $0 << 8 | Int($1) }
        // The page count is valid only when the "version valid for" number matches the change counter.
        guard pageSize >= 512, pages > 0, header[92..<96].elementsEqual(header[24..<28]) else { return nil }
        let expected = pages * pageSize
        guard size < expected else { return nil }
        return "the file has \(size) bytes but its header says \(pages) pages of \(pageSize) bytes (\(expected) bytes): it was truncated"
    }

    // MARK: - Schema

    private static var migrator: DatabaseMigrator {
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

    /// Brings the schema up to date. Refuses foreign databases and newer schemas. Two processes
    /// opening a new store at once may race on the first migration; the loser retries once and
    /// finds it applied.
    ///
    /// Nothing is written unless a migration is due: an up-to-date store is only read here, and
    /// an existing store with a migration due passes `PRAGMA quick_check` first, so a damaged
    /// file is refused as it is, never written to.
    private func migrate() throws {
        let migrator = Self.migrator
        do {
            let (foreignTables, superseded, completed, hasMigrations) = try pool.read { db -> ([String], Bool, Bool, Bool) in
                let hasMigrations = try db.tableExists("grdb_migrations")
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                if !hasMigrations { return (tables, false, false, false) }
                return ([], try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db), true)
            }
            if !foreignTables.isEmpty {
                throw RunStoreError.notAStore(path: path, detail: "an SQLite database with other tables: \(foreignTables.prefix(5).joined(separator: ", "))")
            }
            if superseded { throw RunStoreError.newerSchema(path: path) }
            if completed { return }
            if hasMigrations {
                let problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
                if problems != ["ok"] {
                    throw RunStoreError.damaged(path: path, detail: problems.prefix(3).joined(separator: "; "))
                }
            }
            do {
                try migrator.migrate(pool)
            } catch {
                try migrator.migrate(pool)
            }
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
    }

    private static func translate(_ error: DatabaseError, path: String) -> RunStoreError {
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
        return .database(path: path, detail: error.message ?? "\(error)")
    }

    // MARK: - Transactions

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction (the write lock taken before any read).
    private func immediate<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as DatabaseError {
            throw Self.translate(error, path: path)
        }
    }

    private func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
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
            try Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE id = ?", arguments: [id]).map(Self.sweep(from:))
        }
        guard let found else { throw RunStoreError.noSuchSweep(id: id, store: path) }
        return found
    }

    public func sweeps() throws -> [SweepRecord] {
        try reading { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sweeps ORDER BY created, id").map(Self.sweep(from:))
        }
    }

    private static func sweep(from row: Row) -> SweepRecord {
        var data: SweepData?
        if let path: String = row["data_path"], let absolute: String = row["data_absolute"] {
            data = SweepData(path: path, absolutePath: absolute, size: row["data_size"] ?? 0, fingerprint: row["data_fingerprint"] ?? "")
        }
        return SweepRecord(id: row["id"], configText: row["config"], seed: UInt64(bitPattern: row["seed"] as Int64),
                           state: SweepState(rawValue: row["state"]) ?? .running,
                           created: Date(timeIntervalSince1970: row["created"]), data: data)
    }

    // MARK: - Runs

    public func claimRun(_ request: ClaimRequest) throws -> ClaimOutcome {
        try immediate { db in
            guard let sweepRow = try Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE id = ?", arguments: [request.sweepID]) else {
                throw RunStoreError.noSuchSweep(id: request.sweepID, store: path)
            }
            let sweep = Self.sweep(from: sweepRow)
            if let steered = SweepDone.steered(sweep.state) { return .done(steered) }
            let runs = try Self.fetchRuns(db, sweepID: request.sweepID)
            let histories = try request.config.metric.map { try Self.fetchHistories(db, sweepID: request.sweepID, name: $0.name) } ?? [:]
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
            if let row = try Row.fetchOne(db, sql: "SELECT state, reason, summary, exit_code FROM runs WHERE id = ?", arguments: [id]),
               row["state"] as String == RunState.stale.rawValue {
                let late = lateResultNote(state: state, reason: reason, exitCode: exitCode, at: at)
                let old: String? = row["reason"]
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
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE sweep_id = ? AND state = 'running'", arguments: [sweepID])
                .map(Self.run(from:)).filter { ClaimPolicy.isStale($0, grace: grace, now: now) }
        }
        if candidates.isEmpty { return [] }
        return try immediate { db in
            let running = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE sweep_id = ? AND state = 'running' ORDER BY id",
                                           arguments: [sweepID]).map(Self.run(from:))
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
        try reading { db in try Self.fetchRuns(db, sweepID: sweepID) }
    }

    public func metrics(runID: Int) throws -> [MetricPoint] {
        try reading { db in
            try Row.fetchAll(db, sql: "SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name",
                             arguments: [runID]).map { MetricPoint(step: $0["step"], name: $0["name"], value: $0["value"]) }
        }
    }

    public func histories(sweepID: String, metric name: String) throws -> [Int: [Double]] {
        try reading { db in try Self.fetchHistories(db, sweepID: sweepID, name: name) }
    }

    // MARK: - Checking

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file, else SQLite's list of problems.
    /// - Complexity: O(file size).
    public func integrityCheck() throws -> [String] {
        try reading { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    // MARK: - Row decoding

    private static func fetchRuns(_ db: Database, sweepID: String) throws -> [StoredRun] {
        try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE sweep_id = ? ORDER BY id", arguments: [sweepID]).map(run(from:))
    }

    /// - Complexity: O(values of `name` logged by the sweep's runs), through the metrics primary key.
    private static func fetchHistories(_ db: Database, sweepID: String, name: String) throws -> [Int: [Double]] {
        var out: [Int: [Double]] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT m.run_id, m.value FROM runs r JOIN metrics m ON m.run_id = r.id
            WHERE r.sweep_id = ? AND m.name = ? AND m.value IS NOT NULL
            ORDER BY m.run_id, m.step
            """, arguments: [sweepID, name])
        while let row = try rows.next() {
            let id: Int = row["run_id"]
            let value: Double = row["value"]
            out[id, default: []].append(value)
        }
        return out
    }

    private static func run(from row: Row) -> StoredRun {
        let configText: String = row["config"]
        // The store writes canonical JSON only; an unreadable config (edited by hand) reads as empty.
        let config = (try? ParamValue.parseJSONConfig(configText)) ?? [:]
        let exit: Int? = row["exit_code"]
        let ended: Double? = row["ended_at"]
        return StoredRun(
            id: row["id"], sweepID: row["sweep_id"], state: RunState(rawValue: row["state"]) ?? .failed,
            config: config, seed: UInt64(bitPattern: row["seed"] as Int64), reason: row["reason"],
            exitCode: exit.map { Int32(truncatingIfNeeded: $0) }, agent: row["agent"],
            heartbeatEvery: row["heartbeat_every"], startedAt: Date(timeIntervalSince1970: row["started_at"]),
            endedAt: ended.map(Date.init(timeIntervalSince1970:)),
            heartbeatAt: Date(timeIntervalSince1970: row["heartbeat_at"]),
            givenBack: row["given_back"], summary: row["summary"], dataOverride: row["data_override"])
    }
}
