import Foundation

/// Why a dataset could not be split into train, valid and test.
///
/// Every message names the option or file at fault and ends with a hint of what to change.
public enum SplitError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// `validRatio` or `testRatio` is outside `[0, 1)`.
    case invalidRatio(name: String, value: Double)
    /// `validRatio + testRatio` leaves nothing to train on.
    case ratiosLeaveNoTrain(valid: Double, test: Double)
    /// `--eval_negatives` asked for zero or fewer sampled negatives.
    case invalidEvalNegatives(Int)
    /// `--negatives` (loss negatives for valid/test) is negative.
    case invalidLossNegatives(Int)
    /// The ratings file holds no interactions.
    case noInteractions(path: String)
    /// After splitting, train is empty (for example every user has a single interaction and the
    /// test ratio is large).
    case emptyTrain(split: SplitKind, path: String)
    /// `--split ncf` was asked for a single ratings file.
    case ncfSplitNeedsPaperFiles(path: String)
    /// The NCF paper's files were given with a split other than `ncf`.
    case paperFilesNeedNCFSplit(SplitKind, path: String)
    /// `PREFIX.test.negative` does not have one line per line of `PREFIX.test.rating`.
    case ncfNegativesMismatch(path: String, testLines: Int, negativeLines: Int)
    /// The NCF test file holds no interactions.
    case ncfEmptyTest(path: String)

    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case let .invalidRatio(name, value):
            return "\(name) \(value) is outside [0, 1). "
                + "Hint: give a fraction such as 0.1 (10% of the interactions)."
        case let .ratiosLeaveNoTrain(valid, test):
            return "valid ratio \(valid) + test ratio \(test) = \(valid + test) leaves no interactions to train on. "
                + "Hint: keep the sum below 1, e.g. 0.1 and 0.1 for an 80/10/10 split."
        case let .invalidEvalNegatives(n):
            return "--eval_negatives \(n) must be a positive number of sampled negatives. "
                + "Hint: use 99 (the NCF paper's protocol) or `all` for full ranking."
        case let .invalidLossNegatives(n):
            return "--negatives \(n) must be zero or more. "
                + "Hint: 4 negatives per positive is the NCF paper's setting."
        case let .noInteractions(path):
            return "\(path): no interactions to split. "
                + "Hint: check that the file is not empty and that --format matches its content."
        case let .emptyTrain(split, path):
            return "\(path): the \(split.rawValue) split left no training interactions. "
                + "Hint: lower the valid/test ratios, or use a larger file (every user needs at least one "
                + "interaction left for training)."
        case let .ncfSplitNeedsPaperFiles(path):
            return "\(path): --split ncf needs the NCF paper's files (PREFIX.train.rating, PREFIX.test.rating, "
                + "PREFIX.test.negative). Hint: pass the prefix with --format ncf, or use --split loo or "
                + "--split random for a single ratings file."
        case let .paperFilesNeedNCFSplit(kind, path):
            return "\(path): the NCF paper's files are already split, so --split \(kind.rawValue) does not apply. "
                + "Hint: use --split ncf (or leave --split unset) with --format ncf."
        case let .ncfNegativesMismatch(path, testLines, negativeLines):
            return "\(path): the test file has \(testLines) lines but the negatives file has \(negativeLines); "
                + "they must match line for line. Hint: check that PREFIX.test.rating and PREFIX.test.negative "
                + "come from the same split."
        case let .ncfEmptyTest(path):
            return "\(path): the NCF test file holds no interactions. "
                + "Hint: check PREFIX.test.rating (one `user item rating [timestamp]` line per user)."
        }
    }
}
