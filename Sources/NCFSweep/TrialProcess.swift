import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A trial is a child process: the built-in trainer (`ncf train --key=value ... --json`) or the
// config's `program` run through the sweep format's `command` macros. It reports metrics as JSON Lines on its
// stdout; its stderr goes to a file whose last lines explain a failure. A crash, trap or runaway
// allocation kills the trial, never the agent.

// MARK: - The command line of a trial

/// How a sweep's trials are started.
public enum TrialCommand: Sendable, Equatable {
    /// The built-in trainer: `executable train --key=value ... --seed=S [--data=PATH] --json`.
    /// `data` (the agent's `--data`) is passed unless the config sets `data` itself.
    case builtIn(executable: String, data: String?)
    /// Any other program, through the config's `command` list (default
    /// `${env} ${interpreter} ${program} ${args}`).
    case external(program: String, command: [String])

    /// The sweep format's default `command`.
    public static let defaultCommand = ["${env}", "${interpreter}", "${program}", "${args}"]

    /// The command for a sweep: the built-in trainer when `program` is absent or `ncf` (its
    /// `command`, if any, is not used then), otherwise `program` through `command`.
    public init(config: SweepConfig, ncfExecutable: String, data: String?) {
        if config.usesBuiltInTrainer {
            self = .builtIn(executable: ncfExecutable, data: data)
        } else {
            self = .external(program: config.program ?? "", command: config.command ?? Self.defaultCommand)
        }
    }

    /// The path of the running executable (`/proc/self/exe` resolved on Linux), so trials run
    /// the same `ncf` build as the agent.
    public static func currentExecutable() -> String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// The argv of one trial (`argv[0]` first).
    ///
    /// Values are rendered as flags expect them: a list as `16,32,64`, a string as is, a whole
    /// number without a fraction, a nested group as canonical JSON. For the built-in trainer a
    /// true boolean is a bare `--name`, and a false one or null is left out.
    /// - Parameters:
    ///   - seed: the run's seed (built-in trainer only: `--seed=S` unless the config sets `seed`).
    ///   - jsonFile: where `${args_json_file}` points (the caller writes the config there).
    public func arguments(config: [String: ParamValue], seed: UInt64, jsonFile: String) -> [String] {
        let names = config.keys.sorted()
        switch self {
        case let .builtIn(executable, data):
            var args = [executable, "train"]
            for name in names {
                switch config[name]! {
                case .bool(true): args.append("--\(name)")
                case .bool(false), .null: continue
                case let value: args.append("--\(name)=\(Self.flagText(value))")
                }
            }
            if config["seed"] == nil { args.append("--seed=\(seed)") }
            if let data, config["data"] == nil { args.append("--data=\(data)") }
            args.append("--json")
            return args
        case let .external(program, command):
            var args: [String] = []
            for item in command {
                switch item {
                case "${args}":
                    args += names.map { "--\($0)=\(Self.flagText(config[$0]!))" }
                case "${args_no_hyphens}":
                    args += names.map { "\($0)=\(Self.flagText(config[$0]!))" }
                case "${args_no_boolean_flags}":
                    for name in names {
                        switch config[name]! {
                        case .bool(true): args.append("--\(name)")
                        case .bool(false): continue
                        case let value: args.append("--\(name)=\(Self.flagText(value))")
                        }
                    }
                default:
                    args.append(item
                        .replacingOccurrences(of: "${env}", with: "/usr/bin/env")
                        .replacingOccurrences(of: "${interpreter}", with: "python3")
                        .replacingOccurrences(of: "${program}", with: program)
                        .replacingOccurrences(of: "${args_json_file}", with: jsonFile)
                        .replacingOccurrences(of: "${args_json}", with: ParamValue.canonicalJSON(config)))
                }
            }
            return args
        }
    }

    /// Whether the command needs the `${args_json_file}` file.
    public var usesJSONFile: Bool {
        if case .external(_, let command) = self { return command.contains { $0.contains("${args_json_file}") } }
        return false
    }

    /// A parameter value as a flag's text.
    public static func flagText(_ value: ParamValue) -> String {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "None"
        case .list(let items): return items.map(flagText).joined(separator: ",")
        case .map: return value.canonicalJSON
        }
    }
}

// MARK: - What a trial prints

/// One line of a trial's stdout, read as JSON Lines.
public enum TrialLine: Sendable, Equatable {
    /// Logged values (`{"epoch": 3, "Train Loss": 0.91, ...}`); nil for a non-finite value
    /// (`NaN`, `Infinity` or `null`). Non-numeric values are dropped.
    case metrics([String: Double?])
    /// The closing `{"summary": {...}}`; its JSON text (canonical) and numeric values.
    case summary(text: String, values: [String: Double?])

    /// Reads one line; nil for anything that is not a JSON object (programs may print other text).
    ///
    /// `NaN`, `Infinity` and `-Infinity` outside strings (as some JSON writers emit them)
    /// are read as non-finite values.
    public static func parse(_ line: String) -> TrialLine? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{") else { return nil }
        guard case .map(let object)? = try? ParamValue.parseJSON(replacingNonFiniteTokens(trimmed)) else { return nil }
        if object.count == 1, let inner = object["summary"], case .map(let values) = inner {
            return .summary(text: inner.canonicalJSON, values: numbers(values))
        }
        return .metrics(numbers(object))
    }

    private static func numbers(_ object: [String: ParamValue]) -> [String: Double?] {
        var out: [String: Double?] = [:]
        for (key, value) in object {
            switch value {
            case .int(let i): out[key] = Double(i)
            case .double(let d): out[key] = d.isFinite ? d : nil
            case .null: out[key] = .some(nil)
            default: continue
            }
        }
        return out
    }

    /// `NaN`, `Infinity`, `-Infinity` outside string literals → `null`.
    static func replacingNonFiniteTokens(_ text: String) -> String {
        guard text.contains("NaN") || text.contains("Infinity") else { return text }
        var out = ""
        var inString = false
        var escaped = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                out.append(c)
                i = text.index(after: i)
                continue
            }
            if c == "\"" { inString = true }
            var matched = false
            for token in ["-Infinity", "Infinity", "NaN"] where text[i...].hasPrefix(token) {
                out += "null"
                i = text.index(i, offsetBy: token.count)
                matched = true
                break
            }
            if !matched {
                out.append(c)
                i = text.index(after: i)
            }
        }
        return out
    }
}

// MARK: - The child process

/// How a trial's process ended.
public enum TrialExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// `exit code 1`, `killed by signal 9 (SIGKILL)`.
    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let sig): return "killed by signal \(sig)\(signalName(sig).map { " (\($0))" } ?? "")"
        }
    }

    /// The exit code the store records: the status, or 128 + signal.
    public var code: Int32 {
        switch self {
        case .exited(let c): return c
        case .signaled(let s): return 128 + s
        }
    }
}

func signalName(_ sig: Int32) -> String? {
    switch sig {
    case SIGHUP: return "SIGHUP"
    case SIGINT: return "SIGINT"
    case SIGQUIT: return "SIGQUIT"
    case SIGILL: return "SIGILL"
    case SIGTRAP: return "SIGTRAP"
    case SIGABRT: return "SIGABRT"
    case SIGBUS: return "SIGBUS"
    case SIGFPE: return "SIGFPE"
    case SIGKILL: return "SIGKILL"
    case SIGSEGV: return "SIGSEGV"
    case SIGPIPE: return "SIGPIPE"
    case SIGTERM: return "SIGTERM"
    case SIGXCPU: return "SIGXCPU"
    default: return nil
    }
}

/// Why a trial could not be started.
public struct TrialLaunchError: Error, LocalizedError, CustomStringConvertible, Equatable {
    public var executable: String
    public var detail: String

    /// `cannot start PATH: DETAIL`, the reason a run records.
    public var reason: String { "cannot start \(executable): \(detail)" }

    public var description: String {
        reason + ". Hint: check `program`/`command` in the sweep config and that the file exists and is executable."
    }

    public var errorDescription: String? { description }
}

/// A running trial: a child in its own process group (so the terminal's Ctrl-C reaches only the
/// agent, which decides what each trial gets), stdin from `/dev/null`, stdout a pipe the agent
/// reads line by line, stderr a file.
///
/// Signals go to the whole process group, so a trial started through `/usr/bin/env` or a shell
/// script is reached together with its children. The child is not reaped until `wait()` has
/// marked it exited, so a late signal can never hit a recycled pid.
public final class TrialProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    private let stdoutFD: Int32
    private let stderrPath: String
    private let lock = NSLock()
    private var exited = false // guarded by `lock`

    /// Serialises spawning, so a pipe end created for one trial (marked close-on-exec just after
    /// `pipe()`) never leaks into another trial started at the same moment.
    private static let spawnLock = NSLock()

    /// Starts `arguments[0]` (searched in `PATH` when it has no slash) with `arguments`.
    ///
    /// The child gets the agent's environment plus `environment`, default handlers for SIGINT,
    /// SIGTERM, SIGQUIT, SIGPIPE and SIGXFSZ (an agent ignoring SIGHUP under `nohup` passes that on),
    /// and an empty signal mask.
    /// - Throws: `TrialLaunchError` when the executable cannot be started.
    public init(arguments: [String], environment: [String: String], stderrPath: String) throws {
        precondition(!arguments.isEmpty, "a trial needs at least argv[0]")
        executable = arguments[0]
        self.stderrPath = stderrPath

        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }

        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw TrialLaunchError(executable: executable, detail: "pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let errFD = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard errFD >= 0 else {
            close(fds[0]); close(fds[1])
            throw TrialLaunchError(executable: executable, detail: "\(stderrPath): \(String(cString: strerror(errno)))")
        }
        defer { close(errFD); close(fds[1]) }

        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t?
        var attr: posix_spawnattr_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errFD, 2)
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGXFSZ] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, executable, &actions, &attr, argv, envp)
        guard rc == 0 else {
            close(fds[0])
            throw TrialLaunchError(executable: executable, detail: String(cString: strerror(rc)))
        }
        pid = child
        stdoutFD = fds[0]
    }

    /// Calls `body` with each line of the trial's stdout (without the newline) until it closes.
    /// - Complexity: O(bytes written by the trial).
    public func readLines(_ body: (String) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                pending.append(contentsOf: buffer[start..<i])
                body(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
                start = i + 1
            }
            pending.append(contentsOf: buffer[start..<n])
        }
        if !pending.isEmpty { body(String(decoding: pending, as: UTF8.self)) }
    }

    /// Sends `sig` to the trial's process group, unless it has already exited.
    public func signal(_ sig: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if !exited { kill(-pid, sig) }
    }

    /// Waits for the trial to exit, reaps it and closes its stdout. Call once, after `readLines`.
    public func wait() -> TrialExit {
        #if os(Linux)
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        #endif
        lock.lock()
        exited = true
        lock.unlock()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        close(stdoutFD)
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(low)
    }

    /// The last meaningful line of the trial's stderr: the last line starting with `Error:` or
    /// containing `Fatal error` if there is one (argument errors are followed by usage text),
    /// else the last non-empty line; nil when stderr was empty.
    public func lastErrorLine() -> String? {
        guard let handle = FileHandle(forReadingAtPath: stderrPath) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let tail: UInt64 = 16_384
        try? handle.seek(toOffset: size > tail ? size - tail : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let line = lines.last { $0.hasPrefix("Error:") || $0.contains("Fatal error") } ?? lines.last
        return line.map { $0.count > 500 ? String($0.prefix(500)) + "…" : $0 }
    }
}
