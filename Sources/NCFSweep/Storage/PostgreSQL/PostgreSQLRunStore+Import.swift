import Foundation

extension PostgreSQLRunStore: SweepImporting {
    /// One transaction. Times are copied as they are (they were the source's clock when written).
    public func importSweep(_ sweep: SweepRecord, runs: [StoredRun], metrics: [[MetricPoint]]) throws {
        precondition(runs.count == metrics.count, "one metric list per run")
        try locked { c in
            try c.transaction {
                if !(try c.execute("SELECT 1 FROM sweeps WHERE id = $1", [sweep.id]).rows.isEmpty) {
                    throw SweepCopyError.alreadyThere(id: sweep.id, store: shownURL)
                }
                try c.execute("""
                    INSERT INTO sweeps (id, config, seed, state, created, data_path, data_absolute, data_size, data_fingerprint)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    """, [sweep.id, sweep.configText, Int64(bitPattern: sweep.seed), sweep.state.rawValue,
                          sweep.created.timeIntervalSince1970, sweep.data?.path, sweep.data?.absolutePath,
                          sweep.data?.size, sweep.data?.fingerprint])
                for (run, points) in zip(runs, metrics) {
                    guard let id = try c.execute("""
                        INSERT INTO runs (sweep_id, state, config, seed, reason, exit_code, agent, heartbeat_every,
                                          started_at, ended_at, heartbeat_at, given_back, summary, data_override)
                        VALUES ($1, $2, $3, $4, $5, $6::integer, $7, $8, $9, $10::float8, $11, $12, $13, $14) RETURNING id
                        """, [sweep.id, run.state.rawValue, ParamValue.canonicalJSON(run.config), Int64(bitPattern: run.seed),
                              run.reason, run.exitCode, run.agent, run.heartbeatEvery, run.startedAt.timeIntervalSince1970,
                              run.endedAt?.timeIntervalSince1970, run.heartbeatAt.timeIntervalSince1970, run.givenBack,
                              run.summary, run.dataOverride]).rows.first?.int("id") else {
                        throw PGStatementError(sqlState: "XX000", message: "the insert of a run returned no id")
                    }
                    for point in points {
                        try c.execute("INSERT INTO metrics (run_id, step, name, value) VALUES ($1, $2, $3, $4::float8)",
                                      [id, point.step, point.name, point.value])
                    }
                }
            }
        }
    }
}
