import Foundation

#if canImport(Glibc)
import Glibc
#endif

// MARK: - A throwaway PostgreSQL cluster of a test's own

/// A PostgreSQL cluster that one test starts, kills, restarts and deletes: its own data directory
/// under /tmp, its own port, trust authentication, `fsync=off`. For the tests that take the server
/// away (`kill -9` of the postmaster) or reach it over network namespaces, so the cluster `.ci/run`
/// shares with every other test (`NCF_TEST_POSTGRES_URL`) is left alone.
///
/// initdb refuses to run as root, so as root (CI) the cluster belongs to the `postgres` user that
/// Debian's `postgresql` package creates (started through `runuser`); otherwise to the user
/// running the tests. Every server command writes its output to a file in the cluster's
/// directory, never to the test's pipes: a postmaster holding the runner's stdout open would keep
/// `swift test` waiting for it.
public final class PostgresCluster: @unchecked Sendable {
    /// The directory of the newest PostgreSQL server binaries (`/usr/lib/postgresql/N/bin`).
    public let binDir: String
    /// The cluster's directory: `data/`, `server.log`, `commands.log` and the Unix socket.
    public let dir: URL
    public let port: Int
    /// The addresses the server listens on (TCP).
    public let listen: [String]
    /// More server settings, `name=value` (passed as `-c name=value`).
    public let settings: [String]
    /// The superuser, authenticated by trust.
    public let user = "ncftest"
    private let runAsPostgres: Bool

    /// Why no cluster can be started on this machine, or nil when one can: no server binaries,
    /// or root without a `postgres` user or `runuser`.
    public static var unavailableReason: String? {
        guard newestBinDir() != nil else {
            return "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)"
        }
        if getuid() == 0 {
            guard getpwnam("postgres") != nil else { return "running as root, but there is no `postgres` user to own a cluster (initdb refuses root)" }
            guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") || FileManager.default.isExecutableFile(atPath: "/sbin/runuser") else {
                return "running as root, but `runuser` is missing (util-linux)"
            }
        }
        return nil
    }

    static func newestBinDir() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted()
        for v in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
            return "\(root)/\(v)/bin"
        }
        return nil
    }

    /// Runs initdb into a new directory; `start()` starts the server.
    /// - Parameters:
    ///   - listen: TCP addresses to listen on (they must exist when the server starts).
    ///   - clientNetworks: CIDR networks (besides loopback) allowed to connect, by trust.
    ///   - settings: more server settings, `name=value`.
    public init(listen: [String] = ["127.0.0.1"], clientNetworks: [String] = [], settings: [String] = []) throws {
        if let reason = Self.unavailableReason { throw PostgresClusterError(message: reason) }
        Self.removeLeftovers()
        binDir = Self.newestBinDir()!
        self.listen = listen
        self.settings = settings
        runAsPostgres = getuid() == 0
        var template = Array("/tmp/ncf-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PostgresClusterError(message: "mkdtemp failed: errno \(errno)") }
        dir = URL(fileURLWithPath: String(cString: made))
        try? String(getpid()).write(to: dir.appendingPathComponent("owner.pid"), atomically: true, encoding: .utf8)
        port = Self.freePort()
        if runAsPostgres, let pw = getpwnam("postgres") {
            chown(dir.path, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        chmod(dir.path, 0o755)
        try run(binDir + "/initdb", ["-D", dataDir, "-U", user, "--auth=trust", "--no-sync", "-E", "UTF8"])
        var hba = try String(contentsOfFile: dataDir + "/pg_hba.conf", encoding: .utf8)
        for network in clientNetworks { hba += "\nhost all all \(network) trust" }
        try (hba + "\n").write(toFile: dataDir + "/pg_hba.conf", atomically: false, encoding: .utf8)
    }

    deinit { destroy() }

    public var dataDir: String { dir.appendingPathComponent("data").path }
    public var serverLog: String { dir.appendingPathComponent("server.log").path }

    /// A URL for the `postgres` database over TCP to `host` (default: the first listen address).
    public func url(host: String? = nil, database: String = "postgres") -> String {
        "postgresql://\(user)@\(host ?? listen.first ?? "127.0.0.1"):\(port)/\(database)"
    }

    /// A URL over the Unix socket in the cluster's directory: it works from any network namespace.
    public func socketURL(database: String = "postgres") -> String {
        "postgresql://\(user)@/\(database)?host=\(dir.path)&port=\(port)"
    }

    /// Starts the server (`pg_ctl start -w`) and waits until it accepts connections. After a
    /// `kill -9` the old server's children may still hold its shared memory for a moment: the
    /// start is tried again for up to `patience` seconds.
    public func start(patience: Double = 30) throws {
        let deadline = Date().addingTimeInterval(patience)
        let options = "-c listen_addresses='\(listen.joined(separator: ","))' -p \(port) -c unix_socket_directories='\(dir.path)' -c fsync=off -c max_connections=200"
            + settings.map { " -c \($0)" }.joined()
        while true {
            do {
                try run(binDir + "/pg_ctl", ["-D", dataDir, "-l", serverLog, "-w", "-t", "30", "-o", options, "start"])
                return
            } catch {
                guard Date() < deadline else {
                    let log = (try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? ""
                    throw PostgresClusterError(message: "\(error)\n--- server.log (end) ---\n\(log.suffix(3000))")
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }

    /// The postmaster's process id (the first line of `postmaster.pid`), or nil when it is not running.
    public var postmasterPID: pid_t? {
        guard let text = try? String(contentsOfFile: dataDir + "/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = pid_t(first), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// `kill -9` the postmaster, as a crash or the OOM killer does, and waits until it is gone.
    /// Its backends notice and exit on their own.
    public func killPostmaster() throws {
        guard let pid = postmasterPID else { throw PostgresClusterError(message: "the server is not running") }
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0 && Date() < deadline { usleep(10_000) }
    }

    /// Stops the server at once (`-m immediate`), if it runs.
    public func stop() {
        _ = try? run(binDir + "/pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"])
    }

    /// Stops the server and deletes the cluster's directory. Safe to call more than once.
    public func destroy() {
        guard FileManager.default.fileExists(atPath: dir.path) else { return }
        if postmasterPID != nil { stop() }
        if let pid = postmasterPID { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: dir)
    }

    /// Clusters of test processes that died before their cleanup ran (their `owner.pid` is no
    /// longer alive): their servers are killed and their directories deleted.
    static func removeLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for name in names where name.hasPrefix("ncf-pg-") {
            let dir = "/tmp/" + name
            guard let text = try? String(contentsOfFile: dir + "/owner.pid", encoding: .utf8),
                  let owner = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  owner != getpid(), kill(owner, 0) != 0 else { continue }
            if let pidText = try? String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8),
               let first = pidText.split(separator: "\n").first, let pid = pid_t(first), pid > 1,
               let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
               command.contains(dir + "/data") {  // that server, not a process that reuses its id
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// The last lines of the server's log, for failure messages.
    public var logTail: String {
        String(((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "").suffix(2000))
    }

    /// Runs a server command as the cluster's owner, from the cluster's directory (the checkout
    /// may be closed to `postgres`), its output appended to `commands.log`.
    private func run(_ program: String, _ arguments: [String]) throws {
        let logPath = dir.appendingPathComponent("commands.log").path
        let before = (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
        let argv = runAsPostgres
            ? [FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser", "-u", "postgres", "--", program] + arguments
            : [program] + arguments
        let status = try Self.spawnAndWait(argv, directory: dir.path, output: logPath)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            let output = String(decoding: Array(text.utf8).dropFirst(before), as: UTF8.self)
            throw PostgresClusterError(message: "\((program as NSString).lastPathComponent) \(arguments.joined(separator: " ")) exited with \(status): \(output.suffix(2000))")
        }
    }

    /// Runs `argv` in `directory` with stdin from /dev/null and stdout and stderr appended to
    /// `output`, and waits for it with `waitpid`; returns its exit status (128 + a signal).
    ///
    /// Not Foundation's `Process`: `pg_ctl start` leaves a daemon behind, and `Process` was seen
    /// never to notice the exit of the command that started it (its zombie left unreaped and the
    /// test waiting forever).
    public static func spawnAndWait(_ argv: [String], directory: String, output: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc's `_np` actions (2.29, 2.34) are not in Swift's Glibc module: found by name.
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let chdirSymbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np"),
              let closeSymbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw PostgresClusterError(message: "this C library has no posix_spawn_file_actions_addchdir_np/addclosefrom_np (glibc 2.34 or later)")
        }
        _ = directory.withCString { unsafeBitCast(chdirSymbol, to: AddChdir.self)(&actions, $0) }
        // Every other descriptor of the test process (its pipes to `swift test`) stays behind.
        _ = unsafeBitCast(closeSymbol, to: AddCloseFrom.self)(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling and nothing blocked.
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, environ)
        guard spawned == 0 else {
            throw PostgresClusterError(message: "could not start \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw PostgresClusterError(message: "waitpid for \(argv[0]) failed: errno \(errno)") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// A TCP port nothing listens on (bound and released on 127.0.0.1), from a random start.
    static func freePort() -> Int {
        var port = Int.random(in: 20_000...30_000)
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if bound == 0 { return port }
            port += 1
        }
        return port
    }
}

/// Why a throwaway cluster could not be made or started.
public struct PostgresClusterError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
