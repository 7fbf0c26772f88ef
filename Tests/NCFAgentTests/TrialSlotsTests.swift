import NCFSweep
import XCTest

@testable import NCFAgent

/// How many trials an agent runs at once: trials × threads ≤ cores unless `--parallel` is given.
final class TrialSlotsTests: XCTestCase {
    func testDefaultFitsTheCores() {
        // (threads per trial, cores) → trials at a time
        let table: [(Int, Int, Int)] = [(1, 2, 2), (2, 2, 1), (2, 4, 2), (3, 8, 2), (4, 2, 1), (1, 1, 1), (1, 16, 16), (0, 2, 2)]
        for (threads, cores, expected) in table {
            let slots = TrialSlots.choose(requested: nil, threadsPerTrial: threads, cores: cores)
            XCTAssertEqual(slots.parallel, expected, "\(threads) threads on \(cores) cores")
            XCTAssertLessThanOrEqual(slots.parallel * max(1, threads), max(cores, max(1, threads)))
            XCTAssertNil(slots.warning)
            XCTAssertNotNil(slots.note, "the agent says what it chose")
        }
        let two = TrialSlots.choose(requested: nil, threadsPerTrial: 2, cores: 2)
        XCTAssertEqual(two.note, "running 1 trial at a time: 2 threads per trial on 2 cores (--parallel P to choose)")
        XCTAssertTrue(TrialSlots.choose(requested: nil, threadsPerTrial: 4, cores: 2).note?.contains("exceed the cores") == true)
    }

    func testExplicitParallelIsObeyedAndOversubscriptionWarned() {
        let fits = TrialSlots.choose(requested: 2, threadsPerTrial: 1, cores: 2)
        XCTAssertEqual(fits, TrialSlots(parallel: 2, threadsPerTrial: 1))
        let over = TrialSlots.choose(requested: 2, threadsPerTrial: 2, cores: 2)
        XCTAssertEqual(over.parallel, 2, "an explicit --parallel is obeyed")
        XCTAssertEqual(over.warning, "--parallel 2 with 2 threads per trial runs 4 threads on 2 cores: the trials compete for the CPU and each trains slower; --parallel 1 fits the cores")
        XCTAssertNil(over.note)
        XCTAssertNotNil(TrialSlots.choose(requested: 3, threadsPerTrial: 1, cores: 2).warning)
        XCTAssertNil(TrialSlots.choose(requested: 1, threadsPerTrial: 2, cores: 2).warning)
    }

    private func threads(_ yaml: String) throws -> Int {
        TrialSlots.threadsPerTrial(try SweepConfig.parse(yaml: yaml, file: "t.yaml", trainer: nil).config)
    }

    func testThreadsPerTrialComesFromTheConfig() throws {
        let head = "method: grid\nparameters:\n  lr:\n    values: [0.001, 0.01]\n"
        XCTAssertEqual(try threads(head), 1, "no threads parameter: 1")
        XCTAssertEqual(try threads(head + "  threads:\n    value: 2\n"), 2)
        XCTAssertEqual(try threads(head + "  threads:\n    values: [1, 4, 2]\n"), 4, "the largest value")
        XCTAssertEqual(try threads("method: random\nparameters:\n  threads:\n    min: 1\n    max: 3\n"), 3)
        XCTAssertEqual(try threads("program: train.py\ncommand: [\"${env}\", \"python3\", \"${program}\", \"--threads=2\", \"${args}\"]\n" + head), 2)
        XCTAssertEqual(try threads("program: train.py\ncommand: [\"python3\", \"${program}\", \"--threads\", \"3\", \"${args}\"]\n" + head), 3)
    }

    /// Absurd values from a YAML or the command line never overflow: threads per trial are at
    /// most 256 (the trainer's limit), and the product with --parallel saturates.
    func testHugeValuesNeitherTrapNorWrap() throws {
        let head = "method: grid\nparameters:\n  lr:\n    values: [0.001, 0.01]\n"
        XCTAssertEqual(try threads(head + "  threads:\n    value: 9223372036854775807\n"), 256)
        XCTAssertEqual(try threads("program: t.py\ncommand: [\"${program}\", \"--threads=99999999999\", \"${args}\"]\n" + head), 256)
        let slots = TrialSlots.choose(requested: Int.max / 2, threadsPerTrial: 256, cores: 2)
        XCTAssertEqual(slots.parallel, Int.max / 2)
        XCTAssertNotNil(slots.warning)
        XCTAssertEqual(TrialSlots.choose(requested: 2, threadsPerTrial: Int.max, cores: 2).threadsPerTrial, 256)
    }
}
