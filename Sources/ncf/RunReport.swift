import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// `ncf report RUN.jsonl`: one training run's `--json` log as a self-contained HTML page.
struct RunReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the report of one training run from its --json log (learning curves, test metrics).",
        discussion: """
            Make the log with `ncf train --json ... > run.jsonl` (human output goes to stderr). \
            The page is self-contained HTML with inline SVG charts, like `ncf sweep report`.
            """)

    @Argument(help: ArgumentHelp("The run's JSON Lines log (`ncf train --json` output).", valueName: "run.jsonl"))
    var log: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write. (default: the log's name with .html)", valueName: "path"))
    var output: String?

    func run() throws {
        var path = output ?? URL(fileURLWithPath: log).deletingPathExtension().appendingPathExtension("html").path
        if output == nil && path == URL(fileURLWithPath: log).path { path += ".html" }
        do {
            let parsed = try RunLog.read(path: log)
            if !parsed.invalidLines.isEmpty {
                let shown = parsed.invalidLines.prefix(5).map { "\(log):\($0)" }.joined(separator: ", ")
                let more = parsed.invalidLines.count > 5 ? " and \(parsed.invalidLines.count - 5) more" : ""
                let count = parsed.invalidLines.count
                FileHandle.standardError.write(Data(("warning: skipped \(count) line\(count == 1 ? "" : "s") that \(count == 1 ? "is" : "are") not valid UTF-8: "
                    + "\(shown)\(more). The rest of the log is reported.\n").utf8))
            }
            try SweepReport.write(RunReport.html(parsed, title: URL(fileURLWithPath: log).lastPathComponent), to: path)
            let best = parsed.summary["best_epoch"]?.numericValue.map { ", best epoch \(formatValue($0))" } ?? ""
            var run = ""
            if let config = parsed.config {
                if let data = config.data { run += "; data \(data.path)" + (data.fingerprint.map { " (\($0.prefix(15))…)" } ?? "") }
                if let seed = config.seed { run += ", seed \(seed)" }
                run += ", \(config.parameters.count) parameter\(config.parameters.count == 1 ? "" : "s")"
            }
            out("wrote \(path): \(parsed.lines.count) epoch line\(parsed.lines.count == 1 ? "" : "s")\(best)\(run)")
        } catch let error as ReportError {
            throw CLIError(error)
        }
    }
}
