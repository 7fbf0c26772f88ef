import Foundation
import NCFKernels
import XCTest

@testable import NCFSweep

/// Seeded random mutations of the bundled `Sweeps/*.yaml` (bit flips, byte inserts and deletes,
/// duplicated, swapped and cut lines, YAML punctuation dropped in): the loader never crashes,
/// traps or hangs, and every problem it reports has a place (a line or a key path) and names
/// the file.
///
/// Iterations per file: `NCF_FUZZ_ITERATIONS` (default 1000; three files, so 3,000 parses).
final class ConfigFuzzTests: XCTestCase {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["NCF_FUZZ_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 1000
    }

    /// The built-in trainer's flags (as `ncf` passes them), so unknown-flag problems are fuzzed too.
    static let trainerFlags: Set<String> = [
        "model", "lr", "batch_size", "embed_dim", "mlp_dims", "epochs", "dropout", "optimizer", "weight_decay",
        "embed_l2", "lr_decay", "init_std", "negatives", "topk", "seed", "patience", "threads", "data", "format", "columns", "task", "split",
        "split_seed", "valid_ratio", "test_ratio", "eval_negatives", "skip_bad_lines", "init_gmf", "init_mlp", "alpha", "embed_dropout",
    ]

    private static let sweepsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sweeps")

    /// YAML fragments the mutations drop in.
    private static let fragments = [
        ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "#", "'", "\"", "|", ">", "&a ", "*a", "<<: *a", "!!str ", "!!int ",
        "? ", "---\n", "...\n", "%YAML 1.1\n", "\t", "  ", "\n", "\r\n", "\u{FEFF}", "~", "null", "1e309", "-1", "0x1F",
        ".inf", ".nan", "yes", "values:", "min:", "max:", "distribution:", "parameters:", "\\", "\u{0}", "\u{00E9}",
    ]

    /// Applies 1–4 random mutations to `text` (as bytes, decoded leniently).
    static func mutate(_ text: String, rng: inout SplitMix64) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<(1 + rng.nextInt(below: 4)) {
            let n = bytes.count
            switch rng.nextInt(below: 8) {
            case 0 where n > 0:
                bytes[rng.nextInt(below: n)] ^= UInt8(1) << UInt8(rng.nextInt(below: 8))
            case 1:
                let fragment = Array(fragments[rng.nextInt(below: fragments.count)].utf8)
                bytes.insert(contentsOf: fragment, at: rng.nextInt(below: n + 1))
            case 2 where n > 0:
                let at = rng.nextInt(below: n)
                bytes.removeSubrange(at..<min(n, at + 1 + rng.nextInt(below: 6)))
            case 3, 4, 5:
                var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
                let k = rng.nextInt(below: lines.count)
                switch rng.nextInt(below: 4) {
                case 0: lines.insert(lines[k], at: rng.nextInt(below: lines.count + 1))            // duplicate a line
                case 1: lines[k] = Array(lines[k].prefix(rng.nextInt(below: lines[k].count + 1))) // cut a line
                case 2: lines.swapAt(k, rng.nextInt(below: lines.count))                           // swap two lines
                default: lines[k] = Array(repeating: UInt8(ascii: " "), count: rng.nextInt(below: 6)) + lines[k] // re-indent
                }
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 6 where n > 0:
                bytes.removeSubrange(rng.nextInt(below: n)...)
            default:
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.nextInt(below: n + 1))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testMutatedSweepConfigsNeverCrashAndEveryProblemHasAPlace() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.sweepsDirectory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        guard !files.isEmpty else { throw XCTSkip("no Sweeps/*.yaml next to the tests") }
        var parses = 0, accepted = 0, rejected = 0, problems = 0
        for (k, name) in files.enumerated() {
            let original = try String(contentsOf: Self.sweepsDirectory.appendingPathComponent(name), encoding: .utf8)
            XCTAssertNoThrow(try SweepConfig.parse(yaml: original, file: name, trainer: .flags(Self.trainerFlags)), "\(name) itself loads")
            var rng = SplitMix64(seed: 0xC0_F1, stream: UInt64(k))
            for iteration in 0..<Self.iterations {
                let text = Self.mutate(original, rng: &rng)
                let file = "fuzz-\(name)"
                parses += 1
                do {
                    _ = try SweepConfig.parse(yaml: text, file: file, trainer: iteration % 2 == 0 ? .flags(Self.trainerFlags) : nil)
                    accepted += 1
                } catch let error as SweepError {
                    rejected += 1
                    let context = "\(name) iteration \(iteration): \(text.debugDescription)"
                    XCTAssertFalse(error.problems.isEmpty, "\(context): \(error)")
                    // A text with nothing but comments and blanks is refused as a whole: the file is the place.
                    let whole = text.split(whereSeparator: \.isNewline).allSatisfy {
                        let t = $0.trimmingCharacters(in: .whitespaces)
                        return t.isEmpty || t.hasPrefix("#")
                    }
                    for problem in error.problems {
                        problems += 1
                        XCTAssertTrue(problem.line != nil || !problem.key.isEmpty || whole, "\(context): no line or key: \(problem)")
                        XCTAssertTrue(problem.description.hasPrefix(file + ":"), "\(context): the file is not named: \(problem)")
                        XCTAssertFalse(problem.message.isEmpty, context)
                        if let line = problem.line {
                            XCTAssertTrue((1...max(1, text.split(separator: "\n", omittingEmptySubsequences: false).count + 1)).contains(line),
                                          "\(context): line \(line) is outside the text: \(problem)")
                        }
                    }
                } catch {
                    XCTFail("\(name) iteration \(iteration): not a SweepError: \(type(of: error)) \(error)")
                }
            }
        }
        print("ConfigFuzzTests: \(parses) parses of \(files.count) files, \(accepted) accepted, \(rejected) rejected with \(problems) problems")
    }

    // MARK: - Hostile YAML

    /// Aliases that expand exponentially ("billion laughs") are refused quickly, not expanded.
    func testAnAliasBombIsRefusedNotExpanded() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        yaml += "method: grid\nparameters:\n  x:\n    values: *a9\n"
        XCTAssertThrowsError(try SweepConfig.parse(yaml: yaml, file: "bomb.yaml", trainer: nil)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bomb.yaml:"), text)
            XCTAssertTrue(text.contains("aliases"), text)
        }
    }

    /// Deeply nested collections (flow brackets or block dashes) are refused with a line, not a
    /// stack overflow.
    func testDeepNestingIsRefusedWithALine() throws {
        let flow = "method: grid\nparameters:\n  x:\n    values: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "\n"
        let block = "method: grid\nparameters:\n  x:\n    values: " + String(repeating: "- ", count: 20_000) + "1\n"
        for (name, yaml) in [("flow.yaml", flow), ("block.yaml", block)] {
            XCTAssertThrowsError(try SweepConfig.parse(yaml: yaml, file: name, trainer: nil), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("\(name):4:"), text)
            }
        }
    }
}
