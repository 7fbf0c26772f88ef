import Foundation
import NCFKernels
import NCFTestSupport
import XCTest

/// `ncf doctor`, `ncf --version` and `ncf train`'s summary name OpenBLAS's core; ncf restarts
/// itself once when OpenBLAS runs kernels below the CPU, and never overrides the user's
/// OPENBLAS_CORETYPE. The expectations come from `BLASCore` and this machine's CPU, so they hold on
/// any CPU; the restart path is forced with the `NCF_BLAS_ASSUME_CORE` test seam.
final class BLASCoreCLITests: CLITestCase {
    /// The variables that steer the choice; every run starts without them unless it sets one.
    static let variables = ["OPENBLAS_CORETYPE", "NCF_BLAS_AUTOCORE", "NCF_BLAS_CORE_SET", "NCF_BLAS_ASSUME_CORE"]

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
        let result = try CLIRunner(executableNamed: "ncf").run(arguments, in: tmp, environment: environment, removing: Self.variables)
        XCTAssertEqual(result.exitCode, 0, "expected success:\n\(result)")
        return result
    }

    /// The core `ncf doctor` reports (its `blas core:` line).
    func doctorCore(_ result: CLIResult, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard let text = result.stdoutLines.first(where: { $0.hasPrefix("blas core: ") }) else {
            XCTFail("no `blas core:` line:\n\(result)", file: file, line: line)
            return ""
        }
        return String(text.dropFirst("blas core: ".count).split(separator: " ").first ?? "")
    }

    /// The best core this machine runs, when it runs more than SSE kernels.
    var best: String? { BLASCore.bestCore(for: .current) }

    func testDoctorAndVersionPrintTheCore() throws {
        let doctor = try run(["doctor"])
        let core = doctorCore(doctor)
        XCTAssertFalse(core.isEmpty)
        for prefix in ["cpu: ", "openblas: OpenBLAS", "blas choice: ", "huge pages: "] {
            XCTAssertTrue(doctor.stdoutLines.contains { $0.hasPrefix(prefix) }, "no \(prefix) line:\n\(doctor)")
        }
        // Whatever OpenBLAS picked, ncf runs kernels at the tier the CPU and OS allow.
        if let best, let tier = BLASCore.tier(ofCore: core) {
            XCTAssertEqual(tier, BLASCore.tier(ofCore: best), doctor.description)
        }

        let version = try run(["--version"])
        // One line, the version first, so `v=$(ncf --version)` holds one line.
        XCTAssertEqual(version.stdoutLines.count, 1, version.description)
        XCTAssertTrue(version.stdout.hasPrefix("0.1.0; "), version.description)
        XCTAssertTrue(version.stdout.contains("OpenBLAS core \(core)"), version.description)
    }

    /// The seam makes the decision see Prescott: ncf restarts once, with the best core, and the
    /// restarted process does not restart again (a loop would end in the runner's timeout).
    func testAssumedPrescottRestartsOnceWithTheBestCore() throws {
        let result = try run(["doctor"], environment: ["NCF_BLAS_ASSUME_CORE": "Prescott"])
        guard let best else {
            XCTAssertFalse(result.stdout.contains("restarted"), result.description)
            return
        }
        XCTAssertEqual(doctorCore(result), best)
        XCTAssertTrue(result.stdout.contains("OpenBLAS picked Prescott; ncf set OPENBLAS_CORETYPE=\(best) and restarted once"),
                      result.description)
    }

    /// A user's OPENBLAS_CORETYPE wins, and the slower choice is named once, with the fix.
    func testUserSettingIsKeptWithAHint() throws {
        let result = try run(["doctor"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(doctorCore(result), "Prescott")
        XCTAssertFalse(result.stdout.contains("restarted"), result.description)
        if let best, BLASCore.tier(ofCore: best)! > .sse {
            XCTAssertTrue(result.stdout.contains("note: OPENBLAS_CORETYPE=Prescott makes OpenBLAS run Prescott kernels"),
                          result.description)
            XCTAssertTrue(result.stdout.contains("Hint: unset OPENBLAS_CORETYPE"), result.description)
        }

        let path = try writeTinyRatings()
        let train = try run(["train", "--data", path, "--json"] + smallFlags, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(trainingRecords(train).summary["blas_core"] as? String, "Prescott")
        if best != nil {
            XCTAssertEqual(train.stderr.components(separatedBy: "OPENBLAS_CORETYPE=Prescott makes").count - 1, 1, train.description)
        }
    }

    func testOptOutLeavesOpenBLASsChoice() throws {
        let plain = doctorCore(try run(["doctor"], environment: ["NCF_BLAS_AUTOCORE": "0"]))
        let result = try run(["doctor"], environment: ["NCF_BLAS_AUTOCORE": "0", "NCF_BLAS_ASSUME_CORE": "Prescott"])
        XCTAssertEqual(doctorCore(result), plain)
        XCTAssertFalse(result.stdout.contains("restarted"), result.description)
        if best != nil { XCTAssertTrue(result.stdout.contains("NCF_BLAS_AUTOCORE=0"), result.description) }
    }

    /// A child of a restarted ncf (a sweep trial) inherits OPENBLAS_CORETYPE and ncf's marker, so
    /// it starts with the right kernels and does not restart.
    func testInheritedSettingNeedsNoRestart() throws {
        let core = doctorCore(try run(["doctor"]))
        let result = try run(["doctor"], environment: ["OPENBLAS_CORETYPE": core, "NCF_BLAS_CORE_SET": "Prescott:\(core):1",
                                                       "NCF_BLAS_ASSUME_CORE": "Prescott"])
        XCTAssertEqual(doctorCore(result), core)
        XCTAssertTrue(result.stdout.contains("(inherited from the parent process, no restart)"), result.description)
    }

    func testTrainSummaryNamesCoreAndCPU() throws {
        let core = doctorCore(try run(["doctor"]))
        let path = try writeTinyRatings()
        let result = try run(["train", "--data", path, "--json"] + smallFlags)
        let summary = trainingRecords(result).summary
        XCTAssertEqual(summary["blas_core"] as? String, core)
        XCTAssertEqual(summary["cpu"] as? String, CPUFeatures.current.model)
        XCTAssertTrue(result.stderr.contains("OpenBLAS core \(core)"), result.description)
    }
}
