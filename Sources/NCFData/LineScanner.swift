// Reading a ratings file a piece at a time: `ByteSource` yields its bytes (inflating gzip as it
// goes) and `LineScanner` cuts them into lines in one reused buffer. A 475 MB file is parsed with a
// few MiB of buffer instead of a 475 MB copy in memory.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

// MARK: - Bytes

/// The bytes of a file, decompressed when it starts with the gzip magic bytes, read in pieces.
///
/// Gzip is recognised by content, never by name; concatenated members decompress to the
/// concatenation of their contents, and bytes after the last member that do not start another
/// member are ignored (as `Gzip.decompress` does).
final class ByteSource {
    let path: String
    private let fd: Int32
    /// The file's size in bytes (0 for pipes and special files).
    let fileSize: Int
    let isGzip: Bool
    private var inflater: UnsafeMutablePointer<z_stream>?
    /// Compressed input waiting for zlib.
    private var input: UnsafeMutablePointer<UInt8>?
    private static let inputCapacity = 1 << 18
    private var inputEOF = false
    private var finished = false
    /// Two bytes read to look for the gzip magic, handed out first (plain files).
    private var peeked: [UInt8] = []

    /// Opens `path`.
    /// - Throws: `DataError.fileNotFound`, `.unreadable` (also for a directory), `.corruptGzip`.
    init(path: String) throws(DataError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path, tried: []) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .unreadable(path: path, reason: "it is a directory")
        }
        self.fd = fd
        fileSize = Int(info.st_size)
        var head = [UInt8](repeating: 0, count: 2)
        var got = 0
        while got < 2 {
            let n = head.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress! + got, 2 - got) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                close(fd)
                throw .unreadable(path: path, reason: String(cString: strerror(code)))
            }
            if n == 0 { break }
            got += n
        }
        head.removeSubrange(got...)
        isGzip = Gzip.isGzip(head)
        peeked = head
        if isGzip {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                stream.deallocate()
                close(fd)
                throw .corruptGzip(path: path, reason: "zlib could not start (status \(status))")
            }
            inflater = stream
            input = .allocate(capacity: Self.inputCapacity)
            input!.update(from: head, count: head.count)
            stream.pointee.next_in = input
            stream.pointee.avail_in = UInt32(head.count)
            peeked = []
        }
    }

    deinit {
        if let inflater {
            inflateEnd(inflater)
            inflater.deallocate()
        }
        input?.deallocate()
        close(fd)
    }

    /// Reads up to `count` (> 0) bytes into `buffer`; 0 at the end of the data.
    /// - Throws: `DataError.unreadable` for a read error, `.corruptGzip` for damaged or truncated gzip.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws(DataError) -> Int {
        guard let stream = inflater else {
            if !peeked.isEmpty {
                let n = min(count, peeked.count)
                buffer.update(from: peeked, count: n)
                peeked.removeFirst(n)
                return n
            }
            return try readRaw(buffer, count)
        }
        if finished { return 0 }
        while true {
            if stream.pointee.avail_in == 0 && !inputEOF { try refill(stream) }
            stream.pointee.next_out = buffer
            let room = UInt32(min(count, Int(UInt32.max)))
            stream.pointee.avail_out = room
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = Int(room - stream.pointee.avail_out)
            switch status {
            case Z_STREAM_END:
                // Another member follows: start over on it; anything else ends the data.
                if stream.pointee.avail_in < 2 && !inputEOF { try refill(stream) }
                let next = stream.pointee.next_in
                if stream.pointee.avail_in >= 2, let next, next[0] == 0x1f, next[1] == 0x8b {
                    inflateReset(stream)
                } else {
                    finished = true
                    return produced
                }
            case Z_OK:
                break
            case Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 && inputEOF && stream.pointee.avail_out > 0 {
                    throw .corruptGzip(path: path, reason: "unexpected end of data: the file is truncated")
                }
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw .corruptGzip(path: path, reason: reason)
            }
            if produced > 0 { return produced }
        }
    }

    /// Moves the unread input to the front of `input` and reads more after it.
    private func refill(_ stream: UnsafeMutablePointer<z_stream>) throws(DataError) {
        guard let input else { return }
        let left = Int(stream.pointee.avail_in)
        if left > 0, let next = stream.pointee.next_in, next != input { input.update(from: next, count: left) }
        let n = try readRaw(input + left, Self.inputCapacity - left)
        if n == 0 { inputEOF = true }
        stream.pointee.next_in = input
        stream.pointee.avail_in = UInt32(left + n)
    }

    private func readRaw(_ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) throws(DataError) -> Int {
        while true {
            let n = posixRead(fd, buffer, count)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
    }
}

// MARK: - Lines

/// Cuts a `ByteSource` into lines, in one buffer of `chunkSize + maximumLineLength + 2` bytes that is
/// refilled as lines are used up. A line's bytes stay valid until the next call to `next()`.
///
/// Lines end at LF; a CR before it is dropped; the last line may lack its LF; a UTF-8 byte-order
/// mark at the start of the data is skipped. Lines are counted from 1, blank ones included.
struct LineScanner {
    enum Line {
        /// `base[start..<end]`, without its line break.
        case text(start: Int, end: Int)
        /// A line longer than `RatingsReader.maximumLineLength`: its length when known (it was
        /// found whole), else nil ("longer than the buffer holds"). The scanner has moved past it.
        case tooLong(length: Int?)
    }

    let source: ByteSource
    /// The buffer; stable for the scanner's life.
    let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private let maximumLineLength: Int
    private var position = 0
    private var filled = 0
    private var atEnd = false
    private var started = false
    /// The current line's number (1-based; 0 before the first).
    private(set) var lineNumber = 0

    init(source: ByteSource, maximumLineLength: Int = RatingsReader.maximumLineLength, chunkSize: Int = 1 << 22) {
        self.source = source
        self.maximumLineLength = maximumLineLength
        capacity = chunkSize + maximumLineLength + 2
        base = .allocate(capacity: capacity)
    }

    /// Frees the buffer; the scanner must not be used afterwards.
    func close() { base.deallocate() }

    /// The next line, or nil at the end of the data.
    mutating func next() throws(DataError) -> Line? {
        if !started {
            started = true
            try fill(atLeast: 3)
            if filled >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF { position = 3 }
        }
        // Scan at most one line's worth (plus CR LF) for the line break.
        let window = maximumLineLength + 2
        while true {
            let available = filled - position
            let look = min(available, window)
            if look > 0, let hit = memchr(base + position, 0x0A, look) {
                lineNumber += 1
                let start = position
                var end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                position = end + 1
                if end > start && base[end - 1] == 0x0D { end -= 1 }
                if end - start > maximumLineLength { return .tooLong(length: end - start) }
                return .text(start: start, end: end)
            }
            if available > window {
                // No line break within a line's worth: skip to the next one (or the end).
                lineNumber += 1
                try skipPastLineBreak()
                return .tooLong(length: nil)
            }
            if atEnd {
                if available == 0 { return nil }
                lineNumber += 1
                let start = position
                var end = filled
                position = filled
                if end > start && base[end - 1] == 0x0D { end -= 1 }
                if end - start > maximumLineLength { return .tooLong(length: end - start) }
                return .text(start: start, end: end)
            }
            try fill(atLeast: available + 1)
        }
    }

    /// Moves unread bytes to the front and reads until at least `count` are buffered or the data ends.
    private mutating func fill(atLeast count: Int) throws(DataError) {
        let available = filled - position
        if position > 0 && available > 0 { base.update(from: base + position, count: available) }
        filled = available
        position = 0
        while filled < count && filled < capacity && !atEnd {
            let n = try source.read(into: base + filled, count: capacity - filled)
            if n == 0 { atEnd = true } else { filled += n }
        }
    }

    /// Discards bytes up to and including the next line break (or to the end of the data).
    private mutating func skipPastLineBreak() throws(DataError) {
        while true {
            if position < filled, let hit = memchr(base + position, 0x0A, filled - position) {
                position = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
                return
            }
            position = filled
            if atEnd { return }
            try fill(atLeast: 1)
        }
    }
}
