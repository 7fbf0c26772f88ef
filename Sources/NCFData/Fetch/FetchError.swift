import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why `ncf data fetch` could not download, verify or unpack a data set: each message names the
/// URL, file or zip entry concerned and ends with a hint of what to do.
///
/// Messages have the form `SUMMARY. Hint: WHAT TO DO`, like `DataError`'s.
public enum FetchError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// `name` is not one of the known data sets (`known` lists them).
    case unknownDataset(name: String, known: [String])
    /// A `--url` that is not an absolute http:// or https:// URL.
    case invalidURL(url: String)
    /// A `--sha256` that is not 64 hexadecimal digits.
    case invalidChecksum(value: String)
    /// The request failed before a response arrived (no connection, DNS, TLS, an I/O error).
    case downloadFailed(url: String, reason: String)
    /// The server answered with a status other than 200.
    case httpStatus(url: String, status: Int)
    /// No complete response within `seconds`.
    case timedOut(url: String, seconds: Double)
    /// The downloaded file's SHA-256 is not the expected one. Nothing was kept.
    case checksumMismatch(url: String, expected: String, actual: String, bytes: Int)
    /// The server sent, or announced, more than `limit` bytes.
    case downloadTooLarge(url: String, limit: Int)
    /// The archive's entries together unpack to `bytes`, more than the `limit` allowed.
    case zipTooLarge(path: String, bytes: Int, limit: Int)
    /// The file is not a readable zip archive (`reason` says where it broke).
    case badZip(path: String, reason: String)
    /// The zip uses a feature this reader does not implement (zip64, encryption, a method other
    /// than stored or deflate, multiple disks); `entry` is nil when it concerns the whole archive.
    case unsupportedZip(path: String, entry: String?, reason: String)
    /// An entry's data does not match the CRC-32 recorded in the archive.
    case crcMismatch(path: String, entry: String, expected: UInt32, actual: UInt32)
    /// An entry whose name would be written outside the extraction directory (`../`, an absolute
    /// path, a drive letter).
    case unsafeEntryName(path: String, entry: String)
    /// The archive unpacked, but the ratings file the data set promises is not in it.
    case missingRatingsFile(source: String, expected: String, found: [String])
    /// Creating, writing, renaming or removing a file or directory failed.
    case fileSystem(path: String, reason: String)

    /// The message without its trailing hint.
    public var summary: String {
        switch self {
        case let .unknownDataset(name, known):
            return "unknown data set \"\(name)\" (known: \(known.joined(separator: ", ")))"
        case let .invalidURL(url):
            return "--url \"\(url)\" is not an absolute http:// or https:// URL"
        case let .invalidChecksum(value):
            return "--sha256 \"\(value)\" is not a SHA-256 checksum (64 hexadecimal digits)"
        case let .downloadFailed(url, reason):
            return "\(url): download failed (\(reason))"
        case let .httpStatus(url, status):
            return "\(url): the server answered HTTP \(status) (\(HTTPURLResponse.localizedString(forStatusCode: status))) instead of 200"
        case let .timedOut(url, seconds):
            return "\(url): no complete response within \(Self.seconds(seconds)) s"
        case let .checksumMismatch(url, expected, actual, bytes):
            return "\(url): SHA-256 mismatch for the downloaded \(bytes) bytes: expected \(expected), got \(actual); the file was deleted"
        case let .downloadTooLarge(url, limit):
            return "\(url): the download is larger than the \(Self.bytes(limit)) allowed; it was stopped and deleted"
        case let .zipTooLarge(path, bytes, limit):
            return "\(path): the archive unpacks to \(bytes) bytes, more than the \(Self.bytes(limit)) allowed (a damaged archive or a zip bomb)"
        case let .badZip(path, reason):
            return "\(path): not a readable zip archive (\(reason))"
        case let .unsupportedZip(path, entry, reason):
            if let entry { return "\(path): entry \"\(entry)\": \(reason) is not supported" }
            return "\(path): \(reason) is not supported"
        case let .crcMismatch(path, entry, expected, actual):
            return "\(path): entry \"\(entry)\" is corrupt: CRC-32 \(Self.hex32(actual)), the archive records \(Self.hex32(expected))"
        case let .unsafeEntryName(path, entry):
            return "\(path): entry name \"\(entry)\" points outside the extraction directory"
        case let .missingRatingsFile(source, expected, found):
            let shown = found.prefix(8).map { "\"\($0)\"" }.joined(separator: ", ")
            let more = found.count > 8 ? ", … (\(found.count) entries)" : ""
            return "\(source): the archive has no \"\(expected)\" (it holds \(found.isEmpty ? "no files" : shown + more))"
        case let .fileSystem(path, reason):
            return "\(path): \(reason)"
        }
    }

    /// What to do about it (one sentence).
    public var hint: String {
        switch self {
        case .unknownDataset:
            return "pick one of the known names, or download the file yourself and pass it to --data."
        case .invalidURL:
            return "pass a full URL such as https://example.org/data.zip."
        case .invalidChecksum:
            return "pass the file's SHA-256 as printed by `sha256sum FILE`."
        case .downloadFailed:
            return "check the network connection and the URL, or download the zip yourself and pass its ratings file to --data."
        case let .httpStatus(_, status):
            return status == 404
                ? "the file is not at that address; check the URL (the upstream site may have moved it) and pass the right one with --url."
                : "try again later, or pass another mirror with --url."
        case .timedOut:
            return "try again later, raise --timeout, or pass a closer mirror with --url."
        case let .checksumMismatch(_, _, actual, _):
            return "retry (the download may be damaged); if the upstream file changed on purpose and you trust it, rerun with --sha256 \(actual)."
        case .downloadTooLarge:
            return "check that --url points at the data set's archive (the known ones are a few MB)."
        case .zipTooLarge:
            return "do not unpack this archive; fetch the data set from its publisher's URL."
        case .badZip, .crcMismatch:
            return "the file is damaged or not a zip archive; fetch it again, and check that --url points at a .zip file."
        case .unsupportedZip:
            return "unpack the archive with another tool and pass its ratings file to --data."
        case .unsafeEntryName:
            return "do not unpack this archive; it was not made by the data set's publisher."
        case .missingRatingsFile:
            return "check that --url points at the archive of this data set."
        case .fileSystem:
            return "check that the directory exists and is writable, or choose another one with --cache."
        }
    }

    /// The full message: `summary + ". Hint: " + hint`.
    public var description: String { "\(summary). Hint: \(hint)" }

    public var errorDescription: String? { description }

    private static func hex32(_ x: UInt32) -> String {
        let digits = String(x, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// `256 MiB`, `1 GiB`, `1000 bytes`.
    private static func bytes(_ n: Int) -> String {
        if n >= 1 << 30, n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
        if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        return "\(n) bytes"
    }

    private static func seconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}
