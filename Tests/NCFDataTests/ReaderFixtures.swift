import Foundation
import XCTest
@testable import NCFData

/// A temporary directory holding tiny inline fixture files; removed when released.
final class ReaderFixtureDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ncf-reader-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path a file called `name` has (or would have) in this directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` as UTF-8 and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    /// Writes raw bytes and returns the file's path.
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Writes `text` compressed by `/bin/gzip` under `name` (any name: detection is by content).
    @discardableResult
    func writeGzip(_ name: String, _ text: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else {
            throw XCTSkip("/bin/gzip is not available to make a gzip fixture")
        }
        let plain = try write(name + ".plain", text)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c", "-n", plain]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "gzip failed")
        try FileManager.default.removeItem(atPath: plain)
        return try write(name, bytes: [UInt8](data))
    }
}

/// The raw ids of a file's interactions, as (user, item) string pairs in file order.
func rawPairs(_ file: RatingsFile) -> [String] {
    (0..<file.interactions.count).map {
        file.userIDs.raw(file.interactions.users[$0]) + "/" + file.itemIDs.raw(file.interactions.items[$0])
    }
}

/// Asserts that `body` throws a `DataError` whose message starts with `prefix` (and, if given,
/// contains `containing`), and returns the error.
@discardableResult
func assertDataError<T>(
    _ body: @autoclosure () throws -> T, prefix: String, containing: String? = nil,
    file: StaticString = #filePath, line: UInt = #line
) -> DataError? {
    do {
        _ = try body()
        XCTFail("expected a DataError starting with \(prefix)", file: file, line: line)
        return nil
    } catch let error as DataError {
        XCTAssertTrue(error.description.hasPrefix(prefix),
                      "message \"\(error.description)\" does not start with \"\(prefix)\"", file: file, line: line)
        if let containing {
            XCTAssertTrue(error.description.contains(containing),
                          "message \"\(error.description)\" does not contain \"\(containing)\"", file: file, line: line)
        }
        XCTAssertTrue(error.description.contains(". Hint: "), "no hint in \(error.description)", file: file, line: line)
        XCTAssertEqual(error.errorDescription, error.description, file: file, line: line)
        return error
    } catch {
        XCTFail("expected a DataError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}
