import Foundation
import NCFSweep
import NCFTestSupport
import XCTest

/// What a trial (or a config) can do to the `ncf agent` process and its terminal: fill the
/// store's disk, leave processes behind, print terminal escapes.
final class ReliabilityTrialTests: ReliabilityTestCase {
    // MARK: Helpers

    /// Writes an executable bash script into the scratch directory and returns its path.
    private func trialScript(_ name: String, _ body: String) throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try ("#!/bin/bash\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// A sweep config running `program` with `${args}`; `head` is more top-level YAML.
    private func config(program: String, parameters: String, head: String = "name: t") throws -> String {
        let path = tmp.appendingPathComponent("sweep-\(UUID().uuidString.prefix(6)).yaml").path
        try """
            \(head)
            method: grid
            program: \(program)
            command: ["${program}", "${args}"]
            metric: {name: Valid Loss, goal: minimize}
            parameters:
            \(parameters)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `ncf arguments` under a shell `prefix` such as `ulimit -f 64;`.
    private func ncfUnder(_ prefix: String, _ arguments: [String]) throws -> ProgramResult {
        let ncf = try CLIRunner(executableNamed: "ncf").executable.path
        let quoted = ([ncf] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try runProgram(["/bin/bash", "-c", "\(prefix) exec \(quoted)"])
    }

    /// Fails when `text` holds a control character other than a line break (C0, DEL, C1).
    private func assertTerminalSafe(_ text: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let bad = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        XCTAssertTrue(bad.isEmpty, "\(context): control characters \(bad.map { String($0.value, radix: 16) }) in:\n\(text)",
                      file: file, line: line)
    }

    // MARK: - A full disk under the store

    /// The store's disk fills (a file-size limit) while a trial prints 1,000 lines: its run is
    /// never `finished`, the agent claims nothing more and exits non-zero saying which run lost
    /// its metrics and what to do; once there is room, another agent runs every point.
    func testMetricsThatCannotBeStoredStopTheAgentAndTheRunIsRunAgain() throws {
        let trial = try trialScript("chatty.sh", """
            x=0; for a in "$@"; do case "$a" in --x=*) x="${a#*=}";; esac; done
            for ((e = 1; e <= 1000; e++)); do echo "{\\"epoch\\": $e, \\"Valid Loss\\": $x.$e}"; done
            echo '{"summary": {"Test RMSE": 1}}'
            """)
        let id = try createSweep(try config(program: trial, parameters: "  x:\n    values: [1, 2]"))
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: store)[.size] as? Int)
        let result = try ncfUnder("ulimit -f \(size / 1024 + 64);", ["agent", id, "--store", store])
        XCTAssertLessThan(result.exitCode, 128, "killed by a signal: \(result)")
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        let output = result.stdout + result.stderr
        XCTAssertTrue(output.contains("could not record the metrics of run 1"), result.description)
        XCTAssertTrue(output.contains("Hint:"), result.description)
        assertCleanOutput(output, "full disk")
        let before = try runs(id)
        XCTAssertEqual(before.count, 1, "the agent claimed nothing after the failed write: \(before.map(\.state))")
        XCTAssertNotEqual(before.first?.state, .finished, "a run whose metrics were lost is never finished")
        try assertIntegrity()

        // With room again (and a short grace, for a run the full disk left `running`).
        let rescuer = try ncfSucceeds(["agent", id, "--store", store, "--heartbeat", "0.2", "--grace", "1"])
        assertCleanOutput(rescuer.stdout + rescuer.stderr, "after the full disk")
        let after = try assertEachPointFinishedOnce(id, points: 2, context: "after the full disk")
        let finished = after.filter { $0.state == .finished }
        XCTAssertEqual(try openStore().histories(sweepID: id, metric: "Valid Loss").filter { id, _ in
            finished.contains { $0.id == id } }.values.map(\.count), [1000, 1000], "every step of each finished run")
    }

    // MARK: - Descendants of a trial

    /// A trial leaving `setsid sleep`, `nohup sleep` and a `setsid env -i sleep` (no trace of the
    /// trial in its environment) behind, holding its stdout: the agent ends promptly after the
    /// trial exits (and after one times out), and no sleep survives it.
    func testATrialsDescendantsDoNotHoldOrOutliveTheAgent() throws {
        let pidFile = tmp.appendingPathComponent("pids")
        let trial = try trialScript("leaves-children.sh", """
            setsid sleep 300 &
            echo $! >> '\(pidFile.path)'
            nohup sleep 300 &
            echo $! >> '\(pidFile.path)'
            setsid env -i /bin/sleep 300 &
            echo $! >> '\(pidFile.path)'
            echo '{"epoch": 1, "Valid Loss": 0.5}'
            for a in "$@"; do [ "$a" = "--mode=hang" ] && sleep 300; done
            exit 0
            """)
        addTeardownBlock {
            let text = (try? String(contentsOf: pidFile, encoding: .utf8)) ?? ""
            for pid in text.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
        }
        let id = try createSweep(try config(program: trial, parameters: "  mode:\n    values: [exit, hang]"))
        let agent = try start(["agent", id, "--store", store, "--trial_timeout", "2", "--max_initial_failures", "0"])
        XCTAssertEqual(finish(agent, timeout: 60), 0, agent.output)
        XCTAssertEqual(try runs(id).map(\.state), [.finished, .failed], agent.output)
        let pids = try String(contentsOf: pidFile, encoding: .utf8).split(separator: "\n").compactMap { pid_t($0) }
        XCTAssertEqual(pids.count, 6)
        try waitUntil("no sleep of a trial is alive", timeout: 10) {
            !pids.contains { pid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                return !"ZX".contains(stat[stat.index(close, offsetBy: 2)])
            }
        }
    }

    // MARK: - Terminal escapes

    /// Escape sequences from a trial's stderr and from a config's values and name reach the
    /// agent's log, failure reasons, `sweep status`, `best`, `best --export` and `list` only as
    /// visible text (`\\e]0;…`), never as control characters.
    func testTerminalEscapesFromTrialsAndConfigsAreShownAsText() throws {
        let path = try config(program: script, parameters: """
              x:
                values: ["\\e]0;OWNED\\a\\e[2J", "1"]
              mode:
                values: [ok, fail]
            """, head: #"name: "evil\e]0;NAME\a\x9b2J""#)
        let id = try createSweep(path)
        let agent = try ncf(["agent", id, "--store", store, "--max_initial_failures", "0"])
        XCTAssertEqual(agent.exitCode, 0, agent.description)
        assertTerminalSafe(agent.stdout + agent.stderr, "ncf agent")
        XCTAssertTrue(agent.stdout.contains(#"\e]0;OWNED\a\e[2J"#), agent.stdout)
        XCTAssertTrue(try runs(id).contains { $0.reason?.contains("Error: boom (x=\u{1B}]0;OWNED") ?? false },
                      "the store keeps the reason as the trial wrote it")

        for arguments in [["sweep", "status", id], ["sweep", "best", id], ["sweep", "best", id, "--export", "flags"],
                          ["sweep", "best", id, "--export", "json"], ["sweep", "best", id, "--export", "yaml"],
                          ["sweep", "list"]] {
            let result = try ncfSucceeds(arguments + ["--store", store])
            assertTerminalSafe(result.stdout + result.stderr, arguments.joined(separator: " "))
            XCTAssertTrue(result.stdout.contains(#"\e"#) || result.stdout.contains(#"\u001b"#) || result.stdout.contains(#"\x1b"#),
                          "\(arguments): the escape is shown as text:\n\(result.stdout)")
        }
        let status = try ncfSucceeds(["sweep", "status", id, "--store", store]).stdout
        XCTAssertTrue(status.contains(#"Error: boom (x=\e]0;OWNED\a\e[2J)"#), status)
    }
}
