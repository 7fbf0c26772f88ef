import Foundation
import NCFSweep
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// Agents on PostgreSQL when things go wrong: hosts on network namespaces whose link is cut
/// mid-trial, the server killed with `kill -9` mid-sweep, and many agents at once.
///
/// The hosts and kill tests start a throwaway cluster of their own (`PostgresCluster`: its own
/// directory and port, owned by `postgres` when the tests run as root), so the shared server of
/// `.ci/run` is never taken away from the other tests. They need the PostgreSQL server binaries
/// (and for the hosts test root and `ip`); without them they skip with a message, except under
/// CI (`CI` set), where a missing prerequisite is a failure.
final class PostgreSQLFaultTests: SweepProcessTestCase {
    private var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    /// Skips (fails under CI) when one of `reasons` is not nil.
    private func require(_ reasons: String?..., file: StaticString = #filePath, line: UInt = #line) throws {
        let missing = reasons.compactMap { $0 }
        guard !missing.isEmpty else { return }
        let text = missing.joined(separator: "; ")
        if isCI { XCTFail("CI is set but this test cannot run here: \(text)", file: file, line: line) }
        throw XCTSkip("the PostgreSQL fault test did not run: \(text)")
    }

    /// Starts `program arguments…` (e.g. `ip netns exec … ncf agent …`) in the scratch directory,
    /// its output in a file.
    private func startProcess(_ program: String, _ arguments: [String]) throws -> Background {
        let out = tmp.appendingPathComponent("proc-\(UUID().uuidString.prefix(8)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = tmp
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env["NCF_STORE"] = nil
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Background(process: process, out: out)
    }

    private var ncfPath: String { get throws { try CLIRunner(executableNamed: "ncf").executable.path } }

    /// Polls `condition` every 20 ms for up to `seconds`; fails naming `what` when it never holds.
    private func waitFor(_ what: String, seconds: Double = 60, context: () -> String = { "" },
                         _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !((try? condition()) ?? false) {
            guard Date() < deadline else {
                XCTFail("gave up after \(Int(seconds)) s waiting for \(what)\n\(context())")
                throw CLIRunnerError.timedOut(arguments: ["waiting for", what], seconds: seconds)
            }
            usleep(20_000)
        }
    }

    private func writeTrial(_ name: String, _ text: String) throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    private func writeSweep(_ name: String, program: String, parameters: String, extra: String = "") throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try FakeTrial.sweepYAML(program: program, parameters: parameters, extra: extra).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: - Hosts

    /// Three agents on three hosts (network namespaces, each behind its own veth link to the
    /// server) share a 12-point grid under `run_cap: 10`. One host's link is cut while its trial
    /// runs (the trial of point x=3 waits for the test's gate, its first attempt only): the other
    /// agents mark its run stale after --grace and run the point again; the trial then ends while
    /// the host is still cut off, and when the link comes back its agent writes the late result,
    /// which is kept on the stale run and not counted. At the end: 10 counted runs, 10 distinct
    /// points, each finished once.
    func testAgentsOnThreeHostsRideOutACutLink() throws {
        try require(PostgresCluster.unavailableReason, NetworkHosts.unavailableReason)
        let network = try NetworkHosts(count: 3)
        defer { network.remove() }
        let cluster = try PostgresCluster(listen: ["127.0.0.1"] + network.hosts.map(\.serverAddress),
                                          clientNetworks: [network.network],
                                          // A host cut off inside a transaction holds its row locks until then.
                                          settings: ["idle_in_transaction_session_timeout=5s"])
        defer { cluster.destroy() }
        try cluster.start()

        let gates = tmp.appendingPathComponent("gates").path
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: true)
        let trial = try writeTrial("host-trial", """
            #!/bin/bash
            # Two epochs. The first attempt at x=3 waits for the test's gate between them.
            x=0; for a in "$@"; do case "$a" in --x=*) x="${a#*=}";; esac; done
            echo "{\\"epoch\\": 1, \\"Valid Loss\\": $x.5}"
            if [ "$x" = 3 ] && mkdir "\(gates)/first-attempt" 2>/dev/null; then
              for ((i = 0; i < 3000; i++)); do [ -e "\(gates)/open" ] && break; sleep 0.05; done
            else
              sleep 0.2
            fi
            echo "{\\"epoch\\": 2, \\"Valid Loss\\": $x.25}"
            echo '{"summary": {"Test RMSE": '$x'}}'
            """)
        let config = try writeSweep("hosts.yaml", program: trial, parameters: grid(12), extra: "run_cap: 10")
        let id = try sweepID(ncfSucceeds(["sweep", config, "--count", "0", "--store", cluster.url()]))

        let ncf = try ncfPath
        var agents: [Background] = []
        defer { for agent in agents where agent.process.isRunning { kill(agent.pid, SIGKILL) } }
        for i in network.hosts.indices {
            let (program, arguments) = network.command(host: i, ncf, [
                "agent", id, "--store", cluster.url(host: network.hosts[i].serverAddress), "--heartbeat", "0.5", "--grace", "3"])
            agents.append(try startProcess(program, arguments))
        }
        let outputs = { agents.enumerated().map { "--- host \($0.offset) ---\n\($0.element.output)" }.joined(separator: "\n") }
        let store = try PostgreSQLRunStore(url: cluster.url())
        func runsOfX3() throws -> [StoredRun] { try store.runs(sweepID: id).filter { $0.config["x"] == .int(3) } }

        // The first attempt at x=3 has logged epoch 1: cut its host off.
        try waitFor("the first attempt at x=3 to log epoch 1", context: outputs) {
            guard let run = try runsOfX3().first else { return false }
            return try store.metrics(runID: run.id).contains { $0.step == 1 }
        }
        let first = try XCTUnwrap(runsOfX3().first)
        let pid = try XCTUnwrap(first.agent.split(separator: ":").last.flatMap { pid_t($0) }, first.agent)
        let victim = try XCTUnwrap(agents.firstIndex { $0.pid == pid }, "run \(first.id)'s agent \(first.agent) is none of the three")
        try network.setLink(victim, up: false)

        // The others mark the silent run stale and run x=3 again.
        try waitFor("x=3 to be marked stale and finished by another host", context: outputs) {
            let runs = try runsOfX3()
            return runs.count == 2 && runs[0].state == .stale && runs[1].state == .finished
        }
        let rerun = try XCTUnwrap(runsOfX3().last)
        XCTAssertNotEqual(rerun.agent, first.agent, "the point ran again on another host")

        // The cut-off trial ends while its host is still unreachable; then the link comes back.
        FileManager.default.createFile(atPath: gates + "/open", contents: nil)
        Thread.sleep(forTimeInterval: 0.5)
        try network.setLink(victim, up: true)
        for agent in agents { XCTAssertEqual(finish(agent, timeout: 180), 0, outputs()) }

        let runs = try store.runs(sweepID: id)
        let counted = runs.filter(\.counts)
        XCTAssertEqual(counted.count, 10, "run_cap exact:\n\(runs.map { "\($0.id) \($0.config) \($0.state)" })")
        XCTAssertEqual(Set(counted.map { ParamValue.canonicalJSON($0.config) }).count, 10, "no point counted twice")
        XCTAssertTrue(counted.allSatisfy { $0.state == .finished }, "\(counted.map(\.state))")
        XCTAssertEqual(Set(counted.compactMap { $0.config["x"] }), Set((0..<10).map { ParamValue.int($0) }))
        XCTAssertEqual(runs.count, 11, "the ten counted runs and the stale first attempt")
        XCTAssertEqual(Set(runs.map(\.agent)).count, 3, "every host ran trials")

        // The late result is kept on the stale run, which stays stale and uncounted.
        let late = try XCTUnwrap(runs.first { $0.id == first.id })
        XCTAssertEqual(late.state, .stale)
        XCTAssertTrue(late.givenBack)
        XCTAssertEqual(late.summary.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Double] }?["Test RMSE"], 3,
                       "the late summary: \(late.summary ?? "nil")")
        XCTAssertTrue(late.reason?.contains("late result") ?? false, late.reason ?? "no reason")
        XCTAssertEqual(try store.metrics(runID: late.id).filter { $0.name == "Valid Loss" }.map(\.value), [3.5, 3.25],
                       "both epochs of the cut-off trial, the second written after the link came back")
        XCTAssertTrue(agents[victim].output.contains("late result"), agents[victim].output)

        let status = try ncfSucceeds(["sweep", "status", id, "--store", cluster.url()])
        XCTAssertTrue(status.stdout.contains("10 finished"), status.stdout)
        if ProcessInfo.processInfo.environment["NCF_TEST_VERBOSE"] != nil { print(outputs() + "\n" + status.stdout) }
    }

    // MARK: - The server killed

    /// `kill -9` of the postmaster while three agents run a 12-point grid, and a restart 1.5 s
    /// later: the sweep completes, every point is finished exactly once, and the store holds
    /// every metric line each trial printed (the trials also write them to a file), no more and
    /// no fewer.
    func testASweepSurvivesTheServerKilledAndRestarted() throws {
        try require(PostgresCluster.unavailableReason)
        let cluster = try PostgresCluster()
        defer { cluster.destroy() }
        try cluster.start()

        let printed = tmp.appendingPathComponent("printed.txt").path
        let trial = try writeTrial("printing-trial", """
            #!/bin/bash
            # Five epochs of 0.2 s; every line printed is also appended to a file, "RUN STEP VALUE".
            x=0; for a in "$@"; do case "$a" in --x=*) x="${a#*=}";; esac; done
            for e in 1 2 3 4 5; do
              sleep 0.2
              echo "{\\"epoch\\": $e, \\"Valid Loss\\": $x.$e}"
              echo "$NCF_RUN_ID $e $x.$e" >> "\(printed)"
            done
            """)
        let config = try writeSweep("kill.yaml", program: trial, parameters: grid(12))
        let url = cluster.url()
        let id = try sweepID(ncfSucceeds(["sweep", config, "--count", "0", "--store", url]))
        var agents: [Background] = []
        defer { for agent in agents where agent.process.isRunning { kill(agent.pid, SIGKILL) } }
        for _ in 0..<3 {
            agents.append(try start(["agent", id, "--store", url, "--heartbeat", "0.5", "--grace", "30"]))
        }
        let outputs = { agents.enumerated().map { "--- agent \($0.offset) ---\n\($0.element.output)" }.joined(separator: "\n") }

        do {
            let store = try PostgreSQLRunStore(url: url)
            try waitFor("two finished runs", context: outputs) {
                try store.runs(sweepID: id).filter { $0.state == .finished }.count >= 2
            }
            let before = try store.runs(sweepID: id)
            XCTAssertLessThan(before.filter { $0.state == .finished }.count, 12, "killed mid-sweep")
            XCTAssertTrue(before.contains { $0.state == .running }, "trials were running when the server was killed")
        }
        try cluster.killPostmaster()
        Thread.sleep(forTimeInterval: 1.5)
        try cluster.start()

        for agent in agents {
            let status = finish(agent, timeout: 240)
            // A claim cut off during its COMMIT cannot know whether it was stored: its agent
            // stops and says so (its run, if stored, is recovered as stale by the others).
            if status != 0 {
                XCTAssertTrue(agent.output.contains("whether this change was stored is unknown"), "exit \(status):\n\(outputs())")
            }
        }
        let store = try PostgreSQLRunStore(url: url)
        let runs = try store.runs(sweepID: id)
        let finished = runs.filter { $0.state == .finished }
        XCTAssertEqual(finished.count, 12, "\(runs.map { "\($0.id) \($0.config) \($0.state) \($0.reason ?? "")" })\n\(outputs())")
        XCTAssertEqual(Set(finished.map { ParamValue.canonicalJSON($0.config) }).count, 12, "every point finished exactly once")
        XCTAssertEqual(try store.sweep(id: id).state, .finished)
        XCTAssertTrue(outputs().contains("heartbeat failed") || outputs().contains("connection"),
                      "the agents noticed the server going away:\n\(outputs())")

        // Every line the trials printed is in the store, once; nothing else is.
        var expected: [Int: [Int: Double]] = [:]
        for line in try String(contentsOfFile: printed, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, let run = Int(f[0]), let step = Int(f[1]), let value = Double(f[2]) else {
                XCTFail("unreadable line \(line)"); continue
            }
            XCTAssertNil(expected[run, default: [:]][step], "run \(run) printed step \(step) twice")
            expected[run, default: [:]][step] = value
        }
        var stored: [Int: [Int: Double]] = [:]
        for run in runs {
            for point in try store.metrics(runID: run.id) where point.name == "Valid Loss" {
                stored[run.id, default: [:]][point.step] = point.value
            }
        }
        XCTAssertEqual(stored, expected, "the store's metric rows are the trials' printed lines")
        XCTAssertEqual(expected.values.map(\.count).reduce(0, +), 5 * runs.count)
    }

    // MARK: - Load

    /// 16 agent processes on one server, each starting `NCF_TEST_LOAD_TRIALS` trials (300 by
    /// default) that exit at once, on a grid larger than `run_cap` = 16 × that: every claim a
    /// distinct point, exactly `run_cap` runs, all finished. Uses the shared server of `.ci/run`.
    func testSixteenAgentsClaimExactlyRunCapDistinctPoints() throws {
        let base = ProcessInfo.processInfo.environment["NCF_TEST_POSTGRES_URL"] ?? ""
        try require(base.isEmpty ? "NCF_TEST_POSTGRES_URL is not set (`. .ci/postgres` starts a throwaway server and sets it)" : nil)
        let perAgent = Int(ProcessInfo.processInfo.environment["NCF_TEST_LOAD_TRIALS"] ?? "") ?? 300
        let agentCount = 16
        let cap = agentCount * perAgent
        let schema = TestPostgres.newSchemaName("ncf_load_")
        try PGConnection(url: base).execute("CREATE SCHEMA \(schema)")
        defer { _ = try? PGConnection(url: base).execute("DROP SCHEMA \(schema) CASCADE") }
        let url = TestPostgres.withSchema(base, schema)

        let trial = try writeTrial("instant-trial", "#!/bin/sh\necho '{\"Valid Loss\": 1}'\n")
        let bValues = (0..<(perAgent + 10)).map(String.init).joined(separator: ", ")
        let parameters = "  a:\n    values: [\((0..<agentCount).map(String.init).joined(separator: ", "))]\n  b:\n    values: [\(bValues)]"
        let config = try writeSweep("load.yaml", program: trial, parameters: parameters, extra: "run_cap: \(cap)")
        let id = try sweepID(ncfSucceeds(["sweep", config, "--count", "0", "--store", url]))

        let started = Date()
        let cpuBefore = Self.childCPUSeconds()
        let ncf = try ncfPath
        var agents: [Background] = []
        defer { for agent in agents where agent.process.isRunning { kill(agent.pid, SIGKILL) } }
        for _ in 0..<agentCount {
            agents.append(try startProcess(ncf, ["agent", id, "--store", url, "--heartbeat", "5", "--grace", "120"]))
        }
        for agent in agents { XCTAssertEqual(finish(agent, timeout: 1800), 0, agent.output) }
        let wall = Date().timeIntervalSince(started)
        let cpu = Self.childCPUSeconds() - cpuBefore

        let store = try PostgreSQLRunStore(url: url)
        let runs = try store.runs(sweepID: id)
        XCTAssertEqual(runs.count, cap, "run_cap exact")
        XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, runs.count, "0 duplicate points")
        XCTAssertTrue(runs.allSatisfy { $0.state == .finished }, "\(Dictionary(grouping: runs, by: \.state).mapValues(\.count))")
        XCTAssertEqual(try store.sweep(id: id).state, .finished)
        let perAgentRuns = Dictionary(grouping: runs, by: \.agent).mapValues(\.count)
        XCTAssertEqual(perAgentRuns.count, agentCount, "every agent claimed runs: \(perAgentRuns)")
        print(String(format: "load: %d agents × %d trials = %d runs in %.1f s wall (%.0f claims/s; agents' cpu %.1f s, cpu/wall %.2f); runs per agent %d–%d",
                     agentCount, perAgent, cap, wall, Double(cap) / wall, cpu, cpu / wall,
                     perAgentRuns.values.min() ?? 0, perAgentRuns.values.max() ?? 0))
    }

    /// User + system CPU seconds of this process's waited-for children.
    private static func childCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
