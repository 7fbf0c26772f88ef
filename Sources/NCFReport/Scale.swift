import Foundation
import NCFSweep

// Chart axes: how a value maps to a pixel position, and which ticks an axis shows. Three kinds,
// chosen per parameter from its distribution: linear, log (log-uniform and log-normal forms) and
// categorical (a `values:` list, one band per value in the order written).

// MARK: - Scale

/// A chart axis: maps values of a domain onto pixel positions between `start` and `end`.
///
/// - linear: `p(x) = start + (x − lo) / (hi − lo) · (end − start)`;
/// - log: the same in log₁₀ space, `p(x) = start + (log x − log lo) / (log hi − log lo) · (end − start)`;
/// - categorical: `n` equal bands, category `i` at the band centre `start + (i + ½) · (end − start) / n`.
///
/// `start` may be larger than `end` (a y axis, drawn bottom-up). Non-finite values, and
/// non-positive values on a log axis, have no position (`position` returns nil): charts leave
/// them out and the report counts them.
public struct Scale: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case linear
        case log
        /// The category labels, in axis order.
        case categorical([String])
    }

    public let kind: Kind
    /// The domain's ends (for categorical: `0…n−1`, the category indices).
    public let lo: Double
    public let hi: Double
    /// Pixel positions of `lo` and `hi`.
    public let start: Double
    public let end: Double

    // MARK: Making scales

    /// A linear axis covering `values` (non-finite ones ignored), widened to round tick values.
    ///
    /// No finite value: the domain `0…1`. One distinct value `v`: `v ± max(|v|·0.1, 0.5·10^⌊log|v|⌋)`
    /// (or `±1` for 0), so the point sits in the middle of the axis.
    public static func linear(covering values: [Double], from start: Double, to end: Double, nice: Bool = true) -> Scale {
        let finite = values.filter(\.isFinite)
        guard var lo = finite.min(), var hi = finite.max() else {
            return Scale(kind: .linear, lo: 0, hi: 1, start: start, end: end)
        }
        if lo == hi {
            let pad = lo == 0 ? 1 : max(abs(lo) * 0.1, 0.5 * pow(10, (log10(abs(lo))).rounded(.down)))
            lo -= pad
            hi += pad
        }
        if nice {
            let step = niceStep((hi - lo) / 5)
            lo = (lo / step).rounded(.down) * step
            hi = (hi / step).rounded(.up) * step
        }
        return Scale(kind: .linear, lo: lo, hi: hi, start: start, end: end)
    }

    /// A log₁₀ axis covering the positive finite `values`, widened to whole decades when it
    /// spans more than one (else a margin of 5% of its log width each side).
    ///
    /// No positive value: `1…10`. One distinct value `v`: `v/√10 … v·√10` (half a decade each side).
    public static func log(covering values: [Double], from start: Double, to end: Double) -> Scale {
        let positive = values.filter { $0.isFinite && $0 > 0 }
        guard let minV = positive.min(), let maxV = positive.max() else {
            return Scale(kind: .log, lo: 1, hi: 10, start: start, end: end)
        }
        var a = log10(minV), b = log10(maxV)
        if a == b {
            a -= 0.5
            b += 0.5
        } else if b - a > 1 {
            a = a.rounded(.down)
            b = b.rounded(.up)
        } else {
            let margin = (b - a) * 0.05
            a -= margin
            b += margin
        }
        return Scale(kind: .log, lo: pow(10, a), hi: pow(10, b), start: start, end: end)
    }

    /// A categorical axis with one band per label, in the order given.
    public static func categorical(_ labels: [String], from start: Double, to end: Double) -> Scale {
        Scale(kind: .categorical(labels), lo: 0, hi: Double(max(0, labels.count - 1)), start: start, end: end)
    }

    /// A linear axis on a fixed domain (no widening): for fractions, epochs, ranks.
    public static func fixed(_ lo: Double, _ hi: Double, from start: Double, to end: Double) -> Scale {
        Scale(kind: .linear, lo: lo, hi: hi > lo ? hi : lo + 1, start: start, end: end)
    }

    init(kind: Kind, lo: Double, hi: Double, start: Double, end: Double) {
        self.kind = kind
        self.lo = lo
        self.hi = hi
        self.start = start
        self.end = end
    }

    // MARK: Positions

    /// Whether the axis is drawn in log₁₀ space.
    public var isLog: Bool { kind == .log }

    /// The category labels (empty unless categorical).
    public var categories: [String] {
        if case .categorical(let labels) = kind { return labels }
        return []
    }

    /// The pixel position of `value` (for a categorical axis: the category index), or nil when it
    /// has none: non-finite, non-positive on a log axis, or not a category index.
    /// Values outside the domain map outside `start…end` (callers clamp where they must).
    public func position(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch kind {
        case .linear:
            return start + (value - lo) / (hi - lo) * (end - start)
        case .log:
            guard value > 0 else { return nil }
            let a = log10(lo), b = log10(hi)
            return start + (log10(value) - a) / (b - a) * (end - start)
        case .categorical(let labels):
            let i = Int(value)
            guard Double(i) == value, i >= 0, i < labels.count else { return nil }
            return start + (Double(i) + 0.5) * bandWidth * (end > start ? 1 : -1)
        }
    }

    /// The pixel position of the category labelled `label`, nil when it is not one.
    public func position(category label: String) -> Double? {
        guard let i = categories.firstIndex(of: label) else { return nil }
        return position(Double(i))
    }

    /// The width of one category's band in pixels (the whole axis for other kinds).
    public var bandWidth: Double {
        let n = categories.count
        return abs(end - start) / Double(n > 0 ? n : 1)
    }

    /// The position of `value` clamped into the axis (for values drawn at the edge, e.g. outliers).
    public func clampedPosition(_ value: Double) -> Double? {
        guard let p = position(value) else { return nil }
        return min(max(p, min(start, end)), max(start, end))
    }

    /// Whether `value` lies in the domain (an index of a category for categorical axes).
    public func contains(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        switch kind {
        case .categorical: return position(value) != nil
        case .log: return value > 0 && value >= lo * (1 - 1e-9) && value <= hi * (1 + 1e-9)
        case .linear:
            let eps = (hi - lo) * 1e-9
            return value >= lo - eps && value <= hi + eps
        }
    }

    // MARK: Ticks

    /// One labelled mark on an axis.
    public struct Tick: Sendable, Equatable {
        public var value: Double
        public var position: Double
        public var label: String
    }

    /// The axis's ticks, inside the domain.
    ///
    /// - linear: multiples of a 1-2-5 step giving about `target` ticks, labelled with as many
    ///   decimals as the step needs;
    /// - log: every decade (`1e-4`, `0.001`, …), thinned to about `target`; with fewer than two
    ///   decades in view, the 1-2-5 values of each decade;
    /// - categorical: every category, thinned to every k-th when there are more than `target · 3`.
    public func ticks(target: Int = 5) -> [Tick] {
        switch kind {
        case .linear:
            return linearTicks(lo: lo, hi: hi, target: target).map { v in
                Tick(value: v.value, position: position(v.value)!, label: v.label)
            }
        case .log:
            return logTicks(target: target)
        case .categorical(let labels):
            let every = max(1, Int((Double(labels.count) / Double(max(1, target * 3))).rounded(.up)))
            return labels.indices.filter { $0 % every == 0 }.map { i in
                Tick(value: Double(i), position: position(Double(i))!, label: labels[i])
            }
        }
    }

    private func logTicks(target: Int) -> [Tick] {
        let a = log10(lo), b = log10(hi)
        let firstDecade = Int((a - 1e-9).rounded(.up))
        let lastDecade = Int((b + 1e-9).rounded(.down))
        var out: [Tick] = []
        if lastDecade - firstDecade + 1 >= 2 {
            let count = lastDecade - firstDecade + 1
            let every = max(1, Int((Double(count) / Double(max(1, target))).rounded(.up)))
            for k in stride(from: firstDecade, through: lastDecade, by: every) {
                let v = pow(10, Double(k))
                if let p = position(v) { out.append(Tick(value: v, position: p, label: formatTick(v, step: v))) }
            }
            return out
        }
        // Less than two decades: 1, 2, 5 × 10^k inside the domain.
        for k in (Int(a.rounded(.down)) - 1)...(Int(b.rounded(.up)) + 1) {
            for m in [1.0, 2, 5] {
                let v = m * pow(10, Double(k))
                if v >= lo * (1 - 1e-9), v <= hi * (1 + 1e-9), let p = position(v) {
                    out.append(Tick(value: v, position: p, label: formatTick(v, step: pow(10, Double(k)))))
                }
            }
        }
        if out.count >= 2 { return out }
        // A narrow log axis: linear ticks placed on it.
        return linearTicks(lo: lo, hi: hi, target: target).compactMap { v in
            position(v.value).map { Tick(value: v.value, position: $0, label: v.label) }
        }
    }
}

// MARK: - Tick arithmetic

/// The 1-2-5 number (`1, 2, 5 × 10^k`) nearest above `raw`: a step people read easily.
func niceStep(_ raw: Double) -> Double {
    guard raw.isFinite, raw > 0 else { return 1 }
    let exponent = (log10(raw)).rounded(.down)
    let base = pow(10, exponent)
    let fraction = raw / base
    let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
    return nice * base
}

/// Multiples of a 1-2-5 step inside `lo…hi`, about `target` of them, with labels.
func linearTicks(lo: Double, hi: Double, target: Int) -> [(value: Double, label: String)] {
    guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
    let step = niceStep((hi - lo) / Double(max(1, target)))
    let first = (lo / step - 1e-9).rounded(.up)
    let last = (hi / step + 1e-9).rounded(.down)
    guard last >= first, last - first < 1000 else { return [] }
    return stride(from: first, through: last, by: 1).map { k in
        var v = k * step
        if abs(v) < step * 1e-9 { v = 0 }
        return (v, formatTick(v, step: step))
    }
}

/// A tick label: as many decimals as `step` needs (`0.25`, `30`), scientific for very small or
/// large magnitudes (`1e-5`, `2e+06`).
func formatTick(_ v: Double, step: Double) -> String {
    if v == 0 { return "0" }
    let magnitude = abs(v)
    if magnitude >= 1e6 || magnitude < 1e-3 { return scientific(v, digits: 2) }
    let decimals = max(0, Int(-(log10(step)).rounded(.down)))
    return String(format: "%.\(min(decimals, 6))f", v)
}

/// A value for people: 4 significant digits, scientific below 1e-4 and from 1e6, no trailing zeros.
public func formatValue(_ v: Double) -> String {
    guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "∞" : "−∞") }
    if v == 0 { return "0" }
    let magnitude = abs(v)
    if magnitude >= 1e6 || magnitude < 1e-4 { return scientific(v, digits: 4) }
    if v == v.rounded(), magnitude < 1e6 { return String(Int(v)) }
    var s = String(format: "%.4g", v)
    if s.contains("."), !s.contains("e") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

/// `v` as `1.5e-4`: at most `digits` significant digits, no trailing zeros, no exponent padding.
func scientific(_ v: Double, digits: Int) -> String {
    let text = String(format: "%.\(max(0, digits - 1))e", v)
    guard let e = text.firstIndex(of: "e") else { return text }
    var mantissa = String(text[..<e])
    if mantissa.contains(".") {
        while mantissa.hasSuffix("0") { mantissa.removeLast() }
        if mantissa.hasSuffix(".") { mantissa.removeLast() }
    }
    let exponent = Int(text[text.index(after: e)...]) ?? 0
    return "\(mantissa)e\(exponent)"
}

/// A pixel coordinate with one decimal, written fast (SVG of 2,000 runs has ~10⁵ of them).
/// Coordinates far outside any page (an extreme value on a chart's axis) are clamped to ±10⁹ px,
/// so no logged value can overflow the conversion.
func coord(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    let tenths = Int((min(max(x, -1e9), 1e9) * 10).rounded())
    let whole = tenths / 10, frac = abs(tenths % 10)
    if frac == 0 { return String(whole) }
    return (tenths < 0 && whole == 0 ? "-" : "") + String(whole) + "." + String(frac)
}
