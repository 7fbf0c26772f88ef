import NCFKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ncf's own generator of MovieLens-like ratings: the bundled default data set, and test data.
///
/// The model, in order of generation:
/// 1. **Activity.** User `u` rates `n_u = 20 + ⌊E · w_u / Σw⌋` items (then topped up to the exact
///    total), `w_u = exp(σ·z_u)` log-normal with `σ = 1`, `E = ratings − 20·users` the ratings above the
///    minimum; `n_u` is capped at `max(20, 0.6·items)`.
/// 2. **Popularity.** Items get popularity ranks by a seeded permutation; rank `r` is drawn with
///    probability `∝ (r + c)^−1.1` (Zipf-like), `c = max(1, 30·items/1682)` (30 for MovieLens 100K's
///    1,682 items, where the top 10% of items then hold about 42% of the ratings, as there). Each user draws distinct items by popularity
///    (a rejected repeat is redrawn; after 64 repeats in a row the next unrated item by rank is taken).
/// 3. **Ratings.** `r̂ = μ + b_u + b_i + p_u·q_i + ε` with `μ = 3.5`, `b_u ~ N(0, 0.6²)`,
///    `b_i ~ N(0, 0.4²) + 0.5·(½ − rank/items)` (popular items rate higher), `p_u, q_i ~ N(0, 0.46²)^8`
///    (so `p·q` has a standard deviation of about 0.6), `ε ~ N(0, 0.8²)`; rounded and clipped to 1...5.
/// 4. **Time.** Each user starts at a uniform time in Sep 1997 – Apr 1998 (the range of MovieLens
///    100K) and rates in sessions: 80% of gaps are 0–89 s (ties happen), the rest exponential with a
///    3-day mean; a user's times are non-decreasing in generation order and squeezed into the range.
///
/// Rows are grouped by user (`0..<users`), each user's rows in time order. The same arguments always
/// give the same interactions.
public enum SyntheticRatings {
    /// The bundled default set's parameters: 943 users, 1,682 items, 100,000 ratings, seed 42 (the
    /// shape of MovieLens 100K).
    public static let defaultShape: (users: Int, items: Int, ratings: Int, seed: UInt64) =
        (users: 943, items: 1682, ratings: 100_000, seed: 42)

    /// Every user rates at least this many items (as in MovieLens).
    public static let minRatingsPerUser = 20

    /// About `ratings` interactions among `users` × `items`, with unique (user, item) pairs and at
    /// least 20 ratings per user.
    ///
    /// The count is exactly `min(max(ratings, 20·users), users·cap)`, `cap = max(20, ⌊0.6·items⌋)`.
    /// Ids are dense: users `0..<users`, items `0..<items` (not every item need occur).
    /// - Precondition: `users > 0`, `items >= 20`, `ratings >= 0`.
    /// - Complexity: O(ratings + items) expected.
    public static func generate(users: Int, items: Int, ratings: Int, seed: UInt64) -> Interactions {
        precondition(users > 0, "SyntheticRatings: users must be positive")
        precondition(items >= minRatingsPerUser, "SyntheticRatings: need at least 20 items")
        precondition(ratings >= 0, "SyntheticRatings: ratings must be >= 0")
        var rng = SplitMix64(seed: seed)

        // MARK: Activity
        let cap = max(minRatingsPerUser, items * 6 / 10)
        let total = min(max(ratings, minRatingsPerUser * users), users * cap)
        let weights = (0..<users).map { _ in exp(rng.nextGaussian()) }
        let weightSum = weights.reduce(0, +)
        let extra = Double(total - minRatingsPerUser * users)
        var counts = weights.map { min(cap, minRatingsPerUser + Int(extra * $0 / weightSum)) }
        var left = total - counts.reduce(0, +)
        let byWeight = (0..<users).sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
        while left > 0 {
            for u in byWeight where left > 0 && counts[u] < cap {
                counts[u] += 1
                left -= 1
            }
        }

        // MARK: Popularity
        var itemOfRank = Array(0..<items)
        rng.shuffle(&itemOfRank)
        var cumulative = [Double](repeating: 0, count: items)
        var acc = 0.0
        let offset = max(1, 30 * Double(items) / 1682)
        for r in 0..<items {
            acc += pow(Double(r) + offset, -1.1)
            cumulative[r] = acc
        }
        var rankOfItem = [Int](repeating: 0, count: items)
        for (r, i) in itemOfRank.enumerated() { rankOfItem[i] = r }

        // MARK: Latent factors
        let factors = 8
        let factorScale = 0.46
        let userBias = (0..<users).map { _ in 0.6 * rng.nextGaussian() }
        let userFactors = (0..<(users * factors)).map { _ in factorScale * rng.nextGaussian() }
        let itemBias = (0..<items).map { i in
            0.4 * rng.nextGaussian() + 0.5 * (0.5 - Double(rankOfItem[i]) / Double(items))
        }
        let itemFactors = (0..<(items * factors)).map { _ in factorScale * rng.nextGaussian() }

        // MARK: Interactions
        let start: Int64 = 874_724_710, end: Int64 = 893_286_638
        var out = Interactions()
        out.users.reserveCapacity(total)
        out.items.reserveCapacity(total)
        out.ratings.reserveCapacity(total)
        out.timestamps.reserveCapacity(total)
        var taken = [Int](repeating: -1, count: items)
        var offsets: [Double] = []
        for u in 0..<users {
            // Items, by popularity, distinct.
            var row: [Int] = []
            row.reserveCapacity(counts[u])
            while row.count < counts[u] {
                var rank = 0, misses = 0
                repeat {
                    rank = searchCumulative(cumulative, rng.nextDouble() * acc)
                    misses += 1
                } while taken[itemOfRank[rank]] == u && misses < 64
                while taken[itemOfRank[rank]] == u { rank = (rank + 1) % items }
                taken[itemOfRank[rank]] = u
                row.append(itemOfRank[rank])
            }
            // Times: sessions of short gaps separated by long ones, squeezed into [start, end].
            offsets.removeAll(keepingCapacity: true)
            var t = 0.0
            for k in 0..<row.count {
                if k > 0 {
                    t += rng.nextDouble() < 0.8
                        ? Double(rng.nextInt(below: 90))
                        : -259_200 * log(1 - rng.nextDouble())
                }
                offsets.append(t)
            }
            let room = Double(end - start)
            let first = Double(start) + rng.nextDouble() * max(0, room - min(t, room))
            let squeeze = t > room ? room / t : 1
            // Ratings.
            for (k, i) in row.enumerated() {
                var dot = 0.0
                for f in 0..<factors { dot += userFactors[u * factors + f] * itemFactors[i * factors + f] }
                let value = 3.5 + userBias[u] + itemBias[i] + dot + 0.8 * rng.nextGaussian()
                let rating = Float(min(5, max(1, value.rounded())))
                let time = Int64(first + offsets[k] * squeeze)
                out.append(user: Int32(u), item: Int32(i), rating: rating, timestamp: min(end, time))
            }
        }
        return out
    }

    /// Tab-separated `user\titem\trating\ttimestamp\n` lines (MovieLens 100K's `u.data` layout), ids
    /// 1-based, integral ratings without a decimal point; three columns when there are no timestamps.
    /// The same interactions always give the same bytes.
    /// - Complexity: O(count).
    public static func tsv(_ interactions: Interactions) -> String {
        var text = ""
        text.reserveCapacity(interactions.count * 24)
        for k in 0..<interactions.count {
            text += String(Int(interactions.users[k]) + 1)
            text += "\t"
            text += String(Int(interactions.items[k]) + 1)
            text += "\t"
            let r = interactions.ratings[k]
            text += r == r.rounded() && abs(r) < 1e9 ? String(Int(r)) : String(r)
            if interactions.hasTimestamps {
                text += "\t"
                text += String(interactions.timestamps[k])
            }
            text += "\n"
        }
        return text
    }

    /// The first rank whose cumulative weight exceeds `x` (binary search).
    private static func searchCumulative(_ cumulative: [Double], _ x: Double) -> Int {
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
