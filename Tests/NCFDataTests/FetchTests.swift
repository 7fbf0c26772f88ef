import Foundation
import NCFTestSupport
import XCTest
@testable import NCFData

// MARK: - SHA-256

final class SHA256Tests: XCTestCase {
    /// FIPS 180-2 appendix B / the NIST example values.
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testOneMillionAs() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(SHA256.hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")

        // The same bytes fed in uneven pieces that straddle block boundaries.
        var hash = SHA256()
        var offset = 0
        let pieces = [1, 63, 64, 65, 127, 3, 1000, 55, 9]
        var i = 0
        while offset < million.count {
            let n = min(pieces[i % pieces.count], million.count - offset)
            hash.update(Array(million[offset..<(offset + n)]))
            offset += n
            i += 1
        }
        XCTAssertEqual(hash.hexDigest, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the padding boundaries (55 fits one block, 56 needs two).
    func testPaddingBoundaries() {
        let expected = [
            55: "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            56: "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            63: "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
            64: "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            65: "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0",
            119: "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb",
            120: "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c",
        ]
        for (n, hex) in expected {
            XCTAssertEqual(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: n)), hex, "\(n) bytes")
        }
    }

    func testDigestDoesNotEndTheHash() {
        var hash = SHA256()
        hash.update(Array("ab".utf8))
        XCTAssertEqual(hash.digest.count, 32)
        hash.update(Array("c".utf8))
        XCTAssertEqual(hash.hexDigest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testFileHashMatchesInMemoryHash() throws {
        let dir = try ReaderFixtureDirectory()
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = try dir.write("blob.bin", bytes: bytes)
        XCTAssertEqual(try SHA256.hexOfFile(atPath: path), SHA256.hex(bytes))
        XCTAssertEqual(try SHA256.hexOfFile(atPath: try dir.write("fixture.zip", bytes: ZipFixtures.infoZip)), ZipFixtures.infoZipSHA256)
        guard case .fileSystem(dir.path("missing"), _)? = assertFetchError({ try SHA256.hexOfFile(atPath: dir.path("missing")) }) else {
            return XCTFail("expected fileSystem naming the path")
        }
    }

    func testHexDigestShape() {
        XCTAssertTrue(SHA256.isHexDigest(String(repeating: "aF0", count: 21) + "9"))
        XCTAssertFalse(SHA256.isHexDigest(String(repeating: "a", count: 63)))
        XCTAssertFalse(SHA256.isHexDigest(String(repeating: "g", count: 64)))
    }
}

// MARK: - Fetching from a loopback server

final class FetchTests: XCTestCase {
    private var dir: ReaderFixtureDirectory!
    private var cache: String { dir.path("cache") }

    override func setUpWithError() throws {
        dir = try ReaderFixtureDirectory()
    }

    override func tearDown() {
        dir = nil
    }

    /// Fetches movielens-100k from `server` at `path` into this test's cache.
    private func fetch(_ server: LoopbackHTTPServer, path: String = "/x.zip", sha256: String = ZipFixtures.infoZipSHA256,
                       force: Bool = false, timeout: Double = 10, totalTimeout: Double? = nil,
                       maximumDownloadBytes: Int = FetchOptions.defaultMaximumDownloadBytes,
                       log: ((String) -> Void)? = nil) throws -> FetchResult {
        var options = FetchOptions(url: server.baseURL + path, sha256: sha256, cacheDirectory: cache, force: force, timeout: timeout)
        options.totalTimeout = totalTimeout
        options.maximumDownloadBytes = maximumDownloadBytes
        return try Fetcher.fetch(.movielens100k, options: options, log: log ?? { _ in })
    }

    /// Files named like URLSession's download scratch files (`UUID.tmp`) in the temporary directory.
    private func scratchDownloads() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []
        return Set(names.filter { $0.hasSuffix(".tmp") && UUID(uuidString: String($0.dropLast(4))) != nil })
    }

    /// Everything under the cache directory (hidden files included), relative, sorted.
    private func cacheContents() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: cache) else { return [] }
        return (walker.allObjects as? [String] ?? []).sorted()
    }

    func testFetchDownloadsVerifiesAndUnpacks() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(ZipFixtures.infoZip)])
        defer { server.stop() }
        var lines: [String] = []
        let result = try fetch(server) { lines.append($0) }

        XCTAssertEqual(result.source, .download(bytes: ZipFixtures.infoZip.count))
        XCTAssertEqual(result.sha256, ZipFixtures.infoZipSHA256)
        XCTAssertEqual(result.directory, URL(fileURLWithPath: cache).appendingPathComponent("movielens-100k").standardizedFileURL.path)
        XCTAssertEqual(result.ratingsPath, result.directory + "/ml-100k/u.data")
        XCTAssertEqual(server.requestCount(for: "/x.zip"), 1)
        XCTAssertTrue(lines.contains { $0.contains("downloading \(server.baseURL)/x.zip") }, "\(lines)")

        let ratings = try RatingsReader.read(path: result.ratingsPath)
        XCTAssertEqual(ratings.format, .tsv)
        XCTAssertEqual(ratings.interactions.count, 6)
        XCTAssertEqual(ratings.userIDs.count, 3)

        XCTAssertEqual(cacheContents(), [
            "movielens-100k", "movielens-100k.zip", "movielens-100k/.ncf-fetch", "movielens-100k/ml-100k",
            "movielens-100k/ml-100k/README", "movielens-100k/ml-100k/u.data",
        ])
        let marker = try String(contentsOfFile: result.directory + "/.ncf-fetch", encoding: .utf8)
        XCTAssertTrue(marker.contains("sha256 \(ZipFixtures.infoZipSHA256)\n"), marker)
    }

    func testSecondFetchUsesTheCache() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(ZipFixtures.infoZip)])
        defer { server.stop() }
        let first = try fetch(server)
        // Upper-case checksum: the same checksum.
        let second = try fetch(server, sha256: ZipFixtures.infoZipSHA256.uppercased())
        XCTAssertEqual(second.source, .cache)
        XCTAssertEqual(second.ratingsPath, first.ratingsPath)
        XCTAssertEqual(server.requestCount, 1, "the second fetch must not download")
    }

    func testDamagedExtractionIsRebuiltFromTheCachedArchive() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(ZipFixtures.infoZip)])
        defer { server.stop() }
        let first = try fetch(server)
        try FileManager.default.removeItem(atPath: first.ratingsPath)
        let second = try fetch(server)
        XCTAssertEqual(second.source, .cachedArchive)
        XCTAssertEqual(try String(contentsOfFile: second.ratingsPath, encoding: .utf8), ZipFixtures.ratingsText)
        XCTAssertEqual(server.requestCount, 1)
    }

    func testForceDownloadsAgain() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(ZipFixtures.infoZip)])
        defer { server.stop() }
        _ = try fetch(server)
        let again = try fetch(server, force: true)
        XCTAssertEqual(again.source, .download(bytes: ZipFixtures.infoZip.count))
        XCTAssertEqual(server.requestCount, 2)
        XCTAssertFalse(cacheContents().contains { $0.hasPrefix(".") }, "scratch files left: \(cacheContents())")
    }

    func testWrongChecksumNamesBothHashesAndLeavesNothing() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(ZipFixtures.infoZip)])
        defer { server.stop() }
        let wrong = String(repeating: "0", count: 64)
        let error = assertFetchError { try fetch(server, sha256: wrong) }
        XCTAssertEqual(error, .checksumMismatch(url: server.baseURL + "/x.zip", expected: wrong,
                                                actual: ZipFixtures.infoZipSHA256, bytes: ZipFixtures.infoZip.count))
        let message = error?.description ?? ""
        XCTAssertTrue(message.contains(wrong) && message.contains(ZipFixtures.infoZipSHA256), message)
        XCTAssertTrue(message.contains("--sha256 \(ZipFixtures.infoZipSHA256)"), message)
        XCTAssertEqual(cacheContents(), [], "nothing may be left in the cache")
    }

    func testHTTP404IsAClearError() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(ZipFixtures.infoZip)])
        defer { server.stop() }
        let error = assertFetchError { try fetch(server, path: "/moved.zip") }
        XCTAssertEqual(error, .httpStatus(url: server.baseURL + "/moved.zip", status: 404))
        let message = error?.description ?? ""
        XCTAssertTrue(message.hasPrefix("\(server.baseURL)/moved.zip: the server answered HTTP 404"), message)
        XCTAssertTrue(message.contains("--url"), message)
        XCTAssertEqual(server.requestCount(for: "/moved.zip"), 1)
        XCTAssertEqual(cacheContents(), [])
    }

    func testServerErrorStatus() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .status(503)])
        defer { server.stop() }
        XCTAssertEqual(assertFetchError { try fetch(server) }, .httpStatus(url: server.baseURL + "/x.zip", status: 503))
    }

    func testNoServerIsADownloadFailureNamingTheURL() throws {
        let server = try LoopbackHTTPServer(routes: [:])
        let url = server.baseURL + "/x.zip"
        server.stop()  // nothing listens on that port any more
        let options = FetchOptions(url: url, sha256: ZipFixtures.infoZipSHA256, cacheDirectory: cache, timeout: 5)
        let error = assertFetchError { try Fetcher.fetch(.movielens100k, options: options) }
        guard case .downloadFailed(url, _)? = error else {
            return XCTFail("expected downloadFailed naming \(url), got \(String(describing: error))")
        }
        XCTAssertTrue(error!.description.hasPrefix(url + ": download failed"), error!.description)
    }

    func testSilentServerTimesOut() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .silent])
        defer { server.stop() }
        // Fractions round up to whole seconds (0.5 must not time out at once).
        let error = assertFetchError { try fetch(server, timeout: 0.5) }
        XCTAssertEqual(error, .timedOut(url: server.baseURL + "/x.zip", seconds: 1))
        XCTAssertEqual(server.requestCount(for: "/x.zip"), 1, "the request reached the server before the timeout")
        XCTAssertTrue(error?.description.contains("--timeout") ?? false)
        XCTAssertEqual(cacheContents(), [])
    }

    /// A server that keeps sending a byte now and then never trips the idle timeout; the whole
    /// transfer's limit stops it, and the message gives that limit.
    func testDrippingServerHitsTheWholeTransferLimit() throws {
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .drip(ZipFixtures.infoZip, chunk: 1, interval: 0.1)])
        defer { server.stop() }
        let before = scratchDownloads()
        let error = assertFetchError { try fetch(server, timeout: 1, totalTimeout: 1.5) }
        XCTAssertEqual(error, .timedOut(url: server.baseURL + "/x.zip", seconds: 1.5))
        XCTAssertTrue(error?.description.contains("1.5 s") ?? false, error?.description ?? "")
        XCTAssertEqual(cacheContents(), [])
        XCTAssertEqual(scratchDownloads().subtracting(before), [])
    }

    /// A body over the size cap is refused (announced by Content-Length or counted as it arrives),
    /// and nothing is left behind.
    func testDownloadOverTheSizeCapIsRefused() throws {
        let body = [UInt8](repeating: 7, count: 5_000)
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(body), "/drip.zip": .drip(body, chunk: 1_000, interval: 0.01)])
        defer { server.stop() }
        let before = scratchDownloads()
        for path in ["/x.zip", "/drip.zip"] {
            let error = assertFetchError { try fetch(server, path: path, maximumDownloadBytes: 1_000) }
            XCTAssertEqual(error, .downloadTooLarge(url: server.baseURL + path, limit: 1_000))
            XCTAssertTrue(error?.description.contains(path) ?? false)
        }
        XCTAssertEqual(cacheContents(), [])
        XCTAssertEqual(scratchDownloads().subtracting(before), [])
    }

    /// Failed downloads (an error status, a timeout) leave no scratch file anywhere.
    func testFailedDownloadsLeaveNoTemporaryFiles() throws {
        let server = try LoopbackHTTPServer(routes: ["/gone.zip": .status(404), "/slow.zip": .drip(ZipFixtures.infoZip, chunk: 10, interval: 0.2)])
        defer { server.stop() }
        let before = scratchDownloads()
        XCTAssertEqual(assertFetchError { try fetch(server, path: "/gone.zip") }, .httpStatus(url: server.baseURL + "/gone.zip", status: 404))
        XCTAssertNotNil(assertFetchError { try fetch(server, path: "/slow.zip", timeout: 1, totalTimeout: 0.5) })
        XCTAssertEqual(cacheContents(), [])
        XCTAssertEqual(scratchDownloads().subtracting(before), [])
    }

    func testArchiveWithoutTheRatingsFile() throws {
        let zip = TestZipWriter([.init("ml-1m/ratings.dat", "1::2::3::4\n")]).bytes()
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(zip)])
        defer { server.stop() }
        let error = assertFetchError { try fetch(server, sha256: SHA256.hex(zip)) }
        XCTAssertEqual(error, .missingRatingsFile(source: server.baseURL + "/x.zip", expected: "ml-100k/u.data", found: ["ml-1m/ratings.dat"]))
        XCTAssertEqual(cacheContents(), [])
    }

    func testHostileArchiveIsRefusedAndNothingIsWritten() throws {
        let zip = TestZipWriter([.init("ml-100k/u.data", "1\t2\t3\n"), .init("../escape.txt", "x")]).bytes()
        let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(zip)])
        defer { server.stop() }
        let error = assertFetchError { try fetch(server, sha256: SHA256.hex(zip)) }
        guard case .unsafeEntryName(_, "../escape.txt")? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(cacheContents(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("escape.txt")))
    }

    func testInvalidOverridesFailBeforeAnyDownload() {
        let options = FetchOptions(url: "ftp://example.org/x.zip", cacheDirectory: cache)
        XCTAssertEqual(assertFetchError { try Fetcher.fetch(.movielens100k, options: options) }, .invalidURL(url: "ftp://example.org/x.zip"))
        let badHash = FetchOptions(url: "http://127.0.0.1:9/x.zip", sha256: "abc123", cacheDirectory: cache)
        XCTAssertEqual(assertFetchError { try Fetcher.fetch(.movielens100k, options: badHash) }, .invalidChecksum(value: "abc123"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache))
    }

    // MARK: The known data sets and the cache location

    func testKnownDatasets() throws {
        XCTAssertEqual(KnownDataset.all.map(\.name), ["movielens-100k", "movielens-1m", "movielens-latest-small"])
        XCTAssertEqual(KnownDataset.all.map(\.ratingsPath), ["ml-100k/u.data", "ml-1m/ratings.dat", "ml-latest-small/ratings.csv"])
        XCTAssertEqual(KnownDataset.all.map(\.format), [.tsv, .dat, .csv])
        for dataset in KnownDataset.all {
            XCTAssertTrue(SHA256.isHexDigest(dataset.sha256) && dataset.sha256 == dataset.sha256.lowercased(), dataset.name)
            let stem = String(dataset.ratingsPath.prefix { $0 != "/" })
            XCTAssertEqual(dataset.url, "https://files.grouplens.org/datasets/movielens/\(stem).zip")
            XCTAssertEqual(try KnownDataset.named(stem.uppercased()), dataset)
        }
        guard case let .unknownDataset(name, known)? = assertFetchError({ try KnownDataset.named("movielens-20m") }) else {
            return XCTFail("expected unknownDataset")
        }
        XCTAssertEqual(name, "movielens-20m")
        XCTAssertEqual(known, KnownDataset.all.map(\.name))
    }

    func testDefaultCacheDirectory() {
        XCTAssertEqual(Fetcher.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/var/cache/me", "HOME": "/home/me"]), "/var/cache/me/ncf")
        XCTAssertEqual(Fetcher.defaultCacheDirectory(environment: ["HOME": "/home/me"]), "/home/me/.cache/ncf")
        XCTAssertEqual(Fetcher.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/home/me"]), "/home/me/.cache/ncf")
        XCTAssertEqual(Fetcher.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "", "HOME": "/home/me"]), "/home/me/.cache/ncf")
    }
}
