import Foundation
import NCFTestSupport
import XCTest

@testable import NCFData

/// The fingerprint a sweep records and a trial's config record carries.
final class DataFingerprintTests: XCTestCase {
    func testAFileIsItsSHA256AndAnyChangedByteChangesIt() throws {
        let dir = try makeTemporaryDirectory(prefix: "ncf-fingerprint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("r.tsv").path
        try "1\t2\t3\t4\n".write(toFile: path, atomically: true, encoding: .utf8)
        let print = try XCTUnwrap(DataFingerprint.of(path: path))
        // sha256 of "1\t2\t3\t4\n", computed independently (`printf '1\t2\t3\t4\n' | sha256sum`).
        XCTAssertEqual(print.digest, "sha256:b11a65dd07197605dd0d0637e49e1ea02ce7b73e28804931c96d3b09302ba9df")
        XCTAssertEqual(print.size, 8)
        XCTAssertEqual(print.files, [path])
        try "1\t2\t3\t5\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(DataFingerprint.of(path: path)?.digest, print.digest)
        XCTAssertNil(DataFingerprint.of(path: dir.appendingPathComponent("missing").path))
        XCTAssertNil(DataFingerprint.of(path: dir.path), "a directory is no data file")
    }

    func testAnNCFPrefixCoversItsThreeFiles() throws {
        let dir = try makeTemporaryDirectory(prefix: "ncf-fingerprint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = dir.appendingPathComponent("ml").path
        for (suffix, text) in [(".train.rating", "0\t1\t5\t9\n"), (".test.rating", "0\t2\t5\t9\n"), (".test.negative", "(0,2)\t3\n")] {
            try text.write(toFile: prefix + suffix, atomically: true, encoding: .utf8)
        }
        let print = try XCTUnwrap(DataFingerprint.of(path: prefix))
        XCTAssertEqual(print.files.count, 3)
        XCTAssertEqual(print.size, 8 + 8 + 8)
        try "(0,2)\t4\n".write(toFile: prefix + ".test.negative", atomically: true, encoding: .utf8)
        XCTAssertNotEqual(DataFingerprint.of(path: prefix)?.digest, print.digest, "each file counts")
    }
}
