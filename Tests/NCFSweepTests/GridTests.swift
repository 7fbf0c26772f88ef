import NCFKernels
import XCTest

@testable import NCFSweep

final class GridTests: XCTestCase {
    private func cat(_ values: ParamValue...) -> ParameterSpec { .categorical(values, probabilities: nil) }

    private func grid(_ parameters: [Parameter]) -> SweepConfig { SweepConfig(method: .grid, parameters: parameters) }

    private func next(_ config: SweepConfig, _ runs: [RunRecord], _ count: Int = 1000) -> [[String: ParamValue]] {
        var rng = SplitMix64(seed: 1)
        return GridSampler().next(count, config: config, runs: runs, rng: &rng)
    }

    func testOrderSortsNamesAndVariesTheLastFastest() {
        let config = grid([
            Parameter(name: "b", spec: cat(.string("x"), .string("y"))),
            Parameter(name: "a", spec: cat(.int(1), .int(2), .int(3))),
        ])
        let points = next(config, [])
        XCTAssertEqual(points.map { "\($0["a"]!)\($0["b"]!)" },
                       [#"1"x""#, #"1"y""#, #"2"x""#, #"2"y""#, #"3"x""#, #"3"y""#])
    }

    func testDuplicatesCollapse() {
        let config = grid([
            Parameter(name: "a", spec: cat(.int(1), .int(1), .int(2))),
            Parameter(name: "b", spec: cat(.string("x"), .string("x"))),
        ])
        XCTAssertEqual(next(config, []).count, 2)
        XCTAssertEqual(GridSampler.pointCount(config.parameters), 2)
    }

    func testNCFFullGridCount() {
        let config = grid([
            Parameter(name: "model", spec: .constant(.string("NCF"))),
            Parameter(name: "batch_size", spec: cat(.int(32), .int(64), .int(128))),
            Parameter(name: "embed_dim", spec: cat(.int(8), .int(16), .int(32))),
            Parameter(name: "dropout", spec: cat(.double(0.1), .double(0.2), .double(0.3))),
            Parameter(name: "mlp_dims", spec: cat(.string("16,16"), .string("32,32"), .string("16,32,64"), .string("32,64,128"))),
            Parameter(name: "epochs", spec: cat(.int(10), .int(30), .int(50), .int(100))),
            Parameter(name: "lr", spec: cat(.double(0.001), .double(0.003), .double(0.01))),
        ])
        XCTAssertEqual(GridSampler.pointCount(config.parameters), 1296)
        let points = next(config, [], 5000)
        XCTAssertEqual(points.count, 1296)
        XCTAssertEqual(Set(points.map { ParamValue.canonicalJSON($0) }).count, 1296)
        XCTAssertTrue(points.allSatisfy { $0["model"] == .string("NCF") })
    }

    func testIntAndQUniformInGrid() {
        let config = grid([
            Parameter(name: "n", spec: .intUniform(min: 1, max: 3)),
            Parameter(name: "q", spec: .qUniform(min: 0, max: 10, q: 2, integerQ: true)),
        ])
        XCTAssertEqual(next(config, []).count, 15)
    }

    func testExhaustionOneAtATimeInAnyState() {
        let config = grid([
            Parameter(name: "a", spec: .intUniform(min: 1, max: 3)),
            Parameter(name: "b", spec: cat(.string("x"), .string("y"))),
        ])
        let states: [RunState] = [.pending, .running, .finished, .failed, .stopped]
        var runs: [RunRecord] = []
        while let point = next(config, runs, 1).first {
            runs.append(RunRecord(id: runs.count, config: point, state: states[runs.count % states.count]))
            XCTAssertLessThanOrEqual(runs.count, 6)
        }
        XCTAssertEqual(runs.count, 6)
        XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, 6)
    }

    func testResumeSkipsUsedPointsAndGivesBackStaleOnes() {
        let config = grid([Parameter(name: "a", spec: .intUniform(min: 1, max: 4))])
        let runs = [
            RunRecord(id: 0, config: ["a": .int(1)], state: .finished),
            // A whole-number double from the store is the same point as the int.
            RunRecord(id: 1, config: ["a": .double(2)], state: .failed),
            RunRecord(id: 2, config: ["a": .int(3)], state: .stale),
        ]
        XCTAssertEqual(next(config, runs), [["a": .int(3)], ["a": .int(4)]])
        // The stale point re-ran: now it is used.
        let rerun = runs + [RunRecord(id: 3, config: ["a": .int(3)], state: .running)]
        XCTAssertEqual(next(config, rerun), [["a": .int(4)]])
        XCTAssertEqual(next(config, rerun + [RunRecord(id: 4, config: ["a": .int(4)], state: .pending)]), [])
    }

    func testCountLimitsAndKeysBeyondTheParametersAreIgnored() {
        let config = grid([Parameter(name: "a", spec: .intUniform(min: 1, max: 4))])
        let runs = [RunRecord(id: 0, config: ["a": .int(1), "extra": .string("seed 7")], state: .finished)]
        XCTAssertEqual(next(config, runs, 2), [["a": .int(2)], ["a": .int(3)]])
    }

    func testNestedGridResumes() {
        let config = grid([
            Parameter(name: "model", spec: .nested([
                Parameter(name: "embed_dim", spec: cat(.int(8), .int(16))),
                Parameter(name: "dropout", spec: cat(.double(0.1), .double(0.3))),
            ])),
            Parameter(name: "lr", spec: cat(.double(0.01), .double(0.1), .double(0.3))),
        ])
        let all = next(config, [])
        XCTAssertEqual(all.count, 12)
        XCTAssertEqual(all[0], ["lr": .double(0.01), "model": .map(["dropout": .double(0.1), "embed_dim": .int(8)])])
        XCTAssertEqual(all[1], ["lr": .double(0.01), "model": .map(["dropout": .double(0.1), "embed_dim": .int(16)])])
        XCTAssertEqual(all[4], ["lr": .double(0.1), "model": .map(["dropout": .double(0.1), "embed_dim": .int(8)])])
        var runs: [RunRecord] = []
        while let point = next(config, runs, 1).first {
            runs.append(RunRecord(id: runs.count, config: point, state: .finished))
            XCTAssertLessThanOrEqual(runs.count, 12)
        }
        XCTAssertEqual(runs.map(\.config), all)
    }

    func testDisallowedFormGivesNoPoints() {
        let config = grid([Parameter(name: "lr", spec: .uniform(min: 0, max: 1))])
        XCTAssertNil(GridSampler.points(config.parameters))
        XCTAssertNil(GridSampler.pointCount(config.parameters))
        XCTAssertEqual(next(config, []), [])
    }
}
