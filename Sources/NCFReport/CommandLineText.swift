import Foundation
import NCFSweep

// Run configs as command-line text, shared by `ncf sweep best --export flags` and the report's
// "reproduce the best run" line.

/// The config as `--name=value` words for `ncf train`, sorted by name: a true boolean as a bare
/// flag, false and null left out, each word shell-quoted when it holds unsafe characters.
public func commandLineFlags(_ config: [String: ParamValue]) -> String {
    config.keys.sorted().compactMap { name in
        let value = config[name]!
        switch value {
        case .bool(true): return "--\(name)"
        case .bool(false), .null: return nil
        default: return shellQuoted("--\(name)=\(TrialCommand.flagText(value))")
        }
    }.joined(separator: " ")
}

/// The word as a shell reads it: unchanged when it holds only safe characters, else in single quotes.
public func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%")
    if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// A duration for people: `12.3s`, `4m05s`, `2h07m`.
public func formatDuration(_ s: Double) -> String {
    if !s.isFinite || s < 0 { return "?" }
    if s < 60 { return String(format: "%.1fs", s) }
    if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
    return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
}
