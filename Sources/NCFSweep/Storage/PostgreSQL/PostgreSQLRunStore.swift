import Foundation

/// A `RunStore` in a PostgreSQL database, for agents on many machines.
///
/// The same tables and columns as `SQLiteRunStore`'s schema v2, in PostgreSQL's types (times and
/// heartbeat intervals `double precision` Unix seconds, `seed` `bigint`, `given_back` `boolean`),
/// versioned in `ncf_migrations` (one row per applied migration, `v1`, `v2`, as SQLite's
/// `grdb_migrations`). A database whose schema holds other tables is refused untouched; one from a
/// newer ncf is refused.
///
/// Guarantees, the same as SQLite's:
/// - **Claims are serialised per sweep.** `claimRun` locks the sweep's row (`SELECT … FOR UPDATE`)
///   in one transaction, reads the runs, asks `ClaimPolicy.decide` and inserts the new run before
///   it commits; the next claim of that sweep waits for the lock and then reads the committed
///   runs (READ COMMITTED takes a fresh snapshot per statement). Each grid point is claimed once
///   and `run_cap` is exact, however many agents claim. `markStale` takes the same lock.
/// - **Time comes from the server.** With `clock: .server` (what `ncf` uses) every time the store
///   writes or compares (`created`, `started_at`, `heartbeat_at`, `ended_at`, the stale decision)
///   is the server's `now()`; the `now:`/`at:` dates callers pass are ignored. Agents whose clocks
///   differ by minutes therefore never mark each other's live runs stale. `clock: .caller` uses
///   the callers' dates as SQLite does, so the shared conformance suite can drive time.
/// - Metrics are upserted (`ON CONFLICT (run_id, step, name) DO UPDATE`), so writing a line again
///   is harmless.
///
/// One connection per store value, used by one thread at a time (a lock); an agent holds one. A
/// connection that breaks is re-established, and the call runs again on the new one, unless the
/// break came while its COMMIT was on the way and the call is not safe to repeat (a claim, a
/// result): then it fails with `PostgreSQLStoreError.connectionLost`. Heartbeats, metric lines
/// (upserts) and reads are always safe to repeat.
public final class PostgreSQLRunStore: RunStore, @unchecked Sendable {
    /// Where the store's times come from.
    public enum Clock: Sendable {
        /// The database server's `now()` (the default): callers' clocks do not matter.
        case server
        /// The `now:`/`at:` dates callers pass, as SQLite does (for tests that drive time).
        case caller
    }

    /// The URL with its password replaced by `***`.
    public let shownURL: String
    public let clock: Clock
    private let connection: PGConnection
    private let lock = NSLock()

    /// Connects to `url` and brings the schema up to date, creating the tables in an empty
    /// database (or schema, `?options=-csearch_path%3DNAME`) when `create` is true.
    /// - Throws: `PostgreSQLStoreError.badURL`, `.cannotConnect`, `.notAStore`, `.newerSchema`,
    ///   `.query`; `RunStoreError.missingStore` for an empty database when `create` is false.
    public init(url: String, create: Bool = true, clock: Clock = .server) throws {
        connection = try PGConnection(url: url)
        shownURL = connection.shownURL
        self.clock = clock
        try migrate(create: create)
    }

    /// Connects to `url` for reading only (`ncf sweep serve`): the session is read-only, so the
    /// server refuses any write, and nothing is created or migrated.
    /// - Throws: as `init(url:create:clock:)`; `RunStoreError.missingStore` for a database without
    ///   the store's tables, `.olderSchema` for a store a writer has yet to update.
    public init(readOnlyURL url: String) throws {
        connection = try PGConnection(url: url, readOnly: true)
        shownURL = connection.shownURL
        clock = .server
        try locked { c in
            let tables = try c.execute("""
                SELECT table_name AS t FROM information_schema.tables
                WHERE table_schema = current_schema() ORDER BY table_name
                """).rows.compactMap { $0.string("t") }
            if tables.isEmpty { throw RunStoreError.missingStore(path: shownURL) }
            if !tables.contains("ncf_migrations") { throw PostgreSQLStoreError.notAStore(url: shownURL, tables: tables) }
            let applied = Set(try c.execute("SELECT identifier FROM ncf_migrations").rows.compactMap { $0.string("identifier") })
            let known = Set(Self.migrations.map(\.id))
            let unknown = applied.subtracting(known).sorted()
            if !unknown.isEmpty { throw PostgreSQLStoreError.newerSchema(url: shownURL, versions: unknown) }
            if applied != known { throw RunStoreError.olderSchema(path: shownURL) }
        }
    }

    // MARK: - Schema

    /// The migrations, in order; the identifiers match SQLite's `grdb_migrations`.
    static let migrations: [(id: String, statements: [String])] = [
        ("v1", [
            """
            CREATE TABLE sweeps (
                id      text PRIMARY KEY,
                config  text NOT NULL,
                seed    bigint NOT NULL,
                state   text NOT NULL CONSTRAINT sweeps_state_check CHECK (state IN ('running', 'finished')),
                created double precision NOT NULL
            )
            """,
            """
            CREATE TABLE runs (
                id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                sweep_id        text NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                state           text NOT NULL CHECK (state IN ('pending', 'running', 'finished', 'failed', 'stopped', 'stale')),
                config          text NOT NULL,
                seed            bigint NOT NULL,
                reason          text,
                exit_code       integer,
                agent           text NOT NULL,
                heartbeat_every double precision NOT NULL,
                started_at      double precision NOT NULL,
                ended_at        double precision,
                heartbeat_at    double precision NOT NULL,
                given_back      boolean NOT NULL DEFAULT false,
                summary         text
            )
            """,
            "CREATE INDEX runs_by_sweep ON runs(sweep_id, state)",
            """
            CREATE TABLE metrics (
                run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                step   integer NOT NULL,
                name   text NOT NULL,
                value  double precision,
                PRIMARY KEY (run_id, step, name)
            )
            """,
        ]),
        // v2: the sweep's data, the states a user steers to, a run's data override.
        ("v2", [
            """
            ALTER TABLE sweeps DROP CONSTRAINT sweeps_state_check,
                ADD CONSTRAINT sweeps_state_check CHECK (state IN ('running', 'paused', 'stopped', 'cancelled', 'finished')),
                ADD COLUMN data_path text, ADD COLUMN data_absolute text,
                ADD COLUMN data_size bigint, ADD COLUMN data_fingerprint text
            """,
            "ALTER TABLE runs ADD COLUMN data_override text",
        ]),
    ]

    /// Refuses a foreign or newer schema, then applies the migrations not yet applied, in one
    /// transaction under an advisory lock (agents opening a new store at once queue for it).
    /// Nothing is written to a schema that is refused.
    private func migrate(create: Bool) throws {
        try locked { c in
            try c.transaction {
                guard try c.execute("SELECT current_schema() AS s").rows.first?.string("s") != nil else {
                    throw PostgreSQLStoreError.badURL(url: shownURL, detail: "its search_path names no existing schema; create the schema first")
                }
                try c.execute("SELECT pg_advisory_xact_lock(7342015001)")
                let tables = try c.execute("""
                    SELECT table_name AS t FROM information_schema.tables
                    WHERE table_schema = current_schema() ORDER BY table_name
                    """).rows.compactMap { $0.string("t") }
                if !tables.isEmpty && !tables.contains("ncf_migrations") {
                    throw PostgreSQLStoreError.notAStore(url: shownURL, tables: tables)
                }
                if tables.isEmpty {
                    guard create else { throw RunStoreError.missingStore(path: shownURL) }
                    try c.execute("CREATE TABLE ncf_migrations (identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                }
                let applied = Set(try c.execute("SELECT identifier FROM ncf_migrations").rows.compactMap { $0.string("identifier") })
                let known = Set(Self.migrations.map(\.id))
                let unknown = applied.subtracting(known).sorted()
                if !unknown.isEmpty { throw PostgreSQLStoreError.newerSchema(url: shownURL, versions: unknown) }
                for migration in Self.migrations where !applied.contains(migration.id) {
                    for statement in migration.statements { try c.execute(statement) }
                    try c.execute("INSERT INTO ncf_migrations (identifier) VALUES ($1)", [migration.id])
                }
            }
        }
    }

    // MARK: - Connection and transactions

    /// How long a claim or a result waits for a server that went away (a restart takes seconds).
    public static let patience: TimeInterval = 120

    /// Runs `body` on the connection, one caller at a time; reconnects first if the connection
    /// broke. A transaction cut off before its COMMIT left nothing behind and runs again on a new
    /// connection; one cut off during its COMMIT only when it is safe to repeat (`retry`). A
    /// serialization failure or deadlock runs again too.
    ///
    /// With `patience`, a server that cannot be reached is tried again with backoff (0.5 s,
    /// doubling to 8 s, the lock released while waiting) for up to that many seconds.
    /// - Throws: `PostgreSQLStoreError.connectionLost` or `.cannotConnect` when the server stays
    ///   away, `.query` for a statement it refuses.
    func locked<T>(retry: Bool = false, patience: TimeInterval = 0, _ body: (PGConnection) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(patience)
        var delay = 0.5
        while true {
            var inDoubt = false
            do {
                return try lockedOnce(retry: retry, inDoubt: &inDoubt, body)
            } catch let error as PostgreSQLStoreError where error.isConnectionFailure && !inDoubt && Date() < deadline {
                Thread.sleep(forTimeInterval: max(0, min(delay, deadline.timeIntervalSinceNow)))
                delay = min(delay * 2, 8)
            }
        }
    }

    private func lockedOnce<T>(retry: Bool, inDoubt: inout Bool, _ body: (PGConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        var attempt = 0
        while true {
            do {
                try connection.ensureConnected()
                return try body(connection)
            } catch let error as PGStatementError {
                attempt += 1
                let broken = connection.isBroken
                let again = attempt < 3 && (PGConnection.retryableStates.contains(error.sqlState)
                                            || (broken && (retry || !connection.commitInDoubt)))
                if again { continue }
                let detail = redactedStoreURL(error.description)
                // lock_not_available: only a read-only session sets a lock_timeout.
                if error.sqlState == "55P03" { throw RunStoreError.busy(path: shownURL, detail: detail) }
                if broken || error.sqlState.hasPrefix("08") {
                    inDoubt = !retry && connection.commitInDoubt
                    throw PostgreSQLStoreError.connectionLost(
                        url: shownURL, detail: inDoubt ? detail + "; the connection broke during COMMIT, so whether this change was stored is unknown" : detail)
                }
                throw PostgreSQLStoreError.query(url: shownURL, detail: detail)
            }
        }
    }

    // MARK: - Metric lines kept while the server is away

    /// Metric lines `appendMetrics` could not write because the server was away, oldest first;
    /// written (idempotently) before anything else once it is back. Guarded by `lock`.
    private var pending: [(runID: Int, step: Int, values: [String: Double?])] = []

    /// How many metric lines wait for the server.
    public var pendingMetricLines: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending.count
    }

    /// Writes the waiting metric lines (inside `locked`). A line of a run deleted meanwhile is dropped.
    private func writePending(_ c: PGConnection) throws {
        while let line = pending.first {
            do {
                try Self.writeMetrics(c, runID: line.runID, step: line.step, values: line.values)
            } catch RunStoreError.noSuchRun {}
            pending.removeFirst()
        }
    }

    private static func writeMetrics(_ c: PGConnection, runID: Int, step: Int, values: [String: Double?]) throws {
        try c.transaction {
            guard !(try c.execute("SELECT 1 FROM runs WHERE id = $1", [runID]).rows.isEmpty) else {
                throw RunStoreError.noSuchRun(id: runID)
            }
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                let stored: Double? = value.flatMap { $0.isFinite ? $0 : nil }
                try c.execute("""
                    INSERT INTO metrics (run_id, step, name, value) VALUES ($1, $2, $3, $4::float8)
                    ON CONFLICT (run_id, step, name) DO UPDATE SET value = EXCLUDED.value
                    """, [runID, step, name, stored])
            }
        }
    }

    /// The time to write and compare with: the server's transaction time, or the caller's date.
    private func now(_ c: PGConnection, caller: Date) throws -> Double {
        switch clock {
        case .caller:
            return caller.timeIntervalSince1970
        case .server:
            guard let t = try c.execute("SELECT extract(epoch FROM now())::float8 AS t").rows.first?.double("t") else {
                throw PGStatementError(sqlState: "XX000", message: "the server returned no time")
            }
            return t
        }
    }

    // MARK: - Sweeps

    public func createSweep(configText: String, seed: UInt64, data: SweepData?, now: Date) throws -> SweepRecord {
        try locked { c in
            try c.transaction {
                var attempt = 0
                var id = ClaimPolicy.newSweepID()
                while !(try c.execute("SELECT 1 FROM sweeps WHERE id = $1", [id]).rows.isEmpty) {
                    attempt += 1
                    id = ClaimPolicy.newSweepID(attempt: attempt)
                }
                let created = try self.now(c, caller: now)
                try c.execute("""
                    INSERT INTO sweeps (id, config, seed, state, created, data_path, data_absolute, data_size, data_fingerprint)
                    VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8)
                    """, [id, configText, Int64(bitPattern: seed), created, data?.path, data?.absolutePath, data?.size, data?.fingerprint])
                return SweepRecord(id: id, configText: configText, seed: seed, state: .running,
                                   created: Date(timeIntervalSince1970: created), data: data)
            }
        }
    }

    public func setState(sweepID: String, _ state: SweepState) throws -> SweepState {
        try locked { c in
            try c.transaction {
                guard let old = try c.execute("SELECT state FROM sweeps WHERE id = $1 FOR UPDATE", [sweepID]).rows.first?.string("state") else {
                    throw RunStoreError.noSuchSweep(id: sweepID, store: shownURL)
                }
                try c.execute("UPDATE sweeps SET state = $1 WHERE id = $2", [state.rawValue, sweepID])
                return SweepState(rawValue: old) ?? .running
            }
        }
    }

    public func deleteSweep(id: String) throws {
        try locked { c in
            try c.transaction {
                guard !(try c.execute("SELECT 1 FROM sweeps WHERE id = $1 FOR UPDATE", [id]).rows.isEmpty) else {
                    throw RunStoreError.noSuchSweep(id: id, store: shownURL)
                }
                try c.execute("DELETE FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE sweep_id = $1)", [id])
                try c.execute("DELETE FROM runs WHERE sweep_id = $1", [id])
                try c.execute("DELETE FROM sweeps WHERE id = $1", [id])
            }
        }
    }

    public func sweep(id: String) throws -> SweepRecord {
        let found = try locked(retry: true) { c in
            try decoded(c.execute("SELECT * FROM sweeps WHERE id = $1", [id]).rows, Self.sweep(from:)).first
        }
        guard let found else { throw RunStoreError.noSuchSweep(id: id, store: shownURL, near: nearestSweepID(to: id)) }
        return found
    }

    public func sweeps() throws -> [SweepRecord] {
        try locked(retry: true) { c in
            try decoded(c.execute("SELECT * FROM sweeps ORDER BY created, id").rows, Self.sweep(from:))
        }
    }

    // MARK: - Runs

    public func claimRun(_ request: ClaimRequest) throws -> ClaimOutcome {
        try locked(patience: Self.patience) { c in
            try c.transaction {
                // The sweep's row lock serialises every claim of this sweep, on any host.
                guard let sweep = try decoded(c.execute("SELECT * FROM sweeps WHERE id = $1 FOR UPDATE", [request.sweepID]).rows,
                                              Self.sweep(from:)).first else {
                    throw RunStoreError.noSuchSweep(id: request.sweepID, store: shownURL)
                }
                if let steered = SweepDone.steered(sweep.state) { return .done(steered) }
                let runs = try fetchRuns(c, sweepID: sweep.id)
                let histories = try request.config.metric.map { try fetchHistories(c, sweepID: sweep.id, name: $0.name) } ?? [:]
                switch ClaimPolicy.decide(config: request.config, sweepSeed: sweep.seed, runs: runs, histories: histories,
                                          sampler: request.sampler) {
                case .done(let done):
                    if !runs.contains(where: { $0.state == .running || $0.state == .pending }) {
                        try c.execute("UPDATE sweeps SET state = 'finished' WHERE id = $1", [sweep.id])
                    }
                    return .done(done)
                case .run(let config):
                    let seed = ClaimPolicy.runSeed(sweepSeed: sweep.seed, config: config)
                    let now = try self.now(c, caller: request.now)
                    guard let id = try c.execute("""
                        INSERT INTO runs (sweep_id, state, config, seed, agent, heartbeat_every, started_at, heartbeat_at, data_override)
                        VALUES ($1, 'running', $2, $3, $4, $5, $6, $6, $7) RETURNING id
                        """, [sweep.id, ParamValue.canonicalJSON(config), Int64(bitPattern: seed), request.agent,
                              request.heartbeatEvery, now, request.dataOverride]).rows.first?.int("id") else {
                        throw PGStatementError(sqlState: "XX000", message: "the insert of a run returned no id")
                    }
                    if sweep.state != .running {
                        try c.execute("UPDATE sweeps SET state = 'running' WHERE id = $1", [sweep.id])
                    }
                    TestPause.at("claim")
                    let at = Date(timeIntervalSince1970: now)
                    return .claimed(StoredRun(id: id, sweepID: sweep.id, state: .running, config: config, seed: seed,
                                              agent: request.agent, heartbeatEvery: request.heartbeatEvery,
                                              startedAt: at, heartbeatAt: at, dataOverride: request.dataOverride))
                }
            }
        }
    }

    public func heartbeat(runIDs: [Int], at: Date) throws -> [Int] {
        guard !runIDs.isEmpty else { return [] }
        return try locked(retry: true) { c in
            try writePending(c)
            return try c.transaction {
                let now = try self.now(c, caller: at)
                var gone: [Int] = []
                // Ascending ids: the same lock order as markStale, so the two never deadlock.
                for id in runIDs.sorted() {
                    let result = try c.execute("UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND state = 'running'", [now, id])
                    if result.changed == 0 { gone.append(id) }
                }
                return runIDs.filter(gone.contains)
            }
        }
    }

    /// While the server is away, the line is kept in memory (`pendingMetricLines`) and written
    /// before the next call that reaches it, so a trial trains on through a server restart.
    public func appendMetrics(runID: Int, step: Int, values: [String: Double?]) throws {
        guard !values.isEmpty else { return }
        do {
            try locked(retry: true) { c in
                try writePending(c)
                try Self.writeMetrics(c, runID: runID, step: step, values: values)
            }
        } catch let error as PostgreSQLStoreError where error.isConnectionFailure {
            lock.lock()
            pending.append((runID, step, values))
            lock.unlock()
        }
    }

    public func finishRun(id: Int, state: RunState, reason: String?, exitCode: Int32?, summary: String?,
                          givenBack: Bool, at: Date) throws -> Bool {
        precondition(state.isFinished, "finishRun needs a terminal state, got \(state)")
        return try locked(patience: Self.patience) { c in
            try writePending(c)
            return try c.transaction {
                guard let row = try c.execute("SELECT state, reason FROM runs WHERE id = $1 FOR UPDATE", [id]).rows.first else {
                    throw RunStoreError.noSuchRun(id: id)
                }
                let now = try self.now(c, caller: at)
                if row.string("state") == RunState.running.rawValue {
                    try c.execute("""
                        UPDATE runs SET state = $1, reason = $2, exit_code = $3::integer, summary = $4, given_back = $5, ended_at = $6
                        WHERE id = $7
                        """, [state.rawValue, reason, exitCode, summary, givenBack || state == .stale, now, id])
                    TestPause.at("finish")
                    return true
                }
                // A late result for a run marked stale meanwhile: kept, the state left alone.
                if row.string("state") == RunState.stale.rawValue {
                    let late = lateResultNote(state: state, reason: reason, exitCode: exitCode, at: Date(timeIntervalSince1970: now))
                    let old = row.string("reason")
                    try c.execute("""
                        UPDATE runs SET reason = $1, summary = COALESCE($2, summary), exit_code = COALESCE($3::integer, exit_code)
                        WHERE id = $4
                        """, [old.map { $0 + "; " + late } ?? late, summary, exitCode, id])
                }
                return false
            }
        }
    }

    public func giveBack(failedRunIDs: [Int], note: String) throws -> [Int] {
        guard !failedRunIDs.isEmpty else { return [] }
        return try locked { c in
            try c.transaction {
                var changed: [Int] = []
                for id in failedRunIDs {
                    let result = try c.execute("""
                        UPDATE runs SET given_back = true, reason = CASE WHEN reason IS NULL THEN $1 ELSE reason || '; ' || $1 END
                        WHERE id = $2 AND state = 'failed' AND NOT given_back
                        """, [note, id])
                    if result.changed == 1 { changed.append(id) }
                }
                return changed
            }
        }
    }

    /// Waits for a server that went away, as a claim does (an agent calls it before each claim,
    /// so a restart between two trials must not end the agent); safe to repeat, since a run
    /// already marked is no longer `running`.
    public func markStale(sweepID: String, grace: Double, now: Date) throws -> [Int] {
        try locked(retry: true, patience: Self.patience) { c in
            // A read first: the sweep's lock is taken only when some run looks stale.
            let t = try self.now(c, caller: now)
            let candidates = try decoded(c.execute("SELECT * FROM runs WHERE sweep_id = $1 AND state = 'running'", [sweepID]).rows,
                                         Self.run(from:)).filter { ClaimPolicy.isStale($0, grace: grace, now: Date(timeIntervalSince1970: t)) }
            if candidates.isEmpty { return [] }
            return try c.transaction {
                _ = try c.execute("SELECT 1 FROM sweeps WHERE id = $1 FOR UPDATE", [sweepID])
                let time = Date(timeIntervalSince1970: try self.now(c, caller: now))
                let running = try decoded(c.execute("SELECT * FROM runs WHERE sweep_id = $1 AND state = 'running' ORDER BY id FOR UPDATE",
                                                    [sweepID]).rows, Self.run(from:))
                var marked: [Int] = []
                for run in running where ClaimPolicy.isStale(run, grace: grace, now: time) {
                    try c.execute("""
                        UPDATE runs SET state = 'stale', given_back = true, ended_at = $1, reason = $2
                        WHERE id = $3 AND state = 'running'
                        """, [time.timeIntervalSince1970, staleReason(run, now: time), run.id])
                    marked.append(run.id)
                }
                return marked
            }
        }
    }

    /// Waits for a server that went away, as a claim does: an agent with no more work reads the
    /// runs to see whether others still run, and a restart then must not end it.
    public func runs(sweepID: String) throws -> [StoredRun] {
        try locked(retry: true, patience: Self.patience) { c in try fetchRuns(c, sweepID: sweepID) }
    }

    public func metrics(runID: Int) throws -> [MetricPoint] {
        try locked(retry: true) { c in
            // COLLATE "C": by code point, as SQLite orders text.
            try decoded(c.execute("""
                SELECT run_id, step, name, value FROM metrics WHERE run_id = $1 ORDER BY step, name COLLATE "C"
                """, [runID]).rows, Self.metricPoint(from:))
        }
    }

    public func histories(sweepID: String, metric name: String) throws -> [Int: [Double]] {
        try locked(retry: true) { c in try fetchHistories(c, sweepID: sweepID, name: name) }
    }

    // MARK: - Reading runs and histories (rows decoded in PostgreSQLRunStore+Decoding.swift)

    func fetchRuns(_ c: PGConnection, sweepID: String) throws -> [StoredRun] {
        try decoded(c.execute("SELECT * FROM runs WHERE sweep_id = $1 ORDER BY id", [sweepID]).rows, Self.run(from:))
    }

    /// Each run's finite values of metric `name`, in step order.
    func fetchHistories(_ c: PGConnection, sweepID: String, name: String) throws -> [Int: [Double]] {
        let rows = try c.execute("""
            SELECT m.run_id, m.step, m.name, m.value FROM runs r JOIN metrics m ON m.run_id = r.id
            WHERE r.sweep_id = $1 AND m.name = $2 AND m.value IS NOT NULL
            ORDER BY m.run_id, m.step
            """, [sweepID, name]).rows
        var out: [Int: [Double]] = [:]
        for (id, point) in try decoded(rows, Self.metricRow(from:)) {
            if let value = point.value { out[id, default: []].append(value) }
        }
        return out
    }
}
