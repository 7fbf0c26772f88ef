// Reading ratings files: the public entry points.
//
// Formats (see `DataFormat`): headerless whitespace/tab `u.data`, `::`-separated `ratings.dat`,
// CSV with or without a header, and the NCF paper's three files. Any file may be gzipped; it is
// recognised by its magic bytes. Ratings files are read a few MiB at a time (LineScanner.swift) and
// parsed as bytes (RatingsReader+Parse.swift); raw ids are interned as strings into `IDMap`s.

// MARK: - Options

/// Which header columns hold the user, item, rating and (optionally) timestamp: `--columns`.
///
/// Names match header cells case-insensitively. Without a `ColumnSpec`, the reader accepts the
/// common names (see `RatingsReader.commonNames`).
public struct ColumnSpec: Sendable, Equatable {
    public var user: String
    public var item: String
    public var rating: String
    /// When nil, a timestamp column is still picked up if the header has a common timestamp name.
    public var timestamp: String?

    public init(user: String, item: String, rating: String, timestamp: String? = nil) {
        self.user = user
        self.item = item
        self.rating = rating
        self.timestamp = timestamp
    }

    /// Parses `"user,item,rating[,timestamp]"`, e.g. `"uid,iid,score,ts"`.
    ///
    /// - Throws: `DataError.invalidColumnSpec` unless there are 3 or 4 non-empty, distinct names.
    public init(parsing spec: String) throws(DataError) {
        let names = spec.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingBlanks() }
        guard names.count == 3 || names.count == 4 else {
            throw .invalidColumnSpec(
                spec: spec, reason: "expected 3 or 4 comma-separated column names, found \(names.count)")
        }
        if let empty = names.firstIndex(where: { $0.isEmpty }) {
            throw .invalidColumnSpec(spec: spec, reason: "column name \(empty + 1) is empty")
        }
        let lowered = names.map { $0.lowercased() }
        if Set(lowered).count != lowered.count {
            throw .invalidColumnSpec(spec: spec, reason: "a column name appears twice")
        }
        self.init(user: names[0], item: names[1], rating: names[2], timestamp: names.count == 4 ? names[3] : nil)
    }
}

/// How to read a ratings file: `--format`, `--columns`, `--skip_bad_lines`.
public struct LoadOptions: Sendable {
    /// `.auto` detects the format from the file's content (see `RatingsReader.detectFormat`).
    public var format: DataFormat = .auto
    /// Header column names; needs a file with a header row. Nil accepts the common names.
    public var columns: ColumnSpec? = nil
    /// Skip malformed lines (recorded in `RatingsFile.skipped`) instead of throwing.
    public var skipBadLines = false

    public init(format: DataFormat = .auto, columns: ColumnSpec? = nil, skipBadLines: Bool = false) {
        self.format = format
        self.columns = columns
        self.skipBadLines = skipBadLines
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingBlanks() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}

// MARK: - Reader

/// Reads ratings files into `RatingsFile` / `NCFPaperFiles`.
///
/// Accepted input, in every format: CRLF or LF line endings, a UTF-8 byte-order mark, a missing
/// final newline, blank lines anywhere, gzip compression (detected by content). Ratings must be
/// finite numbers, timestamps integers; ids are any non-empty token (kept as written, so `007`
/// and `7` are different ids). A malformed line throws `DataError.malformedLine` with its
/// `FILE:LINE:COLUMN`, unless `LoadOptions.skipBadLines` is set.
public enum RatingsReader {
    /// The longest line the reader scans, in bytes (1 MiB).
    public static let maximumLineLength = 1 << 20

    /// The most ratings one file may hold: 2³¹ − 1, as rows and ids are indexed with 32-bit
    /// integers (`Int32` ids, `UInt32` row numbers in the split). More is refused, naming the line.
    public static let maximumRows = Int(Int32.max)

    /// Header names accepted without a `ColumnSpec` (compared lowercased).
    public static let commonNames: (user: [String], item: [String], rating: [String], timestamp: [String]) = (
        user: ["user", "userid", "user_id"],
        item: ["item", "itemid", "movieid", "item_id", "movie_id"],
        rating: ["rating", "score"],
        timestamp: ["timestamp", "time", "ts"]
    )

    /// Reads one ratings file (`.tsv`, `.csv` or `.dat`; `.auto` detects which).
    ///
    /// - Throws: `DataError` for a missing, unreadable, corrupt or empty file, a malformed line,
    ///   a header without the needed columns, or when the format is `.ncf` (use `readNCF`).
    /// - Complexity: O(file size); one pass over the bytes, amortised O(1) per id.
    public static func read(path: String, options: LoadOptions = LoadOptions()) throws(DataError) -> RatingsFile {
        if options.format == .ncf || (options.format == .auto && ncfPrefixExists(path)) {
            throw .unsupportedFormat(
                path: path, format: .ncf,
                hint: "the NCF paper's files (PREFIX.train.rating, PREFIX.test.rating, PREFIX.test.negative) "
                    + "are read together with RatingsReader.readNCF(prefix:); pass --format ncf with the prefix.")
        }
        let format = options.format == .auto ? try detectFormat(path: path) : options.format
        var users = IDInterner(), items = IDInterner()
        var skipped = SkippedLines()
        let interactions = try parseRatings(
            try ByteSource(path: path), format: format, columns: options.columns, allowHeader: format != .dat,
            skipBadLines: options.skipBadLines, users: &users, items: &items, skipped: &skipped)
        return RatingsFile(path: path, format: format, interactions: interactions,
                           userIDs: users.map, itemIDs: items.map, skipped: skipped)
    }

    /// Reads the NCF paper's leave-one-out files with one shared pair of id maps.
    ///
    /// Reads `PREFIX.train.rating` (3 or 4 tab columns), `PREFIX.test.rating` (4 or 3 columns) and
    /// `PREFIX.test.negative` (`(user,item)` then tab-separated item ids); each may instead be
    /// named with `.gz` appended. Ids are interned in that order, so ids only seen in the test
    /// or negative files get indices after the training ones. Negative lists are kept as written
    /// (duplicates and the test item itself included). `prefix` may also be given as the train
    /// file's name. `options.format` and `options.columns` are ignored; skipped lines of all
    /// three files are collected in `train.skipped` (their reasons name the file).
    ///
    /// - Throws: `DataError` as `read`, and `.inconsistentFiles` / `.malformedLine` when the
    ///   negative lists do not match the test lines one for one, in order.
    /// - Complexity: O(total file size).
    public static func readNCF(prefix: String, options: LoadOptions = LoadOptions()) throws(DataError) -> NCFPaperFiles {
        var prefix = prefix
        for suffix in [".train.rating.gz", ".train.rating"] where prefix.hasSuffix(suffix) {
            prefix.removeLast(suffix.count)
            break
        }
        let trainPath = try resolveNCFFile(prefix + ".train.rating")
        let testPath = try resolveNCFFile(prefix + ".test.rating")
        let negativePath = try resolveNCFFile(prefix + ".test.negative")

        var users = IDInterner(), items = IDInterner()
        var skipped = SkippedLines()
        let train = try parseRatings(
            try ByteSource(path: trainPath), format: .tsv, columns: nil, allowHeader: false,
            skipBadLines: options.skipBadLines, users: &users, items: &items, skipped: &skipped)
        var testLines = [Int32]()
        var test = try parseRatings(
            try ByteSource(path: testPath), format: .tsv, columns: nil, allowHeader: false,
            skipBadLines: options.skipBadLines, users: &users, items: &items, skipped: &skipped,
            lineNumbers: &testLines)
        let negatives = try parseNegatives(
            try loadFile(path: negativePath), path: negativePath, skipBadLines: options.skipBadLines,
            users: &users, items: &items, skipped: &skipped)
        let lists = try pairNegatives(
            negatives, with: &test, testLines: testLines, testPath: testPath, negativePath: negativePath,
            skipBadLines: options.skipBadLines, users: users.map, items: items.map, skipped: &skipped)

        let trainFile = RatingsFile(path: trainPath, format: .ncf, interactions: train,
                                    userIDs: users.map, itemIDs: items.map, skipped: skipped)
        return NCFPaperFiles(train: trainFile, test: test, testNegatives: lists)
    }

    /// The format of the file at `path`, from its content (decompressing a gzip file's start).
    ///
    /// Rules, on the first non-blank line: contains `::` → `.dat`; contains a comma → `.csv`;
    /// otherwise `.tsv`. `.ncf` is returned only when `path` itself does not exist but
    /// `path.train.rating` (or `.gz`) does.
    ///
    /// - Throws: `DataError` when the file is missing, unreadable, corrupt or has no non-blank line.
    /// - Complexity: reads at most the first 64 KiB (decompressed).
    public static func detectFormat(path: String) throws(DataError) -> DataFormat {
        if ncfPrefixExists(path) { return .ncf }
        let bytes = try loadFile(path: path, limit: 1 << 16)
        return try detectFormat(bytes: bytes, path: path)
    }
}
