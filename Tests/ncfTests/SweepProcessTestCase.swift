import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// Base of the tests that run `ncf sweep` / `ncf agent` processes on one store in the test's
/// scratch directory, with a fake trial program (`FakeTrial` unless a subclass installs another).
class SweepProcessTestCase: CLITestCase {
    /// The trial program, installed in the scratch directory by `installTrial(into:)`.
    private(set) var script: String!
    var store: String { tmp.appendingPathComponent("sweeps.db").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        script = try installTrial(into: tmp)
    }

    /// Writes the trial program into `directory` and returns its path: `FakeTrial` here.
    func installTrial(into directory: URL) throws -> String { try FakeTrial.write(into: directory) }

    // MARK: Sweeps

    /// Writes a sweep config running the trial program and returns its path.
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
    func createSweep(_ config: String, _ extra: [String] = []) throws -> String {
        try sweepID(ncfSucceeds(["sweep", config, "--count", "0", "--store", store] + extra))
    }

    /// The id in `created sweep ID` of an `ncf sweep` output.
    func sweepID(_ result: CLIResult, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let range = result.stdout.range(of: #"created sweep [a-z0-9]{8}"#, options: .regularExpression) else {
            XCTFail("no sweep id in the output:\n\(result)", file: file, line: line)
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
        env["NCF_CORES"] = "1"  // one trial at a time unless --parallel (as `CLIRunner.run`)
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
}
