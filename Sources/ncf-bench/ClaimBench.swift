// `ncf-bench claims`: how long an agent waits for a claim, on the SQLite store and on PostgreSQL,
// side by side. N agents (threads, each with its own store connection, as N agent processes
// have) claim M runs each from one grid sweep; after each claim the "trial" writes one metric
// line and its end, untimed, as a trial that exits at once would. The figure is the latency of
// `claimRun` itself: the sweep's lock, reading its runs, the sampler, the insert, the commit.

import ArgumentParser
import Foundation
import NCFSweep

struct ClaimBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claims",
        abstract: "Print claim latency (p50/p99) of the SQLite and PostgreSQL sweep stores, side by side.",
        discussion: """
            Each --store gets a new grid sweep of --agents × --claims points (deleted afterwards); \
            --agents threads, each with its own connection, claim --claims runs each. A claim \
            reads every run of the sweep, so latency grows with the sweep: compare stores at the \
            same sizes. Without --store: a temporary SQLite file, and the PostgreSQL server in \
            NCF_BENCH_POSTGRES_URL (or NCF_TEST_POSTGRES_URL) when set. Example:
              ncf-bench claims --agents 16 --claims 50 --store /tmp/b.db --store postgresql://ncf@localhost/ncf
            """
    )

    @Option(name: .customLong("store"), help: ArgumentHelp(
        "A store to measure: an SQLite file (created if missing) or a postgresql:// URL; repeatable.", valueName: "path|url"))
    var stores: [String] = []

    @Option(name: .customLong("agents"), help: ArgumentHelp("Agents claiming at once (threads, a connection each).", valueName: "n"))
    var agents = 8

    @Option(name: .customLong("claims"), help: ArgumentHelp("Claims per agent.", valueName: "m"))
    var claims = 50

    func validate() throws {
        guard (1...256).contains(agents) else { throw ValidationError("--agents \(agents): use 1 to 256") }
        guard (1...100_000).contains(claims) else { throw ValidationError("--claims \(claims): use 1 to 100000") }
    }

    func run() throws {
        var targets = stores
        var temporary: URL?
        if targets.isEmpty {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-bench-claims-\(getpid())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            temporary = dir
            targets.append(dir.appendingPathComponent("claims.db").path)
            let env = ProcessInfo.processInfo.environment
            if let url = [env["NCF_BENCH_POSTGRES_URL"], env["NCF_TEST_POSTGRES_URL"]].compactMap({ $0 }).first(where: { !$0.isEmpty }) {
                targets.append(url)
            } else {
                FileHandle.standardError.write(Data("note: no PostgreSQL store measured (pass --store postgresql://… or set NCF_BENCH_POSTGRES_URL)\n".utf8))
            }
        }
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }

        for line in machineLines() { print(line) }
        print("sqlite: \(SQLiteRunStore.libraryVersion); libpq: \(PostgreSQLRunStore.clientVersion)")
        print("workload: \(agents) agents × \(claims) claims on one grid sweep of \(agents * claims) points; after each claim one metric line and the run's end (untimed)")
        let started = ProcessInfo.processInfo.systemUptime
        let cpuStart = Self.cpuSeconds()
        var rows: [[String]] = []
        for target in targets {
            let result = try measure(target)
            rows.append([result.name, result.version, String(agents), String(result.latencies.count),
                         Self.ms(Self.percentile(result.latencies, 0.5)), Self.ms(Self.percentile(result.latencies, 0.99)),
                         Self.ms(result.latencies.max() ?? 0), String(format: "%.0f", Double(result.latencies.count) / result.wall),
                         String(format: "%.1f", result.wall)])
        }
        let wall = ProcessInfo.processInfo.systemUptime - started
        print("")
        var table = TextTable(headers: ["store", "server", "agents", "claims", "p50 ms", "p99 ms", "max ms", "claims/s", "wall s"],
                              leftAligned: [0, 1])
        for row in rows { table.add(row) }
        print(table.render())
        print(String(format: "cpu/wall %.2f for this process (the PostgreSQL server's own CPU is not counted)", (Self.cpuSeconds() - cpuStart) / wall))
    }

    private struct Result {
        var name: String
        var version: String
        var latencies: [Double]
        var wall: Double
    }

    private func measure(_ target: String) throws -> Result {
        let isPG = isPostgreSQLStoreURL(target)
        let open: () throws -> any RunStore = {
            isPG ? try PostgreSQLRunStore(url: target) : try SQLiteRunStore(path: target, create: true)
        }
        let first = try open()
        let version = try (first as? PostgreSQLRunStore).map { "PostgreSQL " + (try $0.serverVersion()) } ?? "SQLite \(SQLiteRunStore.libraryVersion)"
        let points = agents * claims
        let config = SweepConfig(method: .grid, metric: .init(name: "Valid Loss", goal: .minimize),
                                 parameters: [Parameter(name: "x", spec: .categorical((0..<points).map { .int($0) }, probabilities: nil))])
        let sweep = try first.createSweep(configText: "method: grid  # ncf-bench claims", seed: 1, now: Date())
        defer { try? first.deleteSweep(id: sweep.id) }
        let connections = try (0..<agents).map { _ in try open() }

        let collected = Collected()
        let group = DispatchGroup()
        let start = ProcessInfo.processInfo.systemUptime
        for (i, store) in connections.enumerated() {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var mine: [Double] = []
                mine.reserveCapacity(claims)
                do {
                    for _ in 0..<claims {
                        let t0 = ProcessInfo.processInfo.systemUptime
                        let outcome = try store.claimRun(ClaimRequest(sweepID: sweep.id, config: config, sampler: GridSampler(),
                                                                      agent: "bench:\(i)", heartbeatEvery: 10, now: Date()))
                        mine.append(ProcessInfo.processInfo.systemUptime - t0)
                        guard case .claimed(let run) = outcome else { break }
                        try store.appendMetrics(runID: run.id, step: 1, values: ["Valid Loss": Double(i)])
                        _ = try store.finishRun(id: run.id, state: .finished, reason: nil, exitCode: 0, summary: nil,
                                                givenBack: false, at: Date())
                    }
                } catch {
                    collected.add(error: error)
                }
                collected.add(mine)
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
        group.wait()
        let wall = ProcessInfo.processInfo.systemUptime - start
        let (latencies, failure) = collected.result
        if let failure { throw failure }
        return Result(name: isPG ? redactedStoreURL(target) : (target as NSString).lastPathComponent, version: version,
                      latencies: latencies.sorted(), wall: wall)
    }

    /// The `q` quantile of sorted values (nearest rank).
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// The agents' latencies and first error, gathered from their threads.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var failure: Error?

    func add(_ values: [Double]) { lock.withLock { latencies += values } }
    func add(error: Error) { lock.withLock { failure = failure ?? error } }
    var result: ([Double], Error?) { lock.withLock { (latencies, failure) } }
}
