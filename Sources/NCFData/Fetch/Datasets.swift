// The public data sets `ncf data fetch` knows: where each archive lives, its SHA-256, and which
// file inside holds the ratings.
//
// Checksums: GroupLens publishes only MD5 sums beside the archives (ml-100k.zip.md5 …). The SHA-256
// values below are the ones recorded for the same URLs and byte sizes by several independent
// projects (among them a widely used data-set library's checksum table), not computed on this
// project's machines. If GroupLens ever replaces an archive in place, the check fails with both
// hashes printed; pass `--sha256` with the new one once you have confirmed it.

/// One downloadable data set: a zip archive and the ratings file inside it.
public struct KnownDataset: Sendable, Equatable {
    /// The name given on the command line, e.g. `movielens-100k`.
    public let name: String
    /// Other accepted spellings (the archive's own stem, e.g. `ml-100k`).
    public let aliases: [String]
    /// The archive's canonical address.
    public let url: String
    /// The archive's SHA-256, 64 lowercase hexadecimal digits.
    public let sha256: String
    /// The archive's size in bytes, for messages (not checked: the hash is).
    public let byteCount: Int
    /// The ratings file's path inside the archive (and under the extraction directory).
    public let ratingsPath: String
    /// How to read the ratings file (`--format`); `.auto` would detect the same.
    public let format: DataFormat
    /// One line for listings: what the set holds.
    public let summary: String

    public init(name: String, aliases: [String] = [], url: String, sha256: String, byteCount: Int,
                ratingsPath: String, format: DataFormat, summary: String) {
        self.name = name
        self.aliases = aliases
        self.url = url
        self.sha256 = sha256
        self.byteCount = byteCount
        self.ratingsPath = ratingsPath
        self.format = format
        self.summary = summary
    }

    /// MovieLens 100K: `ml-100k/u.data`, tab-separated `user item rating timestamp`.
    public static let movielens100k = KnownDataset(
        name: "movielens-100k", aliases: ["ml-100k"],
        url: "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        sha256: "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        byteCount: 4_924_029,
        ratingsPath: "ml-100k/u.data", format: .tsv,
        summary: "100,000 ratings 1–5, 943 users, 1,682 movies (TSV)")

    /// MovieLens 1M: `ml-1m/ratings.dat`, `user::item::rating::timestamp`.
    public static let movielens1m = KnownDataset(
        name: "movielens-1m", aliases: ["ml-1m"],
        url: "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        sha256: "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        byteCount: 5_917_549,
        ratingsPath: "ml-1m/ratings.dat", format: .dat,
        summary: "1,000,209 ratings 1–5, 6,040 users, 3,706 movies (::)")

    /// MovieLens latest-small: `ml-latest-small/ratings.csv`, CSV with header
    /// `userId,movieId,rating,timestamp`, half-star ratings.
    public static let movielensLatestSmall = KnownDataset(
        name: "movielens-latest-small", aliases: ["ml-latest-small"],
        url: "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
        sha256: "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        byteCount: 978_202,
        ratingsPath: "ml-latest-small/ratings.csv", format: .csv,
        summary: "100,836 ratings 0.5–5, 610 users, 9,724 movies (CSV)")

    /// Every known data set, in the order listings show them.
    public static let all: [KnownDataset] = [movielens100k, movielens1m, movielensLatestSmall]

    /// The data set called `name` (or one of its aliases), ignoring case.
    /// - Throws: `FetchError.unknownDataset` listing the known names.
    public static func named(_ name: String) throws(FetchError) -> KnownDataset {
        let key = name.lowercased()
        if let found = all.first(where: { $0.name == key || $0.aliases.contains(key) }) { return found }
        throw .unknownDataset(name: name, known: all.map(\.name))
    }
}
