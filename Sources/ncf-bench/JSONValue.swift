import Foundation
import NCFSweep

/// A JSON value: what the reference trainers print, and what `--json` writes.
///
/// Objects keep their keys in insertion order when built here (decoded objects are sorted by key),
/// so the JSON Lines output reads the same from run to run.
enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered == b.rendered }

    // MARK: Access

    subscript(key: String) -> JSONValue? {
        if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    var double: Double? { if case .number(let x) = self { return x }; return nil }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var doubles: [Double]? {
        if case .array(let items) = self { return items.compactMap(\.double) }
        return nil
    }

    /// A number rounded to `digits` decimals (NaN and infinities become null).
    static func rounded(_ x: Double, _ digits: Int) -> JSONValue {
        guard x.isFinite else { return .null }
        let scale = pow(10, Double(digits))
        return .number((x * scale).rounded() / scale)
    }

    // MARK: Decoding

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    init(from decoder: Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var pairs: [(String, JSONValue)] = []
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                pairs.append((key.stringValue, try keyed.decode(JSONValue.self, forKey: key)))
            }
            self = .object(pairs)
            return
        }
        if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let b = try? single.decode(Bool.self) { self = .bool(b) }
        else if let x = try? single.decode(Double.self) { self = .number(x) }
        else { self = .string(try single.decode(String.self)) }
    }

    /// Parses one line of JSON text; nil when it is not JSON.
    static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    // MARK: Encoding

    /// Compact JSON text on one line.
    var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let x):
            guard x.isFinite else { return "null" }
            if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
            return String(x)
        case .string(let s): return Self.quote(s)
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ", ") + "]"
        case .object(let pairs):
            return "{" + pairs.map { Self.quote($0.0) + ": " + $0.1.rendered }.joined(separator: ", ") + "}"
        }
    }

    /// A JSON string literal, escaped as the sweep engine does.
    private static func quote(_ s: String) -> String { ParamValue.string(s).canonicalJSON }
}
