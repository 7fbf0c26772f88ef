import Foundation

/// What a data path holds, as one comparable value: its files, their bytes and a SHA-256 of their
/// content. A sweep records it when it is created and every agent checks it; a trial's config
/// record (`ncf train --json`) carries the same digest, so the two can be compared.
public struct DataFingerprint: Sendable, Equatable {
    /// The files behind the path: the file itself, or the NCF paper's three files of a prefix.
    public var files: [String]
    /// Their bytes, added up.
    public var size: Int64
    /// `sha256:` and 64 hex digits: of the file, or of the files' digests (one per line) for a prefix.
    public var digest: String

    /// The fingerprint of `path` (a ratings file, or the NCF files' prefix); nil when no file is
    /// there or one cannot be read.
    /// - Complexity: reads every byte once, 1 MiB at a time (O(1) memory).
    public static func of(path: String) -> DataFingerprint? {
        let files = dataFiles(path)
        guard !files.isEmpty else { return nil }
        var size: Int64 = 0
        var digests: [String] = []
        for file in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            size += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            guard let digest = try? SHA256.hexOfFile(atPath: file) else { return nil }
            digests.append(digest)
        }
        let digest = digests.count == 1 ? digests[0] : SHA256.hex(Array(digests.joined(separator: "\n").utf8))
        return DataFingerprint(files: files, size: size, digest: "sha256:" + digest)
    }

    /// A fingerprint computed on another thread, started at `init` (so hashing a large file
    /// overlaps reading and splitting it); `value` waits for it.
    public final class Pending: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: DataFingerprint?
        private var waited = false

        public init(path: String) {
            Thread.detachNewThread { [self] in
                result = DataFingerprint.of(path: path)
                done.signal()
            }
        }

        /// The fingerprint (nil when no file is there or one cannot be read); blocks until it is done.
        public var value: DataFingerprint? {
            if !waited {
                done.wait()
                waited = true
            }
            return result
        }
    }

    /// The file itself when it is a regular file, else the NCF files of a prefix (each plain or
    /// gzipped) that exist.
    private static func dataFiles(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return isDirectory.boolValue ? [] : [path] }
        return [".train.rating", ".test.rating", ".test.negative"].compactMap { suffix in
            [path + suffix, path + suffix + ".gz"].first { FileManager.default.fileExists(atPath: $0) }
        }
    }
}
