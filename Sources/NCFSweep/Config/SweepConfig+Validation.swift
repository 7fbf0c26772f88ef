import Foundation
import NCFRunContract

// The W&B sweep schema and the rules the reference engine checks later (reference/sweep-config.md
// §1–7), applied to a line-numbered `ConfigNode` tree at load time. Every problem is gathered, each
// with its line, key path and a hint; the config is only built when there are none.
//
// Stricter than the reference, on purpose (a config either runs or is refused before anything
// starts): grid over a continuous parameter, bayes without a metric or a searchable parameter,
// hyperband without a metric or with no band, `custom` method, min ≥ max inside nested groups,
// and a missing `program` file are load-time errors here.

// MARK: - Grid size

extension SweepConfig {
    /// The number of points a grid walks: the product over parameters of their unique grid values
    /// (nested groups recursively); nil unless the method is grid, when a parameter cannot be
    /// enumerated, or when the product overflows `Int`.
    public var gridPointCount: Int? {
        guard method == .grid else { return nil }
        return gridCount(of: parameters)
    }
}

/// The product of the parameters' grid value counts, or nil (not enumerable, or overflow).
private func gridCount(of parameters: [Parameter]) -> Int? {
    var total = 1
    for parameter in parameters {
        let count: Int
        switch parameter.spec {
        case .intUniform(let lo, let hi):
            guard lo <= hi else { return nil }
            count = hi - lo + 1
        case .qUniform(let lo, let hi, let q, _):
            // numpy arange: ceil((max − min)/q) points, max excluded.
            let n = ((hi - lo) / q).rounded(.up)
            guard n.isFinite, n >= 0, n < 9.0e18 else { return nil }
            count = Int(n)
        case .nested(let children):
            guard let c = gridCount(of: children) else { return nil }
            count = c
        default:
            guard let values = parameter.spec.gridValues else { return nil }
            count = values.count
        }
        let (product, overflow) = total.multipliedReportingOverflow(by: count)
        if overflow { return nil }
        total = product
    }
    return total
}

// MARK: - The reader

/// Walks a `ConfigNode` tree, checking every rule and collecting problems, and builds the config.
struct ConfigReader {
    let file: String
    let sourceText: String
    var problems: [SweepProblem] = []
    var warnings: [SweepProblem] = []

    // What was read (nil when absent or broken).
    private var rootLine = 1
    private var methodText: String?
    private var method: SweepConfig.Method?
    private var methodLine: Int?
    private var metric: SweepConfig.Metric?
    private var metricPresent = false
    private var metricLine: Int?
    /// `program` was not found and the built-in trainer runs instead (see `checkProgramAndFlags`).
    private var builtInFallback = false
    private var parameters: [Parameter] = []
    private var parametersLine: Int?
    /// Every parameter was read without a problem.
    private var parametersComplete = false
    private var hyperband: SweepConfig.Hyperband?
    private var earlyTerminateLine: Int?
    private var earlyTerminatePresent = false
    private var runCap: Int?
    private var program: String?
    private var programLine: Int?
    private var command: [String]?
    private var commandLine: Int?
    private var name: String?
    private var description: String?
    private var project: String?
    private var entity: String?
    private var controller: String?

    init(file: String, sourceText: String) {
        self.file = file
        self.sourceText = sourceText
    }

    static let topLevelKeys = [
        "method", "parameters", "metric", "early_terminate", "run_cap", "program", "command", "name", "description",
        "project", "entity", "controller", "apiVersion", "kind", "job", "image_uri", "metrics", "scheduler",
    ]

    // MARK: Reporting

    private mutating func error(_ message: String, line: Int?, key: String, hint: String, kind: SweepProblem.Kind = .schema) {
        problems.append(SweepProblem(message: message, line: line, key: key, hint: hint, kind: kind, file: file))
    }

    private mutating func warn(_ message: String, line: Int?, key: String, hint: String, kind: SweepProblem.Kind = .notice) {
        warnings.append(SweepProblem(message: message, line: line, key: key, hint: hint, kind: kind, file: file))
    }

    /// The problems and, when there are no errors, the config.
    func report() -> SweepConfig.LoadReport {
        func ordered(_ list: [SweepProblem]) -> [SweepProblem] {
            list.map { problem -> SweepProblem in
                var p = problem
                p.file = p.file ?? file
                return p
            }.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }.map(\.element)
        }
        var config: SweepConfig?
        if problems.isEmpty, let method {
            config = SweepConfig(
                method: method, metric: metric, parameters: parameters, earlyTerminate: hyperband, runCap: runCap,
                program: program, command: command, name: name, description: description, project: project,
                entity: entity, controller: controller, sourceText: sourceText, builtInFallback: builtInFallback)
        }
        var gridPoints: Int?
        if method == .grid, parametersComplete {
            gridPoints = gridCount(of: parameters)
        }
        return SweepConfig.LoadReport(config: config, method: methodText, gridPoints: gridPoints,
                                      errors: ordered(problems), warnings: ordered(warnings))
    }

    // MARK: Typed access

    private static func describe(_ node: ConfigNode) -> String {
        switch node.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let v):
            switch v {
            case .null: return "nothing"
            case .string(let s): return "the string \"\(s)\""
            case .bool: return "the boolean \(node.text)"
            default: return "\(v.jsonTypeName) \(node.text)"
            }
        }
    }

    private mutating func string(_ node: ConfigNode, key: String) -> String? {
        if case .scalar(.string(let s)) = node.content { return s }
        let hint: String
        if case .scalar(.null) = node.content {
            hint = "give a value or remove the key"
        } else if case .scalar = node.content {
            hint = "quote it: \"\(node.text)\""
        } else {
            hint = "give a single string"
        }
        error("`\(lastComponent(key))` must be a string, found \(Self.describe(node))", line: node.line, key: key, hint: hint)
        return nil
    }

    /// A number (YAML int or float, not a bool), finite.
    private mutating func number(_ node: ConfigNode, key: String) -> (value: Double, isInteger: Bool)? {
        switch node.content {
        case .scalar(.int(let i)): return (Double(i), true)
        case .scalar(.double(let d)):
            guard d.isFinite else {
                error("`\(lastComponent(key))` must be a finite number, found \(node.text)", line: node.line, key: key,
                      hint: "give a finite bound")
                return nil
            }
            return (d, false)
        case .scalar(.string(let s)) where Double(s) != nil:
            error("`\(lastComponent(key))` must be a number, found the string \"\(s)\"", line: node.line, key: key,
                  hint: "remove the quotes")
            return nil
        default:
            error("`\(lastComponent(key))` must be a number, found \(Self.describe(node))", line: node.line, key: key,
                  hint: "give a number such as 0.01")
            return nil
        }
    }

    /// An integer written as a YAML int (`1.0` is not one, as in the reference's schema).
    private mutating func integer(_ node: ConfigNode, key: String) -> Int? {
        if case .scalar(.int(let i)) = node.content { return i }
        if case .scalar(.double(let d)) = node.content, d == d.rounded(), abs(d) < 1e15 {
            error("`\(lastComponent(key))` must be an integer, found \(node.text)", line: node.line, key: key,
                  hint: "write \(Int(d)) without the decimal point")
            return nil
        }
        error("`\(lastComponent(key))` must be an integer, found \(Self.describe(node))", line: node.line, key: key,
              hint: "give a whole number such as 10")
        return nil
    }

    private mutating func boolean(_ node: ConfigNode, key: String) -> Bool? {
        if case .scalar(.bool(let b)) = node.content { return b }
        error("`\(lastComponent(key))` must be true or false, found \(Self.describe(node))", line: node.line, key: key,
              hint: "write true or false")
        return nil
    }

    private mutating func mapping(_ node: ConfigNode, key: String, example: String) -> [ConfigEntry]? {
        if case .mapping(let entries) = node.content { return entries }
        error("`\(lastComponent(key))` must be a mapping, found \(Self.describe(node))", line: node.line, key: key,
              hint: "write it as \(example)")
        return nil
    }

    /// A string that must be one of `allowed` (case-sensitive, as the schema).
    private mutating func choice(_ node: ConfigNode, key: String, allowed: [String]) -> String? {
        guard let s = string(node, key: key) else { return nil }
        if allowed.contains(s) { return s }
        let list = allowed.map { "`\($0)`" }.joined(separator: ", ")
        let hint = Spelling.suggestion(for: s, in: allowed).map { "did you mean `\($0)`? " } ?? ""
        error("`\(s)` is not one of \(list)", line: node.line, key: key, hint: hint + "values are case-sensitive")
        return nil
    }

    /// Reports keys not in `allowed` and returns the known entries by key.
    private mutating func known(_ entries: [ConfigEntry], allowed: [String], path: String,
                                synonyms: [String: String] = [:], context: String) -> [String: ConfigEntry] {
        var byKey: [String: ConfigEntry] = [:]
        for entry in entries {
            let key = join(path, entry.key)
            if allowed.contains(entry.key) {
                byKey[entry.key] = entry
                continue
            }
            let list = allowed.joined(separator: ", ")
            if let s = Spelling.suggestion(for: entry.key, in: allowed, synonyms: synonyms) {
                error("unknown key `\(entry.key)`; did you mean `\(s)`?", line: entry.line, key: key,
                      hint: "valid keys \(context): \(list)")
            } else {
                error("unknown key `\(entry.key)`", line: entry.line, key: key, hint: "valid keys \(context): \(list)")
            }
        }
        return byKey
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Reports every NUL character in a value that reaches a trial's command line (a parameter
    /// value, `program`, a `command` word), at its own key path: the kernel ends an argument at
    /// a NUL, so the trial would silently get another value. False when there is one.
    private mutating func noNUL(_ node: ConfigNode, key: String) -> Bool {
        switch node.content {
        case .scalar(let value):
            guard case .string(let s) = value, s.utf8.contains(0) else { return true }
            error("`\(lastComponent(key))` holds a NUL character (`\\0`), which no command line can carry", line: node.line,
                  key: key, hint: "remove the `\\0`; a trial's argument would end there")
            return false
        case .sequence(let items):
            var ok = true
            for (i, item) in items.enumerated() where !noNUL(item, key: "\(key)[\(i)]") { ok = false }
            return ok
        case .mapping(let entries):
            var ok = true
            for entry in entries {
                if entry.key.utf8.contains(0) {
                    error("a key in `\(lastComponent(key))` holds a NUL character (`\\0`), which no command line can carry",
                          line: entry.line, key: key, hint: "remove the `\\0`; a trial's argument would end there")
                    ok = false
                }
                if !noNUL(entry.value, key: join(key, entry.key)) { ok = false }
            }
            return ok
        }
    }

    private func lastComponent(_ key: String) -> String {
        key.split(separator: ".").last.map(String.init) ?? key
    }

    // MARK: Top level

    mutating func read(root: ConfigNode?, rootLine: Int) {
        self.rootLine = rootLine
        guard let root, case .mapping(let entries) = root.content else {
            error("Sweep config must be parsable as a JSON object.", line: root?.line, key: "",
                  hint: "the file must be a mapping of keys such as `method:` and `parameters:`")
            return
        }
        let top = known(entries, allowed: Self.topLevelKeys, path: "", synonyms: Spelling.topLevelSynonyms,
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

    private mutating func readMethod(_ e: ConfigEntry) {
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

    private mutating func readMetric(_ e: ConfigEntry) {
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

    private mutating func readCommand(_ e: ConfigEntry) {
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

    private mutating func readController(_ e: ConfigEntry) {
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

    private mutating func readScheduler(_ e: ConfigEntry) {
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

    // MARK: Early termination

    private mutating func readEarlyTerminate(_ e: ConfigEntry) {
        let path = "early_terminate"
        guard let entries = mapping(e.value, key: path, example: "`early_terminate: {type: hyperband, min_iter: 3}`") else { return }
        let keys = known(entries, allowed: ["type", "min_iter", "max_iter", "s", "eta", "strict"], path: path,
                         context: "in early_terminate")
        var ok = keys.count == entries.count
        if let t = keys["type"] {
            if let s = string(t.value, key: path + ".type") {
                if s != "hyperband" {
                    let guess = Spelling.suggestion(for: s, in: ["hyperband"]) != nil ? "did you mean `hyperband`? " : ""
                    error("unknown early_terminate type `\(s)`", line: t.line, key: path + ".type",
                          hint: guess + "only `type: hyperband` is supported")
                    ok = false
                }
            } else { ok = false }
        } else {
            error("'type' is a required property", line: e.line, key: path + ".type", hint: "add `type: hyperband`")
            ok = false
        }
        var result = SweepConfig.Hyperband()
        if let m = keys["min_iter"] {
            if let n = integer(m.value, key: path + ".min_iter") {
                if n >= 1 { result.minIter = n } else {
                    error("`min_iter` must be at least 1, found \(n)", line: m.line, key: path + ".min_iter",
                          hint: "give the number of logged values at the first band, e.g. 3")
                    ok = false
                }
            } else { ok = false }
        }
        if let m = keys["max_iter"] {
            if let n = integer(m.value, key: path + ".max_iter") { result.maxIter = n } else { ok = false }
        }
        if let sEntry = keys["s"] {
            if let v = number(sEntry.value, key: path + ".s") {
                if v.value == v.value.rounded() { result.s = v.value } else {
                    error("`s` must be a whole number, how many bands below max_iter, found \(sEntry.value.text)",
                          line: sEntry.line, key: path + ".s", hint: "give a whole number such as 2")
                    ok = false
                }
            } else { ok = false }
        }
        if let eta = keys["eta"] {
            if let v = number(eta.value, key: path + ".eta") {
                if v.value > 1 { result.eta = v.value } else {
                    error("`eta` must be greater than 1, found \(eta.value.text)", line: eta.line, key: path + ".eta",
                          hint: "about the top 1/eta of runs pass each band; 3 is the default")
                    ok = false
                }
            } else { ok = false }
        }
        if let strict = keys["strict"] {
            if let b = boolean(strict.value, key: path + ".strict") { result.strict = b } else { ok = false }
        }
        let hasMin = keys["min_iter"] != nil, hasMax = keys["max_iter"] != nil, hasS = keys["s"] != nil
        if hasMax && !hasS {
            error("`max_iter` needs `s`", line: keys["max_iter"]!.line, key: path + ".max_iter",
                  hint: hasMin ? "give `s`, how many bands below max_iter, or remove max_iter to use min_iter"
                               : "give `s`, how many bands below max_iter, or use `min_iter` instead")
            ok = false
        } else if !hasMin && !hasMax {
            error("early_terminate needs `min_iter`, or `max_iter` with `s`", line: e.line, key: path,
                  hint: "e.g. `min_iter: 3`: bands at 3, 9, 27, … logged values with eta 3")
            ok = false
        }
        if hasMax && hasS && hasMin {
            warn("`min_iter` is ignored when `max_iter` and `s` are given (the bands come from max_iter)",
                 line: keys["min_iter"]!.line, key: path + ".min_iter", hint: "remove min_iter, or max_iter and s")
            result.minIter = nil
        } else if hasS && !hasMax {
            warn("`s` is only used with `max_iter` and is ignored", line: keys["s"]!.line, key: path + ".s", hint: "remove s")
            result.s = nil
        }
        if ok { hyperband = result }
    }

    /// Hyperband's bands (counts of logged values) for the `max_iter` form: max_iter divided by eta
    /// up to s times, floored, kept while ≥ 1, ascending.
    private static func maxIterBands(maxIter: Int, s: Double, eta: Double) -> [Int] {
        var band = Double(maxIter)
        var bands: [Int] = []
        var i = 0.0
        while i < s {
            band /= eta
            if band < 1 { break }
            bands.append(Int(band))
            i += 1
        }
        return bands.sorted()
    }

    // MARK: Parameters

    private mutating func readParameters(_ e: ConfigEntry) {
        parametersLine = e.line
        guard let entries = mapping(e.value, key: "parameters", example: "`parameters: {lr: {min: 0.001, max: 0.1}}`") else { return }
        let (list, complete) = readParameterList(entries, path: "parameters", ownerLine: e.line)
        parameters = list
        parametersComplete = complete
    }

    /// Reads a mapping of parameter specs; `complete` when every one was read without a problem.
    private mutating func readParameterList(_ entries: [ConfigEntry], path: String, ownerLine: Int) -> ([Parameter], Bool) {
        if entries.isEmpty {
            error("`\(lastComponent(path))` should be non-empty", line: ownerLine, key: path,
                  hint: "give at least one parameter, e.g. `lr: {values: [0.01, 0.001]}`")
            return ([], false)
        }
        var list: [Parameter] = []
        var complete = true
        for entry in entries {
            if let p = readParameter(entry, path: join(path, entry.key)) { list.append(p) } else { complete = false }
        }
        return (list.sorted { $0.name < $1.name }, complete)
    }

    static let parameterKeys = ["distribution", "value", "values", "probabilities", "min", "max", "q", "mu", "sigma", "a", "b", "parameters"]

    /// Each explicit distribution's required and optional keys (besides `distribution`).
    static let distributionKeys: [(name: String, required: [String], optional: [String])] = [
        ("constant", ["value"], []),
        ("categorical", ["values"], []),
        ("categorical_w_probabilities", ["values", "probabilities"], []),
        ("int_uniform", ["min", "max"], []),
        ("uniform", ["min", "max"], []),
        ("q_uniform", ["min", "max"], ["q"]),
        ("log_uniform_values", ["min", "max"], []),
        ("q_log_uniform_values", ["min", "max"], ["q"]),
        ("inv_log_uniform_values", ["min", "max"], []),
        ("normal", [], ["mu", "sigma"]),
        ("q_normal", [], ["mu", "sigma", "q"]),
        ("log_normal", [], ["mu", "sigma"]),
        ("q_log_normal", [], ["mu", "sigma", "q"]),
        ("beta", [], ["a", "b"]),
        ("q_beta", [], ["a", "b", "q"]),
    ]

    static let deprecatedDistributions = ["log_uniform": "log_uniform_values", "q_log_uniform": "q_log_uniform_values",
                                          "inv_log_uniform": "inv_log_uniform_values"]

    /// Whether `name` matches the schema's `^[A-Za-z_][A-Za-z0-9_.-]*$`.
    static func isValidParameterName(_ name: String) -> Bool {
        func letter(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) || ("a"..."z").contains(c) || c == "_" }
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, letter(first) else { return false }
        return scalars.dropFirst().allSatisfy { letter($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }

    private mutating func readParameter(_ entry: ConfigEntry, path: String) -> Parameter? {
        let name = entry.key
        var ok = true
        if !Self.isValidParameterName(name) {
            error("parameter name '\(name)' does not match '^[A-Za-z_][A-Za-z0-9_.-]*$'", line: entry.line, key: path,
                  hint: "start with a letter or `_`, then letters, digits, `_`, `.` or `-`")
            ok = false
        }
        guard case .mapping(let entries) = entry.value.content else {
            error("Invalid configuration for hyperparameter '\(name)': expected a mapping, found \(Self.describe(entry.value))",
                  line: entry.line, key: path,
                  hint: "write e.g. `\(name): {value: \(entry.value.text.isEmpty ? "0.1" : entry.value.text)}` for a constant or `\(name): {values: [a, b]}`")
            return nil
        }
        let keys = known(entries, allowed: Self.parameterKeys, path: path, context: "in a parameter")
        if keys.count != entries.count { ok = false }
        guard let spec = readSpec(name: name, keys: keys, path: path, line: entry.line) else { return nil }
        return ok ? Parameter(name: name, spec: spec, line: entry.line) : nil
    }

    /// Chooses the parameter's form (explicit `distribution`, or W&B's inference) and reads it.
    private mutating func readSpec(name: String, keys: [String: ConfigEntry], path: String, line: Int) -> ParameterSpec? {
        let present = Set(keys.keys)
        let form: String
        if let d = keys["distribution"] {
            guard let dname = string(d.value, key: path + ".distribution") else { return nil }
            if let replacement = Self.deprecatedDistributions[dname] {
                error("\(name) uses \(dname), where min/max specify base-e exponents. Use \(replacement) to specify limit values.",
                      line: d.line, key: path + ".distribution",
                      hint: "write `distribution: \(replacement)` with min and max as the values themselves, e.g. min: 0.0001, max: 0.1")
                return nil
            }
            guard let rule = Self.distributionKeys.first(where: { $0.name == dname }) else {
                let names = Self.distributionKeys.map(\.name)
                let guess = Spelling.suggestion(for: dname, in: names).map { "did you mean `\($0)`? " } ?? ""
                error("unknown distribution `\(dname)`", line: d.line, key: path + ".distribution",
                      hint: guess + "distributions: " + names.joined(separator: ", "))
                return nil
            }
            if dname == "categorical", present.contains("probabilities") {
                error("`distribution: categorical` cannot have `probabilities`", line: keys["probabilities"]!.line,
                      key: path + ".probabilities",
                      hint: "remove the `distribution` line, since values with probabilities are inferred, or remove probabilities")
                return nil
            }
            var ok = true
            let allowedKeys = Set(rule.required + rule.optional + ["distribution"])
            for key in present.subtracting(allowedKeys).sorted(by: { keys[$0]!.line < keys[$1]!.line }) {
                let takes = rule.required + rule.optional
                error("`\(key)` is not allowed with `distribution: \(dname)`", line: keys[key]!.line, key: path + "." + key,
                      hint: takes.isEmpty ? "remove it" : "\(dname) takes " + takes.map { "`\($0)`" }.joined(separator: ", "))
                ok = false
            }
            for key in rule.required where !present.contains(key) {
                error("`distribution: \(dname)` needs `\(key)`", line: d.line, key: path + "." + key,
                      hint: "\(dname) needs " + rule.required.map { "`\($0)`" }.joined(separator: " and "))
                ok = false
            }
            guard ok else { return nil }
            form = dname
        } else if present.contains("parameters") {
            let others = present.subtracting(["parameters"])
            if !others.isEmpty {
                for key in others.sorted() {
                    error("`\(key)` is not allowed beside `parameters` (a nested group)", line: keys[key]!.line,
                          key: path + "." + key, hint: "a nested group holds only `parameters:`; move it into a child parameter")
                }
                return nil
            }
            form = "nested"
        } else if present.contains("value"), present.contains("values") {
            error("`value` and `values` cannot be used together", line: keys["values"]!.line, key: path,
                  hint: "use `value` for a constant or `values` for a list to choose from")
            return nil
        } else if present.contains("value") {
            guard allOnly(["value"], keys: keys, path: path, why: "`value` makes a constant") else { return nil }
            form = "constant"
        } else if present.contains("values") {
            let withProbabilities = present.contains("probabilities")
            guard allOnly(withProbabilities ? ["values", "probabilities"] : ["values"], keys: keys, path: path,
                          why: "`values` makes a categorical parameter") else { return nil }
            form = withProbabilities ? "categorical_w_probabilities" : "categorical"
        } else if present.contains("min"), present.contains("max") {
            let extra = present.subtracting(["min", "max"])
            if !extra.isEmpty {
                for key in extra.sorted() {
                    let hint = key == "q"
                        ? "add `distribution: q_uniform` (or q_log_uniform_values)"
                        : "add the `distribution` it belongs to (min/max alone infer int_uniform or uniform)"
                    error("`\(key)` needs a `distribution`", line: keys[key]!.line, key: path + "." + key, hint: hint)
                }
                return nil
            }
            let lo = keys["min"]!.value, hi = keys["max"]!.value
            if case .scalar(.int) = lo.content, case .scalar(.int) = hi.content {
                form = "int_uniform"
            } else {
                form = "uniform"
            }
        } else if present.contains("min") || present.contains("max") {
            let missing = present.contains("min") ? "max" : "min"
            error("`\(missing)` is missing", line: line, key: path + "." + missing,
                  hint: "give both min and max: integers for int_uniform, otherwise uniform")
            return nil
        } else if let key = ["mu", "sigma", "a", "b", "q"].first(where: present.contains) {
            let which = ["a", "b"].contains(key) ? "beta or q_beta" : key == "q" ? "q_uniform, q_normal, …" : "normal, log_normal, q_normal or q_log_normal"
            error("`\(key)` needs a `distribution`", line: keys[key]!.line, key: path + "." + key,
                  hint: "add `distribution:` \(which)")
            return nil
        } else if present.contains("probabilities") {
            error("`probabilities` needs `values`", line: keys["probabilities"]!.line, key: path + ".probabilities",
                  hint: "give the values the probabilities belong to")
            return nil
        } else {
            error("parameter `\(name)` has no form", line: line, key: path,
                  hint: "give `value`, `values`, `min` and `max`, a `distribution`, or nested `parameters`")
            return nil
        }
        return buildSpec(form: form, name: name, keys: keys, path: path, line: line)
    }

    /// Reports keys beside `allowed` (for inferred forms); false when there are any.
    private mutating func allOnly(_ allowed: Set<String>, keys: [String: ConfigEntry], path: String, why: String) -> Bool {
        let extra = Set(keys.keys).subtracting(allowed)
        for key in extra.sorted() {
            error("`\(key)` is not allowed with `\(allowed.contains("values") ? "values" : "value")`", line: keys[key]!.line,
                  key: path + "." + key, hint: "\(why); remove `\(key)` or give a `distribution`")
        }
        return extra.isEmpty
    }

    /// Reads the keys of a chosen form into a spec, checking each constraint.
    private mutating func buildSpec(form: String, name: String, keys: [String: ConfigEntry], path: String, line: Int) -> ParameterSpec? {
        func key(_ k: String) -> String { path + "." + k }
        var ok = true

        // Optional numbers with defaults; `q` also says whether it was written as an integer.
        func optionalNumber(_ k: String, _ fallback: Double, _ reader: inout ConfigReader) -> (Double, Bool)? {
            guard let e = keys[k] else { return (fallback, false) }
            guard let v = reader.number(e.value, key: key(k)) else { return nil }
            return (v.value, v.isInteger)
        }
        func nonNegative(_ k: String, _ v: Double, _ reader: inout ConfigReader) -> Bool {
            guard v >= 0 else {
                reader.error("`\(k)` must be ≥ 0, found \(keys[k]!.value.text)", line: keys[k]!.line, key: key(k),
                             hint: "give a value of at least 0")
                return false
            }
            return true
        }
        func readQ(_ reader: inout ConfigReader) -> (q: Double, integerQ: Bool)? {
            guard let (q, isInt) = optionalNumber("q", 1.0, &reader) else { return nil }
            guard q > 0 else {
                reader.error("`q` must be greater than 0, found \(keys["q"]!.value.text)", line: keys["q"]!.line, key: key("q"),
                             hint: "q is the step values are rounded to, e.g. 1 or 0.05")
                return nil
            }
            return (q, isInt)
        }
        func bounds(_ reader: inout ConfigReader, integers: Bool, positiveMin: Bool) -> (Double, Double)? {
            let lo = keys["min"]!, hi = keys["max"]!
            var a: Double?, b: Double?
            if integers {
                if let i = reader.intBound(lo.value, key: key("min"), form: form) { a = Double(i) }
                if let i = reader.intBound(hi.value, key: key("max"), form: form) { b = Double(i) }
            } else {
                a = reader.number(lo.value, key: key("min"))?.value
                b = reader.number(hi.value, key: key("max"))?.value
            }
            guard let a, let b else { return nil }
            var good = true
            if positiveMin && a <= 0 {
                reader.error("`min` must be greater than 0 for \(form), found \(lo.value.text)", line: lo.line, key: key("min"),
                             hint: "a log scale needs positive bounds; use uniform to include 0 or negatives")
                good = false
            }
            if a >= b {
                reader.error("min \(lo.value.text) is not less than max \(hi.value.text)", line: lo.line, key: path,
                             hint: a == b ? "make min smaller than max, or use `value` for a constant" : "make min smaller than max; were they swapped?")
                good = false
            }
            return good ? (a, b) : nil
        }

        switch form {
        case "constant":
            guard noNUL(keys["value"]!.value, key: key("value")) else { return nil }
            return .constant(keys["value"]!.value.value)
        case "categorical", "categorical_w_probabilities":
            let v = keys["values"]!
            guard case .sequence(let items) = v.value.content else {
                error("`values` must be a list, found \(Self.describe(v.value))", line: v.line, key: key("values"),
                      hint: "write `values: [\(v.value.text.isEmpty ? "a, b" : v.value.text)]`, or `value:` for a constant")
                return nil
            }
            if items.isEmpty {
                error("`values` should be non-empty", line: v.line, key: key("values"), hint: "list at least one value")
                return nil
            }
            for (i, item) in items.enumerated() where !noNUL(item, key: key("values[\(i)]")) { ok = false }
            guard ok else { return nil }
            let values = items.map(\.value)
            guard form == "categorical_w_probabilities" else { return .categorical(values, probabilities: nil) }
            let p = keys["probabilities"]!
            guard case .sequence(let pItems) = p.value.content, !pItems.isEmpty else {
                error("`probabilities` must be a non-empty list of numbers, found \(Self.describe(p.value))", line: p.line,
                      key: key("probabilities"), hint: "give one probability per value, e.g. [0.5, 0.5]")
                return nil
            }
            var probabilities: [Double] = []
            for (i, item) in pItems.enumerated() {
                guard let x = number(item, key: key("probabilities[\(i)]")) else { ok = false; continue }
                if x.value < 0 {
                    error("probability \(item.text) is negative", line: item.line, key: key("probabilities[\(i)]"),
                          hint: "probabilities are ≥ 0")
                    ok = false
                }
                probabilities.append(x.value)
            }
            guard ok else { return nil }
            let shownValues = "[" + items.map(\.shown).joined(separator: ", ") + "]"
            let shownProbabilities = "[" + pItems.map(\.text).joined(separator: ", ") + "]"
            if probabilities.count != values.count {
                error("values \(shownValues) and probabilities \(shownProbabilities) are not the same length", line: p.line,
                      key: key("probabilities"),
                      hint: "give one probability per value: \(values.count) values, \(probabilities.count) probabilities")
                return nil
            }
            let sum = probabilities.reduce(0, +)
            // numpy isclose(sum, 1): |sum − 1| ≤ atol + rtol·1 with atol 1e-8, rtol 1e-5.
            if abs(sum - 1) > 1e-8 + 1e-5 {
                error("probabilities \(shownProbabilities) do not sum to 1 (their sum is \(ParamValue.jsonNumber(sum)))",
                      line: p.line, key: key("probabilities"), hint: "scale them so they add up to 1")
                return nil
            }
            return .categorical(values, probabilities: probabilities)
        case "int_uniform":
            guard let (a, b) = bounds(&self, integers: true, positiveMin: false) else { return nil }
            return .intUniform(min: Int(a), max: Int(b))
        case "uniform":
            guard let (a, b) = bounds(&self, integers: false, positiveMin: false) else { return nil }
            return .uniform(min: a, max: b)
        case "q_uniform":
            let q = readQ(&self)
            guard let (a, b) = bounds(&self, integers: false, positiveMin: false), let q else { return nil }
            return .qUniform(min: a, max: b, q: q.q, integerQ: q.integerQ)
        case "log_uniform_values":
            guard let (a, b) = bounds(&self, integers: false, positiveMin: true) else { return nil }
            return .logUniformValues(min: a, max: b)
        case "q_log_uniform_values":
            let q = readQ(&self)
            guard let (a, b) = bounds(&self, integers: false, positiveMin: true), let q else { return nil }
            return .qLogUniformValues(min: a, max: b, q: q.q, integerQ: q.integerQ)
        case "inv_log_uniform_values":
            guard let (a, b) = bounds(&self, integers: false, positiveMin: true) else { return nil }
            return .invLogUniformValues(min: a, max: b)
        case "normal", "log_normal", "q_normal", "q_log_normal":
            let mu = optionalNumber("mu", 0, &self)
            let sigma = optionalNumber("sigma", 1, &self)
            let q: (q: Double, integerQ: Bool)? = form.hasPrefix("q_") ? readQ(&self) : (1.0, false)
            guard let mu, let sigma, let q else { return nil }
            guard nonNegative("sigma", sigma.0, &self) else { return nil }
            switch form {
            case "normal": return .normal(mu: mu.0, sigma: sigma.0)
            case "log_normal": return .logNormal(mu: mu.0, sigma: sigma.0)
            case "q_normal": return .qNormal(mu: mu.0, sigma: sigma.0, q: q.0, integerQ: q.1)
            default: return .qLogNormal(mu: mu.0, sigma: sigma.0, q: q.0, integerQ: q.1)
            }
        case "beta", "q_beta":
            let a = optionalNumber("a", 1, &self)
            let b = optionalNumber("b", 1, &self)
            let q: (q: Double, integerQ: Bool)? = form == "q_beta" ? readQ(&self) : (1.0, false)
            guard let a, let b, let q else { return nil }
            let aOK = nonNegative("a", a.0, &self), bOK = nonNegative("b", b.0, &self)
            guard aOK, bOK else { return nil }
            return form == "beta" ? .beta(a: a.0, b: b.0) : .qBeta(a: a.0, b: b.0, q: q.0, integerQ: q.1)
        case "nested":
            let p = keys["parameters"]!
            guard let entries = mapping(p.value, key: key("parameters"), example: "`parameters: {dropout: {values: [0.1, 0.2]}}`") else {
                return nil
            }
            let (children, complete) = readParameterList(entries, path: key("parameters"), ownerLine: p.line)
            return complete ? .nested(children) : nil
        default:
            preconditionFailure("unhandled parameter form \(form)")
        }
    }

    /// An integer bound of `int_uniform`, with a hint pointing at `uniform` for real values.
    private mutating func intBound(_ node: ConfigNode, key: String, form: String) -> Int? {
        if case .scalar(.int(let i)) = node.content { return i }
        if case .scalar(.double) = node.content {
            error("\(form) needs an integer `\(lastComponent(key))`, found \(node.text)", line: node.line, key: key,
                  hint: "write a whole number, or use `distribution: uniform` for real values")
            return nil
        }
        return integer(node, key: key)
    }

    // MARK: Rules checked when running (load time here)

    mutating func checkRuntimeRules() {
        guard let method else { return }
        switch method {
        case .grid:
            for parameter in parameters { checkGrid(parameter, path: "parameters." + parameter.name) }
        case .bayes:
            if !metricPresent {
                error("Bayesian search requires \"metric\" section", line: methodLine, key: "metric",
                      hint: "add `metric: {name: Valid Loss, goal: minimize}` naming the logged value to optimise", kind: .runtime)
            }
            if parametersComplete, !parameters.contains(where: { Self.isSearchable($0.spec) }) {
                error("Need at least one searchable parameter for bayes search.", line: parametersLine, key: "parameters",
                      hint: "give a parameter `values` or a distribution; constants, given by `value`, are not searched", kind: .runtime)
            }
        case .random:
            break
        }
        if earlyTerminatePresent {
            if !metricPresent {
                error("early terminate requires \"metric\" section", line: earlyTerminateLine, key: "early_terminate",
                      hint: "add `metric: {name: Valid Loss, goal: minimize}`: hyperband compares runs by it", kind: .runtime)
            }
            if let hb = hyperband, let maxIter = hb.maxIter, let s = hb.s,
               Self.maxIterBands(maxIter: maxIter, s: s, eta: hb.eta).isEmpty {
                error("Bands must be an array of length at least 1. Try increasing s, decreasing eta, or increasing min_iter.",
                      line: earlyTerminateLine, key: "early_terminate",
                      hint: "max_iter \(maxIter) divided by eta \(ParamValue.jsonNumber(hb.eta)) leaves no band of at least 1 logged value",
                      kind: .runtime)
            }
        }
    }

    private static func isSearchable(_ spec: ParameterSpec) -> Bool {
        switch spec {
        case .constant: return false
        case .nested(let children): return children.contains { isSearchable($0.spec) }
        default: return true
        }
    }

    private mutating func checkGrid(_ parameter: Parameter, path: String) {
        let kind: String
        switch parameter.spec {
        case .constant, .intUniform, .qUniform, .categorical(_, nil):
            return
        case .nested(let children):
            for child in children { checkGrid(child, path: path + ".parameters." + child.name) }
            return
        case .categorical: kind = "categorical with probabilities"
        case .uniform: kind = "uniform"
        case .logUniformValues: kind = "log_uniform_values"
        case .qLogUniformValues: kind = "q_log_uniform_values"
        case .invLogUniformValues: kind = "inv_log_uniform_values"
        case .normal: kind = "normal"
        case .qNormal: kind = "q_normal"
        case .logNormal: kind = "log_normal"
        case .qLogNormal: kind = "q_log_normal"
        case .beta: kind = "beta"
        case .qBeta: kind = "q_beta"
        }
        error("Parameter \(parameter.name) is a disallowed type with grid search (\(kind))", line: parameter.line, key: path,
              hint: "Grid search requires all parameters to be categorical, constant, int_uniform, or q_uniform, without probabilities; list `values:`, or use method random or bayes",
              kind: .runtime)
    }

    // MARK: Program and trainer flags

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
    private mutating func checkMetric(_ name: String, trainer: BuiltInTrainer) {
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
        var hint = "the built-in trainer logs \(loggedNames) on every epoch (K is `topk`)"
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
    private static func onPath(_ program: String) -> Bool {
        guard !program.contains("/"), let path = ProcessInfo.processInfo.environment["PATH"] else { return false }
        return path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: String($0) + "/" + program)
        }
    }
}
