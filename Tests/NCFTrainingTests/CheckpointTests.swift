import Foundation
import NCFData
import XCTest
@testable import NCFTraining

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The model file format: round trips, the byte layout, and every way a file can be bad.
final class CheckpointTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ncf-checkpoint-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        dir = url.path
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    // MARK: - Fixtures

    /// UTF-8 ids (including an empty one), an empty tensor, a scalar, and awkward float values.
    private func sample() -> Checkpoint {
        Checkpoint(
            metadataJSON: #"{"lr":0.001,"model":"NeuMF","note":"ü ✓"}"#,
            userIDs: ["42", "ユーザー", "", "a b\tc"],
            itemIDs: ["ítem", "🎬", "9"],
            tensors: [
                NamedTensor(name: "gmf.user_embedding", shape: [4, 2], values: [
                    1, -2, 0.5, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                ]),
                NamedTensor(name: "empty", shape: [0, 3], values: []),
                NamedTensor(name: "scalar", shape: [], values: [1.5]),
                NamedTensor(name: "ʙias", shape: [3], values: [0.25, -0.125, 3e-20]),
            ])
    }

    private func path(_ name: String) -> String { dir + "/" + name }

    /// Rewrites the trailing CRC so a deliberately edited body passes the checksum.
    private func refreshChecksum(_ bytes: inout [UInt8]) {
        let crc = CRC32.checksum(Array(bytes[0..<(bytes.count - 4)]))
        for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }

    private func decodeError(_ bytes: [UInt8]) -> CheckpointError? {
        do {
            _ = try Checkpoint.decode(bytes, path: "mem.ncfmodel")
            return nil
        } catch {
            return error
        }
    }

    private func readError(_ path: String) -> CheckpointError? {
        do {
            _ = try Checkpoint.read(from: path)
            return nil
        } catch {
            return error
        }
    }

    private func isCorrupt(_ error: CheckpointError?) -> Bool {
        if case .corrupt = error { return true }
        return false
    }

    private func corruptReason(_ error: CheckpointError?) -> String {
        if case .corrupt(_, let reason) = error { return reason }
        return "not corrupt: \(String(describing: error))"
    }

    // MARK: - Round trips

    /// Ids are exact bytes: the NFC and NFD spellings of "é" are two ids that survive a round trip.
    func testCanonicallyEquivalentIDsStayDistinct() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let checkpoint = Checkpoint(metadataJSON: "{}", userIDs: [nfc, nfd], itemIDs: [nfd, nfc], tensors: [])
        let back = try Checkpoint.decode(checkpoint.encoded(), path: "ids.ncf")
        XCTAssertEqual(back.userIDs.map { Array($0.utf8) }, [Array(nfc.utf8), Array(nfd.utf8)])
        XCTAssertEqual(back.itemIDs.map { Array($0.utf8) }, [Array(nfd.utf8), Array(nfc.utf8)])
        XCTAssertEqual(back.userMap.index(of: nfd), 1)
        // The same spelling twice is still a duplicate.
        var dup = Checkpoint(metadataJSON: "{}", userIDs: [nfc, "other"], itemIDs: [], tensors: []).encoded()
        let other = dup.indices.first { Array(dup[$0..<min(dup.count, $0 + 5)]) == Array("other".utf8) }!
        dup.replaceSubrange(other..<(other + 5), with: Array(nfc.utf8))
        XCTAssertEqual(nfc.utf8.count, 5, "the swap below keeps the layout")
        refreshChecksum(&dup)
        XCTAssertTrue(corruptReason(decodeError(dup)).contains("occurs twice"), corruptReason(decodeError(dup)))
    }

    func testRoundTripThroughAFile() throws {
        let original = sample()
        let p = path("model.ncfmodel")
        try original.write(to: p)
        let back = try Checkpoint.read(from: p)
        XCTAssertEqual(back, original)
        // Bits, not just values: -0.0 and the extremes survive exactly.
        for (a, b) in zip(back.tensors, original.tensors) {
            XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern), a.name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.ncfmodel"],
                       "no temporary file is left behind")
    }

    func testRoundTripKeepsNaNBits() throws {
        let nan = Float(bitPattern: 0x7FC0_1234)
        let original = Checkpoint(metadataJSON: "{}", userIDs: [], itemIDs: [],
                                  tensors: [NamedTensor(name: "w", shape: [2], values: [nan, 1])])
        let back = try Checkpoint.decode(original.encoded(), path: "mem")
        XCTAssertEqual(back.tensors[0].values.map(\.bitPattern), [0x7FC0_1234, Float(1).bitPattern])
    }

    func testRoundTripOfAnEmptyCheckpoint() throws {
        let empty = Checkpoint(metadataJSON: "", userIDs: [], itemIDs: [], tensors: [])
        let bytes = empty.encoded()
        XCTAssertEqual(bytes.count, 8 + 4 + 8 + 8 + 8 + 8 + 4)
        XCTAssertEqual(try Checkpoint.decode(bytes, path: "mem"), empty)
    }

    func testOverwriteReplacesThePreviousFile() throws {
        let p = path("model.ncfmodel")
        try sample().write(to: p)
        var second = sample()
        second.metadataJSON = #"{"epoch":2}"#
        second.tensors.removeLast()
        try second.write(to: p)
        XCTAssertEqual(try Checkpoint.read(from: p), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.ncfmodel"])
    }

    func testIDMapsAndTensorLookup() {
        var users = IDMap()
        _ = users.intern("u7")
        _ = users.intern("u3")
        let items = IDMap(rawIDs: ["i1"])
        let c = Checkpoint(metadataJSON: "{}", users: users, items: items,
                           tensors: [NamedTensor(name: "a", shape: [1], values: [2])])
        XCTAssertEqual(c.userIDs, ["u7", "u3"])
        XCTAssertEqual(c.userMap, users)
        XCTAssertEqual(c.itemMap.index(of: "i1"), 0)
        XCTAssertEqual(c.tensor(named: "a")?.values, [2])
        XCTAssertNil(c.tensor(named: "b"))
    }

    // MARK: - Layout

    func testByteLayoutOfATinyFile() {
        // Expected bytes and CRC computed independently (struct + zlib) from the layout in Checkpoint.swift.
        let c = Checkpoint(metadataJSON: "{}", userIDs: ["u"], itemIDs: [],
                           tensors: [NamedTensor(name: "w", shape: [1], values: [1])])
        let expected: [UInt8] = [
            0x4E, 0x43, 0x46, 0x4D, 0x4F, 0x44, 0x45, 0x4C,  // "NCFMODEL"
            0x01, 0x00, 0x00, 0x00,  // version 1
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7B, 0x7D,  // metadata "{}"
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1 user
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x75,  // "u"
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 0 items
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1 tensor
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,  // name "w"
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // rank 1
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // dim 1
            0x00, 0x00, 0x80, 0x3F,  // 1.0f
            0xCE, 0x2C, 0xC8, 0xB4,  // CRC-32
        ]
        XCTAssertEqual(c.encoded(), expected)
        XCTAssertEqual(Checkpoint.magic, Array("NCFMODEL".utf8))
        XCTAssertEqual(Checkpoint.formatVersion, 1)
    }

    func testCRC32KnownValues() {
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        let data = (0..<3).flatMap { _ in (0..<256).map { UInt8($0) } }
        XCTAssertEqual(CRC32.checksum(data), 0xB0C0_DF2A)
        // Incremental updates agree with one pass for every split point (exercises the 8-byte steps and tail).
        let short = Array(data.prefix(41))
        for split in 0...short.count {
            var crc = CRC32()
            crc.update(Array(short[..<split]))
            crc.update(Array(short[split...]))
            XCTAssertEqual(crc.checksum, CRC32.checksum(short), "split at \(split)")
        }
    }

    // MARK: - Bad files

    func testMissingFileIsNotFound() {
        let p = path("nope.ncfmodel")
        XCTAssertEqual(readError(p), .notFound(path: p))
        XCTAssertEqual(readError(path("no-dir/model.ncfmodel")), .notFound(path: path("no-dir/model.ncfmodel")))
    }

    func testDirectoryIsReadFailed() {
        guard case .readFailed(let p, let reason) = readError(dir) else {
            return XCTFail("expected readFailed, got \(String(describing: readError(dir)))")
        }
        XCTAssertEqual(p, dir)
        XCTAssertTrue(reason.contains("directory"), reason)
    }

    func testWrongMagicIsNotAModel() throws {
        let p = path("ratings.csv")
        try Data("userId,movieId,rating\n1,2,3.5\n".utf8).write(to: URL(fileURLWithPath: p))
        let error = readError(p)
        XCTAssertEqual(error, .notAModel(path: p))
        XCTAssertTrue(error?.description.contains("\(p) is not an ncf model file") ?? false)

        XCTAssertEqual(decodeError(Array("NCF".utf8) + [0]), .notAModel(path: "mem.ncfmodel"))
    }

    func testFutureVersionIsUnsupported() throws {
        var bytes = sample().encoded()
        bytes[8] = 2
        let p = path("future.ncfmodel")
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let error = readError(p)
        XCTAssertEqual(error, .unsupportedVersion(path: p, found: 2, supported: 1))
        XCTAssertTrue(error?.description.contains("newer") ?? false, error?.description ?? "")
    }

    func testFlippedByteIsAChecksumMismatch() throws {
        var bytes = sample().encoded()
        bytes[bytes.count - 10] ^= 0x01   // inside the last tensor's floats
        let p = path("flipped.ncfmodel")
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let error = readError(p)
        XCTAssertTrue(corruptReason(error).contains("checksum mismatch"), corruptReason(error))
        XCTAssertTrue(error?.description.contains("damaged") ?? false)
    }

    func testEveryFlippedByteIsDetected() {
        let good = sample().encoded()
        for i in good.indices {
            var bytes = good
            bytes[i] ^= 0x20
            let error = decodeError(bytes)
            switch i {
            case 0..<8: XCTAssertEqual(error, .notAModel(path: "mem.ncfmodel"), "byte \(i)")
            case 8..<12:
                guard case .unsupportedVersion = error else { XCTFail("byte \(i): \(String(describing: error))"); continue }
            default: XCTAssertTrue(isCorrupt(error), "byte \(i): \(String(describing: error))")
            }
        }
    }

    func testTruncationAtEveryLengthIsAnError() throws {
        let good = sample().encoded()
        for n in 0..<good.count {
            let cut = Array(good[..<n])
            XCTAssertTrue(isCorrupt(decodeError(cut)), "length \(n): \(String(describing: decodeError(cut)))")
            // Even with a checksum that matches the shortened body, the structure check catches it.
            if n >= 16 {
                var patched = cut
                refreshChecksum(&patched)
                XCTAssertTrue(isCorrupt(decodeError(patched)), "length \(n) with fixed CRC")
            }
        }
        // And through the file system, at a few lengths.
        for n in [0, 5, 12, 19, good.count / 2, good.count - 1] {
            let p = path("cut-\(n).ncfmodel")
            try Data(good[..<n]).write(to: URL(fileURLWithPath: p))
            XCTAssertTrue(isCorrupt(readError(p)), "file cut at \(n)")
        }
    }

    func testGarbageWithAValidChecksumNeverTraps() {
        // Overwrite each body byte with extreme values and re-checksum, so the parser itself must cope
        // with absurd lengths, counts, ranks and dimensions.
        let good = sample().encoded()
        for i in 12..<(good.count - 4) {
            for value: UInt8 in [0xFF, 0x80, 0x00, 0x7F] where good[i] != value {
                var bytes = good
                bytes[i] = value
                refreshChecksum(&bytes)
                if let error = decodeError(bytes) {
                    XCTAssertTrue(isCorrupt(error), "byte \(i) = \(value): \(error)")
                }
            }
        }
    }

    func testHugeCountsAreRejectedBeforeAllocating() {
        // Empty checkpoint: metadata length at 12, user count at 20, item count at 28, tensor count at 36.
        let good = Checkpoint(metadataJSON: "", userIDs: [], itemIDs: [], tensors: []).encoded()
        for (offset, what) in [(12, "metadata length"), (20, "user id count"), (28, "item id count"), (36, "tensor count")] {
            var bytes = good
            for i in 0..<8 { bytes[offset + i] = 0xFF }
            refreshChecksum(&bytes)
            let reason = corruptReason(decodeError(bytes))
            XCTAssertTrue(reason.contains(what), "\(what): \(reason)")
        }
        // A tensor whose dimensions multiply past UInt64.
        var t = Checkpoint(metadataJSON: "", userIDs: [], itemIDs: [],
                           tensors: [NamedTensor(name: "w", shape: [0, 0], values: [])]).encoded()
        let dims = t.count - 4 - 16
        for i in 0..<16 { t[dims + i] = i % 8 == 7 ? 0x7F : 0xFF }
        refreshChecksum(&t)
        XCTAssertTrue(corruptReason(decodeError(t)).contains("impossible shape"), corruptReason(decodeError(t)))
    }

    func testDuplicatesAndTrailingBytesAreCorrupt() {
        var bytes = Checkpoint(metadataJSON: "", userIDs: ["a", "b"], itemIDs: [], tensors: []).encoded()
        let b = bytes.lastIndex(of: UInt8(ascii: "b"))!
        bytes[b] = UInt8(ascii: "a")
        refreshChecksum(&bytes)
        XCTAssertTrue(corruptReason(decodeError(bytes)).contains("occurs twice"))

        var longer = sample().encoded()
        longer.insert(contentsOf: [1, 2, 3], at: longer.count - 4)
        refreshChecksum(&longer)
        XCTAssertTrue(corruptReason(decodeError(longer)).contains("unexpected bytes"))
    }

    func testInvalidUTF8IsCorrupt() {
        var bytes = Checkpoint(metadataJSON: "{}", userIDs: [], itemIDs: [], tensors: []).encoded()
        bytes[20] = 0xC3   // "{" → a lone UTF-8 lead byte
        refreshChecksum(&bytes)
        XCTAssertTrue(corruptReason(decodeError(bytes)).contains("UTF-8"))
    }

    // MARK: - Failed writes

    func testWriteIntoAMissingDirectoryFails() {
        let p = path("missing/sub/model.ncfmodel")
        do {
            try sample().write(to: p)
            XCTFail("expected writeFailed")
        } catch {
            guard case .writeFailed(let errorPath, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(errorPath, p)
            XCTAssertTrue(error.description.contains(path("missing/sub")), error.description)
            XCTAssertTrue(error.description.contains("writable"), error.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("missing")))
    }

    func testFailedWriteLeavesTheExistingFileIntact() throws {
        let p = path("model.ncfmodel")
        let good = sample()
        try good.write(to: p)
        // Block the temporary file: its name is taken by a non-empty directory.
        let tmp = p + ".tmp-\(getpid())"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: URL(fileURLWithPath: tmp + "/keep"))

        var other = good
        other.metadataJSON = #"{"replaced":true}"#
        do {
            try other.write(to: p)
            XCTFail("expected writeFailed")
        } catch {
            guard case .writeFailed = error else { return XCTFail("got \(error)") }
        }
        XCTAssertEqual(try Checkpoint.read(from: p), good)
    }

    func testRenameOverADirectoryFailsAndCleansUp() throws {
        let target = path("taken")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target + "/inside"))
        do {
            try sample().write(to: target)
            XCTFail("expected writeFailed")
        } catch {
            guard case .writeFailed(_, let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("rename"), reason)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["inside"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["taken"],
                       "the temporary file is removed")
    }
}
