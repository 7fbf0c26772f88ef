import Foundation
import NCFSweep

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A trial is a child process started from its `TrialCommand`. It reports metrics as JSON Lines on
// its stdout (read as `TrialLine`s, each cut at 1 MB); its stderr goes to a file whose last lines
// explain a failure. A crash, trap, runaway allocation, endless line or stray descendant ends the
// trial, never the agent: when the trial's process exits, whatever it started is ended too.

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
///
/// **The whole tree ends with the trial.** A watcher thread notices the moment the trial's own
/// process exits (or is killed after a timeout) and SIGKILLs what it left behind: its process
/// group, and (on Linux) every process whose environment carries the trial's `NCF_TRIAL_TOKEN`,
/// which finds descendants that left the group (`setsid`, daemons) however deep. Reading stdout
/// then stops at EOF or at most `drainSeconds` later, so a descendant that escaped both (a new
/// session *and* a cleared environment) and still holds the pipe can never keep the agent waiting.
/// See `Agent.adoptOrphans()` for reaping such orphans.
public final class TrialProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    /// The value of `NCF_TRIAL_TOKEN` in the trial's environment, inherited by its descendants.
    public let token: String
    private let stdoutFD: Int32
    private let stderrPath: String
    private let lock = NSLock()
    private var exited = false // guarded by `lock`
    /// When the trial's process has exited and its tree was killed: stop reading stdout after this.
    private var drainDeadline: Date? // guarded by `lock`
    /// Signalled by the watcher once the trial's process has exited and its tree was killed.
    private let ended = DispatchSemaphore(value: 0)

    /// The longest stdout line passed on whole; the rest of a longer line is dropped (1 MB: far
    /// above any JSON record a trainer writes, small enough that no output can exhaust the agent).
    public static let maxLineBytes = 1 << 20
    /// How long stdout is still read after the trial's process has exited and its tree was
    /// killed (the pipe normally reaches EOF at once; only an escaped descendant holds it longer).
    public static let drainSeconds = 2.0

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
        #if os(Linux)
        // Nothing else of the agent's (a store, a parent's pipe) leaks into the trial's tree.
        // glibc 2.34+ has this, but Swift's Glibc module does not declare it: looked up by name.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        #endif
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

        token = "\(getpid())-\(UUID().uuidString)"
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        env[Self.tokenVariable] = token
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
        Self.live.insert(child)
        #if os(Linux)
        let watcher = Thread { [self] in watchForExit() }
        watcher.stackSize = 1 << 18
        watcher.start()
        #endif
    }

    /// The environment variable that marks a trial's descendants.
    public static let tokenVariable = "NCF_TRIAL_TOKEN"

    /// Trials started and not yet reaped (guarded by `spawnLock`): never reaped by `ProcessTree`.
    nonisolated(unsafe) private static var live: Set<pid_t> = []

    /// The pids of the trials started and not yet reaped.
    static func liveTrials() -> Set<pid_t> {
        spawnLock.lock()
        defer { spawnLock.unlock() }
        return live
    }

    static func isLiveTrial(_ pid: pid_t) -> Bool {
        spawnLock.lock()
        defer { spawnLock.unlock() }
        return live.contains(pid)
    }

    #if os(Linux)
    /// Waits (without reaping) until the trial's process has exited, then ends its tree and opens
    /// the drain window.
    private func watchForExit() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        lock.lock()
        exited = true
        lock.unlock()
        ProcessTree.kill(group: pid, token: token)
        lock.lock()
        drainDeadline = Date().addingTimeInterval(Self.drainSeconds)
        lock.unlock()
        ended.signal()
    }
    #endif

    /// Whether the trial's own process has exited (its descendants may not have yet).
    public var hasExited: Bool {
        lock.lock()
        defer { lock.unlock() }
        return exited
    }

    private var drainOver: Bool {
        lock.lock()
        defer { lock.unlock() }
        return drainDeadline.map { Date() > $0 } ?? false
    }

    /// Calls `body` with each line of the trial's stdout (without the newline) until it closes,
    /// or until `drainSeconds` after the trial's process has exited.
    ///
    /// A line longer than `limit` bytes is passed on cut to its first `limit` bytes; the rest is
    /// dropped and `overlong` gets the number of bytes dropped. So memory stays within `limit`
    /// plus one read buffer, whatever the trial prints.
    /// - Complexity: O(bytes written by the trial).
    public func readLines(limit: Int = TrialProcess.maxLineBytes, overlong: (Int) -> Void = { _ in },
                          _ body: (String) -> Void) {
        precondition(limit > 0, "a line limit must be positive")
        var pending: [UInt8] = []
        var dropped = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func take(_ bytes: ArraySlice<UInt8>) {
            let room = limit - pending.count
            if bytes.count <= room {
                pending.append(contentsOf: bytes)
            } else {
                pending.append(contentsOf: bytes.prefix(room))
                dropped += bytes.count - room
            }
        }
        func emit() {
            body(String(decoding: pending, as: UTF8.self))
            if dropped > 0 { overlong(dropped) }
            pending.removeAll(keepingCapacity: pending.count <= 65_536)
            dropped = 0
        }
        while !drainOver {
            // Wait for output in slices, so the drain deadline is noticed while nothing arrives.
            var ready = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, 100)
            if polled < 0 && errno == EINTR { continue }
            if polled < 0 { break }
            if polled == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }
            var start = 0
            while let newline = buffer[start..<n].firstIndex(of: UInt8(ascii: "\n")) {
                take(buffer[start..<newline])
                emit()
                start = newline + 1
            }
            take(buffer[start..<n])
        }
        if !pending.isEmpty || dropped > 0 { emit() }
    }

    /// Sends `sig` to the trial's process group, unless it has already exited.
    public func signal(_ sig: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if !exited { kill(-pid, sig) }
    }

    /// Waits for the trial to exit and its tree to be killed, reaps it and closes its stdout.
    /// Call once, after `readLines`.
    public func wait() -> TrialExit {
        #if os(Linux)
        ended.wait()
        #else
        // Without a watcher: what the trial left in its group, while its leader is not reaped yet.
        lock.lock()
        exited = true
        lock.unlock()
        kill(-pid, SIGKILL)
        #endif
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        Self.spawnLock.lock()
        Self.live.remove(pid)
        Self.spawnLock.unlock()
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
        // Only the last 16 kB, read with a bound: the file may still grow (a descendant writing).
        let size = (try? handle.seekToEnd()) ?? 0
        let tail: UInt64 = 16_384
        try? handle.seek(toOffset: size > tail ? size - tail : 0)
        let text = String(decoding: (try? handle.read(upToCount: Int(tail))) ?? Data(), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let line = lines.last { $0.hasPrefix("Error:") || $0.contains("Fatal error") } ?? lines.last
        return line.map { $0.count > 500 ? String($0.prefix(500)) + "…" : $0 }
    }
}
