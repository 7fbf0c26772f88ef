import Foundation
import NCFData
import NCFTestSupport
import XCTest

/// `ncf data fetch`, against a loopback server in the test process (never the real URLs).
final class FetchCLITests: CLITestCase {
    /// A zip holding `ml-100k/u.data` (the tiny ratings), made by `zip` or Python's zipfile.
    private func makeArchive() throws -> [UInt8] {
        let src = tmp.appendingPathComponent("src/ml-100k")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        try TinyRatings.tsv.write(to: src.appendingPathComponent("u.data"), atomically: true, encoding: .utf8)
        let zipPath = tmp.appendingPathComponent("made.zip").path
        let process = Process()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/zip") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/zip")
            process.arguments = ["-q", "-r", "-X", zipPath, "ml-100k"]
        } else if let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile) {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z: z.write('ml-100k/u.data')", zipPath]
        } else {
            throw XCTSkip("neither /usr/bin/zip nor python3 is available to make a zip archive")
        }
        process.currentDirectoryURL = tmp.appendingPathComponent("src")
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: zipPath)))
    }

    func testFetchPrintsTheRatingsPathAndReusesTheCache() throws {
        let zip = try makeArchive()
        let server = try LoopbackHTTPServer(routes: ["/ml-100k.zip": .ok(zip)])
        defer { server.stop() }
        let cache = tmp.appendingPathComponent("cache").path
        let args = ["data", "fetch", "movielens-100k", "--url", server.baseURL + "/ml-100k.zip",
                    "--sha256", SHA256.hex(zip), "--cache", cache]

        let first = try ncfSucceeds(args)
        XCTAssertEqual(first.stdoutLines.count, 1, "stdout must hold only the path:\n\(first)")
        let path = try XCTUnwrap(first.stdoutLines.first)
        XCTAssertTrue(path.hasSuffix("/cache/movielens-100k/ml-100k/u.data"), path)
        XCTAssertTrue(first.stderr.contains("downloading \(server.baseURL)/ml-100k.zip"), first.description)
        XCTAssertTrue(first.stderr.contains("ncf --data \(path)"), first.description)

        let info = try ncfSucceeds(["data", "info", path])
        XCTAssertTrue(info.stdout.contains(try Regex("ratings\\s+\(TinyRatings.count)\\n")), info.description)

        let second = try ncfSucceeds(args)
        XCTAssertEqual(second.stdoutLines, [path])
        XCTAssertTrue(second.stderr.contains("already in the cache"), second.description)
        XCTAssertEqual(server.requestCount, 1, "the second fetch must not download")
    }

    func testFetchErrors() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(Array("not a zip".utf8))])
        defer { server.stop() }
        let cache = tmp.appendingPathComponent("cache").path

        let wrong = String(repeating: "ab", count: 32)
        let mismatch = try ncfFails(["data", "fetch", "movielens-100k", "--url", server.baseURL + "/x.zip",
                                     "--sha256", wrong, "--cache", cache])
        XCTAssertTrue(mismatch.contains(wrong) && mismatch.contains(SHA256.hex(Array("not a zip".utf8))), mismatch)
        XCTAssertTrue(mismatch.contains("Hint:"), mismatch)

        let missing = try ncfFails(["data", "fetch", "movielens-100k", "--url", server.baseURL + "/gone.zip", "--cache", cache])
        XCTAssertTrue(missing.contains("\(server.baseURL)/gone.zip: the server answered HTTP 404"), missing)

        let unknown = try ncfFails(["data", "fetch", "movielens-20m", "--cache", cache])
        XCTAssertTrue(unknown.contains("movielens-20m") && unknown.contains("movielens-latest-small"), unknown)

        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache), [], "nothing may be left in the cache")
    }
}
