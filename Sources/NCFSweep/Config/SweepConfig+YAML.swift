import Foundation
import Yams

// Reading a sweep config: YAML text → a line-numbered node tree (`ConfigNode`) → `SweepConfig`
// (`SweepConfig+Validation.swift`). This is the only file that imports Yams.
//
// How ncf reads YAML (reference/sweep-config.md, "PyYAML" table):
// - YAML 1.1 scalars, as the W&B CLI's PyYAML does: `yes`/`no`/`on`/`off` (any case variant PyYAML
//   knows) are booleans, so a config means the same here and there. Each such bare word in a value
//   gets a warning naming its line, since it is usually meant as a string (quote it then).
// - Deliberate differences: `1e-4` (no dot) is the number users mean, not a string; a key given
//   twice is an error naming both lines, not "the last one wins".
// - A TAB used for indentation is an error naming the line, found in the raw text before parsing.
// - Mapping keys are taken as written (`on:` is the key "on", not a boolean). Anchors, aliases and
//   merge keys (`<<: *base`) work as in PyYAML.
// - Timestamps and other tagged scalars are read as their text.

// MARK: - Public API

extension SweepConfig {
    /// The outcome of reading a config: the config when it is valid, and every problem found.
    public struct LoadReport: Sendable {
        /// The config, when there are no errors.
        public var config: SweepConfig?
        /// `method` as written, when it is a string (also for an invalid config).
        public var method: String?
        /// The number of grid points when the method is grid and every parameter can be enumerated.
        public var gridPoints: Int?
        /// Problems that make the config unusable, in file order.
        public var errors: [SweepProblem]
        /// Problems that do not (ignored keys, YAML 1.1 booleans, a `program` not found here).
        public var warnings: [SweepProblem]

        public var isValid: Bool { errors.isEmpty }
    }

    /// Reads, parses and validates the config file at `path`; throws before anything runs.
    ///
    /// - Parameters:
    ///   - trainer: the built-in trainer's flags and metrics. When non-nil and the built-in trainer
    ///     runs the trials, a parameter that is no flag, or a metric it does not log, is an error
    ///     naming the nearest one (see `checkProgramAndFlags`).
    /// - Throws: `SweepError.invalidConfig` listing every problem (file, line, key path, hint), or
    ///   `SweepError.unreadableFile`.
    public static func load(path: String, trainer: BuiltInTrainer?) throws
        -> (config: SweepConfig, warnings: [SweepProblem])
    {
        let text = try readConfigText(path: path)
        return try parse(yaml: text, file: path, trainer: trainer)
    }

    /// Parses and validates YAML text; `file` names it in messages, and its directory is where a
    /// relative `program` is looked for (besides the working directory).
    /// - Throws: `SweepError.invalidConfig` listing every problem.
    public static func parse(yaml: String, file: String, trainer: BuiltInTrainer?) throws
        -> (config: SweepConfig, warnings: [SweepProblem])
    {
        let report = check(yaml: yaml, file: file, trainer: trainer)
        guard let config = report.config, report.errors.isEmpty else { throw SweepError.invalidConfig(report.errors) }
        return (config, report.warnings)
    }

    /// Reads and checks the config file at `path` without throwing (for `ncf sweep validate`).
    public static func check(path: String, trainer: BuiltInTrainer?) -> LoadReport {
        do {
            let text = try readConfigText(path: path)
            return check(yaml: text, file: path, trainer: trainer)
        } catch {
            var reason = "\(error)"
            if case .unreadableFile(_, let why) = error { reason = why }
            return LoadReport(config: nil, method: nil, gridPoints: nil, errors: [
                SweepProblem(message: "cannot read the sweep config: \(reason)", line: nil, key: "",
                             hint: "check the path and its permissions", kind: .yaml, file: path),
            ], warnings: [])
        }
    }

    /// Parses the config stored with a sweep, to look at the sweep (`ncf sweep status`, `best`,
    /// `report`): the rules of `parse`, except that a relative `program` is not looked for on
    /// disk. Whether it exists depends on the working directory and matters only to an agent
    /// about to run trials, which checks it then.
    /// - Throws: `SweepError.invalidConfig` listing every problem.
    public static func parseStored(yaml: String, sweepID: String) throws -> SweepConfig {
        let report = check(yaml: yaml, file: "sweep \(sweepID)", trainer: nil, checksProgram: false)
        guard let config = report.config, report.errors.isEmpty else { throw SweepError.invalidConfig(report.errors) }
        return config
    }

    /// Checks YAML text without throwing: every error and warning, and the config when valid.
    /// - Parameter checksProgram: whether a `program` that is not `ncf` is looked for (beside the
    ///   file, in the working directory or on `PATH`): a warning when absent, and the built-in
    ///   trainer's fallback. A stored config is read without it (see `parseStored`).
    public static func check(yaml: String, file: String, trainer: BuiltInTrainer?, checksProgram: Bool = true) -> LoadReport {
        let document = ConfigDocument.read(yaml)
        var reader = ConfigReader(file: file, sourceText: yaml)
        reader.problems = document.problems
        reader.warnings = document.warnings
        // Duplicate keys do not stop the reading (the last value is read, so other problems are
        // found too); tabs and syntax errors leave no tree to read.
        if document.root != nil || document.problems.isEmpty {
            reader.read(root: document.root, rootLine: document.rootLine)
            reader.checkRuntimeRules()
            reader.checkProgramAndFlags(trainer: trainer, checksProgram: checksProgram)
        }
        return reader.report()
    }

    /// The text of a config file, or `SweepError.unreadableFile`.
    static func readConfigText(path: String) throws(SweepError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw SweepError.unreadableFile(path: path, reason: !exists ? "no such file" : isDirectory.boolValue ? "it is a directory" : "permission denied")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SweepError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}

// MARK: - The node tree

/// A YAML node with its 1-based line, so validation can name where each problem is (no Yams past here).
struct ConfigNode: Sendable {
    enum Content: Sendable {
        case scalar(ParamValue)
        case sequence([ConfigNode])
        case mapping([ConfigEntry])
    }

    var content: Content
    var line: Int
    /// The scalar as written (empty for collections); used in messages so `1.0` stays `1.0`.
    var text: String

    /// The node as a plain value (sequences as lists, mappings as maps).
    var value: ParamValue {
        switch content {
        case .scalar(let v): return v
        case .sequence(let items): return .list(items.map(\.value))
        case .mapping(let entries):
            var map: [String: ParamValue] = [:]
            for entry in entries { map[entry.key] = entry.value.value }
            return .map(map)
        }
    }

    /// The node as written, for messages: a scalar's text, or the canonical JSON of a collection.
    var shown: String {
        if case .scalar = content { return text }
        return value.canonicalJSON
    }
}

/// One `key: value` pair of a mapping, with the key's line.
struct ConfigEntry: Sendable {
    var key: String
    var line: Int
    var value: ConfigNode
}

/// A YAML document read into a `ConfigNode` tree, with the problems found on the way.
struct ConfigDocument {
    var root: ConfigNode?
    var rootLine: Int = 1
    var problems: [SweepProblem] = []
    var warnings: [SweepProblem] = []

    /// Marks inserted before the first of two equal keys, so Yams (which refuses duplicates, naming
    /// one line) lets the document through and both lines can be reported.
    static let duplicateMarker = "zz-ncf-duplicate-"

    /// Reads `text`: tab check on the raw lines, then Yams composition (renaming duplicate keys so
    /// every duplicate is found), then conversion to `ConfigNode`.
    static func read(_ text: String) -> ConfigDocument {
        var document = ConfigDocument()
        document.problems = tabProblems(in: text)
        guard document.problems.isEmpty else { return document }

        var working = text
        var duplicates: [String: (name: String, line: Int)] = [:]  // marker key → original
        var composed: Node?
        var attempt = 0
        while true {
            do {
                composed = try Yams.compose(yaml: working)
                break
            } catch YamlError.duplicatedKeysInMapping(let names, let context) where attempt < 1000 {
                let name = names.sorted().first ?? ""
                guard let renamed = insertMarker(attempt: attempt, name: name, at: context.mark, in: working) else {
                    document.problems.append(SweepProblem(
                        message: "key `\(name)` is given more than once", line: context.mark.line, key: name,
                        hint: "keep one of them; ncf refuses a key given twice instead of silently keeping the last", kind: .yaml))
                    return document
                }
                duplicates[renamed.marker] = (name, context.mark.line)
                working = renamed.text
                attempt += 1
            } catch {
                document.problems.append(yamlProblem(error))
                return document
            }
        }

        guard let node = composed else {
            document.problems.append(SweepProblem(
                message: "Sweep config must be parsable as a JSON object.", line: nil, key: "",
                hint: "the file holds no YAML (it is empty or only comments); start from Sweeps/ncf.yaml", kind: .schema))
            return document
        }
        var converter = NodeConverter(duplicates: duplicates)
        let root = converter.convert(node, path: "")
        document.problems += converter.problems
        document.warnings += converter.warnings
        // A tree cut short (an alias bomb) is not read further: its one problem says why.
        guard !converter.exhausted else { return document }
        document.root = root
        document.rootLine = root.line
        return document
    }

    /// One problem per line whose indentation contains a TAB (outside block scalars).
    static func tabProblems(in text: String) -> [SweepProblem] {
        var problems: [SweepProblem] = []
        var blockIndent: Int?  // indentation of the line that opened a `|` or `>` block scalar
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let content = line.drop { $0 == " " || $0 == "\t" }
            let leadingSpaces = line.prefix { $0 == " " }.count
            if let indent = blockIndent {
                if content.isEmpty || leadingSpaces > indent { continue }
                blockIndent = nil
            }
            if content.isEmpty || content.hasPrefix("#") { continue }
            let leading = line.prefix(line.count - content.count)
            if leading.contains("\t") {
                problems.append(SweepProblem(
                    message: "line \(index + 1) is indented with a TAB", line: index + 1, key: "",
                    hint: "YAML indentation must use spaces; replace the TAB with spaces", kind: .yaml))
            }
            if opensBlockScalar(content) { blockIndent = leadingSpaces }
        }
        return problems
    }

    /// Whether a line ends in a block scalar indicator (`key: |`, `- >-`, `key: |2  # note`).
    private static func opensBlockScalar(_ content: Substring) -> Bool {
        var s = content
        if let hash = s.range(of: " #") { s = s[..<hash.lowerBound] }
        s = s.reversed().drop { $0 == " " || $0 == "\t" }.reversed().reduce(into: Substring()) { $0.append($1) }
        let tail = s.reversed().prefix { "+-0123456789".contains($0) }
        let rest = s.dropLast(tail.count)
        guard let last = rest.last, last == "|" || last == ">" else { return false }
        let before = rest.dropLast()
        return before.isEmpty || before.hasSuffix(" ") || before.hasSuffix(":") || before.hasSuffix("-")
    }

    /// Inserts a marker at a key's position (inside its quotes when quoted); nil when the text there
    /// is not the key (then only one line can be named).
    private static func insertMarker(attempt: Int, name: String, at mark: Mark, in text: String) -> (text: String, marker: String)? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard mark.line >= 1, mark.line <= lines.count, mark.column >= 1 else { return nil }
        var scalars = Array(lines[mark.line - 1].unicodeScalars)
        var column = mark.column - 1
        guard column < scalars.count else { return nil }
        if scalars[column] == "\"" || scalars[column] == "'" { column += 1 }
        let nameScalars = Array(name.unicodeScalars)
        guard column + nameScalars.count <= scalars.count,
              Array(scalars[column..<column + nameScalars.count]) == nameScalars else { return nil }
        let marker = duplicateMarker + "\(attempt)-"
        scalars.insert(contentsOf: marker.unicodeScalars, at: column)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        lines[mark.line - 1] = String(view)
        return (lines.joined(separator: "\n"), marker + name)
    }

    /// A Yams error as a problem with its line.
    static func yamlProblem(_ error: any Error) -> SweepProblem {
        let hint = "fix the YAML syntax at that line: indent with spaces, quote values containing `: ` or `#`"
        func text(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error {
        case YamlError.scanner(let context, let problem, let mark, _):
            return SweepProblem(message: "YAML syntax error: " + text(context, problem), line: mark.line, key: "", hint: hint, kind: .yaml)
        case YamlError.parser(let context, let problem, let mark, _):
            return SweepProblem(message: "YAML syntax error: " + text(context, problem), line: mark.line, key: "", hint: hint, kind: .yaml)
        case YamlError.composer(let context, let problem, let mark, _):
            return SweepProblem(message: "YAML error: " + text(context, problem), line: mark.line, key: "",
                                hint: "a sweep config is one YAML document whose aliases refer to earlier anchors", kind: .yaml)
        case YamlError.reader(let problem, let offset, let value, let yaml):
            // `offset` counts characters from the start: the line is one more than the line breaks before it.
            let line = offset.map { yaml.prefix($0).reduce(1) { $0 + ($1 == "\n" || $1 == "\r\n" ? 1 : 0) } }
            let character = value >= 0 ? String(format: " (U+%04X)", value) : ""
            return SweepProblem(message: "cannot read the YAML text: \(problem)\(character)", line: line, key: "",
                                hint: "save the file as UTF-8 text without control characters", kind: .yaml)
        default:
            return SweepProblem(message: "cannot read the YAML: \(error)", line: nil, key: "", hint: hint, kind: .yaml)
        }
    }
}

// MARK: - Yams nodes → ConfigNode

/// Converts Yams nodes, resolving scalars as YAML 1.1 and folding marked duplicate keys back.
private struct NodeConverter {
    let duplicates: [String: (name: String, line: Int)]
    var problems: [SweepProblem] = []
    var warnings: [SweepProblem] = []
    /// Nodes converted so far. Aliases are shared in Yams' tree but copied here, so a few lines of
    /// nested aliases ("billion laughs") would expand to billions of nodes; a sweep config has a
    /// few hundred, so conversion stops at `nodeLimit`.
    private var converted = 0
    static let nodeLimit = 100_000
    /// Whether the limit was hit (the tree is incomplete and must not be read).
    private(set) var exhausted = false

    init(duplicates: [String: (name: String, line: Int)]) { self.duplicates = duplicates }

    mutating func convert(_ node: Node, path: String) -> ConfigNode {
        let line = node.mark?.line ?? 0
        converted += 1
        if converted > Self.nodeLimit {
            if !exhausted {
                exhausted = true
                problems.append(SweepProblem(
                    message: "the YAML expands to more than \(Self.nodeLimit) values through its aliases (`*name`) and merges",
                    line: line, key: path,
                    hint: "a sweep config is small; repeat an anchored value with `*name` only where it is needed, never nested inside other aliases",
                    kind: .yaml))
            }
            return ConfigNode(content: .scalar(.null), line: line, text: "")
        }
        switch node {
        case .scalar(let scalar):
            return ConfigNode(content: .scalar(resolve(scalar, line: line, path: path)), line: line, text: scalar.string)
        case .alias:
            // compose resolves aliases to the anchored node; this is only reached for a bare alias.
            return ConfigNode(content: .scalar(.null), line: line, text: "")
        case .sequence(let sequence):
            let items = sequence.enumerated().map { convert($0.element, path: path + "[\($0.offset)]") }
            return ConfigNode(content: .sequence(items), line: line, text: "")
        case .mapping(let mapping):
            return ConfigNode(content: .mapping(convertPairs(Array(mapping), path: path)), line: line, text: "")
        }
    }

    /// Applies YAML merge keys (`<<: *base`, `<<: [*a, *b]`) as PyYAML does: merged pairs first,
    /// earlier sources winning, and the mapping's own keys overriding them.
    private mutating func expandMerges(_ pairs: [(key: Node, value: Node)], path: String) -> [(key: Node, value: Node)] {
        func isMerge(_ key: Node) -> Bool {
            if case .scalar(let s) = key { return s.string == "<<" && s.style == .plain }
            return false
        }
        guard pairs.contains(where: { isMerge($0.key) }) else { return pairs }
        var merged: [(key: Node, value: Node)] = []
        var own: [(key: Node, value: Node)] = []
        for pair in pairs {
            guard isMerge(pair.key) else { own.append(pair); continue }
            let sources: [Node]
            switch pair.value {
            case .mapping: sources = [pair.value]
            case .sequence(let list): sources = Array(list)
            default: sources = [pair.value]
            }
            for source in sources where !exhausted {
                converted += 1
                if converted > Self.nodeLimit { _ = convert(source, path: path); break }
                guard case .mapping(let m) = source else {
                    problems.append(SweepProblem(
                        message: "a merge key `<<` must refer to a mapping", line: pair.key.mark?.line, key: path,
                        hint: "write `<<: *anchor` where the anchor names a mapping", kind: .yaml))
                    continue
                }
                merged += expandMerges(Array(m), path: path)
            }
        }
        let ownKeys = Set(own.compactMap { $0.key.scalar?.string })
        var seen = Set<String>()
        let inherited = merged.filter { pair in
            guard let k = pair.key.scalar?.string else { return true }
            return !ownKeys.contains(k) && seen.insert(k).inserted
        }
        return inherited + own
    }

    private mutating func convertPairs(_ rawPairs: [(key: Node, value: Node)], path: String) -> [ConfigEntry] {
        let pairs = expandMerges(rawPairs, path: path)
        var entries: [ConfigEntry] = []
        for (index, pair) in pairs.enumerated() {
            let keyLine = pair.key.mark?.line ?? 0
            let keyText: String
            if case .scalar(let scalar) = pair.key {
                keyText = scalar.string
            } else {
                problems.append(SweepProblem(
                    message: "a mapping key must be a plain name, found a \(pair.key.sequence != nil ? "list" : "mapping")",
                    line: keyLine, key: path, hint: "write keys as plain words such as `lr:`", kind: .schema))
                continue
            }
            if let original = duplicates[keyText] {
                // The next key of the same name (marked or not) is the repeat.
                let repeatLine = pairs[(index + 1)...].first { other in
                    guard case .scalar(let s) = other.key else { return false }
                    return s.string == original.name || duplicates[s.string]?.name == original.name
                }?.key.mark?.line
                let keyPath = path.isEmpty ? original.name : path + "." + original.name
                let lines = repeatLine.map { $0 == original.line ? "twice on line \($0)" : "on lines \(original.line) and \($0)" }
                    ?? "on line \(original.line) and again later"
                problems.append(SweepProblem(
                    message: "duplicate key `\(original.name)`: it is given \(lines)",
                    line: repeatLine ?? original.line, key: keyPath,
                    hint: "keep one of them; ncf refuses a key given twice instead of silently keeping the last",
                    kind: .yaml))
                continue
            }
            let childPath = path.isEmpty ? keyText : path + "." + keyText
            entries.append(ConfigEntry(key: keyText, line: keyLine, value: convert(pair.value, path: childPath)))
        }
        return entries
    }

    /// A scalar as YAML 1.1 reads it (Yams' default resolver: ints, floats incl. `1e-4`, bools incl.
    /// yes/no/on/off, nulls); anything else is its text.
    private mutating func resolve(_ scalar: Node.Scalar, line: Int, path: String) -> ParamValue {
        let node = Node.scalar(scalar)
        switch node.tag.description {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            guard let b = node.bool else { return .string(scalar.string) }
            if scalar.style == .plain, ["yes", "no", "on", "off"].contains(scalar.string.lowercased()) {
                warnings.append(SweepProblem(
                    message: "`\(scalar.string)` is read as the boolean \(b) (YAML 1.1, as W&B reads it)",
                    line: line, key: path, hint: "quote it, \"\(scalar.string)\", if you mean the word", kind: .notice))
            }
            return .bool(b)
        case Tag.Name.int.rawValue:
            if let i = node.int { return .int(i) }
            if let d = Double(scalar.string.replacingOccurrences(of: "_", with: "")) { return .double(d) }
            return .string(scalar.string)
        case Tag.Name.float.rawValue:
            if let d = node.float { return .double(d) }
            return .string(scalar.string)
        default:
            return .string(scalar.string)
        }
    }
}
