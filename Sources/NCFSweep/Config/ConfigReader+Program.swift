import Foundation
import NCFRunContract

// Who runs the trials: `program`, the built-in trainer's flags and the metrics it logs.

extension ConfigReader {
    /// The rules about who runs the trials, the same for `ncf sweep validate`, `ncf sweep` and
    /// `ncf agent`:
    /// - a `program` that does not exist here is a warning (W&B checks it only when an agent starts
    ///   it); when every parameter is an `ncf train` flag, the built-in trainer runs instead, and the
    ///   warning says so;
    /// - for the built-in trainer, a parameter that is no flag is an error naming the nearest flag,
    ///   and `metric.name` must be a metric the trainer logs on every epoch for each task and topk
    ///   the sweep can give it (an error naming the nearest one otherwise).
    mutating func checkProgramAndFlags(trainer: BuiltInTrainer?, checksProgram: Bool = true) {
        var builtIn = program == nil || program == "ncf"
        if checksProgram, let program, program != "ncf", !program.isEmpty {
            let candidates = Self.programCandidates(program, configFile: file)
            if !candidates.contains(where: { FileManager.default.fileExists(atPath: $0) }) && !Self.onPath(program) {
                let looked = "program `\(program)` not found (looked for \(candidates.joined(separator: ", ")))"
                if let trainer, parameters.allSatisfy({ trainer.flags.contains($0.name) }) {
                    builtIn = true
                    builtInFallback = true
                    warn(looked + "; every parameter is an `ncf train` flag, so ncf runs its built-in trainer instead",
                         line: programLine, key: "program",
                         hint: "write `program: ncf` (or leave `program` out) to say so, or give the path of the program to run")
                } else {
                    warn(looked, line: programLine, key: "program",
                         hint: "it must exist where an agent starts it: give a path relative to the YAML file or the working directory, or `program: ncf` for the built-in trainer",
                         kind: .runtime)
                }
            }
        } else if program == "" {
            error("`program` is empty", line: programLine, key: "program", hint: "name the script to run, or `ncf`")
        }
        if builtIn, let trainer {
            let flags = trainer.flags.sorted()
            for parameter in parameters where !trainer.flags.contains(parameter.name) {
                let nearest = Spelling.nearest(parameter.name, in: flags).map { " (nearest flag: `\($0)`)" } ?? ""
                error("parameter `\(parameter.name)` is not a flag of the built-in trainer\(nearest)",
                      line: parameter.line, key: "parameters." + parameter.name,
                      hint: "rename it to a flag listed by `ncf train --help`, or set `program` to run another trainer",
                      kind: .unknownFlag)
            }
            if let metric { checkMetric(metric.name, trainer: trainer) }
        }
        if builtIn, command != nil {
            warn("`command` is ignored for the built-in trainer", line: commandLine, key: "command",
                 hint: "set `program` to the trainer the command runs, or remove `command`")
        }
    }

    /// `metric.name` must be logged on every epoch line of every run: for each task and topk the
    /// parameters allow (fixed values, `values:` lists and `int_uniform` ranges are followed; any
    /// other distribution of `topk` allows only names without a K).
    mutating func checkMetric(_ name: String, trainer: BuiltInTrainer) {
        func fixedOrListed(_ key: String) -> [ParamValue]? {
            guard let parameter = parameters.first(where: { $0.name == key }) else { return nil }
            switch parameter.spec {
            case .constant(let v): return [v]
            case .categorical(let values, _): return values
            case .intUniform(let lo, let hi) where hi - lo <= 1000: return (lo...hi).map { .int($0) }
            default: return []
            }
        }
        func task(_ v: ParamValue) -> TaskKind? {
            guard case .string(let s) = v else { return nil }
            switch s.lowercased() {
            case "rating", "explicit": return .rating
            case "implicit": return .implicit
            default: return nil
            }
        }
        var format: String?
        if let values = fixedOrListed("format"), values.count == 1, case .string(let f) = values[0] { format = f.lowercased() }
        let tasks: [TaskKind] = fixedOrListed("task").map { $0.isEmpty ? TaskKind.allCases : $0.compactMap(task) }
            ?? [trainer.defaultTask(format)]
        let topks: [Int?] = fixedOrListed("topk").map { values in
            values.isEmpty ? [nil] : values.compactMap { v -> Int?? in
                switch v {
                case .int(let k): return .some(k)
                case .double(let d) where d == d.rounded(): return .some(Int(d))
                default: return nil
                }
            }
        } ?? [trainer.defaultTopK]
        var missing: [(catalog: MetricCatalog, unknownK: Bool)] = []
        for t in tasks {
            for k in topks {
                let catalog = trainer.metrics(t, k ?? trainer.defaultTopK)
                let logged = k == nil ? catalog.epochMetrics.filter { !$0.description.contains("@") } : catalog.epochMetrics
                if !logged.contains(where: { $0.description == name }) { missing.append((catalog, k == nil)) }
            }
        }
        guard let first = missing.first else { return }
        let catalog = first.catalog
        let near = catalog.nearest(to: name).map { "; did you mean `\($0)`?" } ?? ""
        let which = first.unknownK ? "\(catalog.task.rawValue) task, topk drawn from a distribution"
            : "\(catalog.task.rawValue) task, topk \(catalog.topk)"
        let loggedNames = catalog.epochMetrics.map { "`\($0)`" }.joined(separator: ", ")
        let k = catalog.epochMetrics.contains { $0.description.contains("@") } ? " (K is `topk`)" : ""
        var hint = "the built-in trainer logs \(loggedNames) on every epoch\(k)"
        let otherTask = TaskKind.allCases.first { t in t != catalog.task && trainer.metrics(t, catalog.topk).epochMetric(named: name) != nil }
        if let otherTask { hint = "the \(otherTask.rawValue) task logs it (set `task: {value: \(otherTask.rawValue)}`); " + hint }
        if name.hasPrefix(MetricSplit.test.rawValue + " ") {
            hint = "test metrics are measured once, with the kept epoch, and never steer a sweep: use the `Valid` metric; " + hint
        }
        error("metric `\(name)` is not logged by the built-in trainer for every run of this sweep (not for \(which))\(near)",
              line: metricLine, key: "metric.name", hint: hint, kind: .runtime)
    }

    /// Where a relative `program` may be: beside the YAML file, then in the working directory.
    static func programCandidates(_ program: String, configFile: String) -> [String] {
        if program.hasPrefix("/") { return [program] }
        let configDirectory = URL(fileURLWithPath: configFile).deletingLastPathComponent().path
        let cwd = FileManager.default.currentDirectoryPath
        var out: [String] = []
        for directory in [configDirectory, cwd] {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(program).standardized.path
            if !out.contains(path) { out.append(path) }
        }
        return out
    }

    /// Whether a bare command name (no `/`) is an executable on PATH.
    static func onPath(_ program: String) -> Bool {
        guard !program.contains("/"), let path = ProcessInfo.processInfo.environment["PATH"] else { return false }
        return path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: String($0) + "/" + program)
        }
    }
}
