// `ncf data fetch NAME`: download a data set's archive once, verify it, unpack it into a cache.
//
// Cache layout (CACHE defaults to $XDG_CACHE_HOME/ncf, else ~/.cache/ncf):
//
//     CACHE/NAME.zip                 the verified archive, kept so a damaged extraction can be
//                                    redone without the network
//     CACHE/NAME/                    its contents, e.g. CACHE/movielens-100k/ml-100k/u.data
//     CACHE/NAME/.ncf-fetch          marker: `sha256 HEX`, `url URL`, `ratings PATH` lines
//
// Nothing half-done is ever visible under those names: the download goes to a hidden `.part`
// file, is hashed, and is unpacked into a hidden scratch directory (marker written last); only
// then are both renamed to NAME.zip and NAME/. A failed fetch removes its scratch files, so the
// cache holds either a complete data set or nothing new.

import Foundation

/// How to fetch: overrides of the data set's address and checksum, where to cache, and limits.
public struct FetchOptions: Sendable {
    /// Download from here instead of the data set's own URL (a mirror, or a test server).
    public var url: String?
    /// Expect this SHA-256 instead of the data set's recorded one (either case).
    public var sha256: String?
    /// The cache directory; nil means `Fetcher.defaultCacheDirectory()`.
    public var cacheDirectory: String?
    /// Download and unpack again even when the cache already holds the data set.
    public var force: Bool
    /// Seconds without data before the download gives up (see `Download.get`).
    public var timeout: Double
    /// Seconds the whole download may take; nil means ten times `timeout`.
    public var totalTimeout: Double?
    /// The largest download accepted, in bytes.
    public var maximumDownloadBytes: Int = FetchOptions.defaultMaximumDownloadBytes
    /// The most the archive may unpack to, all entries together, in bytes.
    public var maximumUnpackedBytes: Int = ZipArchive.defaultMaximumTotalSize

    /// 256 MiB: over forty times the largest known archive (ML-1M, 5.9 MB).
    public static let defaultMaximumDownloadBytes = 256 << 20

    public init(url: String? = nil, sha256: String? = nil, cacheDirectory: String? = nil,
                force: Bool = false, timeout: Double = 60) {
        self.url = url
        self.sha256 = sha256
        self.cacheDirectory = cacheDirectory
        self.force = force
        self.timeout = timeout
    }
}

/// What a fetch produced: the ratings file to pass to `--data`, and how it got there.
public struct FetchResult: Sendable, Equatable {
    public let dataset: KnownDataset
    /// Absolute path of the extracted ratings file.
    public let ratingsPath: String
    /// The directory the archive was unpacked into (`CACHE/NAME`).
    public let directory: String
    /// The archive's verified SHA-256.
    public let sha256: String
    /// How the data set was obtained this time.
    public let source: Source

    public enum Source: Sendable, Equatable {
        /// Nothing to do: the cache already held it.
        case cache
        /// Unpacked again from the verified archive kept in the cache.
        case cachedArchive
        /// Downloaded (this many bytes).
        case download(bytes: Int)
    }
}

/// Downloads, verifies, unpacks and caches the known data sets.
public enum Fetcher {
    /// The marker file's name inside `CACHE/NAME/`.
    public static let markerName = ".ncf-fetch"

    /// `$XDG_CACHE_HOME/ncf` when that variable holds an absolute path, else `~/.cache/ncf`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("ncf").path
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/ncf").path
    }

    /// Makes `dataset` available under the cache and returns its ratings file.
    ///
    /// 1. When `CACHE/NAME/` holds the ratings file and its marker records the expected SHA-256,
    ///    return at once (unless `options.force`).
    /// 2. When `CACHE/NAME.zip` exists with the expected SHA-256, unpack it again.
    /// 3. Otherwise download to a hidden `.part` file in the cache and hash it; on a mismatch it
    ///    is deleted, on a match it is unpacked and renamed to `CACHE/NAME.zip`.
    ///
    /// - Parameters:
    ///   - log: receives one human-readable line per step (for stderr).
    /// - Throws: `FetchError`: `.invalidURL` / `.invalidChecksum` for bad overrides; the download's
    ///   errors (`.httpStatus`, `.timedOut`, `.downloadFailed`); `.checksumMismatch` naming both
    ///   hashes; the zip reader's errors; `.missingRatingsFile` when the archive lacks the ratings
    ///   file; `.fileSystem` when the cache cannot be written.
    /// - Complexity: O(archive size) to hash and unpack; nothing when cached.
    public static func fetch(_ dataset: KnownDataset, options: FetchOptions = FetchOptions(),
                             log: (String) -> Void = { _ in }) throws(FetchError) -> FetchResult {
        let urlText = options.url ?? dataset.url
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw .invalidURL(url: urlText)
        }
        let expected = (options.sha256 ?? dataset.sha256).lowercased()
        guard SHA256.isHexDigest(expected) else { throw .invalidChecksum(value: options.sha256 ?? dataset.sha256) }

        let cachePath = (options.cacheDirectory ?? defaultCacheDirectory()) as NSString
        let cache = URL(fileURLWithPath: cachePath.expandingTildeInPath).standardizedFileURL
        let target = cache.appendingPathComponent(dataset.name)
        let archive = cache.appendingPathComponent(dataset.name + ".zip")
        let ratings = target.appendingPathComponent(dataset.ratingsPath)

        func result(_ source: FetchResult.Source) -> FetchResult {
            FetchResult(dataset: dataset, ratingsPath: ratings.path, directory: target.path, sha256: expected, source: source)
        }

        if !options.force, isComplete(target: target, ratings: ratings, sha256: expected) {
            log("\(dataset.name) is already in the cache: \(target.path)")
            return result(.cache)
        }

        try makeDirectory(cache)
        let fm = FileManager.default
        let token = UUID().uuidString.prefix(8)

        // The archive: the cached one when it still verifies, else a fresh download to `part`.
        var source = FetchResult.Source.cachedArchive
        var archiveFile = archive
        let part = cache.appendingPathComponent(".\(dataset.name)-\(token).zip.part")
        defer { try? fm.removeItem(at: part) }
        if options.force || !fm.fileExists(atPath: archive.path) || (try? SHA256.hexOfFile(atPath: archive.path)) != expected {
            log("downloading \(urlText)")
            let bytes = try Download.get(url, to: part, timeout: options.timeout, totalTimeout: options.totalTimeout,
                                         maximumBytes: options.maximumDownloadBytes)
            let actual = try SHA256.hexOfFile(atPath: part.path)
            guard actual == expected else {
                throw .checksumMismatch(url: urlText, expected: expected, actual: actual, bytes: bytes)
            }
            log("downloaded \(bytes) bytes, SHA-256 verified")
            source = .download(bytes: bytes)
            archiveFile = part
        } else {
            log("unpacking the cached archive \(archive.path) again")
        }

        // Unpack into a scratch directory and write the marker last; only then move the archive
        // and the directory into place, so a failure at any step leaves nothing new behind.
        let zip = try ZipArchive(contentsOfFile: archiveFile.path)
        guard let entry = zip.entry(named: dataset.ratingsPath), !entry.isDirectory else {
            throw .missingRatingsFile(source: urlText, expected: dataset.ratingsPath,
                                      found: zip.entries.filter { !$0.isDirectory }.map(\.name))
        }
        let scratch = cache.appendingPathComponent(".\(dataset.name)-\(token).extracting")
        defer { try? fm.removeItem(at: scratch) }
        let files = try zip.extract(to: scratch, maximumTotalSize: options.maximumUnpackedBytes)
        let marker = "sha256 \(expected)\nurl \(urlText)\nratings \(dataset.ratingsPath)\n"
        let markerPath = scratch.appendingPathComponent(markerName).path
        guard fm.createFile(atPath: markerPath, contents: Data(marker.utf8)) else {
            throw .fileSystem(path: markerPath, reason: "cannot write the cache marker")
        }
        if archiveFile == part { try replace(archive, with: part) }
        try replace(target, with: scratch)
        log("unpacked \(files.count) file\(files.count == 1 ? "" : "s") into \(target.path)")
        return result(source)
    }

    /// True when `target` holds the ratings file as a regular file and its marker records `sha256`.
    public static func isComplete(target: URL, ratings: URL, sha256: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: ratings.path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: target.appendingPathComponent(markerName).path) else {
            return false
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        return lines.contains { $0 == "sha256 \(sha256.lowercased())" }
    }

    // MARK: - File system steps

    private static func makeDirectory(_ url: URL) throws(FetchError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: url.path, reason: "cannot create the cache directory (\(error.localizedDescription))")
        }
    }

    /// Renames `source` to `destination`, removing whatever was there first.
    private static func replace(_ destination: URL, with source: URL) throws(FetchError) {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            try fm.moveItem(at: source, to: destination)
        } catch {
            throw .fileSystem(path: destination.path, reason: "cannot move \(source.lastPathComponent) into place (\(error.localizedDescription))")
        }
    }
}
