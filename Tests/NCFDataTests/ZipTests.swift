import Foundation
import XCTest
@testable import NCFData

// MARK: - Fixtures

/// Tiny zip archives for the reader and fetch tests.
enum ZipFixtures {
    /// The six rating lines of `ml-100k/u.data` in `infoZip`.
    static let ratingsText = """
        1\t10\t5\t881250949
        1\t20\t3\t881250950
        2\t10\t4\t881250951
        2\t30\t1\t881250952
        3\t20\t2\t881250953
        3\t30\t5\t881250954

        """

    /// Made by Info-ZIP (`zip -X -r fixture.zip ml-100k`): a directory entry `ml-100k/`, a stored
    /// `ml-100k/README` ("tiny\n") and a deflated `ml-100k/u.data` (`ratingsText`); 382 bytes.
    static let infoZip: [UInt8] = [UInt8](Data(base64Encoded: """
        UEsDBAoAAAAAAFFLfV0AAAAAAAAAAAAAAAAIAAAAbWwtMTAway9QSwMECgAAAAAAUUt9XRDEP9AFAAAABQAAAA4AAABtbC0x\
        MDBrL1JFQURNRXRpbnkKUEsDBBQAAAAIAFFLfV1TpSPONwAAAGYAAAAOAAAAbWwtMTAway91LmRhdGFNzLENADEMQtEaT2PA\
        lpL9F7ukOCvt0weCicZaVOeuHYQS/qEzdIsa4AEnOKDwnWjAB/ycdsUHUEsBAh4DCgAAAAAAUUt9XQAAAAAAAAAAAAAAAAgA\
        AAAAAAAAAAAQAO1BAAAAAG1sLTEwMGsvUEsBAh4DCgAAAAAAUUt9XRDEP9AFAAAABQAAAA4AAAAAAAAAAQAAAKSBJgAAAG1s\
        LTEwMGsvUkVBRE1FUEsBAh4DFAAAAAgAUUt9XVOlI843AAAAZgAAAA4AAAAAAAAAAQAAAKSBVwAAAG1sLTEwMGsvdS5kYXRh\
        UEsFBgAAAAADAAMArgAAALoAAAAAAA==
        """)!)

    /// SHA-256 of `infoZip`.
    static let infoZipSHA256 = "120ad78ff68acbcc26d88e43b5f83c32ce7279b0bcfbe689d42b5f224b8a603d"

    /// Made by Info-ZIP from stdin (`printf 'u1\ti1\t4\n' | zip -X -q - -`): a zip64 archive
    /// (zip64 end-of-central-directory record and locator) with one stored entry `-`.
    static let zip64FromStdin: [UInt8] = [UInt8](Data(base64Encoded: """
        UEsDBC0AAAAAAFNLfV0tFBIg//////////8BABQALQEAEAAIAAAAAAAAAAgAAAAAAAAAdTEJaTEJNApQSwECHgMtAAAAAABT\
        S31dLRQSIAgAAAAIAAAAAQAAAAAAAAABAAAAgBEAAAAALVBLBgYsAAAAAAAAAB4DLQAAAAAAAAAAAAEAAAAAAAAAAQAAAAAA\
        AAAvAAAAAAAAADsAAAAAAAAAUEsGBwAAAABqAAAAAAAAAAEAAABQSwUGAAAAAAEAAQAvAAAAOwAAAAAA
        """)!)
}

/// Writes zip archives byte by byte (stored entries; any method number may be claimed), with
/// knobs for damaged and hostile archives the reader must refuse.
struct TestZipWriter {
    struct Entry {
        var name: String
        var data: [UInt8]
        /// General-purpose flags (bit 0 claims encryption).
        var flags: UInt16 = 0
        /// The method recorded; the bytes are always written as they are.
        var method: UInt16 = 0
        /// Record this CRC-32 instead of the data's.
        var crc: UInt32? = nil
        /// Zero the local header's CRC and sizes and append a data descriptor (flag bit 3).
        var dataDescriptor = false

        init(_ name: String, _ text: String = "", flags: UInt16 = 0, method: UInt16 = 0, crc: UInt32? = nil, dataDescriptor: Bool = false) {
            self.name = name
            self.data = Array(text.utf8)
            self.flags = flags
            self.method = method
            self.crc = crc
            self.dataDescriptor = dataDescriptor
        }
    }

    var entries: [Entry]

    init(_ entries: [Entry]) { self.entries = entries }

    /// The archive: local headers and data, central directory, end-of-central-directory record.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = entry.crc ?? ZipArchive.crc32(entry.data)
            let size = UInt32(entry.data.count)
            let flags = entry.flags | (entry.dataDescriptor ? 0x0008 : 0)
            let offset = UInt32(out.count)
            // Local header.
            le32(0x0403_4b50, &out); le16(20, &out); le16(flags, &out); le16(entry.method, &out)
            le16(0, &out); le16(0x21, &out)  // time, date (1980-01-01)
            le32(entry.dataDescriptor ? 0 : crc, &out)
            le32(entry.dataDescriptor ? 0 : size, &out); le32(entry.dataDescriptor ? 0 : size, &out)
            le16(UInt16(name.count), &out); le16(0, &out)
            out += name
            out += entry.data
            if entry.dataDescriptor {
                le32(0x0807_4b50, &out); le32(crc, &out); le32(size, &out); le32(size, &out)
            }
            // Central directory header.
            le32(0x0201_4b50, &central); le16(0x031E, &central); le16(20, &central)
            le16(flags, &central); le16(entry.method, &central); le16(0, &central); le16(0x21, &central)
            le32(crc, &central); le32(size, &central); le32(size, &central)
            le16(UInt16(name.count), &central); le16(0, &central); le16(0, &central)
            le16(0, &central); le16(0, &central); le32(0, &central); le32(offset, &central)
            central += name
        }
        let centralOffset = UInt32(out.count)
        out += central
        le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out)
        le16(UInt16(entries.count), &out); le16(UInt16(entries.count), &out)
        le32(UInt32(central.count), &out); le32(centralOffset, &out); le16(0, &out)
        return out
    }

    private func le16(_ x: UInt16, _ out: inout [UInt8]) { out += [UInt8(x & 0xFF), UInt8(x >> 8)] }
    private func le32(_ x: UInt32, _ out: inout [UInt8]) {
        out += [UInt8(x & 0xFF), UInt8((x >> 8) & 0xFF), UInt8((x >> 16) & 0xFF), UInt8(x >> 24)]
    }
}

/// Asserts that `body` throws a `FetchError` and returns it (nil after recording a failure).
func assertFetchError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> FetchError? {
    do {
        let value = try body()
        XCTFail("expected a FetchError, got \(value)", file: file, line: line)
    } catch let error as FetchError {
        XCTAssertTrue(error.description.contains(". Hint: "), "no hint in: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a FetchError, got \(error)", file: file, line: line)
    }
    return nil
}

// MARK: - Reading

final class ZipTests: XCTestCase {
    func testCRC32CheckValue() {
        XCTAssertEqual(ZipArchive.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(ZipArchive.crc32([]), 0)
    }

    func testReadsEntriesOfAnInfoZipArchive() throws {
        let zip = try ZipArchive(bytes: ZipFixtures.infoZip, path: "fixture.zip")
        XCTAssertEqual(zip.entries.map(\.name), ["ml-100k/", "ml-100k/README", "ml-100k/u.data"])
        XCTAssertEqual(zip.entries.map(\.method), [0, 0, 8])
        XCTAssertEqual(zip.entries.map(\.isDirectory), [true, false, false])
        let ratings = try XCTUnwrap(zip.entry(named: "ml-100k/u.data"))
        XCTAssertEqual(ratings.uncompressedSize, ZipFixtures.ratingsText.utf8.count)
        XCTAssertLessThan(ratings.compressedSize, ratings.uncompressedSize)
        XCTAssertEqual(String(decoding: try zip.contents(of: ratings), as: UTF8.self), ZipFixtures.ratingsText)
        XCTAssertEqual(try zip.contents(of: zip.entries[1]), Array("tiny\n".utf8))
        XCTAssertEqual(try zip.contents(of: zip.entries[0]), [])
        XCTAssertNil(zip.entry(named: "u.data"))
    }

    func testExtractWritesFilesUnderTheDirectory() throws {
        let dir = try ReaderFixtureDirectory()
        let out = dir.url.appendingPathComponent("out")
        let zip = try ZipArchive(bytes: ZipFixtures.infoZip, path: "fixture.zip")
        let written = try zip.extract(to: out)
        XCTAssertEqual(written, ["ml-100k/README", "ml-100k/u.data"])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("ml-100k/u.data"), encoding: .utf8), ZipFixtures.ratingsText)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("ml-100k/README"), encoding: .utf8), "tiny\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["ml-100k"])
    }

    func testStoredEntriesWithDataDescriptorsAndEmptyFiles() throws {
        let bytes = TestZipWriter([
            .init("a/b/c.txt", "hello\n"),
            .init("empty", ""),
            .init("./d.txt", "streamed\n", dataDescriptor: true),
        ]).bytes()
        let zip = try ZipArchive(bytes: bytes, path: "w.zip")
        XCTAssertEqual(zip.entries.map(\.name), ["a/b/c.txt", "empty", "./d.txt"])
        XCTAssertEqual(try zip.contents(of: zip.entries[0]), Array("hello\n".utf8))
        XCTAssertEqual(try zip.contents(of: zip.entries[1]), [])
        XCTAssertEqual(try zip.contents(of: zip.entries[2]), Array("streamed\n".utf8))

        let dir = try ReaderFixtureDirectory()
        XCTAssertEqual(try zip.extract(to: dir.url), ["a/b/c.txt", "empty", "d.txt"])
        XCTAssertEqual(try String(contentsOfFile: dir.path("d.txt"), encoding: .utf8), "streamed\n")
    }

    // MARK: Damaged archives

    func testCorruptStoredEntryFailsItsCRC() throws {
        var bytes = TestZipWriter([.init("ml-100k/u.data", "1\t2\t3\n")]).bytes()
        let dataStart = 30 + "ml-100k/u.data".utf8.count
        bytes[dataStart + 2] ^= 0x01  // "3" -> "2"
        let zip = try ZipArchive(bytes: bytes, path: "bad.zip")
        let error = assertFetchError { try zip.contents(of: zip.entries[0]) }
        guard case let .crcMismatch(path, entry, expected, actual)? = error else {
            return XCTFail("expected crcMismatch, got \(String(describing: error))")
        }
        XCTAssertEqual(path, "bad.zip")
        XCTAssertEqual(entry, "ml-100k/u.data")
        XCTAssertEqual(expected, ZipArchive.crc32(Array("1\t2\t3\n".utf8)))
        XCTAssertNotEqual(actual, expected)
        XCTAssertTrue(error!.description.contains("bad.zip: entry \"ml-100k/u.data\" is corrupt"), error!.description)

        // Extraction stops on the same error.
        let dir = try ReaderFixtureDirectory()
        XCTAssertEqual(assertFetchError { try zip.extract(to: dir.url) }, error)
    }

    func testRecordedCRCThatDoesNotMatchIsAnError() throws {
        let bytes = TestZipWriter([.init("x.txt", "abc", crc: 0x1234_5678)]).bytes()
        let zip = try ZipArchive(bytes: bytes, path: "crc.zip")
        guard case .crcMismatch(_, "x.txt", 0x1234_5678, _)? = assertFetchError({ try zip.contents(of: zip.entries[0]) }) else {
            return XCTFail("expected crcMismatch for x.txt")
        }
    }

    func testCorruptDeflateDataIsAnError() throws {
        let zip0 = try ZipArchive(bytes: ZipFixtures.infoZip, path: "fixture.zip")
        let entry = try XCTUnwrap(zip0.entry(named: "ml-100k/u.data"))
        let dataStart = entry.localHeaderOffset + 30 + entry.name.utf8.count
        for offset in [0, entry.compressedSize / 2, entry.compressedSize - 1] {
            var bytes = ZipFixtures.infoZip
            bytes[dataStart + offset] ^= 0x5A
            let zip = try ZipArchive(bytes: bytes, path: "fixture.zip")
            let error = assertFetchError { try zip.contents(of: zip.entries[2]) }
            switch error {
            case let .badZip(_, reason)?: XCTAssertTrue(reason.contains("ml-100k/u.data"), reason)
            case .crcMismatch(_, "ml-100k/u.data", _, _)?: break
            default: XCTFail("byte \(offset): expected badZip or crcMismatch, got \(String(describing: error))")
            }
        }
    }

    func testNotAZipAndTruncatedArchives() {
        for (bytes, what) in [
            (Array("user,item,rating\n1,2,3\n".utf8), "text"),
            ([UInt8](), "empty"),
            (Array(ZipFixtures.infoZip.dropLast(10)), "truncated end"),
            (Array(ZipFixtures.infoZip.suffix(22)), "only the end record"),
        ] {
            guard case let .badZip(path, _)? = assertFetchError({ try ZipArchive(bytes: bytes, path: "x.zip") }) else {
                XCTFail("\(what): expected badZip")
                continue
            }
            XCTAssertEqual(path, "x.zip", what)
        }
    }

    // MARK: Refused features

    func testZip64IsRefused() {
        let error = assertFetchError { try ZipArchive(bytes: ZipFixtures.zip64FromStdin, path: "stdin.zip") }
        guard case .unsupportedZip("stdin.zip", nil, let reason)? = error else {
            return XCTFail("expected unsupportedZip, got \(String(describing: error))")
        }
        XCTAssertTrue(reason.contains("zip64"), reason)
        XCTAssertTrue(error!.description.contains("is not supported"), error!.description)
    }

    func testEncryptedEntryIsRefused() throws {
        let bytes = TestZipWriter([.init("plain.txt", "ok"), .init("secret.txt", "xx", flags: 0x0001)]).bytes()
        let zip = try ZipArchive(bytes: bytes, path: "enc.zip")
        XCTAssertEqual(try zip.contents(of: zip.entries[0]), Array("ok".utf8))
        guard case .unsupportedZip("enc.zip", "secret.txt", let reason)? = assertFetchError({ try zip.contents(of: zip.entries[1]) }) else {
            return XCTFail("expected unsupportedZip for secret.txt")
        }
        XCTAssertEqual(reason, "encryption")
    }

    func testUnknownMethodIsRefused() throws {
        let zip = try ZipArchive(bytes: TestZipWriter([.init("b.txt", "x", method: 12)]).bytes(), path: "m.zip")
        guard case .unsupportedZip("m.zip", "b.txt", let reason)? = assertFetchError({ try zip.contents(of: zip.entries[0]) }) else {
            return XCTFail("expected unsupportedZip for method 12")
        }
        XCTAssertTrue(reason.contains("12") && reason.contains("bzip2"), reason)
    }

    // MARK: Path traversal

    func testNamesLeavingTheDirectoryAreRefused() throws {
        let dir = try ReaderFixtureDirectory()
        let out = dir.url.appendingPathComponent("out")
        for name in ["../evil.txt", "ml-100k/../../evil.txt", "/tmp/evil.txt", "\\evil.txt", "..\\evil.txt",
                     "a\\..\\..\\evil.txt", "C:/evil.txt", "c:evil.txt", "..", "", "a/\0/b"] {
            let bytes = TestZipWriter([.init("ok.txt", "fine"), .init(name, "bad")]).bytes()
            let error = assertFetchError { try ZipArchive(bytes: bytes, path: "evil.zip") }
            XCTAssertEqual(error, .unsafeEntryName(path: "evil.zip", entry: name), "name \(name.debugDescription)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing may be written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("evil.txt").path))
    }

    func testSafeComponents() {
        XCTAssertEqual(ZipArchive.safeComponents(of: "ml-100k/u.data"), ["ml-100k", "u.data"])
        XCTAssertEqual(ZipArchive.safeComponents(of: "./a//b/"), ["a", "b"])
        XCTAssertEqual(ZipArchive.safeComponents(of: "./"), [])
        XCTAssertEqual(ZipArchive.safeComponents(of: "a..b/..c"), ["a..b", "..c"])
        XCTAssertNil(ZipArchive.safeComponents(of: "a/../b"))
        XCTAssertNil(ZipArchive.safeComponents(of: "/a"))
        XCTAssertNil(ZipArchive.safeComponents(of: "D:\\a"))
    }

    // MARK: Archives made by the system's zip tool

    /// A larger archive (a few thousand lines, nested folders, deflated) made by `zip`, or by
    /// Python's zipfile module when `zip` is missing.
    func testReadsArchivesMadeByTheSystemTool() throws {
        let dir = try ReaderFixtureDirectory()
        let src = dir.url.appendingPathComponent("src/ml-1m/sub")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        let text = (0..<3000).map { "\($0 % 97)::\($0 % 31)::\($0 % 5 + 1)::\(978_300_760 + $0)" }.joined(separator: "\n") + "\n"
        try text.write(to: src.deletingLastPathComponent().appendingPathComponent("ratings.dat"), atomically: true, encoding: .utf8)
        try "nested\n".write(to: src.appendingPathComponent("note.txt"), atomically: true, encoding: .utf8)
        let zipPath = dir.path("made.zip")

        let process = Process()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/zip") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/zip")
            process.arguments = ["-q", "-r", "-X", zipPath, "ml-1m"]
        } else if let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile) {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", """
                import os, sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                    for root, dirs, files in os.walk("ml-1m"):
                        for f in files: z.write(os.path.join(root, f))
                """, zipPath]
        } else {
            throw XCTSkip("neither /usr/bin/zip nor python3 is available to make a zip archive")
        }
        process.currentDirectoryURL = dir.url.appendingPathComponent("src")
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)

        let zip = try ZipArchive(contentsOfFile: zipPath)
        let ratings = try XCTUnwrap(zip.entry(named: "ml-1m/ratings.dat"))
        XCTAssertEqual(ratings.method, 8)
        XCTAssertEqual(String(decoding: try zip.contents(of: ratings), as: UTF8.self), text)
        let out = dir.url.appendingPathComponent("out")
        let written = try zip.extract(to: out)
        XCTAssertEqual(Set(written), ["ml-1m/ratings.dat", "ml-1m/sub/note.txt"])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("ml-1m/sub/note.txt"), encoding: .utf8), "nested\n")
        let file = try RatingsReader.read(path: out.appendingPathComponent("ml-1m/ratings.dat").path)
        XCTAssertEqual(file.format, .dat)
        XCTAssertEqual(file.interactions.count, 3000)
    }

    func testMissingFileIsAFileSystemError() {
        guard case .fileSystem(let path, _)? = assertFetchError({ try ZipArchive(contentsOfFile: "/nonexistent/x.zip") }) else {
            return XCTFail("expected fileSystem")
        }
        XCTAssertEqual(path, "/nonexistent/x.zip")
    }
}

// MARK: - Zip bombs

/// Raw deflate streams of zeros, written by hand (fixed Huffman codes: one literal 0, then copies
/// of 258 bytes at distance 1), so a test can make a real, tiny, highly compressed entry.
enum ZeroDeflate {
    /// A raw deflate stream (no zlib header) that inflates to `count` zero bytes (`count >= 1`).
    static func stream(zeros count: Int) -> [UInt8] {
        var bits = BitWriter()
        bits.write(1, count: 1)          // BFINAL
        bits.write(1, count: 2)          // BTYPE = 01, fixed Huffman
        bits.writeCode(0b0011_0000, length: 8)   // literal 0
        var left = count - 1
        while left > 0 {
            // Lengths 3...258; 258 is code 285 (8 bits, no extra), others use codes 257... with extras.
            if left >= 258 {
                bits.writeCode(0b1100_0101, length: 8)  // length 258 (code 285)
                bits.writeCode(0, length: 5)             // distance 1 (code 0)
                left -= 258
            } else {
                bits.writeCode(0b0011_0000, length: 8)  // one more literal 0
                left -= 1
            }
        }
        bits.writeCode(0, length: 7)     // end of block (code 256)
        return bits.bytes
    }

    private struct BitWriter {
        var bytes: [UInt8] = []
        private var used = 8

        /// Writes `count` bits of `value`, least significant first (header fields).
        mutating func write(_ value: UInt32, count: Int) {
            for k in 0..<count { bit(UInt8((value >> UInt32(k)) & 1)) }
        }

        /// Writes a Huffman code, most significant bit first.
        mutating func writeCode(_ code: UInt32, length: Int) {
            for k in stride(from: length - 1, through: 0, by: -1) { bit(UInt8((code >> UInt32(k)) & 1)) }
        }

        private mutating func bit(_ b: UInt8) {
            if used == 8 { bytes.append(0); used = 0 }
            bytes[bytes.count - 1] |= b << UInt8(used)
            used += 1
        }
    }
}

/// A zip whose central directory lists `names`, every one pointing at the same local header and
/// deflate stream (the overlapping-entries trick that multiplies one stream's output).
func overlappingZip(names: [String], zeros: Int) -> [UInt8] {
    let stream = ZeroDeflate.stream(zeros: zeros)
    let crc = ZipArchive.crc32([UInt8](repeating: 0, count: zeros))
    var out: [UInt8] = []
    func le16(_ x: Int, _ o: inout [UInt8]) { o += [UInt8(x & 0xFF), UInt8((x >> 8) & 0xFF)] }
    func le32(_ x: UInt32, _ o: inout [UInt8]) { for k in 0..<4 { o.append(UInt8((x >> (8 * UInt32(k))) & 0xFF)) } }
    let first = Array(names[0].utf8)
    le32(0x0403_4b50, &out); le16(20, &out); le16(0, &out); le16(8, &out); le16(0, &out); le16(0x21, &out)
    le32(crc, &out); le32(UInt32(stream.count), &out); le32(UInt32(zeros), &out)
    le16(first.count, &out); le16(0, &out)
    out += first + stream
    var central: [UInt8] = []
    for name in names {
        let n = Array(name.utf8)
        le32(0x0201_4b50, &central); le16(0x031E, &central); le16(20, &central); le16(0, &central); le16(8, &central)
        le16(0, &central); le16(0x21, &central)
        le32(crc, &central); le32(UInt32(stream.count), &central); le32(UInt32(zeros), &central)
        le16(n.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
        le32(0, &central); le32(0, &central)
        central += n
    }
    let cdOffset = out.count
    out += central
    le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out); le16(names.count, &out); le16(names.count, &out)
    le32(UInt32(central.count), &out); le32(UInt32(cdOffset), &out); le16(0, &out)
    return out
}

final class ZipBombTests: XCTestCase {
    /// The hand-made deflate stream really inflates to zeros (the fixture the bomb tests rely on).
    func testZeroDeflateFixtureInflates() throws {
        let zeros = 100_000
        let zip = overlappingZip(names: ["z"], zeros: zeros)
        let archive = try ZipArchive(bytes: zip, path: "z.zip")
        XCTAssertLessThan(zip.count, 1_000)
        XCTAssertEqual(try archive.contents(of: archive.entries[0]), [UInt8](repeating: 0, count: zeros))
    }

    /// Entries sharing one compressed stream are refused as a whole, before anything is written.
    func testOverlappingEntriesAreRefused() throws {
        let dir = try ReaderFixtureDirectory()
        let zip = overlappingZip(names: ["a", "b", "c"], zeros: 10_000)
        let archive = try ZipArchive(bytes: zip, path: "overlap.zip")
        let out = dir.url.appendingPathComponent("out")
        let error = assertFetchError { try archive.extract(to: out) }
        guard case .badZip(let path, let reason)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(path, "overlap.zip")
        XCTAssertTrue(reason.contains("overlap"), reason)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? [], [])
    }

    /// The recorded sizes of all entries together may not pass the limit; checked before writing.
    func testTotalUncompressedSizeIsCapped() throws {
        let dir = try ReaderFixtureDirectory()
        let entries = (0..<3).map { TestZipWriter.Entry("f\($0)", String(repeating: "x", count: 400)) }
        let archive = try ZipArchive(bytes: TestZipWriter(entries).bytes(), path: "big.zip")
        let out = dir.url.appendingPathComponent("out")
        let error = assertFetchError { try archive.extract(to: out, maximumTotalSize: 1_000) }
        XCTAssertEqual(error, .zipTooLarge(path: "big.zip", bytes: 1_200, limit: 1_000))
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? [], [])
        // Under the limit it unpacks.
        XCTAssertEqual(try archive.extract(to: out, maximumTotalSize: 1_200).count, 3)
    }

    /// A deflate bomb: 4 MB of zeros from a few kB, over a 1 MB limit.
    func testDeflateBombOverTheLimitIsRefused() throws {
        let dir = try ReaderFixtureDirectory()
        let archive = try ZipArchive(bytes: overlappingZip(names: ["bomb"], zeros: 4_000_000), path: "bomb.zip")
        let out = dir.url.appendingPathComponent("out")
        let error = assertFetchError { try archive.extract(to: out, maximumTotalSize: 1 << 20) }
        XCTAssertEqual(error, .zipTooLarge(path: "bomb.zip", bytes: 4_000_000, limit: 1 << 20))
        XCTAssertTrue(error?.description.contains("bomb.zip") ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("bomb").path))
    }

    /// A stream that inflates to more than its recorded size stops at the recorded size: the file
    /// is never longer than the archive claims.
    func testStreamLongerThanRecordedIsRefused() throws {
        let dir = try ReaderFixtureDirectory()
        var zip = overlappingZip(names: ["z"], zeros: 50_000)
        // Record 1,000 bytes (local header at 22, central directory at cdOffset + 24).
        func put32(_ x: UInt32, at i: Int) { for k in 0..<4 { zip[i + k] = UInt8((x >> (8 * UInt32(k))) & 0xFF) } }
        let cd = zip.count - 22 - (46 + 1)
        put32(1_000, at: 22)
        put32(1_000, at: cd + 24)
        let archive = try ZipArchive(bytes: zip, path: "long.zip")
        let out = dir.url.appendingPathComponent("out")
        let error = assertFetchError { try archive.extract(to: out) }
        guard case .badZip(_, let reason)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertTrue(reason.contains("more than"), reason)
        let attributes = try? FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("z").path)
        XCTAssertLessThanOrEqual((attributes?[.size] as? Int) ?? 0, 1_000)
    }
}
