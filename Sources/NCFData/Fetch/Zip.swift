// A minimal zip reader: enough to unpack the public rating archives, and strict about everything
// else.
//
// Layout read (PKWARE APPNOTE, sections 4.3.6–4.3.16), all integers little-endian:
//
//     [local header 1][data 1] … [local header n][data n][central directory][end of central directory]
//
// The end-of-central-directory record (EOCD, signature 50 4b 05 06, 22 bytes plus a comment of at
// most 65,535 bytes) is found by scanning back from the end; it gives the central directory's
// offset, size and entry count. Each central directory header (50 4b 01 02) holds an entry's name,
// method, CRC-32, sizes and the offset of its local header (50 4b 03 04), whose name and extra
// field lengths give where the data starts. Sizes and CRCs are always taken from the central
// directory, so entries written with a trailing data descriptor (flag bit 3) read fine.
//
// Supported: methods 0 (stored) and 8 (deflate, inflated by zlib in raw mode). Refused with a
// `FetchError`: zip64, encryption, other methods, multi-disk archives, entry names that leave the
// extraction directory. Symbolic links are extracted as regular files holding the link text.

import CZlib
import Foundation

// MARK: - Entries

/// One file or directory recorded in a zip archive's central directory.
public struct ZipEntry: Sendable, Equatable {
    /// The name as stored (UTF-8; `/` separates directories; a directory ends with `/`).
    public let name: String
    /// The compression method: 0 stored, 8 deflate.
    public let method: UInt16
    /// The general-purpose bit flags (bit 0: encrypted, bit 3: data descriptor, bit 11: UTF-8 name).
    public let flags: UInt16
    /// The CRC-32 of the uncompressed data.
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// Where the entry's local header starts in the archive.
    public let localHeaderOffset: Int

    /// True for directory entries (names ending with `/`).
    public var isDirectory: Bool { name.hasSuffix("/") }

    /// True when flag bit 0 (traditional or strong encryption) is set.
    public var isEncrypted: Bool { flags & 0x0001 != 0 }
}

// MARK: - Archive

/// A zip archive held in memory: its entries, and their contents on demand.
///
///     let zip = try ZipArchive(contentsOfFile: "ml-100k.zip")
///     let data = try zip.contents(of: zip.entry(named: "ml-100k/u.data")!)
///     try zip.extract(to: URL(fileURLWithPath: "out"))
public struct ZipArchive: Sendable {
    /// The archive's path or URL, for messages.
    public let path: String
    /// Every entry, in central directory order.
    public let entries: [ZipEntry]
    private let bytes: [UInt8]

    /// The largest ratio of uncompressed to compressed size deflate can reach (about 1032:1);
    /// an entry claiming more is damaged or hostile, and is refused before any memory is reserved.
    static let maximumDeflateRatio = 1032

    /// 1 GiB: what `extract` unpacks at most by default, all entries together. The largest known
    /// archive (ML-1M) unpacks to about 25 MB.
    public static let defaultMaximumTotalSize = 1 << 30

    /// Reads the zip file at `path`.
    /// - Throws: `FetchError.fileSystem` when it cannot be read; otherwise as `init(bytes:path:)`.
    public init(contentsOfFile path: String) throws(FetchError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .fileSystem(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    /// Parses the end-of-central-directory record and the central directory of `bytes`.
    ///
    /// Every entry name is checked here, so an archive with one unsafe name is refused as a whole.
    /// - Parameters:
    ///   - bytes: a whole zip file.
    ///   - path: the file's name or URL, for error messages.
    /// - Throws: `FetchError.badZip` for damaged structure, `.unsupportedZip` for zip64 or
    ///   multi-disk archives, `.unsafeEntryName` for names with `..`, a leading `/` or a drive letter.
    /// - Complexity: O(n) in the archive size (the EOCD scan) plus O(entries).
    public init(bytes: [UInt8], path: String) throws(FetchError) {
        self.path = path
        self.bytes = bytes
        let reader = ByteReader(bytes: bytes)

        // End of central directory: scan back over at most a maximal comment.
        guard bytes.count >= 22 else {
            throw .badZip(path: path, reason: "\(bytes.count) bytes is shorter than the smallest zip (22 bytes)")
        }
        var eocd: Int?
        var candidate = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while candidate >= lowest {
            if reader.u32(candidate) == 0x0605_4b50,
               candidate + 22 + Int(reader.u16(candidate + 20)) <= bytes.count {
                eocd = candidate
                break
            }
            candidate -= 1
        }
        guard let eocd else {
            throw .badZip(path: path, reason: "no end-of-central-directory record in the last 64 KiB")
        }
        let disk = reader.u16(eocd + 4), cdDisk = reader.u16(eocd + 6)
        let entriesHere = reader.u16(eocd + 8), total = reader.u16(eocd + 10)
        let cdSize = reader.u32(eocd + 12), cdOffset = reader.u32(eocd + 16)
        if total == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF
            || (eocd >= 20 && reader.u32(eocd - 20) == 0x0706_4b50) {
            throw .unsupportedZip(path: path, entry: nil, reason: "zip64 (an archive over 4 GiB or 65,535 entries)")
        }
        if disk != 0 || cdDisk != 0 || entriesHere != total {
            throw .unsupportedZip(path: path, entry: nil, reason: "a split (multi-disk) archive")
        }
        guard Int(cdOffset) + Int(cdSize) <= eocd else {
            throw .badZip(path: path, reason: "the central directory (offset \(cdOffset), \(cdSize) bytes) runs past the end-of-central-directory record at \(eocd); the file may be truncated")
        }

        // Central directory headers.
        var entries: [ZipEntry] = []
        entries.reserveCapacity(Int(total))
        var at = Int(cdOffset)
        let end = Int(cdOffset) + Int(cdSize)
        for index in 0..<Int(total) {
            guard at + 46 <= end, reader.u32(at) == 0x0201_4b50 else {
                throw .badZip(path: path, reason: "central directory header \(index + 1) of \(total) missing at offset \(at)")
            }
            let nameLength = Int(reader.u16(at + 28))
            let extraLength = Int(reader.u16(at + 30))
            let commentLength = Int(reader.u16(at + 32))
            guard at + 46 + nameLength + extraLength + commentLength <= end else {
                throw .badZip(path: path, reason: "central directory header \(index + 1) runs past the directory's end")
            }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            let compressed = reader.u32(at + 20), uncompressed = reader.u32(at + 24)
            let localOffset = reader.u32(at + 42)
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                throw .unsupportedZip(path: path, entry: name, reason: "zip64 (an entry over 4 GiB)")
            }
            guard Self.safeComponents(of: name) != nil else {
                throw .unsafeEntryName(path: path, entry: name)
            }
            entries.append(ZipEntry(
                name: name, method: reader.u16(at + 10), flags: reader.u16(at + 8), crc32: reader.u32(at + 16),
                compressedSize: Int(compressed), uncompressedSize: Int(uncompressed),
                localHeaderOffset: Int(localOffset)))
            at += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// The entry called exactly `name`, if any.
    public func entry(named name: String) -> ZipEntry? {
        entries.first { $0.name == name }
    }

    // MARK: Reading one entry

    /// The uncompressed contents of `entry`, checked against its CRC-32 and recorded size.
    ///
    /// - Parameter maximumSize: an entry recording more uncompressed bytes is refused before
    ///   anything is inflated.
    /// - Throws: `FetchError.zipTooLarge` over `maximumSize`, `.unsupportedZip` for encrypted
    ///   entries or methods other than 0 and 8, `.badZip` for a missing local header, data out of
    ///   bounds or a deflate stream that does not inflate to the recorded size, `.crcMismatch`
    ///   when the data does not match its CRC-32.
    /// - Complexity: O(compressed + uncompressed size); the result is the only large allocation.
    public func contents(of entry: ZipEntry, maximumSize: Int = ZipArchive.defaultMaximumTotalSize) throws(FetchError) -> [UInt8] {
        guard entry.uncompressedSize <= maximumSize else {
            throw .zipTooLarge(path: path, bytes: entry.uncompressedSize, limit: maximumSize)
        }
        var output = [UInt8]()
        output.reserveCapacity(entry.uncompressedSize)
        try stream(entry) { (chunk: UnsafeRawBufferPointer) throws(FetchError) in output.append(contentsOf: chunk) }
        return output
    }

    /// Where `entry`'s local header starts and its compressed data ends: `localHeaderOffset..<end`.
    /// - Throws: `.badZip` when the local header is missing or the data runs past the file.
    private func span(of entry: ZipEntry) throws(FetchError) -> (header: Int, data: Range<Int>) {
        let reader = ByteReader(bytes: bytes)
        let local = entry.localHeaderOffset
        guard local + 30 <= bytes.count, reader.u32(local) == 0x0403_4b50 else {
            throw .badZip(path: path, reason: "entry \"\(entry.name)\": no local header at offset \(local)")
        }
        let start = local + 30 + Int(reader.u16(local + 26)) + Int(reader.u16(local + 28))
        guard start + entry.compressedSize <= bytes.count else {
            throw .badZip(path: path, reason: "entry \"\(entry.name)\": its \(entry.compressedSize) bytes of data run past the end of the file; it may be truncated")
        }
        return (local, start..<(start + entry.compressedSize))
    }

    /// Hands `entry`'s uncompressed bytes to `sink` in chunks of at most 64 KiB, then checks that
    /// they are exactly the recorded size and match the recorded CRC-32. Never more than the
    /// recorded size reaches `sink`: a stream that inflates further is stopped there.
    /// - Complexity: O(compressed + uncompressed size) time, O(64 KiB) memory.
    private func stream(_ entry: ZipEntry, into sink: (UnsafeRawBufferPointer) throws(FetchError) -> Void) throws(FetchError) {
        if entry.isEncrypted {
            throw .unsupportedZip(path: path, entry: entry.name, reason: "encryption")
        }
        guard entry.method == 0 || entry.method == 8 else {
            throw .unsupportedZip(path: path, entry: entry.name, reason: "compression method \(entry.method) (\(Self.methodName(entry.method)))")
        }
        let data = try span(of: entry).data
        if entry.method == 0 {
            guard entry.compressedSize == entry.uncompressedSize else {
                throw .badZip(path: path, reason: "stored entry \"\(entry.name)\" records \(entry.compressedSize) bytes stored but \(entry.uncompressedSize) bytes long")
            }
        } else {
            guard entry.uncompressedSize <= entry.compressedSize * Self.maximumDeflateRatio + 1024 else {
                throw .badZip(path: path, reason: "entry \"\(entry.name)\" claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed, beyond deflate's maximum ratio")
            }
        }
        var failure: FetchError?
        var crc = CZlib.crc32(0, nil, 0)
        bytes.withUnsafeBufferPointer { all in
            let input = UnsafeBufferPointer(rebasing: all[data])
            func pass(_ chunk: UnsafeRawBufferPointer) throws(FetchError) {
                if chunk.count > 0 {
                    crc = CZlib.crc32(crc, chunk.baseAddress!.assumingMemoryBound(to: UInt8.self), uInt(chunk.count))
                }
                try sink(chunk)
            }
            do throws(FetchError) {
                if entry.method == 0 {
                    var offset = 0
                    while offset < input.count {
                        let n = min(Self.chunkSize, input.count - offset)
                        try pass(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[offset..<(offset + n)]))
                        offset += n
                    }
                } else if let problem = try Self.inflateRaw(input, expectedSize: entry.uncompressedSize, into: pass) {
                    failure = .badZip(path: path, reason: "entry \"\(entry.name)\": \(problem)")
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        let actual = UInt32(truncatingIfNeeded: crc)
        guard actual == entry.crc32 else {
            throw .crcMismatch(path: path, entry: entry.name, expected: entry.crc32, actual: actual)
        }
    }

    /// How many bytes `stream` hands on at a time.
    static let chunkSize = 1 << 16

    // MARK: Extracting

    /// Writes every entry under `directory` (created if missing) and returns the relative paths of
    /// the files written, in archive order.
    ///
    /// Before anything is written, the whole archive is checked: every entry's local header must
    /// be in place, no two entries may share bytes (one compressed stream listed under several
    /// names is a zip-bomb trick), and the recorded uncompressed sizes together may not pass
    /// `maximumTotalSize`. Each entry is then inflated straight to its file, 64 KiB at a time, and
    /// stopped at its recorded size; a file whose CRC-32 or size turns out wrong is deleted. On an
    /// error the files already written stay, so extract into a scratch directory and move it
    /// into place.
    /// - Parameter maximumTotalSize: the most all entries may unpack to together (default 1 GiB).
    /// - Throws: `FetchError.zipTooLarge`, `.badZip` for overlapping entries, as `contents(of:)`
    ///   for each entry, or `.fileSystem` when a file cannot be written.
    /// - Complexity: O(total uncompressed size) time; O(entries + 64 KiB) memory.
    @discardableResult
    public func extract(to directory: URL, maximumTotalSize: Int = ZipArchive.defaultMaximumTotalSize) throws(FetchError) -> [String] {
        try checkLayout(maximumTotalSize: maximumTotalSize)
        let fm = FileManager.default
        try Self.createDirectory(directory)
        var written: [String] = []
        for entry in entries {
            guard let components = Self.safeComponents(of: entry.name) else {
                throw .unsafeEntryName(path: path, entry: entry.name)
            }
            if components.isEmpty { continue }
            let relative = components.joined(separator: "/")
            let destination = components.reduce(directory) { $0.appendingPathComponent($1) }
            if entry.isDirectory {
                try Self.createDirectory(destination)
                continue
            }
            try Self.createDirectory(destination.deletingLastPathComponent())
            if fm.fileExists(atPath: destination.path) {
                do { try fm.removeItem(at: destination) } catch {
                    throw .fileSystem(path: destination.path, reason: "cannot replace the existing file (\(error.localizedDescription))")
                }
            }
            guard fm.createFile(atPath: destination.path, contents: nil), let handle = FileHandle(forWritingAtPath: destination.path) else {
                throw .fileSystem(path: destination.path, reason: "cannot create the file to extract \(entry.name) from \(path)")
            }
            do throws(FetchError) {
                try stream(entry) { (chunk: UnsafeRawBufferPointer) throws(FetchError) in
                    do { try handle.write(contentsOf: Data(chunk)) } catch {
                        throw .fileSystem(path: destination.path, reason: "cannot write the data extracted from \(path) (\(error.localizedDescription))")
                    }
                }
                try? handle.close()
            } catch {
                try? handle.close()
                try? fm.removeItem(at: destination)
                throw error
            }
            written.append(relative)
        }
        return written
    }

    /// Checks, without inflating anything, that every entry's local header is where the central
    /// directory says, that no two entries' bytes overlap, and that the recorded sizes of all files
    /// together stay within `maximumTotalSize`.
    /// - Throws: `.badZip` or `.zipTooLarge`.
    /// - Complexity: O(entries · log entries).
    public func checkLayout(maximumTotalSize: Int) throws(FetchError) {
        var total = 0
        for entry in entries where !entry.isDirectory { total += entry.uncompressedSize }  // < 65,536 × 4 GiB: no overflow
        guard total <= maximumTotalSize else {
            throw .zipTooLarge(path: path, bytes: total, limit: maximumTotalSize)
        }
        var spans: [(range: Range<Int>, name: String)] = []
        spans.reserveCapacity(entries.count)
        for entry in entries {
            let span = try span(of: entry)
            spans.append((span.header..<max(span.data.upperBound, span.header + 30), entry.name))
        }
        spans.sort { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(spans, spans.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw .badZip(path: path, reason: "entries \"\(a.name)\" and \"\(b.name)\" overlap at offset \(b.range.lowerBound) "
                + "(one stream listed twice, a zip-bomb trick)")
        }
    }

    // MARK: Helpers

    /// The CRC-32 (IEEE, as zip and gzip use it) of `bytes`, computed by zlib.
    /// Check value: `crc32("123456789") == 0xCBF43926`. - Complexity: O(n).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count {
                let chunk = min(buffer.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, buffer.baseAddress! + offset, uInt(chunk))
                offset += chunk
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// The path components an entry name would be written to, or nil when the name is unsafe:
    /// empty, containing NUL, absolute (`/x`, `\x`), starting with a drive letter (`C:`), or with a
    /// `..` component (with `/` or `\` as the separator). Empty and `.` components are dropped, so
    /// `./` yields no components (nothing to write).
    public static func safeComponents(of name: String) -> [String]? {
        if name.isEmpty || name.contains("\0") { return nil }
        if name.hasPrefix("/") || name.hasPrefix("\\") { return nil }
        let scalars = Array(name.unicodeScalars.prefix(2))
        if scalars.count == 2, scalars[1] == ":", scalars[0].properties.isAlphabetic { return nil }
        let parts = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init)
        if parts.contains("..") { return nil }
        return parts.filter { $0 != "." }
    }

    private static func methodName(_ method: UInt16) -> String {
        switch method {
        case 1: return "shrink"
        case 6: return "implode"
        case 9: return "deflate64"
        case 12: return "bzip2"
        case 14: return "LZMA"
        case 93: return "zstd"
        case 95: return "xz"
        case 99: return "AES encryption"
        default: return "unknown"
        }
    }

    private static func createDirectory(_ url: URL) throws(FetchError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: url.path, reason: "cannot create the directory (\(error.localizedDescription))")
        }
    }

    /// Inflates a raw deflate stream (no zlib or gzip wrapper: windowBits −15) that must produce
    /// exactly `expectedSize` bytes, handing the output to `sink` `chunkSize` bytes at a time.
    /// - Returns: nil when the stream ends at exactly `expectedSize` bytes, else what is wrong
    ///   (output stops at `expectedSize`: nothing past it reaches `sink`).
    /// - Complexity: O(input + output) time, one `chunkSize` buffer.
    private static func inflateRaw(_ input: UnsafeBufferPointer<UInt8>, expectedSize: Int,
                                   into sink: (UnsafeRawBufferPointer) throws(FetchError) -> Void) throws(FetchError) -> String? {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { return "zlib could not start (status \(initStatus))" }
        defer { inflateEnd(&stream) }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { buffer.deallocate() }
        var produced = 0
        // An empty input still needs a valid address.
        let inputStart = input.baseAddress ?? UnsafePointer(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
        stream.next_in = UnsafeMutablePointer(mutating: inputStart)
        stream.avail_in = UInt32(input.count)
        while true {
            // One byte past the recorded size is enough to tell that the stream is too long.
            let room = min(chunkSize, expectedSize - produced + 1)
            stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = UInt32(room)
            let status = inflate(&stream, Z_NO_FLUSH)
            let got = room - Int(stream.avail_out)
            if produced + got > expectedSize {
                return "inflates to more than the \(expectedSize) bytes the archive records"
            }
            if got > 0 { try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<got])) }
            produced += got
            switch status {
            case Z_STREAM_END:
                guard produced == expectedSize else {
                    return "inflates to \(produced) bytes, but the archive records \(expectedSize)"
                }
                return nil
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                return "the deflate stream ends early (truncated data)"
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                return "the deflate data is corrupt (\(message))"
            }
        }
    }
}

// MARK: - Little-endian reads

/// Bounds-checked little-endian reads; out-of-range reads return 0 (callers check lengths first,
/// and a 0 never matches a signature).
private struct ByteReader {
    let bytes: [UInt8]

    func u16(_ at: Int) -> UInt16 {
        guard at >= 0, at + 2 <= bytes.count else { return 0 }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
