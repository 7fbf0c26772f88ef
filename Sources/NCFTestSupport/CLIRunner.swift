import Foundation

// MARK: - Running a built executable from a test

/// What one run of a command-line tool produced.
public struct CLIResult: Sendable, CustomStringConvertible {
    /// The arguments the tool was started with (without the executable).
    public let arguments: [String]
    /// The exit status, or `128 + signal` when a signal ended the process.
    public let exitCode: Int32
    public let stdout: String
    public let stderr: String

    /// Non-empty stdout lines, in order.
    public var stdoutLines: [String] {
        stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// The run, for failure messages: the command line, the exit status and both streams.
    public var description: String {
        "ncf \(arguments.joined(separator: " ")) → exit \(exitCode)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
    }
}

/// Why a tool could not be run from a test.
public enum CLIRunnerError: Error, LocalizedError, CustomStringConvertible {
    /// No executable called `name` beside the test bundle; `searched` lists the directories tried.
    case executableNotFound(name: String, searched: [String])
    /// The process did not finish within `seconds`; it was terminated.
    case timedOut(arguments: [String], seconds: Double)

    public var description: String {
        switch self {
        case let .executableNotFound(name, searched):
            return "no executable \(name) found in \(searched.joined(separator: ", ")). Hint: build the package's products (swift build / swift test build them) before running these tests."
        case let .timedOut(arguments, seconds):
            return "\(arguments.joined(separator: " ")) did not finish within \(seconds) s and was terminated. Hint: use smaller data or fewer epochs in the test."
        }
    }

    public var errorDescription: String? { description }
}

/// Runs an executable built by the same `swift build`/`swift test` as the test bundle.
///
/// Products land in one directory (`.build/<triple>/debug/`): the test runner
/// (`<Package>PackageTests.xctest`) and the executables side by side. The runner looks there,
/// trying `Bundle.main`, every loaded bundle's parent directory and `argv[0]`'s directory, so it
/// works on Linux (where the test bundle is itself an executable) and on macOS (where `xctest`
/// loads a bundle).
public struct CLIRunner: Sendable {
    /// The executable's file URL.
    public let executable: URL

    /// Finds `name` beside the test bundle.
    /// - Throws: `CLIRunnerError.executableNotFound` naming the directories searched.
    public init(executableNamed name: String) throws {
        var dirs: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        for bundle in Bundle.allBundles + Bundle.allFrameworks where bundle.bundleURL.pathExtension == "xctest" {
            dirs.append(bundle.bundleURL.deletingLastPathComponent())
        }
        dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        var seen = Set<String>()
        var searched: [String] = []
        for dir in dirs {
            let path = dir.standardizedFileURL.path
            guard seen.insert(path).inserted else { continue }
            searched.append(path)
            let candidate = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate.path) {
                executable = candidate
                return
            }
        }
        throw CLIRunnerError.executableNotFound(name: name, searched: searched)
    }

    /// Runs the executable with `arguments` in `directory` (default: the current one) and waits.
    ///
    /// Stdout and stderr go to temporary files (so a chatty child can never block on a full
    /// pipe) and are read back once it exits. `NO_COLOR` is set so human output is plain, and
    /// `NCF_CORES=1` so that agents run one trial at a time unless a test passes `--parallel` (or
    /// sets `NCF_CORES` itself): the tests' expectations do not depend on the machine's cores.
    /// - Parameters:
    ///   - environment: variables to set for the child, on top of this process's environment.
    ///   - removing: variables to remove from the child's environment.
    ///   - timeout: seconds before the child is terminated and `CLIRunnerError.timedOut` thrown.
    public func run(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:],
                    removing: [String] = [], timeout: Double = 120) throws -> CLIResult {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("cli-run-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["NCF_CORES"] = "1"
        for name in removing { environment[name] = nil }
        for (name, value) in extra { environment[name] = value }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle

        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        let finished = done.wait(timeout: .now() + timeout) == .success
        if !finished {
            process.terminate()
            _ = done.wait(timeout: .now() + 10)
        }
        try outHandle.close()
        try errHandle.close()
        if !finished { throw CLIRunnerError.timedOut(arguments: arguments, seconds: timeout) }

        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CLIResult(arguments: arguments, exitCode: status,
                         stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                         stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

// MARK: - Temporary directories

/// A fresh directory under the system's temporary directory; the caller removes it.
public func makeTemporaryDirectory(prefix: String = "ncf-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
