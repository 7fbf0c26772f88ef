import Foundation
import NCFSweep

// Inline SVG drawn by ncf: an element writer that escapes everything, a path builder, and axes
// drawn from a `Scale`. Styling lives in the report's CSS (classes), so the SVG stays small.

// MARK: - Escaping

/// `text` with `& < > " '` replaced by entities: safe inside HTML text and quoted attributes.
/// - Complexity: O(n).
public func htmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

// MARK: - SVG writer

/// An SVG element under construction: elements are appended as text, attribute values and text
/// escaped. Sizes are in CSS pixels; the drawing scales to its container's width (`viewBox`).
struct SVG {
    let width: Double
    let height: Double
    private(set) var body = ""

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
        body.reserveCapacity(4096)
    }

    /// The `<svg>` element, with `label` as its accessible name.
    func render(label: String, cssClass: String = "chart") -> String {
        "<svg class=\"\(cssClass)\" viewBox=\"0 0 \(coord(width)) \(coord(height))\" width=\"\(coord(width))\" height=\"\(coord(height))\" role=\"img\" aria-label=\"\(htmlEscape(label))\" xmlns=\"http://www.w3.org/2000/svg\">"
            + body + "</svg>"
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cls: String) {
        body += "<line x1=\"\(coord(x1))\" y1=\"\(coord(y1))\" x2=\"\(coord(x2))\" y2=\"\(coord(y2))\" class=\"\(cls)\"/>"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ cls: String, title: String? = nil) {
        let open = "<rect x=\"\(coord(x))\" y=\"\(coord(y))\" width=\"\(coord(max(0, w)))\" height=\"\(coord(max(0, h)))\" class=\"\(cls)\""
        if let title { body += open + "><title>\(htmlEscape(title))</title></rect>" } else { body += open + "/>" }
    }

    /// `run`: the run the shape stands for (`data-run`), so the page's script can fade or mark it.
    mutating func circle(_ x: Double, _ y: Double, _ r: Double, _ cls: String, title: String? = nil, run: Int? = nil) {
        let open = "<circle cx=\"\(coord(x))\" cy=\"\(coord(y))\" r=\"\(coord(r))\" class=\"\(cls)\"" + (run.map { " data-run=\"\($0)\"" } ?? "")
        if let title { body += open + "><title>\(htmlEscape(title))</title></circle>" } else { body += open + "/>" }
    }

    /// A marker shape centred at (x, y): `x` (a cross, for failed runs), `tri` (a triangle, for values off the scale).
    mutating func marker(_ shape: String, _ x: Double, _ y: Double, _ r: Double, _ cls: String, title: String? = nil, up: Bool = true,
                         run: Int? = nil) {
        let d: String
        switch shape {
        case "x":
            d = "M\(coord(x - r)) \(coord(y - r))L\(coord(x + r)) \(coord(y + r))M\(coord(x - r)) \(coord(y + r))L\(coord(x + r)) \(coord(y - r))"
        case "diamond":
            d = "M\(coord(x)) \(coord(y - r))L\(coord(x + r)) \(coord(y))L\(coord(x)) \(coord(y + r))L\(coord(x - r)) \(coord(y))Z"
        default:
            let s = up ? -1.0 : 1.0
            d = "M\(coord(x)) \(coord(y + s * r))L\(coord(x + r)) \(coord(y - s * r))L\(coord(x - r)) \(coord(y - s * r))Z"
        }
        path(d, cls, title: title, run: run)
    }

    mutating func path(_ d: String, _ cls: String, title: String? = nil, run: Int? = nil) {
        guard !d.isEmpty else { return }
        let open = "<path d=\"\(d)\" class=\"\(cls)\"" + (run.map { " data-run=\"\($0)\"" } ?? "")
        if let title { body += open + "><title>\(htmlEscape(title))</title></path>" } else { body += open + "/>" }
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ x: Double, _ y: Double, _ text: String, _ cls: String, anchor: Anchor = .start,
                       rotate: Double? = nil, title: String? = nil) {
        var attrs = "x=\"\(coord(x))\" y=\"\(coord(y))\" class=\"\(cls)\""
        if anchor != .start { attrs += " text-anchor=\"\(anchor.rawValue)\"" }
        if let rotate { attrs += " transform=\"rotate(\(coord(rotate)) \(coord(x)) \(coord(y)))\"" }
        let inner = title.map { "<title>\(htmlEscape($0))</title>" } ?? ""
        body += "<text \(attrs)>\(inner)\(htmlEscape(text))</text>"
    }

    /// Defines a clipping rectangle named `id` (unique in the page), for `open(_:clip:)`.
    mutating func clipRect(id: String, _ x: Double, _ y: Double, _ w: Double, _ h: Double) {
        body += "<defs><clipPath id=\"\(htmlEscape(id))\"><rect x=\"\(coord(x))\" y=\"\(coord(y))\" width=\"\(coord(w))\" height=\"\(coord(h))\"/></clipPath></defs>"
    }

    /// Opens a group whose drawing is clipped to the rectangle `clip` (see `clipRect`).
    mutating func open(_ cls: String, clip: String) {
        body += "<g class=\"\(cls)\" clip-path=\"url(#\(htmlEscape(clip)))\">"
    }

    /// Opens a group (`<g class=…>`); close it with `close()`.
    mutating func open(_ cls: String, style: String? = nil) {
        body += "<g class=\"\(cls)\"" + (style.map { " style=\"\(htmlEscape($0))\"" } ?? "") + ">"
    }
    mutating func close() { body += "</g>" }
}

// MARK: - Paths

/// Builds an SVG path `d` from points, starting a new subpath after a gap (a nil point).
struct PathBuilder {
    private(set) var d = ""
    private var penDown = false

    mutating func add(_ x: Double?, _ y: Double?) {
        guard let x, let y, x.isFinite, y.isFinite else {
            penDown = false
            return
        }
        d += (penDown ? "L" : "M") + coord(x) + " " + coord(y)
        penDown = true
    }

    /// A horizontal-then-vertical step to (x, y) (for best-so-far lines).
    mutating func step(_ x: Double, _ y: Double, lastY: Double) {
        if penDown {
            d += "L" + coord(x) + " " + coord(lastY)
        }
        add(x, y)
    }

    mutating func gap() { penDown = false }
}

// MARK: - Plot area and axes

/// A chart's plot rectangle inside its SVG, with margins for the axes.
struct PlotArea {
    var width: Double
    var height: Double
    var left: Double = 64
    var right: Double = 16
    var top: Double = 14
    var bottom: Double = 40

    var x0: Double { left }
    var x1: Double { width - right }
    var y0: Double { height - bottom }
    var y1: Double { top }
}

/// Rough width in pixels of `text` in the report's 11 px axis font (for avoiding overlaps).
func textWidth(_ text: String, fontSize: Double = 11) -> Double {
    Double(text.count) * fontSize * 0.58
}

/// `text` cut to at most `width` pixels, with an ellipsis.
func fitText(_ text: String, width: Double, fontSize: Double = 11) -> String {
    let maxChars = max(3, Int(width / (fontSize * 0.58)))
    return text.count <= maxChars ? text : String(text.prefix(maxChars - 1)) + "…"
}

extension SVG {
    /// A bottom axis at `y` for `scale`, with grid lines up to `gridTop` when given, and a title.
    /// Labels that would overlap are thinned; long categorical labels are turned 30°.
    mutating func bottomAxis(_ scale: Scale, y: Double, gridTop: Double?, title: String?, target: Int = 6,
                             integers: Bool = false) {
        var ticks = scale.ticks(target: target)
        if integers {
            ticks = ticks.filter { $0.value == $0.value.rounded() && $0.value >= 1 }.map {
                Scale.Tick(value: $0.value, position: $0.position, label: String(Int($0.value)))
            }
        }
        let widest = ticks.map { textWidth($0.label) }.max() ?? 0
        let spacing = ticks.count > 1 ? abs(ticks[1].position - ticks[0].position) : .infinity
        let rotated = !scale.categories.isEmpty && widest + 6 > spacing
        if rotated {
            // Turned labels need ~12 px each along the axis.
            let every = max(1, Int((14 / max(1, spacing)).rounded(.up)))
            ticks = ticks.enumerated().filter { $0.offset % every == 0 }.map(\.element)
        } else {
            ticks = thinned(ticks, minGap: 8)
        }
        line(min(scale.start, scale.end), y, max(scale.start, scale.end), y, "axis")
        for t in ticks {
            if let gridTop { line(t.position, y, t.position, gridTop, "gridline") }
            line(t.position, y, t.position, y + 4, "axis")
            if rotated {
                text(t.position + 3, y + 12, fitText(t.label, width: 70), "tick", anchor: .end, rotate: -30, title: t.label)
            } else if t.position + textWidth(t.label) / 2 > width - 1 {
                text(width - 1, y + 15, t.label, "tick", anchor: .end) // kept inside the drawing
            } else if t.position - textWidth(t.label) / 2 < 1 {
                text(1, y + 15, t.label, "tick")
            } else {
                text(t.position, y + 15, t.label, "tick", anchor: .middle)
            }
        }
        if let title {
            text((scale.start + scale.end) / 2, height - 4, title, "axis-title", anchor: .middle)
        }
    }

    /// A left axis at `x` for `scale`, grid lines to `gridRight` when given, and a turned title.
    mutating func leftAxis(_ scale: Scale, x: Double, gridRight: Double?, title: String?, target: Int = 5) {
        let ticks = scale.ticks(target: target)
        let every = scale.categories.isEmpty ? 1 : max(1, Int((13 / max(1, scale.bandWidth)).rounded(.up)))
        line(x, min(scale.start, scale.end), x, max(scale.start, scale.end), "axis")
        for (k, t) in ticks.enumerated() where k % every == 0 {
            if let gridRight { line(x, t.position, gridRight, t.position, "gridline") }
            line(x - 4, t.position, x, t.position, "axis")
            text(x - 6, t.position + 4, fitText(t.label, width: x - 24), "tick", anchor: .end, title: t.label)
        }
        if let title {
            let mid = (scale.start + scale.end) / 2
            text(13, mid, fitText(title, width: abs(scale.end - scale.start)), "axis-title", anchor: .middle, rotate: -90)
        }
    }
}

/// `ticks` without those whose labels would overlap the previous kept one (centred labels).
func thinned(_ ticks: [Scale.Tick], minGap: Double) -> [Scale.Tick] {
    var out: [Scale.Tick] = []
    for t in ticks {
        if let last = out.last {
            let needed = (textWidth(last.label) + textWidth(t.label)) / 2 + minGap
            if abs(t.position - last.position) < needed { continue }
        }
        out.append(t)
    }
    return out
}

// MARK: - Robust metric axis

/// The range a metric axis shows: all values, unless a few lie far out (a diverged run's loss),
/// then `[q1 − k·IQR, q3 + k·IQR]` clipped to the values; points outside are drawn at the edge.
/// With fewer than `minCount` values all are shown. Learning curves pass a larger `k` (a loss
/// falls a long way over its epochs; only a diverged run should be cut off).
/// - Complexity: O(n log n).
func robustRange(_ values: [Double], k: Double = 3, minCount: Int = 8) -> (lo: Double, hi: Double)? {
    let v = values.filter(\.isFinite).sorted()
    guard let first = v.first, let last = v.last else { return nil }
    guard v.count >= minCount else { return (first, last) }
    let q1 = v[v.count / 4], q3 = v[(3 * v.count) / 4]
    let iqr = q3 - q1
    guard iqr > 0 else { return (first, last) }
    return (max(first, q1 - k * iqr), min(last, q3 + k * iqr))
}
