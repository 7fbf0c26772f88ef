import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// Base of the reliability tests: `SweepProcessTestCase` with
/// `Tests/NCFAgentTests/Assets/fault-trial.sh` as the trial program.
class ReliabilityTestCase: SweepProcessTestCase {
    override func installTrial(into directory: URL) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("NCFAgentTests/Assets/fault-trial.sh")
        let path = directory.appendingPathComponent("fault-trial.sh").path
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// What `runProgram` saw.
    struct ProgramResult: CustomStringConvertible {
        let arguments: [String]
        let exitCode: Int32
        let stdout: String
        let stderr: String

        var description: String {
            "\(arguments.joined(separator: " ")) → exit \(exitCode)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
        }
    }

    /// Runs `argv` (any program, `argv[0]` a path) in the scratch directory and waits for it.
    func runProgram(_ argv: [String], timeout: Double = 120) throws -> ProgramResult {
        let out = tmp.appendingPathComponent("run-\(UUID().uuidString.prefix(8)).out")
        let err = tmp.appendingPathComponent("run-\(UUID().uuidString.prefix(8)).err")
        for url in [out, err] { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        defer { for url in [out, err] { try? FileManager.default.removeItem(at: url) } }
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.currentDirectoryURL = tmp
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        try outHandle.close()
        try errHandle.close()
        let background = Background(process: process, out: out)
        let code = finish(background, timeout: timeout)
        return ProgramResult(arguments: argv, exitCode: code,
                             stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    // MARK: Checks

    /// The store passes `PRAGMA integrity_check`.
    func assertIntegrity(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try openStore().integrityCheck(), ["ok"], "PRAGMA integrity_check", file: file, line: line)
    }

    /// No run left `running`, each grid point (its config) `finished` exactly once, and the
    /// sweep `finished`; returns the runs.
    @discardableResult
    func assertEachPointFinishedOnce(_ id: String, points: Int, context: String,
                                     file: StaticString = #filePath, line: UInt = #line) throws -> [StoredRun] {
        let runs = try runs(id)
        let finished = runs.filter { $0.state == .finished }
        XCTAssertEqual(finished.count, points, "\(context): \(runs.map { "\($0.id) \($0.state) \($0.config)" })", file: file, line: line)
        XCTAssertEqual(Set(finished.map { ParamValue.canonicalJSON($0.config) }).count, points,
                       "\(context): a point finished twice", file: file, line: line)
        XCTAssertFalse(runs.contains { $0.state == .running || $0.state == .pending }, "\(context): a run is left running",
                       file: file, line: line)
        XCTAssertEqual(try openStore().sweep(id: id).state, .finished, context, file: file, line: line)
        return runs
    }

    /// Output shows no SQLite contention error and no crash.
    func assertCleanOutput(_ text: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        for bad in ["database is locked", "SQLITE_BUSY", "Fatal error", "Segmentation fault"] {
            XCTAssertFalse(text.contains(bad), "\(context): \"\(bad)\" in the output:\n\(text)", file: file, line: line)
        }
    }
}
