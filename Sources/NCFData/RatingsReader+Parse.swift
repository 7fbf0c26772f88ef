// The byte-level parser behind `RatingsReader`: lines, fields, numbers, ids.
//
// The whole file is one `[UInt8]`. Lines are found with `memchr`, fields are (start, end) byte
// offsets into the buffer, numbers are parsed from the bytes, and no String is made for a line
// unless it is malformed or holds an id not seen before.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Ids

/// Interns raw ids (byte ranges) into an `IDMap`, with a fast path for small decimal ids.
///
/// An id written as a canonical decimal below `numericLimit` (no sign, no leading zero) is
/// looked up by value in a flat table, so repeated ids like `196` cost a few byte reads and
/// one array load instead of a String and a hash. Other ids go through `IDMap.intern`.
struct IDInterner {
    var map = IDMap()
    /// `byNumber[v]` is the index of the id spelled `String(v)`, or -1 if not seen yet.
    private var byNumber: [Int32] = []
    /// Table bound: 4 Mi entries (16 MiB) at most, grown on demand.
    static let numericLimit = 1 << 22

    /// The dense index of the id in `base[start..<end]` (non-empty), adding it if new.
    /// - Complexity: amortised O(end - start).
    @inline(__always)
    mutating func intern(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int32 {
        let n = end - start
        if n <= 7 && (n == 1 || base[start] != UInt8(ascii: "0")) {
            var value = 0
            var k = start
            while k < end {
                let digit = base[k] &- UInt8(ascii: "0")
                if digit > 9 { break }
                value = value &* 10 &+ Int(digit)
                k += 1
            }
            if k == end && value < Self.numericLimit { return intern(number: value) }
        }
        return map.intern(String(decoding: UnsafeBufferPointer(start: base + start, count: n), as: UTF8.self))
    }

    private mutating func intern(number value: Int) -> Int32 {
        if value < byNumber.count {
            let cached = byNumber[value]
            if cached >= 0 { return cached }
        } else {
            let newCount = min(max(value + 1, byNumber.count * 2, 1024), Self.numericLimit)
            byNumber.append(contentsOf: repeatElement(-1, count: newCount - byNumber.count))
        }
        let index = map.intern(String(value))
        byNumber[value] = index
        return index
    }

    /// The dense index of an id already decoded to a String (e.g. an unescaped quoted CSV cell).
    mutating func intern(_ raw: String) -> Int32 { map.intern(raw) }
}

// MARK: - Fields

/// One field of a line: byte offsets into the file buffer.
struct Field {
    /// Where the field starts as written (its opening quote, for a quoted CSV cell).
    var column: Int
    /// The content: `start..<end`, without surrounding blanks or quotes.
    var start: Int
    var end: Int
    /// A quoted CSV cell containing `""` (an escaped quote) that must be unescaped.
    var escaped: Bool
}

@inline(__always) private func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

extension RatingsReader {
    /// Splits `p[lineStart..<lineEnd]` into `fields` (cleared first); a blank line gives none.
    ///
    /// `.tsv`: runs of spaces/tabs separate. `.dat`: `::` separates. `.csv`: `,` separates,
    /// cells may be `"quoted"` (with `""` for a quote) and blanks around cells are dropped.
    /// - Complexity: O(line length).
    @inline(__always)
    static func splitFields(_ p: UnsafePointer<UInt8>, _ lineStart: Int, _ lineEnd: Int,
                            format: DataFormat, into fields: inout [Field]) {
        fields.removeAll(keepingCapacity: true)
        var i = lineStart
        while i < lineEnd && isBlank(p[i]) { i += 1 }
        if i == lineEnd { return }
        switch format {
        case .csv:
            splitCSV(p, i, lineEnd, into: &fields)
        case .dat:
            var fieldStart = lineStart
            var k = lineStart
            while k + 1 < lineEnd {
                if p[k] == UInt8(ascii: ":") && p[k + 1] == UInt8(ascii: ":") {
                    fields.append(trimmed(p, fieldStart, k))
                    k += 2
                    fieldStart = k
                } else {
                    k += 1
                }
            }
            fields.append(trimmed(p, fieldStart, lineEnd))
        default:
            while i < lineEnd {
                let start = i
                while i < lineEnd && !isBlank(p[i]) { i += 1 }
                fields.append(Field(column: start, start: start, end: i, escaped: false))
                while i < lineEnd && isBlank(p[i]) { i += 1 }
            }
        }
    }

    @inline(__always)
    private static func trimmed(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Field {
        var s = start, e = end
        while s < e && isBlank(p[s]) { s += 1 }
        while e > s && isBlank(p[e - 1]) { e -= 1 }
        return Field(column: s, start: s, end: e, escaped: false)
    }

    private static func splitCSV(_ p: UnsafePointer<UInt8>, _ from: Int, _ lineEnd: Int, into fields: inout [Field]) {
        var i = from
        while true {
            while i < lineEnd && isBlank(p[i]) { i += 1 }
            if i < lineEnd && p[i] == UInt8(ascii: "\"") {
                let column = i
                i += 1
                let start = i
                var escaped = false
                var end = lineEnd
                while i < lineEnd {
                    if p[i] == UInt8(ascii: "\"") {
                        if i + 1 < lineEnd && p[i + 1] == UInt8(ascii: "\"") { escaped = true; i += 2; continue }
                        end = i
                        i += 1
                        break
                    }
                    i += 1
                }
                fields.append(Field(column: column, start: start, end: end, escaped: escaped))
                while i < lineEnd && p[i] != UInt8(ascii: ",") { i += 1 }
            } else {
                let start = i
                while i < lineEnd && p[i] != UInt8(ascii: ",") { i += 1 }
                var end = i
                while end > start && isBlank(p[end - 1]) { end -= 1 }
                fields.append(Field(column: start, start: start, end: end, escaped: false))
            }
            if i >= lineEnd { return }
            i += 1  // the comma; a trailing comma yields a final empty field
            if i == lineEnd {
                fields.append(Field(column: i, start: i, end: i, escaped: false))
                return
            }
        }
    }

    /// The field's text (quotes unescaped).
    static func text(_ p: UnsafePointer<UInt8>, _ f: Field) -> String {
        let s = String(decoding: UnsafeBufferPointer(start: p + f.start, count: f.end - f.start), as: UTF8.self)
        return f.escaped ? s.replacingDoubledQuotes() : s
    }

    /// How a field is shown in an error: `"abc"` (cut at 40 bytes) or `an empty field`.
    static func found(_ p: UnsafePointer<UInt8>, _ f: Field) -> String {
        if f.start == f.end { return "an empty field" }
        let cut = Field(column: f.column, start: f.start, end: min(f.end, f.start + 40), escaped: f.escaped)
        return "\"" + text(p, cut) + (f.end - f.start > 40 ? "…" : "") + "\""
    }

    // MARK: - Numbers

    enum Number {
        case value(Double)
        /// `nan`, `inf`, `infinity` (any case, signed) or a value too large to represent.
        case nonFinite
        case invalid
    }

    private static let powersOf10: [Double] = (0...22).map { k in
        var x = 1.0
        for _ in 0..<k { x *= 10 }
        return x
    }

    /// Parses a decimal number `[+-]digits[.digits][e[+-]digits]` from `p[start..<end]`.
    /// - Complexity: O(end - start); no allocation unless the number has an exponent or more
    ///   than 15 significant digits.
    @inline(__always)
    static func parseNumber(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Number {
        var i = start
        var negative = false
        if i < end && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
            negative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa = 0
        var digits = 0
        var fraction = 0
        while i < end, case let d = p[i] &- UInt8(ascii: "0"), d <= 9 {
            mantissa = mantissa &* 10 &+ Int(d)
            digits += 1
            i += 1
        }
        if i < end && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, case let d = p[i] &- UInt8(ascii: "0"), d <= 9 {
                mantissa = mantissa &* 10 &+ Int(d)
                digits += 1
                fraction += 1
                i += 1
            }
        }
        if i == end && digits > 0 && digits <= 15 {
            let magnitude = Double(mantissa) / powersOf10[fraction]
            return .value(negative ? -magnitude : magnitude)
        }
        return parseNumberSlow(p, start, end)
    }

    private static func parseNumberSlow(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Number {
        let s = String(decoding: UnsafeBufferPointer(start: p + start, count: end - start), as: UTF8.self)
        var body = Substring(s)
        if body.first == "+" || body.first == "-" { body.removeFirst() }
        switch body.lowercased() {
        case "nan", "inf", "infinity": return .nonFinite
        default: break
        }
        // Grammar check first: Double(String) would also take hex floats and other spellings.
        var sawDigit = false, sawDot = false, sawExponent = false, expectExponentDigit = false
        var previous: Character = " "
        for c in body {
            if c.isASCII && c.isNumber {
                if sawExponent { expectExponentDigit = false } else { sawDigit = true }
            } else if c == "." && !sawDot && !sawExponent {
                sawDot = true
            } else if (c == "e" || c == "E") && sawDigit && !sawExponent {
                sawExponent = true
                expectExponentDigit = true
            } else if (c == "+" || c == "-") && (previous == "e" || previous == "E") {
                // exponent sign
            } else {
                return .invalid
            }
            previous = c
        }
        guard sawDigit, !expectExponentDigit, let value = Double(s) else { return .invalid }
        return value.isFinite ? .value(value) : .nonFinite
    }

    /// Parses a decimal integer `[+-]digits` that fits in Int64.
    @inline(__always)
    static func parseInteger(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        var negative = false
        if i < end && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
            negative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        if i == end { return nil }
        var value: Int64 = 0
        if end - i <= 18 {  // cannot overflow
            while i < end {
                let d = p[i] &- UInt8(ascii: "0")
                if d > 9 { return nil }
                value = value &* 10 &+ Int64(d)
                i += 1
            }
            return negative ? -value : value
        }
        while i < end {
            let d = p[i] &- UInt8(ascii: "0")
            if d > 9 { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            value = sum
            i += 1
        }
        return negative ? -value : value
    }

    /// True when the field reads as a number (finite or not): used to tell a header from data.
    static func isNumeric(_ p: UnsafePointer<UInt8>, _ f: Field) -> Bool {
        if case .invalid = parseNumber(p, f.start, f.end) { return false }
        return true
    }
}

extension String {
    fileprivate func replacingDoubledQuotes() -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        var previousWasQuote = false
        for c in self {
            if c == "\"" && previousWasQuote { previousWasQuote = false; continue }
            previousWasQuote = c == "\""
            out.append(c)
        }
        return out
    }
}

// MARK: - Skipped lines

extension SkippedLines {
    /// How many skipped lines keep their line number and reason.
    static let recordedLimit = 5

    /// Counts one skipped line; the first `recordedLimit` keep their number and reason.
    mutating func record(line: Int, reason: String) {
        count += 1
        if firstLines.count < Self.recordedLimit {
            firstLines.append(line)
            firstReasons.append(reason)
        }
    }
}
