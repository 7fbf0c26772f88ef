import Foundation
import NCFRunContract

// `early_terminate`: hyperband's keys and their rules.

extension ConfigReader {
    mutating func readEarlyTerminate(_ e: ConfigEntry) {
        let path = "early_terminate"
        guard let entries = mapping(e.value, key: path, example: "`early_terminate: {type: hyperband, min_iter: 3}`") else { return }
        let keys = known(entries, allowed: ["type", "min_iter", "max_iter", "s", "eta", "strict"], path: path,
                         context: "in early_terminate")
        var ok = keys.count == entries.count
        if let t = keys["type"] {
            if let s = string(t.value, key: path + ".type") {
                if s != "hyperband" {
                    let guess = Spelling.suggestion(for: s, in: ["hyperband"]) != nil ? "did you mean `hyperband`? " : ""
                    error("unknown early_terminate type `\(s)`", line: t.line, key: path + ".type",
                          hint: guess + "only `type: hyperband` is supported")
                    ok = false
                }
            } else { ok = false }
        } else {
            error("'type' is a required property", line: e.line, key: path + ".type", hint: "add `type: hyperband`")
            ok = false
        }
        var result = SweepConfig.Hyperband()
        if let m = keys["min_iter"] {
            if let n = integer(m.value, key: path + ".min_iter") {
                if n >= 1 { result.minIter = n } else {
                    error("`min_iter` must be at least 1, found \(n)", line: m.line, key: path + ".min_iter",
                          hint: "give the number of logged values at the first band, e.g. 3")
                    ok = false
                }
            } else { ok = false }
        }
        if let m = keys["max_iter"] {
            if let n = integer(m.value, key: path + ".max_iter") { result.maxIter = n } else { ok = false }
        }
        if let sEntry = keys["s"] {
            if let v = number(sEntry.value, key: path + ".s") {
                if v.value == v.value.rounded() { result.s = v.value } else {
                    error("`s` must be a whole number, how many bands below max_iter, found \(sEntry.value.text)",
                          line: sEntry.line, key: path + ".s", hint: "give a whole number such as 2")
                    ok = false
                }
            } else { ok = false }
        }
        if let eta = keys["eta"] {
            if let v = number(eta.value, key: path + ".eta") {
                if v.value > 1 { result.eta = v.value } else {
                    error("`eta` must be greater than 1, found \(eta.value.text)", line: eta.line, key: path + ".eta",
                          hint: "about the top 1/eta of runs pass each band; 3 is the default")
                    ok = false
                }
            } else { ok = false }
        }
        if let strict = keys["strict"] {
            if let b = boolean(strict.value, key: path + ".strict") { result.strict = b } else { ok = false }
        }
        let hasMin = keys["min_iter"] != nil, hasMax = keys["max_iter"] != nil, hasS = keys["s"] != nil
        if hasMax && !hasS {
            error("`max_iter` needs `s`", line: keys["max_iter"]!.line, key: path + ".max_iter",
                  hint: hasMin ? "give `s`, how many bands below max_iter, or remove max_iter to use min_iter"
                               : "give `s`, how many bands below max_iter, or use `min_iter` instead")
            ok = false
        } else if !hasMin && !hasMax {
            error("early_terminate needs `min_iter`, or `max_iter` with `s`", line: e.line, key: path,
                  hint: "e.g. `min_iter: 3`: bands at 3, 9, 27, … logged values with eta 3")
            ok = false
        }
        if hasMax && hasS && hasMin {
            warn("`min_iter` is ignored when `max_iter` and `s` are given (the bands come from max_iter)",
                 line: keys["min_iter"]!.line, key: path + ".min_iter", hint: "remove min_iter, or max_iter and s")
            result.minIter = nil
        } else if hasS && !hasMax {
            warn("`s` is only used with `max_iter` and is ignored", line: keys["s"]!.line, key: path + ".s", hint: "remove s")
            result.s = nil
        }
        if ok { hyperband = result }
    }

    /// Hyperband's bands (counts of logged values) for the `max_iter` form: max_iter divided by eta
    /// up to s times, floored, kept while ≥ 1, ascending.
    static func maxIterBands(maxIter: Int, s: Double, eta: Double) -> [Int] {
        var band = Double(maxIter)
        var bands: [Int] = []
        var i = 0.0
        while i < s {
            band /= eta
            if band < 1 { break }
            bands.append(Int(band))
            i += 1
        }
        return bands.sorted()
    }
}
