import Foundation
import NCFTestSupport
import XCTest

/// Malformed flags of `ncf train`, `ncf agent` and `ncf sweep`: refused before anything runs,
/// with a message naming the flag, the value and what would be accepted.
final class FlagErrorTests: CLITestCase {
    /// The list, through the explicit `train` subcommand (ErrorTests covers the default one).
    static let trainFlags: [(arguments: [String], mentions: [String])] = [
        (["--lr", "-1"], ["--lr -1", "must be a positive number", "e.g. 0.001"]),
        (["--batch_size", "0"], ["--batch_size 0", "at least 1"]),
        (["--mlp_dims", "16,,32"], ["--mlp_dims \"16,,32\"", "entry 2 is an empty entry", "positive integers separated by commas"]),
        (["--dropout", "1.5"], ["--dropout 1.5", "in [0, 1)"]),
        (["--epochs", "abc"], ["'abc'", "--epochs", "an integer ≥ 1"]),
        (["--embed_dim", "0"], ["--embed_dim 0", "at least 1"]),
        (["--negatives", "0"], ["--negatives 0", "1...1000"]),
    ]

    /// Agent flags, for `ncf agent ID` and `ncf sweep FILE` alike.
    static let agentFlags: [(arguments: [String], mentions: [String])] = [
        (["--heartbeat", "0"], ["--heartbeat 0.0", "a positive number of seconds"]),
        (["--heartbeat", "-1"], ["--heartbeat -1.0", "a positive number of seconds"]),
        (["--heartbeat", "abc"], ["'abc'", "--heartbeat", "Seconds between this agent's heartbeats"]),
        (["--heartbeat", "10", "--grace", "5"], ["--grace 5.0 must be longer than --heartbeat 10.0", "e.g. --grace 60"]),
        (["--trial_timeout", "0"], ["--trial_timeout 0.0", "a positive number of seconds"]),
        (["--parallel", "0"], ["--parallel 0", "1 or more"]),
        (["--count", "-1"], ["--count -1", "0 or more"]),
        (["--max_initial_failures", "-2"], ["--max_initial_failures -2", "0 (off) or more"]),
    ]

    private func assertRefused(_ arguments: [String], _ mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let stderr = try ncfFails(arguments, file: file, line: line)
        for fragment in mentions {
            XCTAssertTrue(stderr.contains(fragment), "\(arguments): message lacks \"\(fragment)\":\n\(stderr)", file: file, line: line)
        }
        XCTAssertFalse(stderr.contains("epoch 1/") || stderr.contains("joining sweep"), "\(arguments): it started", file: file, line: line)
    }

    func testMalformedTrainingFlagsNameTheValueAndWhatIsAccepted() throws {
        let data = try writeTinyRatings()
        for (arguments, mentions) in Self.trainFlags {
            try assertRefused(["train", "--data", data] + arguments, mentions)
        }
    }

    func testMalformedAgentFlagsNameTheValueAndWhatIsAccepted() throws {
        let store = tmp.appendingPathComponent("s.db").path
        let config = tmp.appendingPathComponent("s.yaml").path
        try "method: grid\nparameters:\n  lr:\n    values: [0.1]\n".write(toFile: config, atomically: true, encoding: .utf8)
        for (arguments, mentions) in Self.agentFlags {
            try assertRefused(["agent", "abcd1234", "--store", store] + arguments, mentions)
            try assertRefused(["sweep", config, "--store", store] + arguments, mentions)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "no store is created for bad flags")
    }

    /// Words in the wrong place: a mistyped command (which would fall through to `train`), another
    /// trainer's name for a flag, a sweep's id given to `ncf sweep`, a config file given to `ncf agent`.
    func testMisplacedWordsAreNamedWithWhatWasMeant() throws {
        let data = try writeTinyRatings()
        let store = tmp.appendingPathComponent("s.db").path
        let cases: [(arguments: [String], mentions: [String])] = [
            (["trian", "--data", data], ["unknown command `trian`", "did you mean `ncf train`?"]),
            (["recomend", "--model", "m.ncfmodel", "--user", "1"], ["unknown command `recomend`", "did you mean `ncf recommend`?"]),
            (["--data", data, "--learning_rate", "0.01"], ["unknown option `--learning_rate`", "`--lr`"]),
            (["train", "--data", data, "--num_epochs=3"], ["unknown option `--num_epochs`", "`--epochs`"]),
            (["sweep", "k3v9q2xa", "--store", store], ["`k3v9q2xa` is not a file", "`ncf agent k3v9q2xa`", "`ncf sweep status k3v9q2xa`"]),
            (["agent", "Sweeps/ncf.yaml", "--store", store], ["`Sweeps/ncf.yaml` is not a sweep id", "`ncf sweep Sweeps/ncf.yaml`"]),
        ]
        for (arguments, mentions) in cases {
            let result = try CLIRunner(executableNamed: "ncf").run(arguments, in: tmp)
            XCTAssertEqual(result.exitCode, 64, "\(arguments): a usage error\n\(result)")
            try assertRefused(arguments, mentions)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "no store is created")
        // The checks leave the real commands alone.
        XCTAssertEqual(try CLIRunner(executableNamed: "ncf").run(["data", "info", data], in: tmp).exitCode, 0)
        XCTAssertEqual(try CLIRunner(executableNamed: "ncf").run(["help", "train"], in: tmp).exitCode, 0)
    }
}
