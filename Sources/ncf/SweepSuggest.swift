import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// `ncf sweep suggest FILE --history H.json [--seed S] [--n K]`: ask/tell without running anything.
///
/// H.json (or `-` for stdin) is a JSON array of past runs:
/// `{"config": {...}, "state": "finished|failed|running|stopped", "metric": 0.93 or null, "history": [...]}`
/// (`pending` and `stale` are accepted too; `metric` and `history` may be left out). Prints
/// `{"suggestions":[{...},...]}`, or `{"done":true}` when the search space is exhausted, `run_cap` is used
/// up or a run reached `metric.target`. The same inputs and seed give the same output.
struct SweepSuggest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suggest",
        abstract: "Print the next parameter sets of a sweep, given its past runs (ask/tell).",
        discussion: """
            H.json is a JSON array of {"config": {...}, "state": "finished|failed|running|stopped", \
            "metric": 0.93 or null, "history": [per-epoch metric values]}; "-" reads it from stdin. \
            Running runs are pending points: bayes suggests elsewhere, grid skips them. Prints \
            {"suggestions": [...]} or {"done": true}. Same inputs and seed, same output.
            """
    )

    @Argument(help: ArgumentHelp("The sweep YAML file.", valueName: "file"))
    var file: String

    @Option(name: .customLong("history"), help: ArgumentHelp(
        "JSON array of past runs, or - for stdin.", valueName: "H.json"))
    var history: String

    @Option(name: .customLong("seed"), help: ArgumentHelp("Seeds the search.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: .customLong("n"), help: ArgumentHelp("How many parameter sets to suggest.", valueName: "k"))
    var count = 1

    func validate() throws {
        if count < 1 { throw ValidationError("--n \(count): must be at least 1 (the number of parameter sets to print)") }
    }

    func run() throws {
        let config: SweepConfig
        do {
            let loaded = try SweepConfig.load(path: file, trainer: builtInTrainer)
            config = loaded.config
            for warning in loaded.warnings {
                FileHandle.standardError.write(Data(terminalSafe("warning: \(warning)\n").utf8))
            }
        } catch {
            throw CLIError(error)
        }
        let text: String
        if history == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: history) else {
                throw CLIError(message: "--history \(history): cannot read the file (check the path; use - for stdin)")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let runs = try Self.parseHistory(text, source: history == "-" ? "stdin" : history, metric: config.metric)
        print(terminalSafeJSON(suggest(config: config, history: runs, seed: seed, n: count).json))
    }

    /// The runs of a history file; each run's `metric` defaults to its best history value.
    static func parseHistory(_ text: String, source: String, metric: SweepConfig.Metric?) throws -> [RunRecord] {
        let value: ParamValue
        do { value = try ParamValue.parseJSON(text) } catch {
            throw CLIError(SweepError.invalidJSON(source: source, message: error.message, line: error.line, column: error.column))
        }
        guard case .list(let items) = value else {
            throw CLIError(message: "\(source): expected a JSON array of runs, found \(value.jsonTypeName) (write [] for no runs)")
        }
        func bad(_ i: Int, _ what: String) -> CLIError {
            CLIError(message: "\(source): run \(i): \(what) (each run is {\"config\": {...}, \"state\": \"finished\", \"metric\": 0.9, \"history\": [...]})")
        }
        var runs: [RunRecord] = []
        for (i, item) in items.enumerated() {
            guard case .map(let run) = item else { throw bad(i, "not a JSON object") }
            for key in run.keys where !["config", "state", "metric", "history"].contains(key) {
                throw bad(i, "unknown key \"\(key)\"")
            }
            guard case .map(let config)? = run["config"] else { throw bad(i, "\"config\" must be an object") }
            guard case .string(let stateName)? = run["state"], let state = RunState(rawValue: stateName) else {
                throw bad(i, "\"state\" must be one of \(RunState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var history: [Double] = []
            switch run["history"] {
            case nil, .null?: break
            case .list(let values)?:
                for v in values {
                    if case .null = v { history.append(.nan); continue }
                    guard let x = v.numericValue else { throw bad(i, "\"history\" must hold numbers (or null)") }
                    history.append(x)
                }
            default: throw bad(i, "\"history\" must be a list of numbers")
            }
            var value: Double?
            switch run["metric"] {
            case nil, .null?: value = nil
            case let v?:
                guard let x = v.numericValue else { throw bad(i, "\"metric\" must be a number or null") }
                value = x
            }
            if value == nil {
                let finite = history.filter(\.isFinite)
                value = metric?.goal == .maximize ? finite.max() : finite.min()
            }
            runs.append(RunRecord(id: i, config: config, state: state, history: history, metric: value))
        }
        return runs
    }
}
