import Foundation

/// A store that takes in a whole sweep as another store holds it (`ncf sweep copy`), so a sweep
/// started on a laptop's SQLite file continues on a PostgreSQL server, or comes back.
public protocol SweepImporting: RunStore {
    /// Inserts `sweep` under its own id, state and times, with `runs` (in claim order, given new
    /// ids here, every other field as it is) and each run's metrics, all in one transaction.
    /// - Parameter metrics: `metrics[i]` are the values of `runs[i]`.
    /// - Throws: `SweepCopyError.alreadyThere` when the store holds a sweep with that id.
    func importSweep(_ sweep: SweepRecord, runs: [StoredRun], metrics: [[MetricPoint]]) throws
}

/// Why a sweep could not be copied.
public enum SweepCopyError: Error, LocalizedError, CustomStringConvertible, Equatable {
    case alreadyThere(id: String, store: String)

    public var description: String {
        switch self {
        case let .alreadyThere(id, store):
            return "\(store) already holds a sweep \(id); nothing was copied. Hint: `ncf sweep delete \(id) --store \(store)` removes it there first, if it is an older copy."
        }
    }

    public var errorDescription: String? { description }
}

/// What `copySweep` copied.
public struct SweepCopySummary: Sendable, Equatable {
    public var sweep: SweepRecord
    public var runs: Int
    /// Metric values, over all runs.
    public var values: Int
    /// Runs that were `running` in the source: copied as they are, so the destination's agents
    /// mark them stale after the grace period and run their points again.
    public var running: Int
}

/// Copies the sweep `id` from `source` to `destination`: the sweep (same id, state, seed, data),
/// its runs in claim order and every metric value. The source is only read.
public func copySweep(id: String, from source: any RunStore, to destination: any SweepImporting) throws -> SweepCopySummary {
    let sweep = try source.sweep(id: id)
    let runs = try source.runs(sweepID: id)
    let metrics = try runs.map { try source.metrics(runID: $0.id) }
    try destination.importSweep(sweep, runs: runs, metrics: metrics)
    return SweepCopySummary(sweep: sweep, runs: runs.count, values: metrics.reduce(0) { $0 + $1.count },
                            running: runs.filter { $0.state == .running || $0.state == .pending }.count)
}
