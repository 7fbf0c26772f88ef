import Foundation

/// A `RunStore` in memory, for tests and for sweeps that need no record: one lock makes every
/// method atomic, so it keeps the same invariants as `SQLiteRunStore` within one process.
public final class InMemoryRunStore: RunStore, @unchecked Sendable {
    private let lock = NSLock()
    // Guarded by `lock`.
    private var sweepList: [SweepRecord] = []
    private var runList: [StoredRun] = []
    private var metricList: [Int: [MetricPoint]] = [:]
    /// The last run id handed out (ids are never reused, as in SQLite's AUTOINCREMENT).
    private var lastRunID = 0

    private func nextRunID() -> Int {
        lastRunID += 1
        return lastRunID
    }

    public init() {}

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    public func createSweep(configText: String, seed: UInt64, data: SweepData?, now: Date) throws -> SweepRecord {
        locked {
            var attempt = 0
            var id = ClaimPolicy.newSweepID()
            while sweepList.contains(where: { $0.id == id }) {
                attempt += 1
                id = ClaimPolicy.newSweepID(attempt: attempt)
            }
            let sweep = SweepRecord(id: id, configText: configText, seed: seed, state: .running, created: now, data: data)
            sweepList.append(sweep)
            return sweep
        }
    }

    public func setState(sweepID: String, _ state: SweepState) throws -> SweepState {
        try locked {
            guard let i = sweepList.firstIndex(where: { $0.id == sweepID }) else {
                throw RunStoreError.noSuchSweep(id: sweepID, store: "the in-memory store")
            }
            let old = sweepList[i].state
            sweepList[i].state = state
            return old
        }
    }

    public func deleteSweep(id: String) throws {
        try locked {
            guard sweepList.contains(where: { $0.id == id }) else {
                throw RunStoreError.noSuchSweep(id: id, store: "the in-memory store")
            }
            sweepList.removeAll { $0.id == id }
            for run in runList where run.sweepID == id { metricList[run.id] = nil }
            runList.removeAll { $0.sweepID == id }
        }
    }

    public func sweep(id: String) throws -> SweepRecord {
        try locked {
            guard let s = sweepList.first(where: { $0.id == id }) else {
                throw RunStoreError.noSuchSweep(id: id, store: "the in-memory store")
            }
            return s
        }
    }

    public func sweeps() throws -> [SweepRecord] { locked { sweepList } }

    public func claimRun(_ request: ClaimRequest) throws -> ClaimOutcome {
        try locked {
            guard let index = sweepList.firstIndex(where: { $0.id == request.sweepID }) else {
                throw RunStoreError.noSuchSweep(id: request.sweepID, store: "the in-memory store")
            }
            if let steered = SweepDone.steered(sweepList[index].state) { return .done(steered) }
            let runs = runList.filter { $0.sweepID == request.sweepID }
            let histories = request.config.metric.map { historiesLocked(runs: runs, name: $0.name) } ?? [:]
            switch ClaimPolicy.decide(config: request.config, sweepSeed: sweepList[index].seed, runs: runs,
                                      histories: histories, sampler: request.sampler) {
            case .done(let done):
                if !runs.contains(where: { $0.state == .running || $0.state == .pending }) {
                    sweepList[index].state = .finished
                }
                return .done(done)
            case .run(let config):
                let run = StoredRun(
                    id: nextRunID(), sweepID: request.sweepID, state: .running, config: config,
                    seed: ClaimPolicy.runSeed(sweepSeed: sweepList[index].seed, config: config),
                    agent: request.agent, heartbeatEvery: request.heartbeatEvery,
                    startedAt: request.now, heartbeatAt: request.now, dataOverride: request.dataOverride)
                runList.append(run)
                sweepList[index].state = .running
                return .claimed(run)
            }
        }
    }

    public func heartbeat(runIDs: [Int], at: Date) throws -> [Int] {
        locked {
            var gone: [Int] = []
            for id in runIDs {
                guard let i = runList.firstIndex(where: { $0.id == id }) else { gone.append(id); continue }
                if runList[i].state == .running { runList[i].heartbeatAt = at } else { gone.append(id) }
            }
            return gone
        }
    }

    public func appendMetrics(runID: Int, step: Int, values: [String: Double?]) throws {
        try locked {
            guard runList.contains(where: { $0.id == runID }) else { throw RunStoreError.noSuchRun(id: runID) }
            var points = metricList[runID] ?? []
            for (name, value) in values {
                let value = value.flatMap { $0.isFinite ? $0 : nil }
                if let i = points.firstIndex(where: { $0.step == step && $0.name == name }) {
                    points[i].value = value
                } else {
                    points.append(MetricPoint(step: step, name: name, value: value))
                }
            }
            points.sort { ($0.step, $0.name) < ($1.step, $1.name) }
            metricList[runID] = points
        }
    }

    public func finishRun(id: Int, state: RunState, reason: String?, exitCode: Int32?, summary: String?,
                          givenBack: Bool, at: Date) throws -> Bool {
        precondition(state.isFinished, "finishRun needs a terminal state, got \(state)")
        return try locked {
            guard let i = runList.firstIndex(where: { $0.id == id }) else { throw RunStoreError.noSuchRun(id: id) }
            guard runList[i].state == .running else {
                if runList[i].state == .stale {
                    let late = lateResultNote(state: state, reason: reason, exitCode: exitCode, at: at)
                    runList[i].reason = runList[i].reason.map { $0 + "; " + late } ?? late
                    if let summary { runList[i].summary = summary }
                    if let exitCode { runList[i].exitCode = exitCode }
                }
                return false
            }
            runList[i].state = state
            runList[i].reason = reason
            runList[i].exitCode = exitCode
            runList[i].summary = summary
            runList[i].givenBack = givenBack || state == .stale
            runList[i].endedAt = at
            return true
        }
    }

    public func giveBack(failedRunIDs: [Int], note: String) throws -> [Int] {
        locked {
            var changed: [Int] = []
            for id in failedRunIDs {
                guard let i = runList.firstIndex(where: { $0.id == id }),
                      runList[i].state == .failed, !runList[i].givenBack else { continue }
                runList[i].givenBack = true
                runList[i].reason = runList[i].reason.map { $0 + "; " + note } ?? note
                changed.append(id)
            }
            return changed
        }
    }

    public func markStale(sweepID: String, grace: Double, now: Date) throws -> [Int] {
        locked {
            var marked: [Int] = []
            for i in runList.indices where runList[i].sweepID == sweepID && ClaimPolicy.isStale(runList[i], grace: grace, now: now) {
                runList[i].state = .stale
                runList[i].givenBack = true
                runList[i].endedAt = now
                runList[i].reason = staleReason(runList[i], now: now)
                marked.append(runList[i].id)
            }
            return marked
        }
    }

    public func runs(sweepID: String) throws -> [StoredRun] {
        locked { runList.filter { $0.sweepID == sweepID } }
    }

    public func metrics(runID: Int) throws -> [MetricPoint] {
        locked { metricList[runID] ?? [] }
    }

    public func histories(sweepID: String, metric name: String) throws -> [Int: [Double]] {
        locked { historiesLocked(runs: runList.filter { $0.sweepID == sweepID }, name: name) }
    }

    private func historiesLocked(runs: [StoredRun], name: String) -> [Int: [Double]] {
        var out: [Int: [Double]] = [:]
        for run in runs {
            let values = (metricList[run.id] ?? []).filter { $0.name == name }.compactMap(\.value)
            if !values.isEmpty { out[run.id] = values }
        }
        return out
    }
}

/// The reason recorded for a run marked stale.
func staleReason(_ run: StoredRun, now: Date) -> String {
    let silent = Int(now.timeIntervalSince(run.heartbeatAt).rounded())
    return "no heartbeat from agent \(run.agent) for \(silent) s; its point was given back"
}

/// The note appended to a stale run's reason when its agent's result arrives after all:
/// `late result: finished (exit code 0) at 2026-11-29 11:20:31 UTC`, plus the result's own reason.
func lateResultNote(state: RunState, reason: String?, exitCode: Int32?, at: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
    var note = "late result: \(state.rawValue)"
    if let exitCode { note += " (exit code \(exitCode))" }
    note += " at \(formatter.string(from: at))"
    if let reason { note += " — \(reason)" }
    return note
}
