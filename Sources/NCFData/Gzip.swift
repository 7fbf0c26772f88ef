import CZlib

/// Decompresses gzip data in memory through zlib.
///
/// Files are recognised by their content (the magic bytes `1f 8b`), never by their name.
/// Concatenated gzip members (as written by `cat a.gz b.gz`) decompress to the concatenation of
/// their contents; bytes after the last member that do not start another member are ignored.
public enum Gzip {
    /// True when `bytes` starts with the gzip magic bytes `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The decompressed contents of the gzip data `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: a whole gzip file (one or more members).
    ///   - path: the file's name, for error messages.
    ///   - limit: stop once at least this many bytes are out (for peeking at the first lines);
    ///     the result may then be longer than `limit` and ends mid-stream. `nil` decompresses all.
    /// - Throws: `DataError.corruptGzip` naming `path` for damaged or truncated data.
    /// - Complexity: O(n) in the decompressed size; one output buffer, grown by doubling and
    ///   sized up front from the gzip trailer.
    public static func decompress(_ bytes: [UInt8], path: String, limit: Int? = nil) throws(DataError) -> [UInt8] {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw .corruptGzip(path: path, reason: "zlib could not start (status \(initStatus))")
        }
        defer { inflateEnd(&stream) }

        // The trailer's ISIZE is the last member's size mod 2^32: a good first guess, trusted
        // only up to deflate's maximum ratio (about 1032:1) since a damaged file may lie.
        var guess = max(4096, bytes.count * 4)
        if bytes.count >= 18 {
            let n = bytes.count
            let isize = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
            if isize > 0 { guess = max(guess, min(isize + 1, bytes.count * 1032)) }
        }
        guess = min(guess, 1 << 30)
        if let limit { guess = min(guess, max(limit, 4096)) }

        var output = [UInt8](repeating: 0, count: guess)
        var produced = 0
        var failure: String?

        bytes.withUnsafeBufferPointer { input in
            guard let inBase = input.baseAddress else { failure = "the file is empty"; return }
            var fed = 0  // bytes of `input` handed to zlib so far
            while true {
                if stream.avail_in == 0 && fed < input.count {
                    let chunk = min(input.count - fed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: inBase + fed)
                    stream.avail_in = UInt32(chunk)
                    fed += chunk
                }
                if produced == output.count {
                    output.append(contentsOf: repeatElement(0, count: output.count))
                }
                let before = min(output.count - produced, Int(UInt32.max))
                let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = UInt32(before)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                produced += before - Int(stream.avail_out)
                switch status {
                case Z_STREAM_END:
                    let consumed = fed - Int(stream.avail_in)
                    // Another member follows: start over on it; anything else ends the data.
                    if input.count - consumed >= 2 && input[consumed] == 0x1f && input[consumed + 1] == 0x8b {
                        inflateReset(&stream)
                    } else {
                        return
                    }
                case Z_OK:
                    break
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 && fed == input.count && stream.avail_out > 0 {
                        failure = "unexpected end of data: the file is truncated"
                        return
                    }
                default:
                    if let msg = stream.msg { failure = String(cString: msg) }
                    else { failure = "zlib status \(status)" }
                    return
                }
                if let limit, produced >= limit { return }
            }
        }
        if let failure { throw .corruptGzip(path: path, reason: failure) }
        output.removeSubrange(produced...)
        return output
    }
}
