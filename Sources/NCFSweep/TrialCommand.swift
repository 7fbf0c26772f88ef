import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A trial is a child process: the built-in trainer (`ncf train --key=value ... --json`) or the
// config's `program` run through the sweep format's `command` macros. This file says how its
// command line is made; the agent starts it.

// MARK: - The command line of a trial

/// How a sweep's trials are started.
public enum TrialCommand: Sendable, Equatable {
    /// The built-in trainer: `executable train --key=value ... --seed=S [--data=PATH]
    /// [--select_metric=M --select_goal=G] --json`. `data` (the agent's `--data`) is passed unless
    /// the config sets `data` itself; `metric` (the sweep's) chooses the epoch each trial keeps and
    /// tests, so a run is ranked by the epoch whose test metrics it reports.
    case builtIn(executable: String, data: String?, metric: SweepConfig.Metric? = nil)
    /// Any other program, through the config's `command` list (default
    /// `${env} ${interpreter} ${program} ${args}`).
    case external(program: String, command: [String])

    /// The sweep format's default `command`.
    public static let defaultCommand = ["${env}", "${interpreter}", "${program}", "${args}"]

    /// The command for a sweep: the built-in trainer when `program` is absent or `ncf` (its
    /// `command`, if any, is not used then), otherwise `program` through `command`.
    public init(config: SweepConfig, ncfExecutable: String, data: String?) {
        if config.usesBuiltInTrainer {
            self = .builtIn(executable: ncfExecutable, data: data, metric: config.metric)
        } else {
            self = .external(program: config.program ?? "", command: config.command ?? Self.defaultCommand)
        }
    }

    /// The path of the running executable (`/proc/self/exe` resolved on Linux), so trials run
    /// the same `ncf` build as the agent.
    public static func currentExecutable() -> String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// The flags the built-in trainer gets beyond the run's config, in order: the run's `seed`, the
    /// sweep's `data`, and the sweep's metric and goal as `select_metric`/`select_goal` (so the kept
    /// epoch is the one the run is ranked by); each only when the config does not set it. The
    /// trials get them, and so do the commands that reproduce a run (`ncf sweep best --export`,
    /// the report), which therefore train exactly as the trial did.
    public static func addedFlags(config: [String: ParamValue], seed: UInt64, data: String?,
                                  metric: SweepConfig.Metric?) -> [(name: String, value: ParamValue)] {
        var out: [(name: String, value: ParamValue)] = []
        if config["seed"] == nil { out.append(("seed", .int(Int(truncatingIfNeeded: seed)))) }
        if let data, config["data"] == nil { out.append(("data", .string(data))) }
        if let metric, config["select_metric"] == nil {
            out.append(("select_metric", .string(metric.name)))
            if config["select_goal"] == nil { out.append(("select_goal", .string(metric.goal.rawValue))) }
        }
        return out
    }

    /// The config of a built-in trial with `addedFlags` in it: what reproduces the run.
    public static func reproducingConfig(_ config: [String: ParamValue], seed: UInt64, data: String?,
                                         metric: SweepConfig.Metric?) -> [String: ParamValue] {
        var values = config
        for (name, value) in addedFlags(config: config, seed: seed, data: data, metric: metric) { values[name] = value }
        return values
    }

    /// The argv of one trial (`argv[0]` first). No word ever holds a NUL: the kernel would end
    /// the argument there and the trial would silently get another value (config validation
    /// refuses NULs first; this is the guard for configs built in code).
    ///
    /// Values are rendered as flags expect them: a list as `16,32,64`, a string as is, a whole
    /// number without a fraction, a nested group as canonical JSON. For the built-in trainer a
    /// true boolean is a bare `--name`, and a false one or null is left out.
    /// - Parameters:
    ///   - seed: the run's seed (built-in trainer only: `--seed=S` unless the config sets `seed`).
    ///   - jsonFile: where `${args_json_file}` points (the caller writes the config there).
    /// - Throws: `TrialCommandError` when a word would hold a NUL character.
    public func arguments(config: [String: ParamValue], seed: UInt64, jsonFile: String) throws -> [String] {
        let args = words(config: config, seed: seed, jsonFile: jsonFile)
        if let bad = args.first(where: { $0.utf8.contains(0) }) { throw TrialCommandError(word: bad) }
        return args
    }

    private func words(config: [String: ParamValue], seed: UInt64, jsonFile: String) -> [String] {
        let names = config.keys.sorted()
        switch self {
        case let .builtIn(executable, data, metric):
            var args = [executable, "train"]
            for name in names {
                if let word = Self.builtInWord(name, config[name]!) { args.append(word) }
            }
            let added = Self.addedFlags(config: config, seed: seed, data: data, metric: metric)
            for (name, value) in added { args.append("--\(name)=\(Self.flagText(value))") }
            args.append("--json")
            return args
        case let .external(program, command):
            var args: [String] = []
            for item in command {
                switch item {
                case "${args}":
                    args += names.map { "--\($0)=\(Self.flagText(config[$0]!))" }
                case "${args_no_hyphens}":
                    args += names.map { "\($0)=\(Self.flagText(config[$0]!))" }
                case "${args_no_boolean_flags}":
                    for name in names {
                        switch config[name]! {
                        case .bool(true): args.append("--\(name)")
                        case .bool(false): continue
                        case let value: args.append("--\(name)=\(Self.flagText(value))")
                        }
                    }
                default:
                    args.append(item
                        .replacingOccurrences(of: "${env}", with: "/usr/bin/env")
                        .replacingOccurrences(of: "${interpreter}", with: "python3")
                        .replacingOccurrences(of: "${program}", with: program)
                        .replacingOccurrences(of: "${args_json_file}", with: jsonFile)
                        .replacingOccurrences(of: "${args_json}", with: ParamValue.canonicalJSON(config)))
                }
            }
            return args
        }
    }

    /// Whether the command needs the `${args_json_file}` file.
    public var usesJSONFile: Bool {
        if case .external(_, let command) = self { return command.contains { $0.contains("${args_json_file}") } }
        return false
    }

    /// A parameter value for people (logs, status lines): as `flagText`, but a fractional number
    /// with 4 significant digits (`0.007900491811886342` → `0.0079`). Commands and exports keep
    /// the exact `flagText`.
    public static func displayText(_ value: ParamValue) -> String {
        switch value {
        case .double(let d) where d.isFinite && d != d.rounded(): return String(format: "%.4g", d)
        case .list(let items): return items.map(displayText).joined(separator: ",")
        default: return flagText(value)
        }
    }

    /// A parameter value as a flag's text.
    /// Whether the built-in trainer's command line carries a parameter of this value: `false`
    /// and `null` leave the flag out (its default applies), `true` is the bare flag.
    public static func builtInPasses(_ value: ParamValue) -> Bool {
        value != .bool(false) && value != .null
    }

    /// The built-in trainer's word for parameter `name`: `--name` for `true`, `--name=TEXT`, or
    /// nil when the flag is left out.
    public static func builtInWord(_ name: String, _ value: ParamValue) -> String? {
        guard builtInPasses(value) else { return nil }
        return value == .bool(true) ? "--\(name)" : "--\(name)=\(flagText(value))"
    }

    public static func flagText(_ value: ParamValue) -> String {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "None"
        case .list(let items): return items.map(flagText).joined(separator: ",")
        case .map: return value.canonicalJSON
        }
    }
}

/// Why a trial's command line cannot be made.
public struct TrialCommandError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// The argument that would hold a NUL character.
    public var word: String

    public init(word: String) { self.word = word }

    /// What a run records: `command-line argument '--tag=a\0b' holds a NUL character`.
    public var reason: String {
        "command-line argument '\(word.replacingOccurrences(of: "\u{0}", with: "\\0"))' holds a NUL character, which no command line can carry"
    }

    public var description: String {
        reason + ". Hint: remove the NUL (`\\0`) from the sweep config's value; `ncf sweep validate FILE` names the key."
    }

    public var errorDescription: String? { description }
}
