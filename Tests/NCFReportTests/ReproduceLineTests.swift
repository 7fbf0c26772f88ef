import Foundation
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// The report's "Reproduce it" line and `best --export flags`: text a shell reads back as the
/// run's exact argv, however the line is wrapped and whatever the values hold.
final class ReproduceLineTests: XCTestCase {
    /// The argv bash reads from `command` (a command line starting with a program word), or nil
    /// when bash is missing.
    private func bashArgv(_ command: String) throws -> [String]? {
        guard FileManager.default.isExecutableFile(atPath: "/bin/bash") else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "printf '%s\\0' " + command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "bash could not read: \(command)")
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast()
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// Values with spaces, quotes and control characters, long enough that the line wraps.
    private let config: [String: ParamValue] = [
        "model": .string("NeuMF"),
        "note": .string("a value with several spaces in it that is long enough to be wrapped across lines"),
        "quote": .string("it's \"quoted\" and  double  spaced"),
        "tag": .string("red\u{1B}[31m bell\u{07} tab\t newline\n end"),
        "lr": .double(0.001),
        "mlp_dims": .list([.int(64), .int(32), .int(16)]),
        "flag": .bool(true),
    ]

    private var expectedFlags: [String] {
        ["--flag", "--lr=0.001", "--mlp_dims=64,32,16", "--model=NeuMF",
         "--note=a value with several spaces in it that is long enough to be wrapped across lines",
         "--quote=it's \"quoted\" and  double  spaced", "--tag=red\u{1B}[31m bell\u{07} tab\t newline\n end"]
    }

    func testTheWrappedReproduceLineReadsBackAsTheSameArgv() throws {
        let sweep = SweepRecord(id: "abcdefgh", configText: "", seed: 1, state: .finished, created: Date())
        let stored = StoredRun(id: 1, sweepID: sweep.id, state: .finished, config: config, seed: 9, agent: "a:1",
                               heartbeatEvery: 1, startedAt: Date(), endedAt: Date(), heartbeatAt: Date())
        let model = ReportModel(sweep: sweep, config: nil, runs: [stored], histories: [:], now: Date())
        let run = try XCTUnwrap(model.runs.first)
        let text = SweepReport.reproduceCommand(model, run: run)
        XCTAssertGreaterThan(text.split(separator: "\n").count, 2, "the line wraps:\n\(text)")
        let argv = try XCTUnwrap(try bashArgv(text))
        XCTAssertEqual(argv, ["ncf", "train"] + (expectedFlags + ["--seed=9"]).sorted() + ["--data=PATH"])
    }

    func testExportedFlagsReadBackAsTheSameArgvAndHoldNoControlCharacter() throws {
        let text = commandLineFlags(config)
        XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                       "control characters are written as escapes: \(text.debugDescription)")
        XCTAssertEqual(try XCTUnwrap(try bashArgv("x " + text)), ["x"] + expectedFlags)
    }
}
