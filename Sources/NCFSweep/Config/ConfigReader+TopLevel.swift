import Foundation
import NCFRunContract

// The top-level keys: `method`, `metric`, `name`, `run_cap`, `program`, `command` and the rest.

extension ConfigReader {
    /// Common names for top-level keys in other sweep tools.
    static let topLevelSynonyms: [String: String] = [
        "trials": "run_cap", "n_trials": "run_cap", "max_trials": "run_cap", "num_trials": "run_cap",
        "count": "run_cap", "runs": "run_cap", "max_runs": "run_cap", "num_runs": "run_cap", "num_samples": "run_cap",
        "params": "parameters", "hyperparameters": "parameters", "search_space": "parameters", "space": "parameters",
        "param_space": "parameters", "config": "parameters",
        "search": "method", "algorithm": "method", "sampler": "method", "strategy": "method", "search_alg": "method",
        "pruner": "early_terminate", "early_stopping": "early_terminate", "scheduler_config": "early_terminate",
        "objective": "metric", "target": "metric", "goal": "metric", "optimize": "metric",
        "script": "program", "trainer": "program", "cmd": "command", "args": "command",
    ]

    mutating func read(root: ConfigNode?, rootLine: Int) {
        self.rootLine = rootLine
        guard let root, case .mapping(let entries) = root.content else {
            error("Sweep config must be parsable as a JSON object.", line: root?.line, key: "",
                  hint: "the file must be a mapping of keys such as `method:` and `parameters:`")
            return
        }
        let top = known(entries, allowed: Self.topLevelKeys, path: "", synonyms: Self.topLevelSynonyms,
                        context: "at the top level")

        if let e = top["method"] {
            readMethod(e)
        } else {
            error("'method' is a required property", line: rootLine, key: "method",
                  hint: "add `method: grid`, `method: random` or `method: bayes`")
        }
        if let e = top["parameters"] {
            readParameters(e)
        } else {
            error("'parameters' is a required property", line: rootLine, key: "parameters",
                  hint: "add a `parameters:` mapping of parameter names to their values or distributions")
        }
        if let e = top["metric"] {
            metricPresent = true
            metricLine = e.line
            readMetric(e)
        }
        if let e = top["early_terminate"] {
            earlyTerminatePresent = true
            earlyTerminateLine = e.line
            readEarlyTerminate(e)
        }
        if let e = top["run_cap"], let n = integer(e.value, key: "run_cap") {
            if n > 0 { runCap = n } else {
                error("`run_cap` must be greater than 0, found \(n)", line: e.line, key: "run_cap",
                      hint: "give the most runs the sweep may start, or remove run_cap")
            }
        }
        if let e = top["program"], let s = string(e.value, key: "program"), noNUL(e.value, key: "program") {
            program = s
            programLine = e.line
        }
        if let e = top["command"] { readCommand(e) }
        if let e = top["name"] { name = string(e.value, key: "name") }
        if let e = top["description"] { description = string(e.value, key: "description") }
        if let e = top["project"] { project = string(e.value, key: "project") }
        if let e = top["entity"] { entity = string(e.value, key: "entity") }
        if let e = top["apiVersion"] { _ = string(e.value, key: "apiVersion") }
        if let e = top["kind"] { _ = choice(e.value, key: "kind", allowed: ["sweep"]) }
        if let e = top["controller"] { readController(e) }
        for key in ["job", "image_uri"] {
            if let e = top[key], string(e.value, key: key) != nil {
                warn("`\(key)` is for W&B Launch and is ignored here", line: e.line, key: key,
                     hint: "trials run as local processes: set `program`, or leave it out for ncf train")
            }
        }
        if let e = top["metrics"] {
            if metricPresent {
                error("`metric` and `metrics` cannot both be set", line: e.line, key: "metrics",
                      hint: "use `metric` for a single objective")
            } else {
                error("`metrics` (several objectives) requires `method: custom`, which ncf does not run", line: e.line,
                      key: "metrics", hint: "optimise one objective with `metric: {name: ..., goal: ...}`")
            }
        }
        if let e = top["scheduler"] { readScheduler(e) }
    }

    mutating func readMethod(_ e: ConfigEntry) {
        methodLine = e.line
        guard let s = string(e.value, key: "method") else { return }
        methodText = s
        if let m = SweepConfig.Method(rawValue: s) {
            method = m
        } else if s == "custom" {
            error("Invalid search type custom, must be one of [\"grid\", \"random\", \"bayes\"]", line: e.line, key: "method",
                  hint: "ncf runs grid, random and bayes; custom schedulers are not supported", kind: .runtime)
        } else {
            let allowed = SweepConfig.Method.allCases.map(\.rawValue)
            let guess = Spelling.suggestion(for: s, in: allowed + ["custom"]).map { "did you mean `\($0)`? " } ?? ""
            error("`\(s)` is not one of `bayes`, `random`, `grid`, `custom`", line: e.line, key: "method",
                  hint: guess + "ncf runs grid, random and bayes")
        }
    }

    mutating func readMetric(_ e: ConfigEntry) {
        guard let entries = mapping(e.value, key: "metric", example: "`metric: {name: Valid Loss, goal: minimize}`") else { return }
        let keys = known(entries, allowed: ["name", "goal", "target", "impute", "impute_while_running"], path: "metric",
                         context: "in metric")
        var ok = keys.count == entries.count
        var result = SweepConfig.Metric(name: "")
        if let n = keys["name"] {
            if let s = string(n.value, key: "metric.name") { result.name = s } else { ok = false }
        } else {
            error("'name' is a required property", line: e.line, key: "metric.name",
                  hint: "name the logged value to optimise, e.g. `name: Valid Loss`")
            ok = false
        }
        if let g = keys["goal"] {
            if let s = choice(g.value, key: "metric.goal", allowed: ["minimize", "maximize"]) {
                result.goal = SweepConfig.Goal(rawValue: s)!
            } else { ok = false }
        }
        if let t = keys["target"] {
            if let v = number(t.value, key: "metric.target") { result.target = v.value } else { ok = false }
        }
        if let i = keys["impute"] {
            if let s = choice(i.value, key: "metric.impute", allowed: ["latest", "best", "worst"]) {
                result.impute = SweepConfig.Impute(rawValue: s)!
            } else { ok = false }
        }
        if let w = keys["impute_while_running"] {
            if case .scalar(.bool(false)) = w.value.content {
                error("`impute_while_running` must be a string, found the boolean \(w.value.text)", line: w.line,
                      key: "metric.impute_while_running", hint: "write \"false\" in quotes, as W&B's schema wants")
                ok = false
            } else if let s = choice(w.value, key: "metric.impute_while_running", allowed: ["latest", "best", "worst", "false"]) {
                result.imputeWhileRunning = SweepConfig.Impute(rawValue: s)
            } else { ok = false }
        }
        if ok { metric = result }
    }

    mutating func readCommand(_ e: ConfigEntry) {
        commandLine = e.line
        guard case .sequence(let items) = e.value.content else {
            error("\(e.value.shown.isEmpty ? "`command`" : "'\(e.value.shown)'") is not of type 'array'", line: e.line,
                  key: "command", hint: "write command as a list, e.g. [\"${env}\", \"${interpreter}\", \"${program}\", \"${args}\"]")
            return
        }
        var words: [String] = []
        for (i, item) in items.enumerated() {
            switch item.content {
            case .scalar(.null):
                error("command item \(i) is empty", line: item.line, key: "command[\(i)]", hint: "give a word or remove it")
            case .scalar:
                if noNUL(item, key: "command[\(i)]") { words.append(item.text) }
            default:
                error("command item \(i) must be a single word, found \(Self.describe(item))", line: item.line,
                      key: "command[\(i)]", hint: "write each argument as one string")
            }
        }
        command = words
    }

    mutating func readController(_ e: ConfigEntry) {
        guard let entries = mapping(e.value, key: "controller", example: "`controller: {type: local}`") else { return }
        guard let t = entries.first(where: { $0.key == "type" }) else {
            error("'type' is a required property", line: e.line, key: "controller.type", hint: "write `type: local`")
            return
        }
        guard let s = choice(t.value, key: "controller.type", allowed: ["local", "cloud"]) else { return }
        controller = s
        if s == "cloud" {
            warn("`controller.type: cloud` is ignored: ncf always runs the sweep locally", line: t.line,
                 key: "controller.type", hint: "write `type: local` or remove `controller`")
        }
    }

    mutating func readScheduler(_ e: ConfigEntry) {
        guard let entries = mapping(e.value, key: "scheduler", example: "`scheduler: {engine: wandb}`") else { return }
        let keys = known(entries, allowed: ["engine", "source", "optimizer", "search_space"], path: "scheduler",
                         context: "in scheduler")
        guard let engineEntry = keys["engine"] else {
            error("'engine' is a required property", line: e.line, key: "scheduler.engine", hint: "remove `scheduler`")
            return
        }
        guard let engine = choice(engineEntry.value, key: "scheduler.engine", allowed: ["optuna", "ax", "wandb"]) else { return }
        if engine == "wandb" {
            warn("`scheduler: {engine: wandb}` is the built-in search and is ignored", line: e.line, key: "scheduler",
                 hint: "remove `scheduler`")
        } else {
            error("`scheduler.engine: \(engine)` needs `method: custom`, which ncf does not run", line: engineEntry.line,
                  key: "scheduler.engine", hint: "remove `scheduler` and use method grid, random or bayes")
        }
        if earlyTerminatePresent {
            error("`early_terminate` cannot be used together with `scheduler`", line: e.line, key: "scheduler",
                  hint: "remove `scheduler`")
        }
    }
}
