/// What `ncf data info` prints about a ratings file: sizes, density, rating values, time span.
///
/// `users` and `items` are the sizes of the file's id maps (for the NCF paper's files these also
/// cover ids seen only in the test or negative files).
public struct RatingsSummary: Sendable, Equatable {
    /// How many ratings have one rating value.
    public struct RatingCount: Sendable, Equatable {
        public var value: Float
        public var count: Int

        public init(value: Float, count: Int) {
            self.value = value
            self.count = count
        }
    }

    /// Minimum, median and maximum of a count distribution.
    public struct Spread: Sendable, Equatable {
        public var min: Int
        public var median: Int
        public var max: Int

        public init(min: Int, median: Int, max: Int) {
            self.min = min
            self.median = median
            self.max = max
        }
    }

    public var path: String
    public var format: DataFormat
    public var users: Int
    public var items: Int
    public var ratings: Int
    /// `ratings / (users × items)`; 0 when there are no users or items.
    public var density: Double
    /// Every distinct rating value with its count, sorted by value.
    public var histogram: [RatingCount]
    public var meanRating: Double
    /// Ratings per user (users with none count as 0).
    public var perUser: Spread
    /// Ratings per item (items with none count as 0).
    public var perItem: Spread
    /// Nil when the file has no timestamp column.
    public var minTimestamp: Int64?
    public var maxTimestamp: Int64?
    public var skipped: SkippedLines

    /// Summarises `file`.
    /// - Complexity: O(n log n) in the number of ratings (sorting the distinct values and counts).
    public init(file: RatingsFile) {
        let data = file.interactions
        path = file.path
        format = file.format
        users = file.userIDs.count
        items = file.itemIDs.count
        ratings = data.count
        density = users > 0 && items > 0 ? Double(ratings) / (Double(users) * Double(items)) : 0

        // Rating files hold a handful of distinct values: count them in a short list (the last one
        // found is tried first), and only past 64 values in a dictionary.
        var values: [Float] = [], tallies: [Int] = []
        var counts = [Float: Int]()
        var last = 0
        var sum = 0.0
        for r in data.ratings {
            sum += Double(r)
            if last < values.count, values[last].bitPattern == r.bitPattern { tallies[last] += 1; continue }
            if let k = values.firstIndex(where: { $0.bitPattern == r.bitPattern }) {
                tallies[k] += 1
                last = k
            } else if values.count < 64 {
                values.append(r)
                tallies.append(1)
                last = values.count - 1
            } else {
                counts[r, default: 0] += 1
            }
        }
        for (value, tally) in zip(values, tallies) { counts[value, default: 0] += tally }
        histogram = counts.map { RatingCount(value: $0.key, count: $0.value) }.sorted { $0.value < $1.value }
        meanRating = ratings > 0 ? sum / Double(ratings) : 0

        perUser = Self.spread(data.users, size: users)
        perItem = Self.spread(data.items, size: items)
        minTimestamp = data.timestamps.min()
        maxTimestamp = data.timestamps.max()
        skipped = file.skipped
    }

    private static func spread(_ ids: [Int32], size: Int) -> Spread {
        guard size > 0 else { return Spread(min: 0, median: 0, max: 0) }
        var counts = [Int](repeating: 0, count: size)
        for id in ids { counts[Int(id)] += 1 }
        counts.sort()
        return Spread(min: counts[0], median: counts[(size - 1) / 2], max: counts[size - 1])
    }

    // MARK: - Text

    /// A multi-line, human-readable report (what `ncf data info` prints).
    public var text: String {
        var lines = [String]()
        func row(_ label: String, _ value: String) {
            lines.append("  " + label.padding(18) + value)
        }
        lines.append(path)
        row("format", format.rawValue)
        row("ratings", Self.grouped(ratings))
        row("users", Self.grouped(users))
        row("items", Self.grouped(items))
        row("density", "\(Self.percent(density)) of \(Self.grouped(users)) × \(Self.grouped(items))")
        row("ratings per user", "min \(perUser.min), median \(perUser.median), max \(perUser.max)")
        row("ratings per item", "min \(perItem.min), median \(perItem.median), max \(perItem.max)")
        row("mean rating", Self.fixed(meanRating, 3))
        if histogram.count <= 20 {
            row("rating values", histogram.isEmpty ? "none" : "")
            let width = histogram.map { Self.grouped($0.count).count }.max() ?? 0
            for bucket in histogram {
                let share = ratings > 0 ? Double(bucket.count) / Double(ratings) : 0
                lines.append("    " + Self.value(bucket.value).padding(8)
                             + String(repeating: " ", count: width - Self.grouped(bucket.count).count)
                             + Self.grouped(bucket.count) + "  " + Self.percent(share))
            }
        } else {
            row("rating values", "\(histogram.count) distinct, from \(Self.value(histogram.first!.value)) "
                + "to \(Self.value(histogram.last!.value))")
        }
        if let lo = minTimestamp, let hi = maxTimestamp {
            row("timestamps", "\(lo) … \(hi) (\(Self.date(lo)) … \(Self.date(hi)) UTC, as Unix seconds)")
        } else {
            row("timestamps", "none")
        }
        if skipped.count == 0 {
            row("skipped lines", "none")
        } else {
            let shown = skipped.firstLines.map(String.init).joined(separator: ", ")
            let more = skipped.count > skipped.firstLines.count ? ", …" : ""
            row("skipped lines", "\(Self.grouped(skipped.count)) (lines \(shown)\(more))")
            for reason in skipped.firstReasons { lines.append("    " + reason) }
        }
        return lines.joined(separator: "\n")
    }

    /// `1234567` → `1,234,567`.
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `x` with exactly `places` decimals (round half away from zero).
    static func fixed(_ x: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else { return "\(x)" }
        let whole = Int(scaled) / Int(scale), frac = Int(scaled) % Int(scale)
        var fracText = String(frac)
        fracText = String(repeating: "0", count: places - fracText.count) + fracText
        return (x < 0 && scaled > 0 ? "-" : "") + "\(whole)" + (places > 0 ? "." + fracText : "")
    }

    /// A share as a percentage with two significant decimals: `6.30%`, `0.0042%`.
    static func percent(_ share: Double) -> String {
        let p = share * 100
        if p == 0 { return "0%" }
        if p >= 1 { return fixed(p, 2) + "%" }
        var places = 2
        var probe = p
        while probe < 1 && places < 8 { probe *= 10; places += 1 }
        return fixed(p, places - 1) + "%"
    }

    /// A rating value as written: `4`, `3.5`.
    static func value(_ v: Float) -> String {
        v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : "\(v)"
    }

    /// Unix seconds → `YYYY-MM-DD` (proleptic Gregorian, UTC).
    static func date(_ seconds: Int64) -> String {
        // Days since 1970-01-01 → civil date (H. Hinnant's algorithm).
        let days = Int64((Double(seconds) / 86400).rounded(.down))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ x: Int64) -> String { x < 10 ? "0\(x)" : "\(x)" }
        return "\(y)-\(two(m))-\(two(d))"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
