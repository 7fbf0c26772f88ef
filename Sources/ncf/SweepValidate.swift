import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// `ncf sweep validate FILE [--json]`: checks a sweep config against W&B's rules without running anything.
///
/// Every problem is listed as `FILE:LINE: KEY: MESSAGE (HINT)`. A parameter that is no flag of the
/// built-in trainer is a warning here (the config may be meant for another program); `ncf sweep`
/// and `ncf agent` refuse it. Exit code 0 when valid, 1 when not (also with `--json`).
struct SweepValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a sweep config against W&B's rules without running anything.",
        discussion: """
            Lists every problem with its line, key path and a hint. Exit code 0 when the config is valid, \
            1 when it is not. With --json, prints one object: {"valid", "method", "grid_points", "errors", "warnings"}.
            """
    )

    @Argument(help: ArgumentHelp("The sweep YAML file.", valueName: "file"))
    var file: String

    @Flag(name: .customLong("json"), help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let report = SweepConfig.check(path: file, trainer: builtInTrainer)
        if json {
            print(terminalSafeJSON(Self.jsonText(report)))
        } else {
            for problem in report.errors { out(problem.description) }
            for problem in report.warnings { out("warning: " + problem.description) }
            if report.isValid {
                var summary = "\(file): valid"
                if let method = report.method { summary += ", method \(method)" }
                if let points = report.gridPoints { summary += ", \(points) grid point\(points == 1 ? "" : "s")" }
                if !report.warnings.isEmpty { summary += " (\(report.warnings.count) warning\(report.warnings.count == 1 ? "" : "s"))" }
                out(summary)
            } else {
                let n = report.errors.count
                out("\(file): invalid, \(n) problem\(n == 1 ? "" : "s")")
            }
        }
        if !report.isValid { throw ExitCode(1) }
    }

    /// `{"valid": …, "method": …, "grid_points": …, "errors": […], "warnings": […]}`.
    static func jsonText(_ report: SweepConfig.LoadReport) -> String {
        func string(_ s: String) -> String { ParamValue.string(s).canonicalJSON }
        func problems(_ list: [SweepProblem]) -> String {
            "[" + list.map { p in
                "{\"message\":\(string(p.message)),\"line\":\(p.line.map(String.init) ?? "null"),\"key\":\(string(p.key)),\"hint\":\(string(p.hint))}"
            }.joined(separator: ",") + "]"
        }
        let method = report.method.map(string) ?? "null"
        let points = report.gridPoints.map(String.init) ?? "null"
        return "{\"valid\":\(report.isValid),\"method\":\(method),\"grid_points\":\(points),"
            + "\"errors\":\(problems(report.errors)),\"warnings\":\(problems(report.warnings))}"
    }
}
