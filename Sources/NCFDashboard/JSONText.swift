import NCFRunContract
import NCFSweep

/// A JSON document the API writes: keys in the order given, numbers exact.
///
/// Numbers: a double in its shortest round-trip form (`0.1`, `1e-05`; a whole number as an
/// integer), so a client reads back exactly the value the store holds; a non-finite double
/// (which JSON cannot hold) as `null`. Seeds are unsigned 64-bit integers, written in full.
public indirect enum JSONText: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case uint(UInt64)
    case number(Double)
    case string(String)
    case array([JSONText])
    case object([(String, JSONText)])
    /// JSON text written as it is (a stored canonical-JSON config, the report's page data).
    case raw(String)

    /// `number` or `null`.
    public static func number(_ value: Double?) -> JSONText { value.map { .number($0) } ?? .null }
    /// `string` or `null`.
    public static func string(_ value: String?) -> JSONText { value.map { .string($0) } ?? .null }

    /// The text, compact (no spaces).
    public var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .number(let d): out += d.isFinite ? JSONValue.numberText(d) : "null"
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let entries):
            out += "{"
            for (i, (key, value)) in entries.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        case .raw(let text): out += text
        }
    }
}

extension JSONText {
    /// A parameter value or run config as JSON (non-finite doubles as `null`).
    public init(_ value: ParamValue) {
        self = .raw(value.canonicalJSON)
    }
}
