// The saved-model file: metadata, raw-id maps and named float tensors, checksummed.
//
// ncf model file, format version 1. Every integer is little-endian; every string is UTF-8 with no
// terminator; lengths and counts are u64.
//
//   offset   size           field
//   0        8              magic "NCFMODEL" (bytes 4E 43 46 4D 4F 44 45 4C)
//   8        4              format version, u32 (= 1)
//   12       8              metadata length M, u64
//   20       M              metadata: one JSON object as text (trainer config, data and split, metrics)
//   20+M     8              user count U, u64
//            U × (8 + L)    each raw user id: byte length L (u64), then L bytes; entry i is user index i
//            8              item count I, u64
//            I × (8 + L)    each raw item id, as for users; entry i is item index i
//            8              tensor count T, u64
//            T × (...)      each tensor: name length N (u64), N bytes of name, rank R (u64),
//                           R dims (u64 each), then d0 · d1 · … · d(R-1) float32 values
//                           (IEEE 754 binary32, row-major; rank 0 holds one value)
//   size−4   4              CRC-32 (IEEE: polynomial 0xEDB88320, as in zip/gzip/PNG) of every byte
//                           before it, u32
//
// Reading checks, in order: the magic (else "not an ncf model file"), the version (else "unsupported
// version"), the checksum, then every length and count against the bytes that remain, so a truncated
// or damaged file gives an error, never a trap or a huge allocation. User ids, item ids and tensor
// names must each be unique (ids compared as exact bytes, see `IDMap`), and nothing may follow the
// last tensor.
//
// Writing is atomic: the bytes go to `PATH.tmp-PID` in the same directory, are fsync'ed, then renamed
// over PATH, so PATH holds either the old file or the complete new one.

import Foundation
import NCFData

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Types

/// A named, shaped block of Float32 parameters, stored row-major.
public struct NamedTensor: Sendable, Equatable {
    /// Unique within a checkpoint, e.g. "gmf.user_embedding".
    public var name: String
    /// Dimensions, outermost first; `[]` is a scalar.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var values: [Float]

    /// A tensor; `values.count` must equal the product of `shape`, and every dimension be >= 0.
    public init(name: String, shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "NamedTensor \(name): negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == values.count,
                     "NamedTensor \(name): shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// A saved model: metadata, the raw-id maps and the parameter tensors, as one versioned binary file.
///
/// The byte layout is documented at the top of `Checkpoint.swift`. `metadataJSON` is opaque here: the
/// trainer puts its config, the data/split description and the final metrics in it.
public struct Checkpoint: Sendable, Equatable {
    /// The first eight bytes of every model file: "NCFMODEL".
    public static let magic: [UInt8] = Array("NCFMODEL".utf8)
    /// The version this code writes and the only one it reads.
    public static let formatVersion: UInt32 = 1

    /// One JSON object as text; stored as UTF-8 and not interpreted here.
    public var metadataJSON: String
    /// Raw user ids; entry i names dense user index i. Must be unique.
    public var userIDs: [String]
    /// Raw item ids; entry i names dense item index i. Must be unique.
    public var itemIDs: [String]
    /// Parameter tensors, in the order written. Names must be unique.
    public var tensors: [NamedTensor]

    /// A checkpoint from raw-id lists.
    public init(metadataJSON: String, userIDs: [String], itemIDs: [String], tensors: [NamedTensor]) {
        self.metadataJSON = metadataJSON
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.tensors = tensors
    }

    /// A checkpoint from the data layer's id maps.
    public init(metadataJSON: String, users: IDMap, items: IDMap, tensors: [NamedTensor]) {
        self.init(metadataJSON: metadataJSON, userIDs: users.rawIDs, itemIDs: items.rawIDs, tensors: tensors)
    }

    /// The user ids as an `IDMap` (index i ↔ `userIDs[i]`). - Complexity: O(U).
    public var userMap: IDMap { IDMap(rawIDs: userIDs) }
    /// The item ids as an `IDMap` (index i ↔ `itemIDs[i]`). - Complexity: O(I).
    public var itemMap: IDMap { IDMap(rawIDs: itemIDs) }

    /// The tensor called `name`, or nil. - Complexity: O(T).
    public func tensor(named name: String) -> NamedTensor? {
        tensors.first { $0.name == name }
    }
}

/// Why a model file could not be read or written. Each message names the file and ends with a hint.
public enum CheckpointError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// Nothing exists at `path`.
    case notFound(path: String)
    /// The file does not start with "NCFMODEL".
    case notAModel(path: String)
    /// An ncf model file of a format version this build does not read.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// Checksum mismatch, truncation, or a length that does not fit the file.
    case corrupt(path: String, reason: String)
    /// The file exists but could not be read (permissions, I/O error, a directory).
    case readFailed(path: String, reason: String)
    /// Creating, writing, syncing or renaming the file failed; any previous file at `path` is intact.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such model file. Check the path, or train and save a model to it first."
        case .notAModel(let path):
            return "\(path) is not an ncf model file (it does not start with \"NCFMODEL\"). "
                + "Check that the path points at a file saved by ncf."
        case .unsupportedVersion(let path, let found, let supported):
            let hint = found > supported
                ? "Use a newer ncf to read it, or retrain the model with this one."
                : "Retrain the model with this ncf."
            return "\(path) is an ncf model file of format version \(found); this ncf reads version \(supported). \(hint)"
        case .corrupt(let path, let reason):
            return "\(path) is a damaged ncf model file: \(reason). Retrain the model or restore the file from a copy."
        case .readFailed(let path, let reason):
            return "\(path): cannot read model file: \(reason). Check that it is a regular file you may read."
        case .writeFailed(let path, let reason):
            return "\(path): cannot write model file: \(reason). Check that the directory "
                + "\(Checkpoint.directory(of: path)) exists and is writable, and that the disk has space; "
                + "any previous file at that path was left unchanged."
        }
    }

    public var errorDescription: String? { description }
}

// MARK: - Files

extension Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    ///
    /// Writes to `path + ".tmp-<pid>"` in the same directory, fsyncs it, then renames it over `path`
    /// (and, best effort, fsyncs the directory). The previous file at `path` is untouched if anything
    /// fails, and the temporary file is removed.
    /// - Complexity: O(file size) time and memory.
    public func write(to path: String) throws(CheckpointError) {
        guard !path.isEmpty else { throw .writeFailed(path: path, reason: "the path is empty") }
        let bytes = encoded()
        let tmp = path + ".tmp-\(getpid())"

        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .writeFailed(path: path, reason: "cannot create temporary file \(tmp): \(Self.lastErrorText())")
        }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "writing \(tmp) failed: \(Self.lastErrorText())"
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 {
            failure = "fsync of \(tmp) failed: \(Self.lastErrorText())"
        }
        if close(fd) != 0, failure == nil {
            failure = "closing \(tmp) failed: \(Self.lastErrorText())"
        }
        if failure == nil, rename(tmp, path) != 0 {
            failure = "cannot rename \(tmp) to \(path): \(Self.lastErrorText())"
        }
        if let failure {
            unlink(tmp)
            throw .writeFailed(path: path, reason: failure)
        }
        // Make the rename itself durable. The new file is already in place, so a failure here is not
        // reported: the caller could do nothing about it.
        let dirFD = open(Self.directory(of: path), O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Reads and validates the model file at `path`.
    /// - Throws: `.notFound`, `.notAModel`, `.unsupportedVersion`, `.corrupt` or `.readFailed`.
    /// - Complexity: O(file size) time and memory.
    public static func read(from path: String) throws(CheckpointError) -> Checkpoint {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            if err == ENOENT || err == ENOTDIR { throw .notFound(path: path) }
            throw .readFailed(path: path, reason: lastErrorText(err))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .readFailed(path: path, reason: lastErrorText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .readFailed(path: path, reason: (info.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file")
        }
        // Read up to EOF; st_size is only the initial capacity.
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .readFailed(path: path, reason: lastErrorText())
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return try decode(bytes, path: path)
    }

    /// The directory part of `path` ("." when there is none), for messages and the directory fsync.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = path[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }

    private static func lastErrorText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}

/// `write(2)`, named apart from `Checkpoint.write(to:)`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// `read(2)`, named apart from `Checkpoint.read(from:)`.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

// MARK: - Encoding

extension Checkpoint {
    /// The complete file contents (layout at the top of this file).
    ///
    /// Preconditions (programmer errors): ids unique within users and within items, tensor names
    /// unique, each tensor's values matching its shape.
    /// - Complexity: O(file size).
    public func encoded() -> [UInt8] {
        precondition(Set(userIDs.map(ExactID.init)).count == userIDs.count, "Checkpoint: user ids are not unique")
        precondition(Set(itemIDs.map(ExactID.init)).count == itemIDs.count, "Checkpoint: item ids are not unique")
        precondition(Set(tensors.map(\.name)).count == tensors.count, "Checkpoint: tensor names are not unique")
        for t in tensors {
            precondition(t.shape.allSatisfy { $0 >= 0 } && t.shape.reduce(1, *) == t.values.count,
                         "Checkpoint: tensor \(t.name) has shape \(t.shape) but \(t.values.count) values")
        }

        var size = 8 + 4 + 8 + metadataJSON.utf8.count
        for ids in [userIDs, itemIDs] {
            size += 8
            for id in ids { size += 8 + id.utf8.count }
        }
        size += 8
        for t in tensors { size += 8 + t.name.utf8.count + 8 + 8 * t.shape.count + 4 * t.values.count }
        size += 4

        var out = [UInt8]()
        out.reserveCapacity(size)
        out.append(contentsOf: Self.magic)
        appendLE(Self.formatVersion, to: &out)
        appendString(metadataJSON, to: &out)
        for ids in [userIDs, itemIDs] {
            appendLE(UInt64(ids.count), to: &out)
            for id in ids { appendString(id, to: &out) }
        }
        appendLE(UInt64(tensors.count), to: &out)
        for t in tensors {
            appendString(t.name, to: &out)
            appendLE(UInt64(t.shape.count), to: &out)
            for d in t.shape { appendLE(UInt64(d), to: &out) }
            #if _endian(little)
            t.values.withUnsafeBytes { out.append(contentsOf: $0) }
            #else
            for v in t.values { appendLE(v.bitPattern, to: &out) }
            #endif
        }
        appendLE(CRC32.checksum(out), to: &out)
        assert(out.count == size, "Checkpoint: size estimate \(size) != \(out.count)")
        return out
    }

    private func appendLE<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        appendLE(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }
}

// MARK: - Decoding

extension Checkpoint {
    /// Parses and validates complete file contents; `path` is used only in error messages.
    /// - Throws: `.notAModel`, `.unsupportedVersion` or `.corrupt`.
    /// - Complexity: O(bytes.count).
    public static func decode(_ bytes: [UInt8], path: String) throws(CheckpointError) -> Checkpoint {
        let result: Result<Checkpoint, CheckpointError> = bytes.withUnsafeBytes { raw in
            do throws(CheckpointError) {
                return .success(try decode(raw, path: path))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> Checkpoint {
        let n = raw.count
        let headerAndChecksum = magic.count + 4 + 4

        // Magic: a short file that is a prefix of it is a truncated model; anything else is not a model.
        let magicSeen = min(n, magic.count)
        guard zip(raw.prefix(magicSeen), magic).allSatisfy({ $0 == $1 }) else { throw .notAModel(path: path) }
        guard n >= magic.count + 4 else {
            throw .corrupt(path: path, reason: "truncated: the file is \(n) bytes, shorter than the \(headerAndChecksum)-byte header and checksum")
        }
        let version = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: magic.count, as: UInt32.self))
        guard version == formatVersion else {
            throw .unsupportedVersion(path: path, found: version, supported: formatVersion)
        }
        guard n >= headerAndChecksum else {
            throw .corrupt(path: path, reason: "truncated: the file is \(n) bytes, shorter than the \(headerAndChecksum)-byte header and checksum")
        }
        let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(n - 4)]))
        guard stored == computed else {
            throw .corrupt(path: path, reason: "checksum mismatch (stored 0x\(hex(stored)), computed 0x\(hex(computed))): "
                + "the file is truncated or some bytes changed")
        }

        var r = ByteReader(raw: raw, offset: magic.count + 4, end: n - 4)
        do throws(FormatProblem) {
            let metadata = try r.string("metadata")
            let users = try r.ids("user")
            let items = try r.ids("item")
            let tensorCount = try r.count("tensor", minimumBytesEach: 8 + 8)
            var tensors = [NamedTensor]()
            tensors.reserveCapacity(tensorCount)
            var names = Set<String>()
            for i in 0..<tensorCount {
                let tensor = try r.tensor(index: i)
                guard names.insert(tensor.name).inserted else {
                    throw FormatProblem("tensor name \"\(tensor.name)\" occurs twice")
                }
                tensors.append(tensor)
            }
            guard r.remaining == 0 else {
                throw FormatProblem("\(r.remaining) unexpected bytes after the last tensor at offset \(r.offset)")
            }
            return Checkpoint(metadataJSON: metadata, userIDs: users, itemIDs: items, tensors: tensors)
        } catch {
            throw .corrupt(path: path, reason: error.reason)
        }
    }

    private static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}

/// A structural problem found while parsing; becomes `CheckpointError.corrupt`.
private struct FormatProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A bounds-checked little-endian cursor over `raw[offset..<end]`. Every length is checked against
/// the bytes that remain before anything is allocated.
private struct ByteReader {
    let raw: UnsafeRawBufferPointer
    var offset: Int
    let end: Int

    var remaining: Int { end - offset }

    mutating func u64(_ what: @autoclosure () -> String) throws(FormatProblem) -> UInt64 {
        guard remaining >= 8 else {
            throw FormatProblem("truncated: \(what()) needs 8 bytes at offset \(offset), \(remaining) remain")
        }
        let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return v
    }

    /// A u64 count of things each taking at least `minimumBytesEach` bytes, checked to fit.
    mutating func count(_ what: String, minimumBytesEach: Int) throws(FormatProblem) -> Int {
        let at = offset
        let v = try u64("\(what) count")
        guard v <= UInt64(remaining / minimumBytesEach) else {
            throw FormatProblem("\(what) count \(v) at offset \(at) does not fit in the \(remaining) bytes that follow")
        }
        return Int(v)
    }

    /// A u64 byte length, then that many bytes of UTF-8.
    mutating func string(_ what: @autoclosure () -> String) throws(FormatProblem) -> String {
        let at = offset
        let length = try u64("\(what()) length")
        guard length <= UInt64(remaining) else {
            throw FormatProblem("\(what()) length \(length) at offset \(at) exceeds the \(remaining) bytes that follow")
        }
        let count = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw FormatProblem("\(what()) at offset \(offset) is not valid UTF-8")
        }
        offset += count
        return s
    }

    /// A count, then that many unique strings.
    mutating func ids(_ what: String) throws(FormatProblem) -> [String] {
        let n = try count("\(what) id", minimumBytesEach: 8)
        var ids = [String]()
        ids.reserveCapacity(n)
        var seen = Set<ExactID>(minimumCapacity: n)
        for i in 0..<n {
            let id = try string("\(what) id \(i)")
            guard seen.insert(ExactID(id)).inserted else { throw FormatProblem("\(what) id \"\(id)\" occurs twice") }
            ids.append(id)
        }
        return ids
    }

    /// Name, rank, dims, then the float32 values.
    mutating func tensor(index: Int) throws(FormatProblem) -> NamedTensor {
        let name = try string("tensor \(index) name")
        let rank = try count("tensor \(name) dimension", minimumBytesEach: 8)
        var shape = [Int]()
        shape.reserveCapacity(rank)
        var elements: UInt64 = 1
        for d in 0..<rank {
            let dim = try u64("tensor \(name) dimension \(d)")
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow, dim <= UInt64(Int.max) else {
                throw FormatProblem("tensor \(name) has an impossible shape (dimension \(d) is \(dim))")
            }
            elements = product
            shape.append(Int(dim))
        }
        guard elements <= UInt64(remaining / 4) else {
            throw FormatProblem("tensor \(name) of shape \(shape) needs \(elements) float32 values at offset \(offset), "
                + "but only \(remaining) bytes follow")
        }
        let count = Int(elements)
        let source = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 4 * count)])
        var values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            initialized = count
        }
        #if !_endian(little)
        for i in values.indices { values[i] = Float(bitPattern: UInt32(littleEndian: values[i].bitPattern)) }
        #endif
        offset += 4 * count
        return NamedTensor(name: name, shape: shape, values: values)
    }
}
