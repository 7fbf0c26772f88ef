import Foundation

/// Spelling helpers for "did you mean" hints: metric names here, config keys and flags in the sweep engine.
public enum Spelling {
    /// Optimal-string-alignment edit distance (insert, delete, substitute, swap neighbours),
    /// ignoring case and treating `-` as `_`.
    ///
    /// - Complexity: O(|a|·|b|).
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().replacingOccurrences(of: "-", with: "_"))
        let y = Array(b.lowercased().replacingOccurrences(of: "-", with: "_"))
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }

    /// The candidate nearest to `word` (first on ties), whatever the distance. An abbreviation
    /// comes first: `word` is the candidate's prefix or the initials of its `_`-separated parts
    /// (`bs` for `batch_size`), or the candidate is the initials of `word` (`lr` for `learning_rate`).
    public static func nearest(_ word: String, in candidates: [String]) -> String? {
        func initials(_ s: String) -> String {
            String(s.split(whereSeparator: { $0 == "_" || $0 == "-" }).compactMap(\.first))
        }
        func score(_ candidate: String) -> Double {
            let w = word.lowercased(), c = candidate.lowercased()
            if w.count >= 2, c.hasPrefix(w) || initials(c) == w { return 0.5 }
            if c.count >= 2, initials(w) == c { return 0.5 }
            return Double(distance(word, candidate))
        }
        return candidates.min { score($0) < score($1) }
    }

    /// A plausible intended word: a known synonym, else the nearest candidate within
    /// max(2, |word|/3) edits.
    public static func suggestion(for word: String, in candidates: [String], synonyms: [String: String] = [:]) -> String? {
        if let s = synonyms[word.lowercased()], candidates.contains(s) { return s }
        guard let best = nearest(word, in: candidates) else { return nil }
        return distance(word, best) <= max(2, word.count / 3) ? best : nil
    }
}
