import Foundation
import NCFRunContract

// The W&B sweep schema and the rules the reference engine checks later (reference/sweep-config.md
// §1–7), applied to a line-numbered `ConfigNode` tree at load time. Every problem is gathered, each
// with its line, key path and a hint; the config is only built when there are none.
//
// Stricter than the reference, on purpose (a config either runs or is refused before anything
// starts): grid over a continuous parameter, bayes without a metric or a searchable parameter,
// hyperband without a metric or with no band, `custom` method and min ≥ max inside nested groups
// are load-time errors here (a missing `program` file is a warning, as W&B checks it only when an
// agent starts it).
//
// This file holds the reader's state, reporting and typed access; each part of the schema has a
// file of its own: ConfigReader+TopLevel, +EarlyTerminate, +Parameters, +Rules (checked when
// running) and +Program (who runs the trials, the trainer's flags and metrics).

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
    var rootLine = 1
    var methodText: String?
    var method: SweepConfig.Method?
    var methodLine: Int?
    var metric: SweepConfig.Metric?
    var metricPresent = false
    var metricLine: Int?
    /// `program` was not found and the built-in trainer runs instead (see `checkProgramAndFlags`).
    var builtInFallback = false
    var parameters: [Parameter] = []
    var parametersLine: Int?
    /// Every parameter was read without a problem.
    var parametersComplete = false
    var hyperband: SweepConfig.Hyperband?
    var earlyTerminateLine: Int?
    var earlyTerminatePresent = false
    var runCap: Int?
    var program: String?
    var programLine: Int?
    var command: [String]?
    var commandLine: Int?
    var name: String?
    var description: String?
    var project: String?
    var entity: String?
    var controller: String?

    init(file: String, sourceText: String) {
        self.file = file
        self.sourceText = sourceText
    }

    static let topLevelKeys = [
        "method", "parameters", "metric", "early_terminate", "run_cap", "program", "command", "name", "description",
        "project", "entity", "controller", "apiVersion", "kind", "job", "image_uri", "metrics", "scheduler",
    ]

    // MARK: Reporting

    mutating func error(_ message: String, line: Int?, key: String, hint: String, kind: SweepProblem.Kind = .schema) {
        problems.append(SweepProblem(message: message, line: line, key: key, hint: hint, kind: kind, file: file))
    }

    mutating func warn(_ message: String, line: Int?, key: String, hint: String, kind: SweepProblem.Kind = .notice) {
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

    static func describe(_ node: ConfigNode) -> String {
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

    mutating func string(_ node: ConfigNode, key: String) -> String? {
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
    mutating func number(_ node: ConfigNode, key: String) -> (value: Double, isInteger: Bool)? {
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
    mutating func integer(_ node: ConfigNode, key: String) -> Int? {
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

    mutating func boolean(_ node: ConfigNode, key: String) -> Bool? {
        if case .scalar(.bool(let b)) = node.content { return b }
        error("`\(lastComponent(key))` must be true or false, found \(Self.describe(node))", line: node.line, key: key,
              hint: "write true or false")
        return nil
    }

    mutating func mapping(_ node: ConfigNode, key: String, example: String) -> [ConfigEntry]? {
        if case .mapping(let entries) = node.content { return entries }
        error("`\(lastComponent(key))` must be a mapping, found \(Self.describe(node))", line: node.line, key: key,
              hint: "write it as \(example)")
        return nil
    }

    /// A string that must be one of `allowed` (case-sensitive, as the schema).
    mutating func choice(_ node: ConfigNode, key: String, allowed: [String]) -> String? {
        guard let s = string(node, key: key) else { return nil }
        if allowed.contains(s) { return s }
        let list = allowed.map { "`\($0)`" }.joined(separator: ", ")
        let hint = Spelling.suggestion(for: s, in: allowed).map { "did you mean `\($0)`? " } ?? ""
        error("`\(s)` is not one of \(list)", line: node.line, key: key, hint: hint + "values are case-sensitive")
        return nil
    }

    /// Reports keys not in `allowed` and returns the known entries by key.
    mutating func known(_ entries: [ConfigEntry], allowed: [String], path: String,
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

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Reports every NUL character in a value that reaches a trial's command line (a parameter
    /// value, `program`, a `command` word), at its own key path: the kernel ends an argument at
    /// a NUL, so the trial would silently get another value. False when there is one.
    mutating func noNUL(_ node: ConfigNode, key: String) -> Bool {
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

    func lastComponent(_ key: String) -> String {
        key.split(separator: ".").last.map(String.init) ?? key
    }
}
