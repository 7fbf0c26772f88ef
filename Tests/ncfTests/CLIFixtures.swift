import Foundation
import NCFTestSupport
import XCTest

// MARK: - The executable and a scratch directory per test

/// Base class of the end-to-end tests: finds the built `ncf` once and gives every test its own
/// temporary directory (removed afterwards).
class CLITestCase: XCTestCase {
    /// Located once per process; nil (with the reason) when the executable is missing.
    private static let located: Result<CLIRunner, Error> = Result { try CLIRunner(executableNamed: "ncf") }

    /// This test's scratch directory.
    private(set) var tmp: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        tmp = try makeTemporaryDirectory(prefix: "ncf-cli")
        // Every child (whoever starts it) plans for one core: an agent then runs one trial at a
        // time unless a test passes --parallel, whatever the machine's cores.
        setenv("NCF_CORES", "1", 1)
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
        try super.tearDownWithError()
    }

    /// Runs `ncf` with `arguments`, its working directory the test's scratch directory.
    func ncf(_ arguments: String...) throws -> CLIResult {
        try ncf(arguments)
    }

    func ncf(_ arguments: [String]) throws -> CLIResult {
        try Self.located.get().run(arguments, in: tmp)
    }

    /// Runs `ncf` with `arguments` and `environment` added (e.g. `NCF_CORES`).
    func ncf(_ arguments: [String], environment: [String: String]) throws -> CLIResult {
        try Self.located.get().run(arguments, in: tmp, environment: environment)
    }

    /// Runs `ncf` with `arguments` in another working directory.
    func ncf(_ arguments: [String], in directory: URL) throws -> CLIResult {
        try Self.located.get().run(arguments, in: directory)
    }

    /// Runs `ncf` and fails the test (returning the result anyway) unless it exits 0.
    @discardableResult
    func ncfSucceeds(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
        let result = try ncf(arguments)
        XCTAssertEqual(result.exitCode, 0, "expected success:\n\(result)", file: file, line: line)
        return result
    }

    /// Runs `ncf`, asserts a non-zero exit from an error (not a crash), and returns stderr.
    @discardableResult
    func ncfFails(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try ncf(arguments)
        XCTAssertNotEqual(result.exitCode, 0, "expected failure:\n\(result)", file: file, line: line)
        XCTAssertLessThan(result.exitCode, 128, "ended by a signal (crash?):\n\(result)", file: file, line: line)
        XCTAssertFalse(result.stderr.isEmpty, "no message on stderr:\n\(result)", file: file, line: line)
        return result.stderr
    }

    // MARK: Fixture files

    /// Writes the tiny ratings file (see `TinyRatings`) into the scratch directory.
    func writeTinyRatings(name: String = "ratings.tsv") throws -> String {
        let url = tmp.appendingPathComponent(name)
        try TinyRatings.tsv.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The tiny ratings file with its third line replaced by one whose rating is `abc`.
    func writeBadRatings(name: String = "bad.tsv") throws -> String {
        var lines = TinyRatings.lines
        lines[2] = "u1\ti7\tabc\t1000000020"
        let url = tmp.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

// MARK: - Tiny deterministic data

/// 12 users × 20 items, 144 ratings, written as headerless TSV `user item rating timestamp` with
/// raw ids `u1…u12` and `i1…i20`.
///
/// User `u` (0-based) rates `11 + u % 3` items, `(7u + 3j) mod 20` for `j = 0, 1, …` (distinct
/// because 3 is coprime to 20), at times increasing with `j`. The rating is
/// `clamp(3 + (u mod 3 − 1) + (i mod 5 − 2), 1, 5)`: a user bias plus an item bias, so a model
/// can learn it and the loss falls. Every user leaves at least 7 items unrated, enough for
/// `--eval_negatives 5`.
enum TinyRatings {
    static let users = 12
    static let items = 20

    /// Per user raw id, the raw item ids in time order.
    static let itemsByUser: [String: [String]] = {
        var out: [String: [String]] = [:]
        for u in 0..<users {
            out["u\(u + 1)"] = (0..<(11 + u % 3)).map { j in "i\((7 * u + 3 * j) % items + 1)" }
        }
        return out
    }()

    static let lines: [String] = {
        var out: [String] = []
        for u in 0..<users {
            for j in 0..<(11 + u % 3) {
                let i = (7 * u + 3 * j) % items
                let rating = min(5, max(1, 3 + (u % 3 - 1) + (i % 5 - 2)))
                out.append("u\(u + 1)\ti\(i + 1)\t\(rating)\t\(1_000_000_000 + 1000 * u + 10 * j)")
            }
        }
        return out
    }()

    static var count: Int { lines.count }

    static var tsv: String { lines.joined(separator: "\n") + "\n" }

    /// Every raw item id.
    static var itemIDs: Set<String> { Set((1...items).map { "i\($0)" }) }
}

// MARK: - JSON Lines

/// Flags that keep a training run on the tiny data well under a second in a debug build.
let smallFlags = ["--epochs", "2", "--embed_dim", "4", "--mlp_dims", "8,4", "--batch_size", "16", "--seed", "7"]

/// The fields whose values depend on the clock or the machine, not on the seed.
let timingFields: Set<String> = ["seconds", "samples_per_second", "train_seconds", "peak_memory_bytes"]

/// Parses every stdout line as a JSON object; fails the test on a line that is not one.
func jsonLines(_ result: CLIResult, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
    var out: [[String: Any]] = []
    for text in result.stdoutLines {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            XCTFail("stdout line is not a JSON object: \(text)\n\(result)", file: file, line: line)
            continue
        }
        out.append(object)
    }
    return out
}

/// The epoch objects and the summary of a `--json` training run.
func trainingRecords(_ result: CLIResult, file: StaticString = #filePath, line: UInt = #line)
    -> (epochs: [[String: Any]], summary: [String: Any])
{
    // The opening config record is not an epoch.
    let objects = jsonLines(result, file: file, line: line).filter { !($0.count == 1 && $0["config"] != nil) }
    guard let last = objects.last, let summary = last["summary"] as? [String: Any] else {
        XCTFail("the last stdout line is not {\"summary\": {...}}:\n\(result)", file: file, line: line)
        return (objects, [:])
    }
    return (Array(objects.dropLast()), summary)
}

/// A JSON number as a Double, or nil.
func number(_ object: [String: Any], _ key: String) -> Double? {
    (object[key] as? NSNumber)?.doubleValue
}

/// Every non-timing field of every line, for comparing two runs value by value.
func reproducibleValues(_ result: CLIResult) -> [[String: String]] {
    func flatten(_ object: [String: Any], prefix: String, into out: inout [String: String]) {
        for (key, value) in object where !timingFields.contains(key) {
            if let nested = value as? [String: Any] {
                flatten(nested, prefix: prefix + key + ".", into: &out)
            } else if let n = value as? NSNumber {
                out[prefix + key] = String(n.doubleValue)
            } else {
                out[prefix + key] = String(describing: value)
            }
        }
    }
    return jsonLines(result).map { object in
        var out: [String: String] = [:]
        flatten(object, prefix: "", into: &out)
        return out
    }
}
