import Foundation

/// One problem found in a sweep config: what is wrong, where (file, 1-based line, key path) and what to do.
///
/// Validation gathers every problem before it throws, so a user fixes a config in one pass.
/// Rendered as `FILE:LINE: KEY: MESSAGE (HINT)`.
public struct SweepProblem: Sendable, Equatable, CustomStringConvertible {
    /// What kind of rule the problem breaks; lets callers demote a class of problems to warnings.
    public enum Kind: String, Sendable, Codable {
        /// YAML syntax: tabs, duplicate keys, scanner and parser errors.
        case yaml
        /// The W&B schema and its value constraints (types, required keys, min < max, probabilities).
        case schema
        /// Rules the reference engine checks when it first suggests or stops runs (grid forms, bayes and
        /// hyperband needs, bands).
        case runtime
        /// A parameter that is no flag of the built-in trainer, when the built-in trainer runs the trials.
        case unknownFlag
        /// Something accepted but ignored or likely unintended.
        case notice
    }

    public var message: String
    /// 1-based line in the YAML (nil when the problem has no place, e.g. an empty file).
    public var line: Int?
    /// The key path, e.g. `parameters.lr.min` (empty for the whole document).
    public var key: String
    /// What to do about it.
    public var hint: String
    public var kind: Kind
    /// The config file (as given to `load`/`parse`), for messages.
    public var file: String?

    public init(message: String, line: Int?, key: String, hint: String, kind: Kind = .schema, file: String? = nil) {
        self.message = message
        self.line = line
        self.key = key
        self.hint = hint
        self.kind = kind
        self.file = file
    }

    /// `FILE:LINE: KEY: MESSAGE (HINT)`, leaving out the parts that are absent.
    public var description: String {
        var out = ""
        if let file, !file.isEmpty { out += file + ":" }
        if let line { out += "\(line):" }
        if !out.isEmpty { out += " " }
        if !key.isEmpty { out += key + ": " }
        out += message
        if !hint.isEmpty { out += " (" + hint + ")" }
        return out
    }
}

/// Errors of the sweep engine, each naming the file, line, key or flag and ending with a hint.
public enum SweepError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// The config breaks one or more rules; every problem found is listed, in file order.
    case invalidConfig([SweepProblem])
    /// A config file that could not be read at all.
    case unreadableFile(path: String, reason: String)
    /// A JSON text (run config, history file) that could not be parsed.
    case invalidJSON(source: String, message: String, line: Int, column: Int)

    public var description: String {
        switch self {
        case .invalidConfig(let problems):
            let head = problems.count == 1
                ? "the sweep config has a problem:"
                : "the sweep config has \(problems.count) problems:"
            return ([head] + problems.map { "  " + $0.description }).joined(separator: "\n")
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read the sweep config: \(reason) (check the path and its permissions)"
        case .invalidJSON(let source, let message, let line, let column):
            return "\(source):\(line):\(column): \(message) (the text must be valid JSON)"
        }
    }

    public var errorDescription: String? { description }

    /// The problems of an `.invalidConfig` error (empty for other errors).
    public var problems: [SweepProblem] {
        if case .invalidConfig(let problems) = self { return problems }
        return []
    }
}
