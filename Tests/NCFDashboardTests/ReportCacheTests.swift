import Foundation
import NCFSweep
import XCTest

@testable import NCFDashboard

/// A polled report is reused while fresh and rebuilt after, on a clock the test sets.
final class ReportCacheTests: XCTestCase {
    func testAReportIsReusedWhileFreshThenRebuiltWithTheNewRuns() throws {
        let memory = InMemoryRunStore()
        let sweep = try memory.createSweep(configText: DashboardAPITests.yaml, seed: 1, now: Date())
        try DashboardAPITests.addRuns(memory, sweepID: sweep.id, count: 1)
        let store = DashboardStore(store: memory, shown: "memory")
        let cache = ReportCache(reuse: ReportCache.Reuse())
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)

        XCTAssertEqual(try cache.model(sweepID: sweep.id, store: store, now: { t0 }).runs.count, 1)
        try DashboardAPITests.addRuns(memory, sweepID: sweep.id, count: 1)
        XCTAssertEqual(try cache.model(sweepID: sweep.id, store: store, now: { t0.addingTimeInterval(0.5) }).runs.count, 1,
                       "within a second the same model is served")
        XCTAssertEqual(try cache.model(sweepID: sweep.id, store: store, now: { t0.addingTimeInterval(1.5) }).runs.count, 2,
                       "then it is rebuilt with the new run")
        XCTAssertThrowsError(try cache.model(sweepID: "zzzzzzzz", store: store, now: { t0 })) { error in
            XCTAssertEqual((error as? DashboardError)?.status, 404)
        }
    }
}
