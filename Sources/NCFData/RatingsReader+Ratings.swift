// Parsing `user item rating [timestamp]` lines (tsv, csv, dat) into `Interactions`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which field holds what, fixed by the header or by the first data line.
struct ColumnLayout {
    var fieldCount: Int
    var user: Int
    var item: Int
    var rating: Int
    var timestamp: Int?
    /// The header's line number, or nil for a headerless file.
    var headerLine: Int?
    /// The line whose field count fixed a headerless layout.
    var firstDataLine: Int
    /// Lowercased names that mark a repeated header line (for a better hint).
    var ratingNames: [String]
}

extension ColumnSpec: CustomStringConvertible {
    /// The spec as written for `--columns`: `user,item,rating[,timestamp]`.
    public var description: String {
        ([user, item, rating] + (timestamp.map { [$0] } ?? [])).joined(separator: ",")
    }
}

extension RatingsReader {
    // MARK: - Ratings lines

    /// Parses a whole ratings file, a piece at a time (see `LineScanner`).
    ///
    /// The first non-blank line is a header when `allowHeader` and either `columns` is given or
    /// its rating field (the third) is not a number; otherwise it fixes the field count (3, or 4
    /// with a timestamp) that every later line must have.
    /// - Complexity: O(file size) time; memory: the parsed arrays and a buffer of a few MiB.
    static func parseRatings(
        _ source: ByteSource, format: DataFormat, columns: ColumnSpec?, allowHeader: Bool,
        skipBadLines: Bool, users: inout IDInterner, items: inout IDInterner, skipped: inout SkippedLines,
        maximumRows: Int = RatingsReader.maximumRows
    ) throws(DataError) -> Interactions {
        var unused = [Int32]()
        return try parseRatings(
            source, format: format, columns: columns, allowHeader: allowHeader,
            skipBadLines: skipBadLines, users: &users, items: &items, skipped: &skipped,
            lineNumbers: &unused, recordLines: false, maximumRows: maximumRows)
    }

    /// As above, also appending each kept interaction's 1-based line number to `lineNumbers`.
    static func parseRatings(
        _ source: ByteSource, format: DataFormat, columns: ColumnSpec?, allowHeader: Bool,
        skipBadLines: Bool, users: inout IDInterner, items: inout IDInterner, skipped: inout SkippedLines,
        lineNumbers: inout [Int32], recordLines: Bool = true, maximumRows: Int = RatingsReader.maximumRows
    ) throws(DataError) -> Interactions {
        precondition(format == .tsv || format == .csv || format == .dat, "parseRatings: not a line format")
        let path = source.path
        if let columns, !allowHeader {
            throw .invalidColumnSpec(
                spec: columns.description,
                reason: "\(path) is read without a header row (format \(format.rawValue)), so there are no column names to match")
        }
        var userIndex = [Int32](), itemIndex = [Int32](), ratings = [Float](), timestamps = [Int64]()
        // About 16 bytes a line or more; reserved capacity that is never written costs no memory.
        let estimate = min((source.isGzip ? 4 : 1) * source.fileSize / 16, maximumRows)
        userIndex.reserveCapacity(estimate)
        itemIndex.reserveCapacity(estimate)
        ratings.reserveCapacity(estimate)
        let skippedBefore = skipped.count

        var scanner = LineScanner(source: source)
        defer { scanner.close() }
        let p = UnsafePointer(scanner.base)
        var layout: ColumnLayout?
        var sawContent = false
        var fields = [Field]()
        fields.reserveCapacity(16)

        while let line = try scanner.next() {
            let lineNumber = scanner.lineNumber
            let lineStart: Int, lineEnd: Int
            switch line {
            case let .tooLong(length):
                let error = DataError.malformedLine(
                    file: path, line: lineNumber, column: maximumLineLength + 1,
                    expected: "a line of at most \(maximumLineLength) bytes",
                    found: length.map { "a line of \($0) bytes" } ?? "a line longer than that",
                    hint: "check that this is a ratings file with one rating per line; "
                        + "pass --skip_bad_lines to skip overlong lines.")
                guard skipBadLines else { throw error }
                skipped.record(line: lineNumber, reason: error.summary)
                continue
            case let .text(start, end):
                lineStart = start
                lineEnd = end
            }

            splitFields(p, lineStart, lineEnd, format: format, into: &fields)
            if fields.isEmpty { continue }

            var tentative = false
            let isFirstLine = !sawContent
            sawContent = true
            if layout == nil {
                // The first non-blank line may be a header; else the first good data line
                // fixes the field count.
                if isFirstLine && allowHeader && (columns != nil || looksLikeHeader(p, fields)) {
                    layout = try headerLayout(p, fields, line: lineNumber, path: path, columns: columns)
                    continue
                }
                guard fields.count == 3 || fields.count == 4 else {
                    let error = DataError.malformedLine(
                        file: path, line: lineNumber,
                        column: fieldCountColumn(fields, expected: 4, lineStart, lineEnd),
                        expected: "3 or 4 fields (user, item, rating[, timestamp])",
                        found: plural(fields.count, "field"), hint: DataError.skipHint)
                    if skipBadLines { skipped.record(line: lineNumber, reason: error.summary); continue }
                    throw error
                }
                layout = ColumnLayout(
                    fieldCount: fields.count, user: 0, item: 1, rating: 2,
                    timestamp: fields.count == 4 ? 3 : nil, headerLine: nil,
                    firstDataLine: lineNumber, ratingNames: commonNames.rating)
                tentative = true
            }
            let current = layout!

            var rating: Float = 0
            var timestamp: Int64 = 0
            if let problem = checkLine(p, fields, current, rating: &rating, timestamp: &timestamp) {
                let error = describe(problem, p, fields, current, line: lineNumber, lineStart: lineStart,
                                     lineEnd: lineEnd, path: path)
                guard skipBadLines else { throw error }
                skipped.record(line: lineNumber, reason: error.summary)
                // A skipped first data line does not get to fix the field count.
                if tentative { layout = nil }
                continue
            }
            if userIndex.count >= maximumRows {
                throw .malformedLine(
                    file: path, line: lineNumber, column: 1,
                    expected: "at most \(SplitText.count(maximumRows)) ratings in one file",
                    found: "rating number \(SplitText.count(maximumRows + 1))",
                    hint: "ncf indexes ratings with 32-bit integers; split the file, or sample it "
                        + "(e.g. `shuf -n \(maximumRows)`), before training on it.")
            }
            let u = fields[current.user], i = fields[current.item]
            userIndex.append(u.escaped ? users.intern(text(p, u)) : users.intern(p, u.start, u.end))
            itemIndex.append(i.escaped ? items.intern(text(p, i)) : items.intern(p, i.start, i.end))
            ratings.append(rating)
            if current.timestamp != nil {
                if timestamps.isEmpty { timestamps.reserveCapacity(estimate) }
                timestamps.append(timestamp)
            }
            if recordLines { lineNumbers.append(Int32(truncatingIfNeeded: lineNumber)) }
        }
        if userIndex.isEmpty {
            throw .noRatings(path: path, skippedLines: skipped.count - skippedBefore)
        }
        return Interactions(users: userIndex, items: itemIndex, ratings: ratings, timestamps: timestamps)
    }

    /// What is wrong with a data line (the hot path only classifies; `describe` phrases it).
    enum LineProblem {
        case fieldCount, emptyUser, emptyItem, rating, timestamp
    }

    /// Checks one data line and parses its rating and timestamp; nil when the line is good.
    ///
    /// Ids are interned by the caller once the whole line is known to be good, so a skipped
    /// line adds no ids.
    @inline(__always)
    private static func checkLine(
        _ p: UnsafePointer<UInt8>, _ fields: [Field], _ layout: ColumnLayout,
        rating: inout Float, timestamp: inout Int64
    ) -> LineProblem? {
        if fields.count != layout.fieldCount { return .fieldCount }
        let user = fields[layout.user], item = fields[layout.item]
        if user.start == user.end { return .emptyUser }
        if item.start == item.end { return .emptyItem }
        let ratingField = fields[layout.rating]
        guard case let .value(v) = parseNumber(p, ratingField.start, ratingField.end), Float(v).isFinite else {
            return .rating
        }
        rating = Float(v)
        if let t = layout.timestamp {
            let field = fields[t]
            guard let value = parseInteger(p, field.start, field.end) else { return .timestamp }
            timestamp = value
        }
        return nil
    }

    /// The error for a line `checkLine` rejected: FILE:LINE:COLUMN, expected, found, hint.
    private static func describe(
        _ problem: LineProblem, _ p: UnsafePointer<UInt8>, _ fields: [Field], _ layout: ColumnLayout,
        line: Int, lineStart: Int, lineEnd: Int, path: String
    ) -> DataError {
        func error(_ field: Field?, column: Int? = nil, expected: String, found: String,
                   hint: String = DataError.skipHint) -> DataError {
            let col = column ?? (field!.column - lineStart + 1)
            return .malformedLine(file: path, line: line, column: col, expected: expected, found: found, hint: hint)
        }
        switch problem {
        case .fieldCount:
            let expected: String
            if let header = layout.headerLine {
                expected = "\(plural(layout.fieldCount, "field")) as in the header on line \(header)"
            } else {
                let names = layout.fieldCount == 4 ? "user, item, rating, timestamp" : "user, item, rating"
                expected = "\(plural(layout.fieldCount, "field")) (\(names)) as on line \(layout.firstDataLine)"
            }
            return error(nil, column: fieldCountColumn(fields, expected: layout.fieldCount, lineStart, lineEnd),
                         expected: expected, found: plural(fields.count, "field"))
        case .emptyUser:
            return error(fields[layout.user], expected: "a user id", found: "an empty field")
        case .emptyItem:
            return error(fields[layout.item], expected: "an item id", found: "an empty field")
        case .rating:
            let field = fields[layout.rating]
            if case .invalid = parseNumber(p, field.start, field.end) {
                if layout.ratingNames.contains(text(p, field).lowercased()) {
                    let place = layout.headerLine.map { "the header is on line \($0)" } ?? "this file has no header"
                    return error(field, expected: "a number for the rating", found: found(p, field),
                                 hint: "this line looks like a header row, but \(place); a header may only be "
                                     + "the first line. Remove the line or pass --skip_bad_lines to skip it.")
                }
                return error(field, expected: "a number for the rating", found: found(p, field))
            }
            return error(field, expected: "a finite number for the rating", found: found(p, field))
        case .timestamp:
            let field = fields[layout.timestamp!]
            return error(field, expected: "an integer timestamp", found: found(p, field))
        }
    }

    /// Where a field-count error points: the first extra field, or just past the line's end.
    private static func fieldCountColumn(_ fields: [Field], expected: Int, _ lineStart: Int, _ lineEnd: Int) -> Int {
        if fields.count > expected { return fields[expected].column - lineStart + 1 }
        return lineEnd - lineStart + 1
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    // MARK: - Header

    /// A first line is a header when its rating field (the third) is not a number, unless its
    /// user and item fields are numbers and no field is a common column name (then it is a data
    /// line with a bad rating, and the error should say so); with fewer than three fields, when
    /// any field is not a number.
    private static func looksLikeHeader(_ p: UnsafePointer<UInt8>, _ fields: [Field]) -> Bool {
        if fields.count >= 3 {
            if isNumeric(p, fields[2]) { return false }
            let names = Set(commonNames.user + commonNames.item + commonNames.rating + commonNames.timestamp)
            let dataLike = isNumeric(p, fields[0]) && isNumeric(p, fields[1])
                && !fields.contains { names.contains(text(p, $0).lowercased()) }
            return !dataLike
        }
        return fields.contains { !isNumeric(p, $0) }
    }

    /// The layout named by a header row, matched case-insensitively against `columns` or the
    /// common names.
    private static func headerLayout(
        _ p: UnsafePointer<UInt8>, _ fields: [Field], line: Int, path: String, columns: ColumnSpec?
    ) throws(DataError) -> ColumnLayout {
        let header = fields.map { text(p, $0) }
        let lowered = header.map { $0.lowercased() }
        let looksLikeData = !looksLikeHeader(p, fields)

        func find(_ role: String, _ names: [String], required: Bool) throws(DataError) -> Int? {
            let wanted = names.map { $0.lowercased() }
            for name in wanted { if let k = lowered.firstIndex(of: name) { return k } }
            guard required else { return nil }
            let hint: String
            if looksLikeData {
                hint = "line \(line) looks like data, not a header; --columns needs a header row naming the "
                    + "columns. Drop --columns to read a headerless file."
            } else if header.contains(where: { $0.contains("|") }) {
                // MovieLens's u.item and u.user: `|`-separated lists of items or users.
                hint = "its fields hold `|`, as in an item or user list (MovieLens's u.item, u.user), not ratings; "
                    + "ncf reads tab-, comma- and `::`-separated ratings (MovieLens: u.data, ratings.csv, ratings.dat)."
            } else if lowered.contains(where: { commonNames.item.contains($0) }),
                      !lowered.contains(where: { commonNames.user.contains($0) || commonNames.rating.contains($0) }) {
                // movies.csv, links.csv: items, with neither users nor ratings.
                hint = "no column is named like a rating, so this may be an item or user list rather than ratings "
                    + "(MovieLens: u.data, ratings.csv, ratings.dat); if it is ratings, name its columns in order with "
                    + "--columns user,item,rating[,timestamp]."
            } else if header.count >= 3 {
                hint = "name the header's columns with --columns user,item,rating[,timestamp], e.g. --columns "
                    + header.prefix(4).map { DataError.quotable($0) }.joined(separator: ",") + "."
            } else {
                hint = "the file needs user, item and rating columns; check the separator (--format)."
            }
            throw .missingColumn(file: path, line: line, role: role, tried: names, header: header, hint: hint)
        }

        let user, item, rating: Int?
        var timestamp: Int?
        if let columns {
            user = try find("user", [columns.user], required: true)
            item = try find("item", [columns.item], required: true)
            rating = try find("rating", [columns.rating], required: true)
            if let ts = columns.timestamp { timestamp = try find("timestamp", [ts], required: true) }
            else { timestamp = try find("timestamp", commonNames.timestamp, required: false) }
        } else {
            user = try find("user", commonNames.user, required: true)
            item = try find("item", commonNames.item, required: true)
            rating = try find("rating", commonNames.rating, required: true)
            timestamp = try find("timestamp", commonNames.timestamp, required: false)
        }
        let ratingNames = commonNames.rating + [lowered[rating!]]
        return ColumnLayout(fieldCount: fields.count, user: user!, item: item!, rating: rating!,
                            timestamp: timestamp, headerLine: line, firstDataLine: line + 1,
                            ratingNames: ratingNames)
    }
}
