import Foundation
import XCTest

/// What the browser tests need: `python3` that imports selenium, `chromium` and `chromedriver`
/// (Debian's `chromium` and `chromium-driver`, `pip install selenium`; `.ci/run` installs them).
public enum BrowserTools {
    /// The python3 to run the checks with, or why they cannot run here.
    public static func find() -> (python: String, missing: String?) {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        func find(_ name: String) -> String? {
            path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        guard let python = find("python3") else { return ("", "no python3 on PATH") }
        if find("chromium") == nil && find("chromium-browser") == nil { return (python, "no chromium on PATH (apt-get install chromium)") }
        if find("chromedriver") == nil { return (python, "no chromedriver on PATH (apt-get install chromium-driver)") }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import selenium"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { return (python, "python3 does not start: \(error)") }
        probe.waitUntilExit()
        if probe.terminationStatus != 0 { return (python, "python3 cannot import selenium (python3 -m pip install selenium)") }
        return (python, nil)
    }

    /// The tools, or a skip on a laptop without them; with `CI` set their absence is a failure.
    public static func required() throws -> String {
        let tools = find()
        if let missing = tools.missing {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                throw BrowserToolsMissing(detail: "CI is set but the browser check cannot run: \(missing)")
            }
            throw XCTSkip("the browser check needs python3 with selenium, chromium and chromedriver: \(missing)")
        }
        return tools.python
    }

    /// Runs `python3 script arguments…` with a deadline; returns its exit status and output.
    public static func run(python: String, script: String, _ arguments: [String], seconds: TimeInterval = 240) throws -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-browser-\(UUID().uuidString.prefix(8)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? handle.close()
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}

/// The browser tools are missing where they must be present (CI).
public struct BrowserToolsMissing: Error, CustomStringConvertible {
    public let detail: String
    public var description: String { detail }
}
