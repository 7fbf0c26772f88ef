// The NCF paper's `PREFIX.test.negative`: `(user,item)` then tab-separated negative item ids,
// one line per line of `PREFIX.test.rating`, in the same order.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One parsed line of a `.test.negative` file.
struct NegativeLine {
    var user: Int32
    var item: Int32
    var line: Int
    /// 1-based byte column of the `(`.
    var column: Int
    var negatives: [Int32]
}

extension RatingsReader {
    // MARK: - Negative lists

    /// Parses `(user,item)\tneg\tneg…` lines, interning every id (negatives into `items`).
    /// - Complexity: O(bytes.count).
    static func parseNegatives(
        _ bytes: [UInt8], path: String, skipBadLines: Bool,
        users: inout IDInterner, items: inout IDInterner, skipped: inout SkippedLines
    ) throws(DataError) -> [NegativeLine] {
        var result = [NegativeLine]()
        let skippedBefore = skipped.count
        try bytes.withUnsafeBufferPointer { (buffer) throws(DataError) in
            guard let p = buffer.baseAddress else { return }
            let n = buffer.count
            var pos = hasBOM(bytes) ? 3 : 0
            var lineNumber = 0
            var fields = [Field]()
            while pos < n {
                lineNumber += 1
                let lineStart = pos
                var lineEnd = n
                if let hit = memchr(p + pos, 0x0A, n - pos) {
                    lineEnd = p.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                }
                pos = lineEnd + 1
                if lineEnd > lineStart && p[lineEnd - 1] == 0x0D { lineEnd -= 1 }

                var i = lineStart
                while i < lineEnd && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
                if i == lineEnd { continue }

                // "(user,item)", blanks allowed inside.
                let open = i
                var close = open
                var comma = -1
                if p[open] == UInt8(ascii: "(") {
                    close = open + 1
                    while close < lineEnd && p[close] != UInt8(ascii: ")") {
                        if p[close] == UInt8(ascii: ",") && comma < 0 { comma = close }
                        close += 1
                    }
                }
                let userField = trimmedRange(p, open + 1, comma)
                let itemField = trimmedRange(p, comma + 1, close)
                guard p[open] == UInt8(ascii: "("), close < lineEnd, comma > open,
                      userField.start < userField.end, itemField.start < itemField.end else {
                    var end = open
                    while end < lineEnd && p[end] != 0x20 && p[end] != 0x09 { end += 1 }
                    let error = DataError.malformedLine(
                        file: path, line: lineNumber, column: open - lineStart + 1,
                        expected: "\"(user,item)\" as the first field",
                        found: found(p, Field(column: open, start: open, end: end, escaped: false)),
                        hint: DataError.skipHint)
                    if skipBadLines { skipped.record(line: lineNumber, reason: error.summary); continue }
                    throw error
                }
                splitFields(p, close + 1, lineEnd, format: .tsv, into: &fields)
                let user = users.intern(p, userField.start, userField.end)
                let item = items.intern(p, itemField.start, itemField.end)
                var negatives = [Int32]()
                negatives.reserveCapacity(fields.count)
                for f in fields { negatives.append(items.intern(p, f.start, f.end)) }
                result.append(NegativeLine(user: user, item: item, line: lineNumber,
                                           column: open - lineStart + 1, negatives: negatives))
            }
        }
        if result.isEmpty { throw .noRatings(path: path, skippedLines: skipped.count - skippedBefore) }
        return result
    }

    private static func trimmedRange(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (start: Int, end: Int) {
        guard start <= end else { return (0, 0) }
        var s = start, e = end
        while s < e && (p[s] == 0x20 || p[s] == 0x09) { s += 1 }
        while e > s && (p[e - 1] == 0x20 || p[e - 1] == 0x09) { e -= 1 }
        return (s, e)
    }

    /// Matches negative lists to test lines, one for one and in order.
    ///
    /// Strict: any mismatch throws. With `skipBadLines`: a negative line whose `(user,item)`
    /// matches no remaining test line is skipped, and test lines left without a list are dropped
    /// from `test` (both recorded in `skipped`).
    static func pairNegatives(
        _ negatives: [NegativeLine], with test: inout Interactions, testLines: [Int32],
        testPath: String, negativePath: String, skipBadLines: Bool,
        users: IDMap, items: IDMap, skipped: inout SkippedLines
    ) throws(DataError) -> [[Int32]] {
        func pair(_ u: Int32, _ i: Int32) -> String { "(\(users.raw(u)),\(items.raw(i)))" }
        let orderHint = "the negative lists must follow \(testPath) line for line; regenerate the files "
            + "or pass --skip_bad_lines to drop lines that do not match."

        if !skipBadLines {
            for (k, neg) in negatives.enumerated() where k < test.count {
                if neg.user != test.users[k] || neg.item != test.items[k] {
                    throw .malformedLine(
                        file: negativePath, line: neg.line, column: neg.column,
                        expected: "\(pair(test.users[k], test.items[k])) to match line \(testLines[k]) of \(testPath)",
                        found: "\"\(pair(neg.user, neg.item))\"", hint: orderHint)
                }
            }
            if negatives.count != test.count {
                throw .inconsistentFiles(
                    file: negativePath,
                    message: "expected \(test.count) negative lists, one per line of \(testPath), found \(negatives.count)",
                    hint: orderHint)
            }
            return negatives.map(\.negatives)
        }

        // Tolerant merge: test indices by (user, item), to find the next matching test line.
        var byPair = [Int64: [Int]]()
        for k in 0..<test.count {
            byPair[Int64(test.users[k]) << 32 | Int64(UInt32(bitPattern: test.items[k])), default: []].append(k)
        }
        var keep = [Int]()
        var lists = [[Int32]]()
        var next = 0
        func drop(upTo end: Int) {
            while next < end {
                skipped.record(line: Int(testLines[next]),
                               reason: "\(testPath):\(testLines[next]):1: no negative list in \(negativePath); dropped")
                next += 1
            }
        }
        for neg in negatives {
            let key = Int64(neg.user) << 32 | Int64(UInt32(bitPattern: neg.item))
            guard let match = byPair[key]?.first(where: { $0 >= next }) else {
                skipped.record(line: neg.line, reason: "\(negativePath):\(neg.line):\(neg.column): expected a "
                               + "(user,item) of \(testPath), found \"\(pair(neg.user, neg.item))\"")
                continue
            }
            drop(upTo: match)
            keep.append(match)
            lists.append(neg.negatives)
            next = match + 1
        }
        drop(upTo: test.count)
        if keep.count != test.count { test = test.subset(keep) }
        if test.isEmpty { throw .noRatings(path: testPath, skippedLines: skipped.count) }
        return lists
    }
}
