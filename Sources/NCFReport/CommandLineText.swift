import Foundation
import NCFSweep

// Run configs as command-line text, shared by `ncf sweep best --export flags` and the report's
// "reproduce the best run" line.

/// The config as `--name=value` words for `ncf train`, sorted by name: a true boolean as a bare
/// flag, false and null left out, each word shell-quoted when it holds unsafe characters.
public func commandLineFlags(_ config: [String: ParamValue]) -> String {
    commandLineWords(config).joined(separator: " ")
}

/// The words of `commandLineFlags`, each already shell-quoted: a line may be wrapped between
/// them (never inside one, where a quoted value's spaces are).
public func commandLineWords(_ config: [String: ParamValue]) -> [String] {
    config.keys.sorted().compactMap { name in
        let value = config[name]!
        switch value {
        case .bool(true): return "--\(name)"
        case .bool(false), .null: return nil
        default: return shellQuoted("--\(name)=\(TrialCommand.flagText(value))")
        }
    }
}

/// The word as a shell reads it: unchanged when it holds only safe characters, else in single
/// quotes; a word holding control characters (C0, DEL, C1) is written in ANSI-C quotes
/// (`$'a\e[31mb'`, read by bash, zsh, ksh and POSIX.1-2024 sh), so the text is exact and shows
/// no raw control character on a terminal.
public func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%")
    if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
    func control(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F...0x9F).contains(s.value) }
    guard word.unicodeScalars.contains(where: control) else {
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    var out = "$'"
    for scalar in word.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "'": out += "\\'"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\u{1B}": out += "\\e"
        case "\u{07}": out += "\\a"
        case _ where scalar.value >= 0x80 && control(scalar): out += "\\u" + hex(scalar.value, digits: 4)
        case _ where control(scalar): out += "\\x" + hex(scalar.value, digits: 2)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "'"
}

/// `value` in lowercase hex, zero-padded to `digits` (a fixed width, so a following character
/// is never read as part of the escape).
private func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// A duration for people: `12.3s`, `4m05s`, `2h07m`.
public func formatDuration(_ s: Double) -> String {
    if !s.isFinite || s < 0 || s > 1e12 { return "?" }
    if s < 60 { return String(format: "%.1fs", s) }
    if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
    return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
}
