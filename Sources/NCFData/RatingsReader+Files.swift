// Loading whole files into memory (decompressing gzip), finding the NCF files, and detecting
// a file's format from its first non-blank line.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension RatingsReader {
    // MARK: - Files

    /// The bytes of the file at `path`, decompressed when they start with the gzip magic bytes.
    ///
    /// - Parameter limit: read (and decompress) only about this many bytes; nil reads everything.
    /// - Complexity: O(file size); the file is read with `read(2)` into one buffer.
    static func loadFile(path: String, limit: Int? = nil) throws(DataError) -> [UInt8] {
        let raw = try readBytes(path: path, limit: limit)
        guard Gzip.isGzip(raw) else { return raw }
        return try Gzip.decompress(raw, path: path, limit: limit)
    }

    /// The raw bytes of `path` (at most about `limit` of them).
    static func readBytes(path: String, limit: Int?) throws(DataError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path, tried: []) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            throw .unreadable(path: path, reason: "it is a directory")
        }
        // Regular files report their size; pipes and special files report 0 and grow as read.
        var capacity = max(Int(info.st_size) + 1, 1 << 16)
        if let limit { capacity = min(capacity, limit) }
        var buffer = [UInt8](repeating: 0, count: capacity)
        var filled = 0
        while true {
            if filled == buffer.count {
                if let limit, filled >= limit { break }
                buffer.append(contentsOf: repeatElement(0, count: buffer.count))
            }
            let n = buffer.withUnsafeMutableBytes { raw in
                posixRead(fd, raw.baseAddress! + filled, raw.count - filled)
            }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(code)))
            }
            if n == 0 { break }
            filled += n
        }
        buffer.removeSubrange(filled...)
        return buffer
    }

    /// `path` if it exists, else `path + ".gz"` if that exists.
    static func resolveNCFFile(_ path: String) throws(DataError) -> String {
        if fileExists(path) { return path }
        if fileExists(path + ".gz") { return path + ".gz" }
        throw .fileNotFound(path: path, tried: [path, path + ".gz"])
    }

    /// True when `path` does not exist but `path.train.rating[.gz]` does: an NCF prefix.
    static func ncfPrefixExists(_ path: String) -> Bool {
        !fileExists(path) && (fileExists(path + ".train.rating") || fileExists(path + ".train.rating.gz"))
    }

    static func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    // MARK: - Detection

    /// The format of already-loaded bytes (see `detectFormat(path:)`).
    static func detectFormat(bytes: [UInt8], path: String) throws(DataError) -> DataFormat {
        var start = hasBOM(bytes) ? 3 : 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var blank = true
            var sawComma = false
            for k in start..<end {
                let b = bytes[k]
                if b == UInt8(ascii: ":") && k + 1 < end && bytes[k + 1] == UInt8(ascii: ":") { return .dat }
                if b == UInt8(ascii: ",") { sawComma = true }
                if b != UInt8(ascii: " ") && b != UInt8(ascii: "\t") && b != UInt8(ascii: "\r") { blank = false }
            }
            if !blank { return sawComma ? .csv : .tsv }
            start = end + 1
        }
        throw .noRatings(path: path, skippedLines: 0)
    }

    static func hasBOM(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
    }
}

/// `read(2)`, named apart from the many Swift `read` methods in scope.
@inline(__always)
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
