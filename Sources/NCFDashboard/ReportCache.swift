import Foundation
import NCFReport
import NCFSweep

/// The report models the dashboard built lately, one per sweep, reused while fresh.
///
/// A model is reused for `max(minAge, costFactor × the seconds it took to build)`: a small
/// sweep's report is rebuilt for every poll after `minAge`, a large one's (thousands of runs,
/// seconds to build) at most every `costFactor` build times, so polling pages never keep the
/// store busy more than about 1/`costFactor` of the time. `generated` in the data tells its age.
public final class ReportCache: @unchecked Sendable {
    /// How long a model stays fresh.
    public struct Reuse: Sendable {
        /// Seconds a model is reused at least (0: always rebuilt).
        public var minAge: Double = 1
        /// A model that took t seconds to build is reused for this many times t.
        public var costFactor: Double = 3
        /// Sweeps whose model is kept (the least recently built go first).
        public var capacity = 8

        public init() {}
    }

    private struct Entry {
        var model: ReportModel
        var built: Date
        var cost: Double
    }

    public let reuse: Reuse
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    public init(reuse: Reuse) {
        self.reuse = reuse
    }

    /// The sweep's report model: a fresh cached one, else built from the store.
    func model(sweepID: String, store: DashboardStore, now: @escaping () -> Date = Date.init) throws(DashboardError) -> ReportModel {
        if let entry = lock.withLock({ entries[sweepID] }), now().timeIntervalSince(entry.built) < max(reuse.minAge, reuse.costFactor * entry.cost) {
            return entry.model
        }
        let start = now()
        let model = try store.read { try ReportModel.build(store: $0, sweepID: sweepID, now: start) }
        let cost = now().timeIntervalSince(start)
        lock.withLock {
            entries[sweepID] = Entry(model: model, built: start, cost: cost)
            if entries.count > reuse.capacity, let oldest = entries.min(by: { $0.value.built < $1.value.built })?.key {
                entries[oldest] = nil
            }
        }
        return model
    }
}
