import Foundation
import GRDB

extension SQLiteRunStore: SweepImporting {
    /// One `BEGIN IMMEDIATE` transaction on a connection of its own to the store's file (the
    /// store's schema is already up to date: opening the store migrated it).
    public func importSweep(_ sweep: SweepRecord, runs: [StoredRun], metrics: [[MetricPoint]]) throws {
        precondition(runs.count == metrics.count, "one metric list per run")
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            try queue.inTransaction(.immediate) { db in
                if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sweeps WHERE id = ?)", arguments: [sweep.id]) ?? false {
                    throw SweepCopyError.alreadyThere(id: sweep.id, store: path)
                }
                try db.execute(sql: """
                    INSERT INTO sweeps (id, config, seed, state, created, data_path, data_absolute, data_size, data_fingerprint)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [sweep.id, sweep.configText, Int64(bitPattern: sweep.seed), sweep.state.rawValue,
                                     sweep.created.timeIntervalSince1970, sweep.data?.path, sweep.data?.absolutePath,
                                     sweep.data?.size, sweep.data?.fingerprint])
                for (run, points) in zip(runs, metrics) {
                    try db.execute(sql: """
                        INSERT INTO runs (sweep_id, state, config, seed, reason, exit_code, agent, heartbeat_every,
                                          started_at, ended_at, heartbeat_at, given_back, summary, data_override)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [sweep.id, run.state.rawValue, ParamValue.canonicalJSON(run.config),
                                         Int64(bitPattern: run.seed), run.reason, run.exitCode.map { Int($0) }, run.agent,
                                         run.heartbeatEvery, run.startedAt.timeIntervalSince1970,
                                         run.endedAt?.timeIntervalSince1970, run.heartbeatAt.timeIntervalSince1970,
                                         run.givenBack, run.summary, run.dataOverride])
                    let id = db.lastInsertedRowID
                    for point in points {
                        try db.execute(sql: "INSERT INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)",
                                       arguments: [id, point.step, point.name, point.value])
                    }
                }
                return .commit
            }
        } catch let error as DatabaseError {
            throw RunStoreError.database(path: path, detail: error.message ?? "\(error)")
        }
    }
}
