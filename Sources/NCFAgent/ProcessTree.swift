import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Ending everything a trial started. A trial's descendants stay in its process group unless they
// leave it (`setsid`, a daemon); those still carry the trial's `NCF_TRIAL_TOKEN` in their
// environment, which `/proc/PID/environ` shows. With the agent a child subreaper (Linux
// `PR_SET_CHILD_SUBREAPER`, see `Agent.adoptOrphans()`), orphans are reparented to the agent
// instead of init, so the agent also reaps them.

#if os(Linux)
/// Finds and SIGKILLs a trial's leftover processes through `/proc` (Linux only).
enum ProcessTree {
    /// Whether `Agent.adoptOrphans()` made this process a subreaper, so that every child it has
    /// that is not a running trial is an orphan of some trial and may be reaped here.
    nonisolated(unsafe) static var adoptsOrphans = false

    /// One process as `/proc/PID/stat` describes it.
    struct Entry {
        var pid: pid_t
        var state: Character
        var ppid: pid_t
        var pgrp: pid_t
    }

    /// SIGKILLs every process in process group `group` and every process whose environment holds
    /// `NCF_TRIAL_TOKEN=token`, in rounds until none is left (a dying parent can orphan a child
    /// mid-scan), then reaps the ones that are this process's children. At most 50 rounds of
    /// 20 ms, so a process stuck in the kernel (state D) cannot hold the agent for long.
    ///
    /// When this process adopts orphans and no other trial is running, an orphan reparented to it
    /// that carries no trial token at all (it left the group *and* cleared its environment) can
    /// only come from a trial that has ended, so it is killed too. While other trials run, such
    /// an orphan cannot be told apart from theirs and is left alone.
    /// - Complexity: O(processes on the machine) per round; usually two rounds.
    static func kill(group: pid_t, token: String) {
        let me = getpid()
        let marker = Array("\(TrialProcess.tokenVariable)=\(token)".utf8)
        var killed: Set<pid_t> = []
        let tokenPrefix = Array("\(TrialProcess.tokenVariable)=".utf8)
        for _ in 0..<50 {
            let strays = adoptsOrphans && TrialProcess.liveTrials().subtracting([group]).isEmpty
            _ = Glibc.kill(-group, SIGKILL)
            var found = false
            for entry in entries() where entry.pid != me && entry.pid != group {
                if entry.state == "Z" || entry.state == "X" {
                    if entry.ppid == me, killed.contains(entry.pid) || entry.pgrp == group || adoptsOrphans,
                       !TrialProcess.isLiveTrial(entry.pid) {
                        reap(entry.pid)
                    }
                    continue
                }
                let environ = environment(of: entry.pid)
                let ours = entry.pgrp == group || environ.contains { $0.elementsEqual(marker) }
                let stray = strays && entry.ppid == me && !environ.contains { $0.starts(with: tokenPrefix) }
                    && !TrialProcess.isLiveTrial(entry.pid)
                guard ours || stray else { continue }
                _ = Glibc.kill(entry.pid, SIGKILL)
                killed.insert(entry.pid)
                found = true
            }
            if !found { break }
            usleep(20_000)
        }
    }

    /// Reaps `pid` when it is a zombie child of this process (never blocks).
    private static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// Every process in `/proc` whose stat could be read.
    static func entries() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name in
            guard let pid = pid_t(name), let text = read("/proc/\(pid)/stat", limit: 4096) else { return nil }
            return parseStat(pid: pid, String(decoding: text, as: UTF8.self))
        }
    }

    /// `PID (COMM) STATE PPID PGRP ...`; COMM may hold spaces and parentheses, so fields are
    /// counted from its last `)`.
    static func parseStat(pid: pid_t, _ text: String) -> Entry? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count >= 3, let state = fields[0].first, let ppid = pid_t(fields[1]), let pgrp = pid_t(fields[2]) else {
            return nil
        }
        return Entry(pid: pid, state: state, ppid: ppid, pgrp: pgrp)
    }

    /// The `NAME=value` entries of the process's environment (its first 256 kB; none when it
    /// cannot be read).
    private static func environment(of pid: pid_t) -> [ArraySlice<UInt8>] {
        guard let bytes = read("/proc/\(pid)/environ", limit: 262_144) else { return [] }
        return bytes.split(separator: 0)
    }

    /// At most `limit` bytes of a file; nil when it cannot be opened (the process is gone, or
    /// belongs to another user).
    private static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - out.count)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }
}
#endif
