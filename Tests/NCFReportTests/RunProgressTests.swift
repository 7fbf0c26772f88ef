import XCTest

@testable import NCFReport
import NCFSweep

/// The one-line progress of a running run (the agent's live block, `ncf sweep status`).
final class RunProgressTests: XCTestCase {
    private let yaml = ReportFixture.partsYAML()

    private func progress(_ fixture: ReportFixture, _ id: Int) throws -> RunProgress {
        let run = try XCTUnwrap(try fixture.store.runs(sweepID: fixture.sweep.id).first { $0.id == id })
        return RunProgress(run: run, points: try fixture.store.metrics(runID: id), metric: fixture.config.metric,
                           now: run.startedAt.addingTimeInterval(5))
    }

    func testARunThatLoggedNothingIsStarting() throws {
        let fixture = try ReportFixture(yaml: yaml)
        let id = try fixture.add(ReportFixture.parts(0.5).merging(["epochs": .int(3)]) { $1 }, state: .running, valid: [])
        let line = try progress(fixture, id).line(metricName: "Valid Loss")
        XCTAssertEqual(line, "run \(id)  starting  5.0s")
    }

    /// A run from pre-trained parts logs its validated start as epoch 0: the line shows it, with
    /// the metric, instead of "starting".
    func testALoggedStartIsEpochZero() throws {
        let fixture = try ReportFixture(yaml: yaml)
        let id = try fixture.add(ReportFixture.parts(0.5).merging(["epochs": .int(3)]) { $1 }, state: .running, valid: [0.91], train: [nil], firstEpoch: 0)
        let p = try progress(fixture, id)
        XCTAssertEqual(p.epoch, 0)
        XCTAssertEqual(p.line(metricName: "Valid Loss"), "run \(id)  epoch 0/3  Valid Loss 0.9100  5.0s")

        let later = try fixture.add(ReportFixture.parts(0.8).merging(["epochs": .int(3)]) { $1 }, state: .running, valid: [0.91, 0.89, 0.9], train: [nil, 1, 0.9], firstEpoch: 0)
        XCTAssertEqual(try progress(fixture, later).line(metricName: "Valid Loss"), "run \(later)  epoch 2/3  Valid Loss 0.9000 (best 0.8900)  5.0s")
    }
}
