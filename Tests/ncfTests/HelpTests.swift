import NCFTestSupport
import XCTest

/// `--help` output: every training flag with its default, and the subcommands.
final class HelpTests: CLITestCase {
    /// Each training flag, and a fragment its help must show as the default (nil: a flag or an
    /// option without a default, e.g. `--save`).
    static let trainingFlags: [(flag: String, shownDefault: String?)] = [
        ("--lr", "0.001"), ("--batch_size", "64"), ("--embed_dim", "32"), ("--mlp_dims", "64,32,16"),
        ("--epochs", "20"), ("--dropout", "0.1"), ("--model", "NeuMF"), ("--optimizer", "adam"),
        ("--weight_decay", "0"), ("--embed_l2", "0"), ("--lr_decay", "1"), ("--init_std", "0.01"), ("--negatives", "4"), ("--eval_negatives", "99"), ("--topk", "10"),
        ("--seed", "0"), ("--patience", "0"), ("--threads", "1"), ("--data", "Data/ratings.tsv"),
        ("--format", "auto"), ("--columns", nil), ("--task", "rating"), ("--split", "random"),
        ("--save", nil), ("--json", nil), ("--skip_bad_lines", nil), ("--split_seed", "0"),
        ("--embed_dropout", "0"), ("--init_gmf", nil), ("--init_mlp", nil), ("--alpha", "0.5"),
    ]

    func testRootHelpListsTrainingFlagsAndSubcommands() throws {
        let result = try ncfSucceeds(["--help"])
        assertListsTrainingFlags(result.stdout)
        for sub in ["train", "eval", "recommend", "data", "sweep", "agent"] {
            XCTAssertNotNil(result.stdout.range(of: #"(?m)^\s+\#(sub)\b"#, options: .regularExpression),
                            "subcommand \(sub) is not listed:\n\(result.stdout)")
        }
    }

    func testTrainHelpListsTrainingFlagsWithDefaults() throws {
        let result = try ncfSucceeds(["train", "--help"])
        assertListsTrainingFlags(result.stdout)
    }

    func testSubcommandHelpsRun() throws {
        for sub in [["eval"], ["recommend"], ["data"], ["data", "info"], ["data", "synth"], ["data", "fetch"],
                    ["sweep"], ["sweep", "validate"], ["sweep", "suggest"], ["sweep", "status"], ["sweep", "list"],
                    ["sweep", "best"], ["agent"]] {
            let result = try ncfSucceeds(sub + ["--help"])
            XCTAssertTrue(result.stdout.contains("USAGE"), "no usage for \(sub):\n\(result)")
        }
        XCTAssertTrue(try ncfSucceeds(["data", "--help"]).stdout.contains("synth"))
    }

    /// Every flag occurs as an option (at the start of a help entry), and its entry (which may wrap
    /// onto following lines) shows the expected default.
    private func assertListsTrainingFlags(_ help: String, file: StaticString = #filePath, line: UInt = #line) {
        let entries = helpEntries(help)
        for (flag, shownDefault) in Self.trainingFlags {
            guard let entry = entries.first(where: { $0.hasPrefix(flag + " ") || $0.hasPrefix(flag + ",") || $0 == flag
                                                     || $0.hasPrefix(flag + "\n") }) else {
                XCTFail("\(flag) is not listed:\n\(help)", file: file, line: line)
                continue
            }
            if let shownDefault {
                let flat = entry.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
                XCTAssertTrue(flat.contains("default: \(shownDefault)") || flat.contains("(default: \(shownDefault)"),
                              "\(flag) does not show its default \(shownDefault): \(flat)", file: file, line: line)
            }
        }
    }

    /// Splits help text into option entries: a line whose first non-blank character is `-` starts
    /// one; more-indented lines continue it.
    private func helpEntries(_ help: String) -> [String] {
        var entries: [String] = []
        for raw in help.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-") {
                entries.append(trimmed)
            } else if !trimmed.isEmpty, raw.hasPrefix("    "), !entries.isEmpty {
                entries[entries.count - 1] += "\n" + trimmed
            } else if trimmed.isEmpty || !raw.hasPrefix(" ") {
                if !entries.isEmpty, !entries[entries.count - 1].hasSuffix("\n\n") { entries.append("") }
            }
        }
        return entries.filter { !$0.isEmpty }
    }
}
