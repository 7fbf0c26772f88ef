import Foundation

// MARK: - Aligned text tables

/// A plain-text table: a header row, a rule, then rows; text columns left-aligned, the rest
/// right-aligned, two spaces between columns.
struct TextTable {
    var headers: [String]
    /// Columns that hold text (left-aligned); every other column is right-aligned.
    var leftAligned: Set<Int> = [0]
    private var rows: [[String]] = []

    init(headers: [String], leftAligned: Set<Int> = [0]) {
        self.headers = headers
        self.leftAligned = leftAligned
    }

    mutating func add(_ row: [String]) {
        precondition(row.count == headers.count, "TextTable: row has \(row.count) cells for \(headers.count) columns")
        rows.append(row)
    }

    var isEmpty: Bool { rows.isEmpty }

    func render(indent: String = "") -> String {
        var widths = headers.map(\.count)
        for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return leftAligned.contains(c) ? cell + pad : pad + cell
            }
            var text = indent + padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        var out = [line(headers), indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

// MARK: - Number formatting

enum Fmt {
    /// `812345.6` → `"812,346"`.
    static func grouped(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        let digits = String(Int64(x.rounded()).magnitude)
        var out = ""
        for (k, ch) in digits.enumerated() {
            if k > 0, (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return x < 0 ? "-" + out : out
    }

    static func grouped(_ n: Int) -> String { grouped(Double(n)) }

    /// Fixed decimals; "—" for NaN or infinity.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "—" }
        return String(format: "%.\(digits)f", x)
    }

    /// Three significant figures for values of any size: 0.00123, 0.0456, 1.23, 45.6, 789.
    static func sig3(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        let a = abs(x)
        if a >= 100 { return fixed(x, 0) }
        if a >= 10 { return fixed(x, 1) }
        if a >= 1 { return fixed(x, 2) }
        if a >= 0.1 { return fixed(x, 3) }
        if a >= 0.01 { return fixed(x, 4) }
        return String(format: "%.2e", x)
    }

    /// Seconds: 12.3, 1.23, 0.1234, 0.0012.
    static func seconds(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        if x >= 10 { return fixed(x, 1) }
        if x >= 1 { return fixed(x, 2) }
        return fixed(x, 4)
    }

    /// `5.4123` → `"5.41×"`.
    static func ratio(_ x: Double) -> String {
        guard x.isFinite else { return "—" }
        return (x >= 10 ? fixed(x, 1) : fixed(x, 2)) + "×"
    }
}
