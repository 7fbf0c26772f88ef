import Foundation
import NCFData

// MARK: - Training data, split as the reference trainers split it

/// The training rows of one task and the flags that make the reference trainers read the same rows.
///
/// The references (`ncf_data.py`) hold out each user's latest interaction (by timestamp, ties by
/// file position) and train on everything else. ncf's own `--split loo` also takes the
/// second-latest interaction for validation, which would leave one row fewer per user; the bench
/// therefore splits here, by the references' rule, and hands ncf a `Dataset` whose train part is
/// exactly those rows (an all-train `random` split with ratios 0/0: no shuffle of the rows' order
/// matters, because every epoch is shuffled by the sampler).
struct Workload {
    /// "ML-100K u.data", "synthetic ML-1M shape".
    let title: String
    /// Where the rows came from, for the report.
    let source: String
    /// Train = every interaction except each user's latest.
    let dataset: Dataset
    /// Interactions in the file before the split.
    let totalInteractions: Int
    /// Interactions held out (one per user with at least two).
    let heldOut: Int
    /// `--data PATH` or `--preset NAME` for the reference trainers.
    let referenceDataArgs: [String]
    /// Seconds to read or generate the rows and build the dataset.
    let buildSeconds: Double
    /// Anything a reader of the figures should know about these rows.
    let notes: [String]

    var trainCount: Int { dataset.train.count }

    /// Explicit ratings from `path`, or, when it does not exist, ncf's synthetic set of the
    /// MovieLens 100K shape written to `scratchDirectory` (and given to the references, unless
    /// `referencePresets`, in which case they generate their own set of the same shape).
    /// - Complexity: O(file size).
    static func explicit(path: String, scratchDirectory: URL, seed: UInt64, referencePresets: Bool) throws -> Workload {
        let start = monotonicSeconds()
        if FileManager.default.fileExists(atPath: path) {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            return try load(path: absolute, title: "ratings file", task: .rating, seed: seed,
                            referenceDataArgs: ["--data", absolute], notes: [], start: start)
        }
        let shape = SyntheticRatings.defaultShape
        return try synthetic(
            users: shape.users, items: shape.items, ratings: shape.ratings, seed: shape.seed, task: .rating,
            preset: "ml100k", title: "synthetic ML-100K shape", scratchDirectory: scratchDirectory,
            referencePresets: referencePresets, start: start,
            note: "\(path) not found: explicit rows use ncf's synthetic MovieLens 100K-shaped set "
                + "(943 users, 1,682 items, 100,000 ratings, seed \(shape.seed)) instead",
            presetNote: "references generate their own ml100k preset (same shape, different rows)")
    }

    /// Implicit feedback from `path` when given, else ncf's synthetic set of the MovieLens 1M shape
    /// (6,040 users, 3,706 items, 1,000,209 interactions), written to `scratchDirectory` and given
    /// to the references so all trainers see the same rows (or, with `referencePresets`, the
    /// references' own `--preset ml1m`, same shape).
    /// - Complexity: O(interactions).
    static func implicit(path: String?, scratchDirectory: URL, seed: UInt64, referencePresets: Bool) throws -> Workload {
        let start = monotonicSeconds()
        if let path {
            guard FileManager.default.fileExists(atPath: path) else {
                throw BenchError.data(path, "--implicit_data file not found. Hint: give an existing ratings file, or drop the flag to use synthetic ML-1M-shaped data.")
            }
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            return try load(path: absolute, title: "ratings file (as implicit feedback)", task: .implicit, seed: seed,
                            referenceDataArgs: ["--data", absolute], notes: [], start: start)
        }
        return try synthetic(
            users: 6040, items: 3706, ratings: 1_000_209, seed: 42, task: .implicit,
            preset: "ml1m", title: "synthetic ML-1M shape", scratchDirectory: scratchDirectory,
            referencePresets: referencePresets, start: start,
            note: "implicit rows: ncf's synthetic MovieLens 1M-shaped set (6,040 users, 3,706 items, "
                + "1,000,209 interactions, seed 42), every interaction a positive",
            presetNote: "references generate their own ml1m preset (same shape and counts, different rows)")
    }

    /// ncf's synthetic rows written to `scratchDirectory/synthetic-PRESET.tsv`; the references read
    /// the same file, or with `referencePresets` generate their own `--preset` of the same shape.
    private static func synthetic(
        users: Int, items: Int, ratings: Int, seed: UInt64, task: Task, preset: String, title: String,
        scratchDirectory: URL, referencePresets: Bool, start: Double, note: String, presetNote: String
    ) throws -> Workload {
        let file = try writeSynthetic(users: users, items: items, ratings: ratings, seed: seed,
                                      to: scratchDirectory.appendingPathComponent("synthetic-\(preset).tsv"))
        let refArgs = referencePresets ? ["--preset", preset] : ["--data", file.path]
        let readNote = referencePresets ? presetNote : "the references read the same synthetic rows from \(file.path)"
        return try load(path: file.path, title: title, task: task, seed: seed,
                        referenceDataArgs: refArgs, notes: [note, readNote], start: start)
    }

    // MARK: - Building

    private static func load(
        path: String, title: String, task: Task, seed: UInt64, referenceDataArgs: [String], notes: [String],
        start: Double
    ) throws -> Workload {
        let file = try RatingsReader.read(path: path)
        let (trainRows, heldOut) = leaveLatestOut(file.interactions, numUsers: file.userIDs.count)
        let trainFile = RatingsFile(path: file.path, format: file.format, interactions: file.interactions.subset(trainRows),
                                    userIDs: file.userIDs, itemIDs: file.itemIDs)
        // Everything goes to train: no valid/test parts, one cheap evaluation negative.
        let options = SplitOptions(kind: .random, task: task, validRatio: 0, testRatio: 0, seed: seed,
                                   evalNegatives: .sampled(1), lossNegatives: 0)
        let dataset = try DatasetBuilder.make(from: trainFile, options: options)
        return Workload(title: title, source: path, dataset: dataset, totalInteractions: file.interactions.count,
                        heldOut: heldOut, referenceDataArgs: referenceDataArgs,
                        buildSeconds: monotonicSeconds() - start, notes: notes)
    }

    /// Generates `SyntheticRatings` and writes them as a tab-separated `u.data`-style file.
    private static func writeSynthetic(users: Int, items: Int, ratings: Int, seed: UInt64, to url: URL) throws -> URL {
        let rows = SyntheticRatings.generate(users: users, items: items, ratings: ratings, seed: seed)
        do {
            try SyntheticRatings.tsv(rows).write(to: url, atomically: true, encoding: .utf8)
        } catch {
            throw BenchError.data(url.path, "cannot write the synthetic data set (\(error.localizedDescription)). Hint: check that the temporary directory is writable (TMPDIR).")
        }
        return url
    }

    /// The references' leave-one-out rule: per user, the latest interaction (largest timestamp;
    /// among equal timestamps, or without timestamps, the last in the file) is held out; users with
    /// a single interaction keep it in train.
    /// - Returns: the train rows in file order and the number held out.
    /// - Complexity: O(n + numUsers).
    static func leaveLatestOut(_ data: Interactions, numUsers: Int) -> (train: [Int], heldOut: Int) {
        var latest = [Int](repeating: -1, count: numUsers)
        var count = [Int](repeating: 0, count: numUsers)
        let hasTime = data.hasTimestamps
        for k in 0..<data.count {
            let u = Int(data.users[k])
            count[u] += 1
            let l = latest[u]
            // Rows come in file order, so a tie in time goes to the later row.
            if l < 0 || !hasTime || data.timestamps[k] >= data.timestamps[l] { latest[u] = k }
        }
        var held = [Bool](repeating: false, count: data.count)
        var heldOut = 0
        for u in 0..<numUsers where count[u] >= 2 {
            held[latest[u]] = true
            heldOut += 1
        }
        var train: [Int] = []
        train.reserveCapacity(data.count - heldOut)
        for k in 0..<data.count where !held[k] { train.append(k) }
        return (train, heldOut)
    }
}
