import Foundation
import NCFSweep
import NCFTestSupport
import XCTest

/// Base of the reliability tests: `ncf sweep` / `ncf agent` processes on one store in the test's
/// scratch directory, with `Tests/NCFSweepTests/Assets/fault-trial.sh` as the trial program.
class ReliabilityTestCase: CLITestCase {
    /// The fault trial script, copied into the scratch directory.
    private(set) var script: String!
    var store: String { tmp.appendingPathComponent("sweeps.db").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("NCFSweepTests/Assets/fault-trial.sh")
        let path = tmp.appendingPathComponent("fault-trial.sh").path
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        script = path
    }

    // MARK: Sweeps

    /// Writes a sweep config running the fault trial and returns its path.
    func writeConfig(_ name: String = "sweep.yaml", method: String = "grid", parameters: String, extra: String = "") throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try FakeTrial.sweepYAML(program: script, method: method, parameters: parameters, extra: extra)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `  x:\n    values: [0, 1, …, n-1]` plus more YAML parameter lines.
    func grid(_ n: Int, _ more: String = "") -> String {
        "  x:\n    values: [\((0..<n).map(String.init).joined(separator: ", "))]" + (more.isEmpty ? "" : "\n" + more)
    }

    /// `ncf sweep FILE --count 0`: the new sweep's id.
    func createSweep(_ config: String) throws -> String {
        let result = try ncfSucceeds(["sweep", config, "--count", "0", "--store", store])
        guard let range = result.stdout.range(of: #"created sweep [a-z0-9]{8}"#, options: .regularExpression) else {
            XCTFail("no sweep id in the output:\n\(result)")
            throw XCTSkip("no sweep id")
        }
        return String(result.stdout[range].suffix(8))
    }

    func openStore() throws -> SQLiteRunStore { try SQLiteRunStore(path: store, create: false) }

    func runs(_ id: String) throws -> [StoredRun] { try openStore().runs(sweepID: id) }

    // MARK: Processes

    /// A running `ncf` whose stdout and stderr go to one file in the scratch directory.
    struct Background {
        let process: Process
        let out: URL
        var output: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        var pid: pid_t { process.processIdentifier }
    }

    /// Starts `ncf arguments` in the scratch directory; `environment` is added to the test's own.
    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Background {
        let out = tmp.appendingPathComponent("ncf-\(UUID().uuidString.prefix(8)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = try CLIRunner(executableNamed: "ncf").executable
        process.arguments = arguments
        process.currentDirectoryURL = tmp
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Background(process: process, out: out)
    }

    /// Waits for a background process (at most `timeout` s, then kills it and fails) and returns
    /// its exit status, or 128 + the signal that ended it.
    @discardableResult
    func finish(_ p: Background, timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { usleep(10_000) }
        if p.process.isRunning {
            kill(p.pid, SIGKILL)
            XCTFail("ncf \(p.process.arguments ?? []) did not finish within \(timeout) s:\n\(p.output)", file: file, line: line)
        }
        p.process.waitUntilExit()
        return p.process.terminationReason == .uncaughtSignal ? 128 + p.process.terminationStatus : p.process.terminationStatus
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
