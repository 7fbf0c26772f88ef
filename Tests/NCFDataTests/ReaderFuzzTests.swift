import Foundation
import NCFKernels
import XCTest
@testable import NCFData

/// Seeded random mutations of real and fixture ratings files (bit flips, byte inserts and
/// deletes, duplicated, swapped and cut lines, swapped separators, truncation): the readers never
/// crash, trap or hang, every error names its file (and line and column for a bad line), and every
/// file they accept is consistent.
///
/// Iterations per corpus: `NCF_FUZZ_ITERATIONS` (default 1000; five corpora, so 5,000 reads in
/// all, about 6 s of CPU in a debug build). Same seed, same mutations: a failure message gives the
/// corpus and iteration, and the mutated bytes are kept in the failure for reproduction.
final class ReaderFuzzTests: XCTestCase {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["NCF_FUZZ_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 1000
    }

    // MARK: - Corpora

    /// The first 200 lines of the bundled `Data/ratings.tsv` (headerless `user item rating time`).
    private func bundledLines() throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Data/ratings.tsv").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw XCTSkip("the bundled \(path) is missing")
        }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).prefix(200)
        return Array(lines.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")]
    }

    static let csv = """
        userId,movieId,rating,timestamp
        1,31,2.5,1260759144
        1,1029,3.0,1260759179
        "2","10","4.0",835355493
        2,"a ""quoted"" id",5.0,835355681
        3,60,3.0,1298861675
        4,10,4.0,949810582
        \u{00FC}ser,\u{6620}\u{753B},4.5,949810688

        5,3,3.5,1163374957
        """

    static let dat = """
        1::1193::5::978300760
        1::661::3::978302109
        2::1357::5::978298709
        3::2355::4::978297921
        4::3468::5::978294008
        5::1::4::978824268
        """

    static let ncfTrain = "0\t0\t1\t978300760\n0\t1\t1\t978300761\n1\t2\t1\t978300762\n1\t0\t1\t978300763\n2\t3\t1\t978300764\n"
    static let ncfTest = "0\t4\t1\t978301000\n1\t5\t1\t978301001\n2\t0\t1\t978301002\n"
    static let ncfNegative = "(0,4)\t2\t3\t5\n(1,5)\t1\t3\t4\n(2,0)\t1\t2\t4\n"

    // MARK: - Mutations

    /// Bytes the mutations insert: separators, quotes, line ends, a BOM's bytes, number parts, NUL.
    private static let interesting: [UInt8] = Array("\t\n\r,: \"'-+.e9x(){}".utf8) + [0, 0xEF, 0xBB, 0xBF, 0xFF, 0xC3]

    /// Applies 1–4 random mutations to `bytes`.
    static func mutate(_ input: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.nextInt(below: 4)) {
            let n = bytes.count
            switch rng.nextInt(below: 9) {
            case 0 where n > 0: // flip one bit
                bytes[rng.nextInt(below: n)] ^= UInt8(1) << UInt8(rng.nextInt(below: 8))
            case 1: // insert an interesting or random byte
                let b = rng.nextInt(below: 3) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : interesting[rng.nextInt(below: interesting.count)]
                bytes.insert(b, at: rng.nextInt(below: n + 1))
            case 2 where n > 0: // delete a run of bytes
                let at = rng.nextInt(below: n)
                bytes.removeSubrange(at..<min(n, at + 1 + rng.nextInt(below: 4)))
            case 3: // duplicate a line
                var lines = split(bytes)
                let k = rng.nextInt(below: lines.count)
                lines.insert(lines[k], at: rng.nextInt(below: lines.count + 1))
                bytes = join(lines)
            case 4: // cut a line short
                var lines = split(bytes)
                let k = rng.nextInt(below: lines.count)
                lines[k] = Array(lines[k].prefix(rng.nextInt(below: lines[k].count + 1)))
                bytes = join(lines)
            case 5: // swap two lines
                var lines = split(bytes)
                lines.swapAt(rng.nextInt(below: lines.count), rng.nextInt(below: lines.count))
                bytes = join(lines)
            case 6 where n > 0: // replace a separator with another
                let separators: [[UInt8]] = [[9], [32], [44], [58, 58], [59], [13, 10], [32, 9, 32]]
                if let at = bytes.indices.shuffledFirst(where: { [9, 32, 44, 58].contains(bytes[$0]) }, rng: &rng) {
                    bytes.replaceSubrange(at...at, with: separators[rng.nextInt(below: separators.count)])
                }
            case 7 where n > 0: // truncate the file
                bytes.removeSubrange(rng.nextInt(below: n)...)
            default: // put a BOM or a CRLF somewhere
                let insert: [UInt8] = rng.nextInt(below: 2) == 0 ? [0xEF, 0xBB, 0xBF] : [13, 10]
                bytes.insert(contentsOf: insert, at: rng.nextInt(below: n + 1))
            }
        }
        return bytes
    }

    private static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
    }

    private static func join(_ lines: [[UInt8]]) -> [UInt8] { Array(lines.joined(separator: [UInt8(ascii: "\n")])) }

    // MARK: - Checks

    /// What the fuzzing saw, for the closing note.
    private struct Tally {
        var reads = 0
        var accepted = 0
        var errors: [String: Int] = [:]

        var summary: String {
            "\(reads) reads, \(accepted) accepted, rejected: "
                + errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    /// Checks a `DataError` names `path` (with `path:LINE:COLUMN` for a line), and counts it.
    private func check(_ error: Error, path: String, context: @autoclosure () -> String, tally: inout Tally) {
        guard let error = error as? DataError else {
            return XCTFail("\(context()): not a DataError: \(type(of: error)) \(error)")
        }
        let text = error.description
        tally.errors[kindName(error), default: 0] += 1
        XCTAssertTrue(text.contains(path), "\(context()): the message does not name the file: \(text)")
        XCTAssertTrue(text.contains(". Hint: "), "\(context()): no hint: \(text)")
        if let line = error.line {
            XCTAssertNotNil(text.range(of: "\(path):\(line):[0-9]+: ", options: .regularExpression),
                            "\(context()): no FILE:LINE:COLUMN: \(text)")
        }
        if case .malformedLine(_, let line, let column, _, _, _) = error {
            XCTAssertGreaterThan(line, 0, context())
            XCTAssertGreaterThan(column, 0, context())
        }
    }

    private func kindName(_ error: DataError) -> String {
        switch error {
        case .fileNotFound: return "fileNotFound"
        case .unreadable: return "unreadable"
        case .corruptGzip: return "corruptGzip"
        case .noRatings: return "noRatings"
        case .malformedLine: return "malformedLine"
        case .missingColumn: return "missingColumn"
        case .invalidColumnSpec: return "invalidColumnSpec"
        case .unsupportedFormat: return "unsupportedFormat"
        case .inconsistentFiles: return "inconsistentFiles"
        }
    }

    /// An accepted file's arrays agree with each other and with its id maps.
    private func checkAccepted(_ file: RatingsFile, context: @autoclosure () -> String) {
        let x = file.interactions
        XCTAssertGreaterThan(x.count, 0, context())
        XCTAssertEqual(x.users.count, x.items.count, context())
        XCTAssertEqual(x.users.count, x.ratings.count, context())
        XCTAssertTrue(x.timestamps.isEmpty || x.timestamps.count == x.count, context())
        XCTAssertTrue(x.users.allSatisfy { $0 >= 0 && Int($0) < file.userIDs.count }, context())
        XCTAssertTrue(x.items.allSatisfy { $0 >= 0 && Int($0) < file.itemIDs.count }, context())
        XCTAssertTrue(x.ratings.allSatisfy(\.isFinite), context())
        XCTAssertFalse(file.userIDs.rawIDs.contains("") || file.itemIDs.rawIDs.contains(""), "\(context()): an empty id")
    }

    /// Reads `iterations` mutations of `seed` with each of `options`, checking every outcome.
    private func fuzz(_ name: String, _ seedBytes: [UInt8], stream: UInt64, options: [LoadOptions]) throws -> Tally {
        let dir = try ReaderFixtureDirectory()
        var rng = SplitMix64(seed: 0xF0_22, stream: stream)
        var tally = Tally()
        let path = dir.path(name)
        for iteration in 0..<Self.iterations {
            let bytes = Self.mutate(seedBytes, rng: &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let option = options[iteration % options.count]
            let context = "\(name) iteration \(iteration) (format \(option.format.rawValue), skip \(option.skipBadLines)): "
                + String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
            tally.reads += 1
            do {
                let file = try RatingsReader.read(path: path, options: option)
                tally.accepted += 1
                checkAccepted(file, context: context)
            } catch {
                check(error, path: path, context: context, tally: &tally)
            }
        }
        return tally
    }

    // MARK: - Tests

    func testMutatedBundledRatingsNeverCrashAndErrorsHaveLocations() throws {
        let tally = try fuzz("ratings.tsv", bundledLines(), stream: 1,
                             options: [LoadOptions(), LoadOptions(skipBadLines: true), LoadOptions(format: .tsv)])
        XCTAssertGreaterThan(tally.accepted, 0, "some mutations still read: \(tally.summary)")
        print("ReaderFuzzTests ratings.tsv: \(tally.summary)")
    }

    func testMutatedCSVNeverCrashesAndErrorsHaveLocations() throws {
        let columns = try ColumnSpec(parsing: "userId,movieId,rating,timestamp")
        let tally = try fuzz("ratings.csv", Array(Self.csv.utf8), stream: 2,
                             options: [LoadOptions(), LoadOptions(skipBadLines: true), LoadOptions(format: .csv, columns: columns)])
        print("ReaderFuzzTests ratings.csv: \(tally.summary)")
    }

    func testMutatedDatNeverCrashesAndErrorsHaveLocations() throws {
        let tally = try fuzz("ratings.dat", Array(Self.dat.utf8), stream: 3,
                             options: [LoadOptions(), LoadOptions(format: .dat, skipBadLines: true)])
        print("ReaderFuzzTests ratings.dat: \(tally.summary)")
    }

    /// The NCF paper's three files, one of them mutated per iteration.
    func testMutatedNCFFilesNeverCrashAndErrorsHaveLocations() throws {
        let dir = try ReaderFixtureDirectory()
        var rng = SplitMix64(seed: 0xF0_22, stream: 4)
        var tally = Tally()
        let originals = [("f.train.rating", Self.ncfTrain), ("f.test.rating", Self.ncfTest), ("f.test.negative", Self.ncfNegative)]
        for iteration in 0..<Self.iterations {
            let target = iteration % 3
            var mutated = ""
            for (k, (name, text)) in originals.enumerated() {
                var bytes = Array(text.utf8)
                if k == target {
                    bytes = Self.mutate(bytes, rng: &rng)
                    mutated = String(decoding: bytes, as: UTF8.self).debugDescription
                }
                try Data(bytes).write(to: URL(fileURLWithPath: dir.path(name)))
            }
            let options = LoadOptions(skipBadLines: iteration % 2 == 1)
            tally.reads += 1
            do {
                let files = try RatingsReader.readNCF(prefix: dir.path("f"), options: options)
                tally.accepted += 1
                checkAccepted(files.train, context: "ncf iteration \(iteration)")
                XCTAssertEqual(files.test.count, files.testNegatives.count, "ncf iteration \(iteration)")
                let items = files.train.itemIDs.count
                XCTAssertTrue(files.testNegatives.allSatisfy { $0.allSatisfy { $0 >= 0 && Int($0) < items } }, "ncf iteration \(iteration)")
            } catch {
                let path = dir.path(originals[target].0)
                let named = error.file ?? ""
                // An error about the test lines may name the test file while the negatives were mutated.
                check(error, path: named.isEmpty ? path : named, context: "ncf iteration \(iteration) (\(originals[target].0)): \(mutated)",
                      tally: &tally)
                XCTAssertTrue(originals.contains { named == dir.path($0.0) }, "ncf iteration \(iteration): names \(named)")
            }
        }
        print("ReaderFuzzTests ncf: \(tally.summary)")
    }

    /// Mutations of a gzipped file: corrupt and truncated streams are refused with the file's name.
    func testMutatedGzipNeverCrashes() throws {
        let dir = try ReaderFixtureDirectory()
        let gz = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.writeGzip("seed.gz", Self.dat))))
        let tally = try fuzz("ratings.gz", gz, stream: 5, options: [LoadOptions()])
        print("ReaderFuzzTests gzip: \(tally.summary)")
    }
}

extension Range where Bound == Int {
    /// A uniformly chosen index satisfying `predicate`, or nil.
    fileprivate func shuffledFirst(where predicate: (Int) -> Bool, rng: inout SplitMix64) -> Int? {
        let matching = filter(predicate)
        return matching.isEmpty ? nil : matching[rng.nextInt(below: matching.count)]
    }
}
