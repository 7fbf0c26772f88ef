import NCFRunContract

/// Canonical JSON text for parameter values and run configs, and a JSON parser back to `ParamValue`.
///
/// Canonical form (so two equal configs are equal as text, and grid points can be recognised across
/// agents and in the store):
/// - object keys sorted by Unicode code point, no whitespace (`{"a":1,"b":[1,2]}`);
/// - a whole-number double is written as an integer (`5.0` → `5`), as the reference engine 0.3.0 treats
///   whole-number floats as ints; other doubles in their shortest round-trip form (`0.001`, `1e-05`);
/// - a non-finite double (which JSON cannot hold) is written as `null`;
/// - strings escaped per RFC 8259 (`"` `\` and control characters), other characters kept as UTF-8.
///
/// Parsing reads a JSON number without fraction or exponent as `.int` (a double when it does not fit
/// in `Int`), any other number as `.double`, `true`/`false` as `.bool`. So
/// `parse(canonicalJSON(v))` equals `v` except that whole-number doubles come back as ints.

// MARK: - Canonical JSON

extension ParamValue {
    /// The canonical JSON text of the value (see the file header for the rules).
    ///
    /// - Complexity: O(n log n) in the number of map keys, O(n) otherwise.
    public var canonicalJSON: String {
        var out = ""
        writeJSON(to: &out)
        return out
    }

    /// The canonical JSON text of a run config: a JSON object with sorted keys.
    public static func canonicalJSON(_ config: [String: ParamValue]) -> String {
        ParamValue.map(config).canonicalJSON
    }

    /// Appends the canonical JSON text of the value to `out`.
    public func writeJSON(to out: inout String) {
        switch self {
        case .null:
            out += "null"
        case .bool(let b):
            out += b ? "true" : "false"
        case .int(let i):
            out += String(i)
        case .double(let d):
            out += ParamValue.jsonNumber(d)
        case .string(let s):
            ParamValue.writeJSONString(s, to: &out)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeJSON(to: &out)
            }
            out += "]"
        case .map(let dict):
            out += "{"
            for (i, key) in ParamValue.sortedKeys(dict).enumerated() {
                if i > 0 { out += "," }
                ParamValue.writeJSONString(key, to: &out)
                out += ":"
                dict[key]!.writeJSON(to: &out)
            }
            out += "}"
        }
    }

    /// Keys in Unicode code-point order (UTF-8 byte order is the same order).
    static func sortedKeys(_ dict: [String: ParamValue]) -> [String] {
        dict.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// A double as canonical JSON: whole numbers as integers, non-finite as `null`.
    static func jsonNumber(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        // 2^63 is exactly representable; anything below it in magnitude converts to Int exactly.
        if d == d.rounded(), abs(d) < 9_223_372_036_854_775_808.0 {
            return String(Int(d))
        }
        // Swift's description is the shortest text that reads back to the same double, and its
        // exponent form (`1e-05`, `1e+16`) is valid JSON.
        return d.description
    }

    /// Writes `s` as a JSON string literal: the run contract's escaping, so every JSON ncf writes agrees.
    static func writeJSONString(_ s: String, to out: inout String) {
        JSONValue.writeString(s, to: &out)
    }
}

// MARK: - Parsing

extension ParamValue {
    /// A JSON text that could not be read: where and why.
    public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// 1-based line and column of the offending character.
        public var line: Int
        public var column: Int

        public var description: String {
            "JSON line \(line), column \(column): \(message) (check the text is valid JSON)"
        }
    }

    /// Parses one JSON value (RFC 8259; surrounding whitespace allowed).
    ///
    /// Numbers without fraction or exponent become `.int` (or `.double` when they do not fit), other
    /// numbers `.double`; `true`/`false` become `.bool`; objects become `.map`.
    /// - Complexity: O(n) in the length of the text.
    public static func parseJSON(_ text: String) throws(JSONParseError) -> ParamValue {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index < parser.bytes.count {
            throw parser.error("unexpected text after the JSON value")
        }
        return value
    }

    /// Parses a JSON object into a run config (`{"lr": 0.01, ...}`).
    public static func parseJSONConfig(_ text: String) throws(JSONParseError) -> [String: ParamValue] {
        let value = try parseJSON(text)
        guard case .map(let dict) = value else {
            throw JSONParseError(message: "expected a JSON object, found \(value.jsonTypeName)", line: 1, column: 1)
        }
        return dict
    }

    /// The JSON type name of the value, for messages.
    public var jsonTypeName: String {
        switch self {
        case .int: "an integer"
        case .double: "a number"
        case .string: "a string"
        case .bool: "a boolean"
        case .null: "null"
        case .list: "a list"
        case .map: "a mapping"
        }
    }
}

/// A small recursive-descent JSON reader over UTF-8 bytes.
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 512

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> ParamValue.JSONParseError {
        var line = 1
        var column = 1
        for b in bytes[0..<min(index, bytes.count)] {
            if b == UInt8(ascii: "\n") { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return ParamValue.JSONParseError(message: message, line: line, column: column)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(ParamValue.JSONParseError) -> ParamValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
        guard index < bytes.count else { throw error("unexpected end of text, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character, expected a value")
        }
    }

    mutating func expectWord(_ word: String) throws(ParamValue.JSONParseError) {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else {
            throw error("unexpected word, expected `\(word)`")
        }
        index += w.count
    }

    mutating func parseObject(depth: Int) throws(ParamValue.JSONParseError) -> ParamValue {
        index += 1
        var dict: [String: ParamValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .map(dict) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected `:` after a key") }
            index += 1
            skipWhitespace()
            if dict[key] != nil { throw error("duplicate key \"\(key)\"") }
            dict[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .map(dict) }
            throw error("expected `,` or `}` in an object")
        }
    }

    mutating func parseArray(depth: Int) throws(ParamValue.JSONParseError) -> ParamValue {
        index += 1
        var items: [ParamValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .list(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text inside a list") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .list(items) }
            throw error("expected `,` or `]` in a list")
        }
    }

    mutating func parseString() throws(ParamValue.JSONParseError) -> String {
        index += 1  // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flush(_ end: Int, into scalars: inout String.UnicodeScalarView) {
            if end > runStart {
                scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
            }
        }
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                flush(index, into: &scalars)
                index += 1
                return String(scalars)
            }
            if b < 0x20 { throw error("control character inside a string (escape it)") }
            if b == UInt8(ascii: "\\") {
                flush(index, into: &scalars)
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        // A high surrogate must be followed by `\uDC00`–`\uDFFF`.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                              bytes[index + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    scalars.append(scalar)
                default:
                    index -= 1
                    throw error("invalid escape in a string")
                }
                runStart = index
                continue
            }
            index += 1
        }
        throw error("unterminated string")
    }

    mutating func parseHex4() throws(ParamValue.JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(ParamValue.JSONParseError) -> ParamValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while p.index < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.index]) { p.index += 1 }
            return p.index - s
        }
        let intStart = index
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw error("expected digits in a number") }
        if intDigits > 1, bytes[intStart] == UInt8(ascii: "0") { index = intStart; throw error("leading zero in a number") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard digits(&self) > 0 else { throw error("expected digits after `.` in a number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("expected digits in a number's exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { index = start; throw error("invalid number") }
        return .double(d)
    }
}

// MARK: - Codable

extension ParamValue: Codable {
    /// Decodes any JSON value; a number that decodes exactly as `Int` becomes `.int`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let list = try? container.decode([ParamValue].self) {
            self = .list(list)
        } else if let map = try? container.decode([String: ParamValue].self) {
            self = .map(map)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .list(let items): try container.encode(items)
        case .map(let dict): try container.encode(dict)
        }
    }
}

// MARK: - Description

extension ParamValue: CustomStringConvertible {
    /// The canonical JSON text (strings quoted), for messages and logs.
    public var description: String { canonicalJSON }
}
