import Foundation
import NCFSweep

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A trial is a child process started from its `TrialCommand`. It reports metrics as JSON Lines on
// its stdout (read as `TrialLine`s); its stderr goes to a file whose last lines explain a failure.
// A crash, trap or runaway allocation kills the trial, never the agent.

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
