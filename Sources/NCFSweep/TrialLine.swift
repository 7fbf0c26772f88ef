import Foundation

// What a trial prints on stdout: JSON Lines of metrics and a closing summary.

// MARK: - What a trial prints

/// One line of a trial's stdout, read as JSON Lines.
public enum TrialLine: Sendable, Equatable {
    /// Logged values (`{"epoch": 3, "Train Loss": 0.91, ...}`); nil for a non-finite value
    /// (`NaN`, `Infinity` or `null`). Non-numeric values are dropped.
    case metrics([String: Double?])
    /// The closing `{"summary": {...}}`; its JSON text (canonical) and numeric values.
    case summary(text: String, values: [String: Double?])

    /// Reads one line; nil for anything that is not a JSON object (programs may print other text).
    ///
    /// `NaN`, `Infinity` and `-Infinity` outside strings (as some JSON writers emit them)
    /// are read as non-finite values.
    public static func parse(_ line: String) -> TrialLine? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{") else { return nil }
        guard case .map(let object)? = try? ParamValue.parseJSON(replacingNonFiniteTokens(trimmed)) else { return nil }
        if object.count == 1, let inner = object["summary"], case .map(let values) = inner {
            return .summary(text: inner.canonicalJSON, values: numbers(values))
        }
        return .metrics(numbers(object))
    }

    private static func numbers(_ object: [String: ParamValue]) -> [String: Double?] {
        var out: [String: Double?] = [:]
        for (key, value) in object {
            switch value {
            case .int(let i): out[key] = Double(i)
            case .double(let d): out[key] = d.isFinite ? d : nil
            case .null: out[key] = .some(nil)
            default: continue
            }
        }
        return out
    }

    /// `NaN`, `Infinity`, `-Infinity` outside string literals → `null`.
    static func replacingNonFiniteTokens(_ text: String) -> String {
        guard text.contains("NaN") || text.contains("Infinity") else { return text }
        var out = ""
        var inString = false
        var escaped = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                out.append(c)
                i = text.index(after: i)
                continue
            }
            if c == "\"" { inString = true }
            var matched = false
            for token in ["-Infinity", "Infinity", "NaN"] where text[i...].hasPrefix(token) {
                out += "null"
                i = text.index(i, offsetBy: token.count)
                matched = true
                break
            }
            if !matched {
                out.append(c)
                i = text.index(after: i)
            }
        }
        return out
    }
}
