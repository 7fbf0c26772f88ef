import Foundation

/// Why a ratings file could not be read: each message names the file (and line and byte column
/// where there is one), says what was expected and what was found, and ends with a hint.
///
/// Messages have the form `FILE:LINE:COLUMN: expected …, found …. Hint: …`, so editors and
/// terminals can jump to the spot. `LINE` and `COLUMN` are 1-based; `COLUMN` counts bytes from
/// the start of the line (after a UTF-8 byte-order mark on line 1).
public enum DataError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// No file at `path` (nor at any of the alternative names in `tried`).
    case fileNotFound(path: String, tried: [String])
    /// The file exists but could not be read (a directory, no permission, an I/O error).
    case unreadable(path: String, reason: String)
    /// The file starts with the gzip magic bytes `1f 8b` but does not decompress.
    case corruptGzip(path: String, reason: String)
    /// The file holds no rating lines: it is empty, blank, only a header, or every line was skipped.
    case noRatings(path: String, skippedLines: Int)
    /// One line is malformed; `found` is already phrased (e.g. `"abc"` in quotes, or `5 fields`).
    case malformedLine(file: String, line: Int, column: Int, expected: String, found: String, hint: String)
    /// The header row (at `line`) has no column for `role` (user, item, rating or timestamp).
    case missingColumn(file: String, line: Int, role: String, tried: [String], header: [String], hint: String)
    /// A `--columns` value that is not `user,item,rating[,timestamp]`.
    case invalidColumnSpec(spec: String, reason: String)
    /// The requested format cannot be read by this call (e.g. `.ncf` given to `RatingsReader.read`).
    case unsupportedFormat(path: String, format: DataFormat, hint: String)
    /// Two files that belong together disagree (e.g. test lines vs. negative lists).
    case inconsistentFiles(file: String, message: String, hint: String)

    /// How many header columns a message quotes; the rest are counted.
    static let quotedColumns = 8

    /// `text` cut to 40 characters (with "…"), so a message quotes a bounded part of a file.
    static func quotable(_ text: String) -> String {
        text.count > 40 ? String(text.prefix(40)) + "…" : text
    }

    /// The hint appended to a malformed-line error when skipping is possible.
    public static let skipHint = "fix the line or pass --skip_bad_lines to skip malformed lines."

    /// The message without its trailing hint: `FILE:LINE:COLUMN: expected …, found …`.
    public var summary: String {
        switch self {
        case let .fileNotFound(path, tried):
            let others = tried.filter { $0 != path }
            if others.isEmpty { return "\(path): no such file" }
            return "\(path): no such file (also tried \(others.joined(separator: ", ")))"
        case let .unreadable(path, reason):
            return "\(path): cannot read the file (\(reason))"
        case let .corruptGzip(path, reason):
            return "\(path): starts like a gzip file but does not decompress (\(reason))"
        case let .noRatings(path, skipped):
            if skipped > 0 {
                return "\(path): no ratings left: all \(skipped) data line\(skipped == 1 ? "" : "s") were malformed and skipped"
            }
            return "\(path): no ratings found (the file is empty, blank, or only a header)"
        case let .malformedLine(file, line, column, expected, found, _):
            return "\(file):\(line):\(column): expected \(expected), found \(found)"
        case let .missingColumn(file, line, role, tried, header, _):
            let names = tried.map { "\"\($0)\"" }.joined(separator: " or ")
            let shown = header.prefix(Self.quotedColumns).map { "\"\(Self.quotable($0))\"" }.joined(separator: ", ")
            let have = header.count > Self.quotedColumns ? "\(shown), … (\(header.count) columns)" : shown
            return "\(file):\(line):1: expected a \(role) column named \(names) in the header, found columns \(have)"
        case let .invalidColumnSpec(spec, reason):
            return "--columns \"\(spec)\": \(reason)"
        case let .unsupportedFormat(path, format, _):
            return "\(path): format \(format.rawValue) cannot be read here"
        case let .inconsistentFiles(file, message, _):
            return "\(file): \(message)"
        }
    }

    /// What to do about it (one sentence).
    public var hint: String {
        switch self {
        case .fileNotFound:
            return "check the path: give an existing ratings file (gzipped files are fine)."
        case .unreadable:
            return "check that the path is a regular file you may read."
        case .corruptGzip:
            return "the file is truncated or damaged; download or compress it again."
        case .noRatings(_, let skipped):
            return skipped > 0
                ? "check the --format and --columns options; the first skipped lines show what went wrong."
                : "point --data at a file with lines like `user item rating [timestamp]`."
        case let .malformedLine(_, _, _, _, _, hint), let .missingColumn(_, _, _, _, _, hint),
             let .unsupportedFormat(_, _, hint), let .inconsistentFiles(_, _, hint):
            return hint
        case .invalidColumnSpec:
            return "name the header's columns in the order user,item,rating[,timestamp], e.g. --columns uid,iid,score,ts."
        }
    }

    /// The full message: `summary + ". Hint: " + hint`.
    public var description: String { "\(summary). Hint: \(hint)" }

    public var errorDescription: String? { description }

    /// The file the error is about.
    public var file: String? {
        switch self {
        case let .fileNotFound(path, _), let .unreadable(path, _), let .corruptGzip(path, _),
             let .noRatings(path, _), let .unsupportedFormat(path, _, _):
            return path
        case let .malformedLine(file, _, _, _, _, _), let .missingColumn(file, _, _, _, _, _),
             let .inconsistentFiles(file, _, _):
            return file
        case .invalidColumnSpec:
            return nil
        }
    }

    /// The 1-based line, for errors about one line.
    public var line: Int? {
        switch self {
        case let .malformedLine(_, line, _, _, _, _), let .missingColumn(_, line, _, _, _, _): return line
        default: return nil
        }
    }
}
