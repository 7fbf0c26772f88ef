import XCTest

@testable import NCFSweep

final class RunRecordTests: XCTestCase {
    func testTerminalStates() {
        XCTAssertEqual(RunState.allCases.filter(\.isFinished), [.finished, .failed, .stopped, .stale])
    }

    func testParametersAreSortedByName() {
        let config = SweepConfig(method: .grid, parameters: [
            Parameter(name: "lr", spec: .constant(.double(0.1))),
            Parameter(name: "batch_size", spec: .constant(.int(64))),
        ])
        XCTAssertEqual(config.parameters.map(\.name), ["batch_size", "lr"])
    }
}
