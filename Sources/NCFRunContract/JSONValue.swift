import Foundation

// The JSON values of a run log: enough JSON to write a record with its keys in order, and to read
// any line a trial prints back (non-finite numbers included, as some writers emit them).

/// One JSON value as a run log holds it.
///
/// Reading: a number without fraction or exponent is `.int` (a `.double` when it does not fit), any
/// other number `.double`; `NaN`, `Infinity` and `-Infinity` outside strings are read as `.null`.
/// Writing: a whole-number double as an integer, a non-finite one as `null`, other doubles in their
/// shortest round-trip form (`0.001`, `1e-05`), so what is written reads back to the same value.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in the order written (a reader sorts them; JSON objects carry no order).
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.map(\.key) == y.map(\.key) && x.map(\.value) == y.map(\.value)
        default: return false
        }
    }

    /// The value as a number (ints and doubles), else nil.
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The value of `key` in an object, else nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let entries) = self else { return nil }
        return entries.last { $0.key == key }?.value
    }

    // MARK: Writing

    /// The JSON text: keys in the order held, `", "` and `": "` between items (a log stays readable).
    public var text: String {
        var out = ""
        write(to: &out, sortKeys: false, spaced: true)
        return out
    }

    /// Canonical JSON text: keys sorted by code point, no whitespace, so equal values are equal text.
    public var canonicalText: String {
        var out = ""
        write(to: &out, sortKeys: true, spaced: false)
        return out
    }

    private func write(to out: inout String, sortKeys: Bool, spaced: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += Self.numberText(d)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += spaced ? ", " : "," }
                item.write(to: &out, sortKeys: sortKeys, spaced: spaced)
            }
            out += "]"
        case .object(let entries):
            let ordered = sortKeys ? entries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : entries
            out += "{"
            for (i, entry) in ordered.enumerated() {
                if i > 0 { out += spaced ? ", " : "," }
                Self.writeString(entry.key, to: &out)
                out += spaced ? ": " : ":"
                entry.value.write(to: &out, sortKeys: sortKeys, spaced: spaced)
            }
            out += "}"
        }
    }

    /// A double as JSON: whole numbers as integers, non-finite as `null`, else the shortest
    /// text that reads back to the same double.
    public static func numberText(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 9_223_372_036_854_775_808.0 { return String(Int(d)) }
        return d.description
    }

    /// `s` as a JSON string literal (RFC 8259 escapes; other characters kept as UTF-8).
    public static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    // MARK: Reading

    /// Parses one JSON text; nil when it is not JSON.
    public static func parse(_ text: String) -> JSONValue? {
        guard let data = replacingNonFiniteTokens(text).data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(Decoded.self, from: data).value
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

    /// Decodes any JSON value through `JSONDecoder`.
    private struct Decoded: Decodable {
        let value: JSONValue

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            if let keyed = try? decoder.container(keyedBy: Key.self) {
                var entries: [(key: String, value: JSONValue)] = []
                for key in keyed.allKeys.sorted(by: { $0.stringValue.utf8.lexicographicallyPrecedes($1.stringValue.utf8) }) {
                    entries.append((key.stringValue, try keyed.decode(Decoded.self, forKey: key).value))
                }
                value = .object(entries)
                return
            }
            if var list = try? decoder.unkeyedContainer() {
                var items: [JSONValue] = []
                while !list.isAtEnd { items.append(try list.decode(Decoded.self).value) }
                value = .array(items)
                return
            }
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { value = .null }
            else if let b = try? single.decode(Bool.self) { value = .bool(b) }
            else if let i = try? single.decode(Int.self) { value = .int(i) }
            else if let d = try? single.decode(Double.self) { value = .double(d) }
            else { value = .string(try single.decode(String.self)) }
        }
    }
}
