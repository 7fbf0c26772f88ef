/// The file formats ncf reads. `auto` detects from content (see `RatingsReader`).
public enum DataFormat: String, Sendable, Codable, CaseIterable {
    case auto
    /// Headerless, tab- or whitespace-separated `user item rating [timestamp]` (MovieLens 100K `u.data`).
    case tsv
    /// Comma-separated, with or without a header row (`userId,movieId,rating[,timestamp]`).
    case csv
    /// `user::item::rating::timestamp` (MovieLens 1M/10M `ratings.dat`).
    case dat
    /// The NCF paper's files: `PREFIX.train.rating[.gz]`, `PREFIX.test.rating`, `PREFIX.test.negative`.
    case ncf
}

/// Lines that `--skip_bad_lines` skipped: how many, and the first few line numbers (1-based).
public struct SkippedLines: Sendable, Equatable {
    public var count: Int = 0
    public var firstLines: [Int] = []
    public var firstReasons: [String] = []
    public init() {}
}

/// One parsed ratings file: interactions with dense ids, the id maps, and what was detected.
public struct RatingsFile: Sendable {
    public var path: String
    /// The format actually used (never `.auto`).
    public var format: DataFormat
    public var interactions: Interactions
    public var userIDs: IDMap
    public var itemIDs: IDMap
    public var skipped: SkippedLines

    public init(path: String, format: DataFormat, interactions: Interactions, userIDs: IDMap,
                itemIDs: IDMap, skipped: SkippedLines = SkippedLines()) {
        self.path = path
        self.format = format
        self.interactions = interactions
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.skipped = skipped
    }
}

/// The NCF paper's leave-one-out files, read with one shared pair of id maps.
public struct NCFPaperFiles: Sendable {
    /// `PREFIX.train.rating[.gz]`, 3 or 4 columns; the id maps cover train, test and negatives.
    public var train: RatingsFile
    /// `PREFIX.test.rating`: one held-out interaction per user (ids in `train`'s maps).
    public var test: Interactions
    /// `PREFIX.test.negative`: for each line of `test`, its negative items as written (may repeat
    /// the test item or an item twice: the split de-duplicates).
    public var testNegatives: [[Int32]]

    public init(train: RatingsFile, test: Interactions, testNegatives: [[Int32]]) {
        self.train = train
        self.test = test
        self.testNegatives = testNegatives
    }
}
