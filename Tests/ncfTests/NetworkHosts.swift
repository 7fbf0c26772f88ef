import Foundation
import NCFTestSupport
import XCTest

/// Simulated hosts for the PostgreSQL fault tests: each host is a Linux network namespace joined
/// to the test's own (root) namespace by a veth pair on a /30 of its own, so a server listening
/// on the root ends is reached over a link the test can cut (`ip link set … down`).
///
/// Names carry the test process's id and a random tag, so runs side by side never collide, and
/// namespaces left by a test process that died (its id no longer alive) are removed at the next
/// start. `remove()` ends every process still inside and deletes the namespaces (and with them
/// their veth pairs); call it from a `defer` or teardown so it runs on failure too.
final class NetworkHosts {
    static let prefix = "ncf-t"
    static var ip: String { FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip" }

    /// Why namespaces cannot be made here, or nil: not root, or no `ip` (iproute2).
    static var unavailableReason: String? {
        guard getuid() == 0 else { return "network namespaces need root (ip netns add); the tests run as uid \(getuid())" }
        guard FileManager.default.isExecutableFile(atPath: ip) else { return "no `ip` command (apt-get install iproute2)" }
        return nil
    }

    struct Host {
        /// The namespace's name, for `ip netns exec`.
        var namespace: String
        /// The veth end in the root namespace (cut to take the host off the network).
        var rootLink: String
        /// The root end's address: the server's address as this host sees it.
        var serverAddress: String
        var hostAddress: String
    }

    let hosts: [Host]
    /// The /24 the hosts' links are in, for the server's pg_hba.conf.
    let network: String
    private var removed = false

    init(count: Int) throws {
        Self.removeLeftovers()
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let short = String(tag.suffix(6))
        // A /24 of 10.0.0.0/8 that no interface here uses yet.
        let used = try Self.run(["-4", "-o", "addr", "show"])
        var network = ""
        for _ in 0..<100 {
            let candidate = "10.\(Int.random(in: 100...250)).\(Int.random(in: 0...255))."
            if !used.contains(" " + candidate) { network = candidate; break }
        }
        guard !network.isEmpty else { throw PostgresClusterError(message: "no free 10.x.y.0/24 for the test hosts") }
        self.network = network + "0/24"
        var made: [Host] = []
        for i in 0..<count {
            made.append(Host(namespace: "\(Self.prefix)\(getpid())-\(tag)-\(i)", rootLink: "nc\(short)r\(i)",
                             serverAddress: network + String(4 * i + 1), hostAddress: network + String(4 * i + 2)))
        }
        hosts = made
        do {
            for (i, host) in made.enumerated() {
                let inner = "nc\(short)h\(i)"
                try Self.run(["netns", "add", host.namespace])
                try Self.run(["link", "add", host.rootLink, "type", "veth", "peer", "name", inner, "netns", host.namespace])
                try Self.run(["addr", "add", host.serverAddress + "/30", "dev", host.rootLink])
                try Self.run(["link", "set", host.rootLink, "up"])
                try Self.run(["-n", host.namespace, "addr", "add", host.hostAddress + "/30", "dev", inner])
                try Self.run(["-n", host.namespace, "link", "set", inner, "up"])
                try Self.run(["-n", host.namespace, "link", "set", "lo", "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Takes host `i` off the network (its cable pulled), or puts it back.
    func setLink(_ i: Int, up: Bool) throws {
        try Self.run(["link", "set", hosts[i].rootLink, up ? "up" : "down"])
    }

    /// `ip netns exec NS program arguments…`: `ip` execs the program, so the process id is the program's.
    func command(host i: Int, _ program: String, _ arguments: [String]) -> (String, [String]) {
        (Self.ip, ["netns", "exec", hosts[i].namespace, program] + arguments)
    }

    /// Kills what still runs inside the namespaces and deletes them. Idempotent.
    func remove() {
        guard !removed else { return }
        removed = true
        for host in hosts { Self.delete(namespace: host.namespace) }
    }

    private static func delete(namespace: String) {
        if let pids = try? run(["netns", "pids", namespace]) {
            for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? run(["netns", "del", namespace])
    }

    /// Namespaces of earlier test processes that are gone (killed before their cleanup ran).
    private static func removeLeftovers() {
        guard let list = try? run(["netns", "list"]) else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.count).prefix { $0.isNumber }),
                  pid != getpid(), kill(pid, 0) != 0 else { continue }
            delete(namespace: name)
        }
    }

    /// Runs `ip arguments…` and returns its stdout. Output goes through a file, not a pipe.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-ip-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: out) }
        let status = try PostgresCluster.spawnAndWait([ip] + arguments, directory: "/", output: out.path)
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw PostgresClusterError(message: "ip \(arguments.joined(separator: " ")) exited with \(status): \(text)")
        }
        return text
    }
}
