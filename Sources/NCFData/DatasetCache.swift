// A cached binary copy of a split dataset, so that a sweep's trials (each a fresh `ncf train`
// process) skip parsing and splitting the ratings file.
//
// Key: for every file the load reads (one ratings file, or the NCF paper's three), its resolved
// path, size, modification time and a hash of its first 64 KiB and last 4 KiB; plus the reader
// options (format, columns, skip_bad_lines), every split option, and this file's format version.
// Changing any of those gives another key, hence another cache file. The file name is a hash of
// the key and the file repeats the whole key, so a hash collision reads as a miss.
//
// Safety: a cache file is written to a temporary name in the cache directory and renamed into
// place (rename is atomic), so concurrent writers never leave a torn file and readers see either
// nothing or a complete file. Every read is bounds-checked, the payload carries a checksum, and
// every index is range-checked before the dataset is rebuilt: a damaged or foreign file is a miss,
// never a crash. Any error while writing is ignored (the cache is an optimisation only).
//
// Where: `$NCF_CACHE_DIR`, else `$XDG_CACHE_HOME/ncf`, else `$HOME/.cache/ncf`. `NCF_DATA_CACHE=0`
// turns the cache off. A hit refreshes the file's modification time; after each write the
// directory is trimmed to the `maxEntries` most recently used files and `maxBytes` in all.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A dataset loaded from the cache, with what the original load reported.
public struct CachedDataset: Sendable {
    public var dataset: Dataset
    /// The skipped-line report of the original parse (so the warning is repeated on a hit).
    public var skipped: SkippedLines
}

/// Reads and writes cached binary copies of split datasets (see the file's header comment).
public enum DatasetCache {
    /// Bumped whenever the layout of the cache file or the meaning of a `Dataset` field changes.
    static let version = 1
    static let magic: [UInt8] = Array("NCFDSC01".utf8)
    /// The cache keeps at most this many datasets …
    public static let maxEntries = 32
    /// … and at most this many bytes (least recently used go first).
    public static let maxBytes = 2 << 30

    // MARK: - Location

    /// The cache directory from the environment (see the file's header), or nil when the cache is
    /// turned off or no directory can be named.
    public static var defaultDirectory: String? {
        let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        if env("NCF_DATA_CACHE") == "0" { return nil }
        if let dir = env("NCF_CACHE_DIR") { return dir }
        if let xdg = env("XDG_CACHE_HOME") { return xdg + "/ncf" }
        if let home = env("HOME") { return home + "/.cache/ncf" }
        return nil
    }

    // MARK: - Key

    /// The cache key of loading `path` (an NCF prefix when `format` is `.ncf`) with these options,
    /// or nil when a file cannot be examined (the caller then parses as usual and reports the error).
    /// - Complexity: reads at most 68 KiB of each file.
    public static func key(path: String, format: DataFormat, load: LoadOptions, split: SplitOptions) -> String? {
        guard let files = files(path: path, format: format) else { return nil }
        // The path as given is part of the key too: the dataset's notes quote it.
        var parts = ["ncf-dataset-cache v\(version)", "path=\(path)"]
        for file in files {
            guard let print = fingerprint(file) else { return nil }
            parts.append(print)
        }
        let columns = load.columns.map { "\($0.user),\($0.item),\($0.rating),\($0.timestamp ?? "-")" } ?? "-"
        parts.append("format=\(format.rawValue) columns=\(columns) skipBadLines=\(load.skipBadLines)")
        parts.append("split=\(split.kind) task=\(split.task.rawValue) valid=\(split.validRatio.bitPattern) "
                     + "test=\(split.testRatio.bitPattern) seed=\(split.seed) eval=\(split.evalNegatives) "
                     + "lossNegatives=\(split.lossNegatives)")
        return parts.joined(separator: "\n")
    }

    /// The files read for `path`: the file itself, or an NCF prefix's three files.
    static func files(path: String, format: DataFormat) -> [String]? {
        guard format == .ncf else { return [path] }
        var prefix = path
        for suffix in [".train.rating.gz", ".train.rating"] where prefix.hasSuffix(suffix) {
            prefix.removeLast(suffix.count)
            break
        }
        guard let train = try? RatingsReader.resolveNCFFile(prefix + ".train.rating"),
              let test = try? RatingsReader.resolveNCFFile(prefix + ".test.rating"),
              let negatives = try? RatingsReader.resolveNCFFile(prefix + ".test.negative") else { return nil }
        return [train, test, negatives]
    }

    /// `realpath size mtime.ns head-hash tail-hash` of one file.
    static func fingerprint(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let real = String(cString: resolved)
        free(resolved)
        let fd = open(real, O_RDONLY)
        if fd < 0 { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(info.st_size)
        #if canImport(Darwin)
        let mtime = "\(info.st_mtimespec.tv_sec).\(info.st_mtimespec.tv_nsec)"
        #else
        let mtime = "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        #endif
        let head = readAt(fd, offset: 0, count: min(size, 1 << 16))
        let tail = readAt(fd, offset: max(0, size - 4096), count: min(size, 4096))
        guard let head, let tail else { return nil }
        return "\(real) \(size) \(mtime) \(hex(hash(head))) \(hex(hash(tail)))"
    }

    private static func readAt(_ fd: Int32, offset: Int, count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            done += n
        }
        return out
    }

    /// The cache file for `key` inside `directory`.
    public static func filePath(key: String, directory: String) -> String {
        directory + "/" + hex(hash(Array(key.utf8))) + ".ncfds"
    }

    // MARK: - Load

    /// The cached dataset for `key`, or nil when there is none or it cannot be trusted.
    /// - Complexity: O(file size) to read and check, plus rebuilding the per-user item index.
    public static func load(key: String, directory: String) -> CachedDataset? {
        let path = filePath(key: key, directory: directory)
        guard let bytes = readWhole(path) else { return nil }
        var r = CacheReader(bytes)
        guard r.bytes(magic.count) == magic, let storedKey = r.string(), storedKey == key,
              let payloadLength = r.int(), payloadLength == r.remaining - 8 else { return nil }
        let payloadStart = r.offset
        var tail = CacheReader(bytes, offset: payloadStart + payloadLength)
        guard let sum = tail.u64(),
              sum == checksum(bytes, from: payloadStart, count: payloadLength) else { return nil }
        guard let hit = decode(&r) else { return nil }
        utimes(path, nil)  // mark as recently used (see `trim`)
        return hit
    }

    private static func readWhole(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return readAt(fd, offset: 0, count: Int(info.st_size))
    }

    // MARK: - Store

    /// Writes `dataset` under `key` (atomically: temporary file, then rename). Errors are thrown
    /// for tests; callers may ignore them.
    public static func store(_ dataset: Dataset, skipped: SkippedLines, key: String, directory: String) throws(CacheWriteError) {
        // Streamed: a first pass only counts the payload's bytes, the second writes them to the file
        // through a 1 MiB buffer (the arrays straight from their storage), checksumming as it goes.
        // A 20M-rating dataset is never copied into memory a second time.
        var counter = CacheWriter(mode: .count)
        encode(dataset, skipped: skipped, into: &counter)
        let payloadLength = counter.written

        try makeDirectories(directory)
        let final = filePath(key: key, directory: directory)
        var rng = SystemRandomNumberGenerator()
        let temporary = final + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max, using: &rng))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 { throw CacheWriteError(path: temporary, reason: String(cString: strerror(errno))) }
        var file = CacheWriter(mode: .file(fd))
        file.raw(magic)
        file.string(key)
        file.int(payloadLength)
        file.startChecksum(count: payloadLength)
        encode(dataset, skipped: skipped, into: &file)
        let sum = file.finishChecksum()
        file.u64(sum)
        file.flush()
        var ok = !file.failed && file.written == magic.count + 8 + key.utf8.count + 8 + payloadLength + 8
        if close(fd) != 0 { ok = false }
        if !ok || rename(temporary, final) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CacheWriteError(path: final, reason: reason)
        }
        trim(directory, keeping: maxEntries, bytes: maxBytes)
    }

    /// Deletes the least recently used cache files (oldest modification time first) until at most
    /// `count` remain and they take at most `bytes`. Only `*.ncfds` files are touched; errors
    /// (say, another process deleting the same file) are ignored.
    /// - Complexity: O(files in the directory · log).
    public static func trim(_ directory: String, keeping count: Int, bytes: Int) {
        guard let dir = opendir(directory) else { return }
        var files: [(path: String, time: Double, size: Int)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".ncfds") else { continue }
            let path = directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            #if canImport(Darwin)
            let time = Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) * 1e-9
            #else
            let time = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9
            #endif
            files.append((path, time, Int(info.st_size)))
        }
        closedir(dir)
        files.sort { $0.time > $1.time }  // newest first
        var kept = 0, total = 0
        for file in files {
            if kept < count && total + file.size <= bytes {
                kept += 1
                total += file.size
            } else {
                unlink(file.path)
            }
        }
    }

    /// `mkdir -p directory`.
    private static func makeDirectories(_ directory: String) throws(CacheWriteError) {
        let components = directory.split(separator: "/")
        var path = directory.hasPrefix("/") ? "" : "."
        for component in components {
            path += "/" + component
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw CacheWriteError(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    // MARK: - Encoding

    private static func encode(_ d: Dataset, skipped: SkippedLines, into w: inout CacheWriter) {
        w.string(d.task.rawValue)
        w.string(d.split.rawValue)
        w.string(d.options.kind.rawValue)
        w.string(d.options.task.rawValue)
        w.u64(d.options.validRatio.bitPattern)
        w.u64(d.options.testRatio.bitPattern)
        w.u64(d.options.seed)
        w.negatives(d.options.evalNegatives)
        w.int(d.options.lossNegatives)
        w.strings(d.userIDs.rawIDs)
        w.strings(d.itemIDs.rawIDs)
        for part in [d.train, d.valid, d.test] {
            w.array(part.users)
            w.array(part.items)
            w.array(part.ratings)
            w.array(part.timestamps)
        }
        for pairs in [d.validPairs, d.testPairs] {
            w.array(pairs.users)
            w.array(pairs.items)
            w.array(pairs.targets)
        }
        for ranking in [d.validRanking, d.testRanking] {
            guard let ranking else { w.int(0); continue }
            w.int(1)
            w.array(ranking.users)
            w.array(ranking.positives)
            w.array(ranking.negativeOffsets)
            w.array(ranking.negatives)
            w.negatives(ranking.evalNegatives)
        }
        w.u64(UInt64(d.meanTrainRating.bitPattern))
        w.strings(d.notes)
        w.string(d.protocolDescription)
        w.int(skipped.count)
        w.array(skipped.firstLines)
        w.strings(skipped.firstReasons)
    }

    private static func decode(_ r: inout CacheReader) -> CachedDataset? {
        guard let task = r.string().flatMap(Task.init(rawValue:)),
              let split = r.string().flatMap(SplitKind.init(rawValue:)),
              let optionKind = r.string().flatMap(SplitKind.init(rawValue:)),
              let optionTask = r.string().flatMap(Task.init(rawValue:)),
              let validRatio = r.u64(), let testRatio = r.u64(), let seed = r.u64(),
              let evalNegatives = r.negatives(), let lossNegatives = r.int(),
              let userIDs = r.strings(), let itemIDs = r.strings() else { return nil }
        let options = SplitOptions(kind: optionKind, task: optionTask, validRatio: Double(bitPattern: validRatio),
                                   testRatio: Double(bitPattern: testRatio), seed: seed, evalNegatives: evalNegatives,
                                   lossNegatives: lossNegatives)
        let numUsers = userIDs.count, numItems = itemIDs.count
        var parts: [Interactions] = []
        for _ in 0..<3 {
            guard let users: [Int32] = r.array(), let items: [Int32] = r.array(), let ratings: [Float] = r.array(),
                  let timestamps: [Int64] = r.array(),
                  users.count == items.count, items.count == ratings.count,
                  timestamps.isEmpty || timestamps.count == users.count,
                  inRange(users, numUsers), inRange(items, numItems) else { return nil }
            parts.append(Interactions(users: users, items: items, ratings: ratings, timestamps: timestamps))
        }
        var pairs: [LabeledPairs] = []
        for _ in 0..<2 {
            guard let users: [Int32] = r.array(), let items: [Int32] = r.array(), let targets: [Float] = r.array(),
                  users.count == items.count, items.count == targets.count,
                  inRange(users, numUsers), inRange(items, numItems) else { return nil }
            let part = parts[pairs.count + 1]
            if task == .rating, users == part.users, items == part.items, targets == part.ratings {
                // The rating task's pairs are the part's rows: share the arrays, as a fresh split does.
                pairs.append(LabeledPairs(users: part.users, items: part.items, targets: part.ratings))
            } else {
                pairs.append(LabeledPairs(users: users, items: items, targets: targets))
            }
        }
        var rankings: [RankingSet?] = []
        for _ in 0..<2 {
            guard let present = r.int() else { return nil }
            if present == 0 { rankings.append(nil); continue }
            guard let users: [Int32] = r.array(), let positives: [Int32] = r.array(), let offsets: [Int] = r.array(),
                  let negatives: [Int32] = r.array(), let protocol_ = r.negatives(),
                  users.count == positives.count, offsets.count == users.count + 1, offsets.first == 0,
                  offsets.last == negatives.count, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
                  inRange(users, numUsers), inRange(positives, numItems), inRange(negatives, numItems) else { return nil }
            rankings.append(RankingSet(users: users, positives: positives, negativeOffsets: offsets, negatives: negatives,
                                       evalNegatives: protocol_))
        }
        guard let mean = r.u64(), let notes = r.strings(), let protocolDescription = r.string(),
              let skippedCount = r.int(), let firstLines: [Int] = r.array(), let firstReasons = r.strings(),
              r.remaining == 8 else { return nil }
        let users = IDMap(rawIDs: userIDs), items = IDMap(rawIDs: itemIDs)
        // Duplicate raw ids would make a smaller map than the stored one: not a file we wrote.
        guard users.count == numUsers, items.count == numItems else { return nil }
        let dataset = Dataset(
            task: task, split: split, options: options, userIDs: users, itemIDs: items,
            train: parts[0], valid: parts[1], test: parts[2],
            trainItems: LazyUserItems(numUsers: numUsers, train: parts[0]),
            validPairs: pairs[0], testPairs: pairs[1], validRanking: rankings[0], testRanking: rankings[1],
            meanTrainRating: Float(bitPattern: UInt32(truncatingIfNeeded: mean)), notes: notes,
            protocolDescription: protocolDescription)
        var skipped = SkippedLines()
        skipped.count = skippedCount
        skipped.firstLines = firstLines
        skipped.firstReasons = firstReasons
        return CachedDataset(dataset: dataset, skipped: skipped)
    }

    private static func inRange(_ values: [Int32], _ bound: Int) -> Bool {
        values.allSatisfy { $0 >= 0 && Int($0) < bound }
    }

    // MARK: - Hashing

    /// FNV-1a, 64-bit: for keys and file heads (small inputs).
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// A word-at-a-time checksum of the payload (detects truncation and damage, not tampering).
    static func checksum(_ bytes: [UInt8], from start: Int, count: Int) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
            var i = 0
            while i + 8 <= count {
                let w = raw.loadUnaligned(fromByteOffset: start + i, as: UInt64.self)
                h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 29
                i += 8
            }
            while i < count {
                h = (h ^ UInt64(raw[start + i])) &* 0x0000_0100_0000_01B3
                i += 1
            }
            return h
        }
    }

    static func hex(_ x: UInt64) -> String {
        let s = String(x, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Writing a cache file failed (the caller usually just carries on without the cache).
public struct CacheWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String {
        "\(path): cannot write the dataset cache (\(reason)). Hint: set NCF_CACHE_DIR to a writable directory, or NCF_DATA_CACHE=0 to turn the cache off."
    }
}

// MARK: - Byte streams

/// Writes little-endian integers, raw arrays and length-prefixed strings: into `bytes` (`.memory`),
/// to a file through a 1 MiB buffer (`.file`), or only counting them (`.count`). Between
/// `startChecksum` and `finishChecksum` everything written is checksummed as `DatasetCache.checksum`
/// would checksum it in one piece.
struct CacheWriter {
    enum Mode {
        case memory
        case count
        case file(Int32)
    }

    let mode: Mode
    var bytes: [UInt8] = []
    /// Bytes written so far (buffered ones included).
    private(set) var written = 0
    /// A write to the file failed (the rest is then skipped).
    private(set) var failed = false
    private var sum: StreamingChecksum?
    private static let bufferSize = 1 << 20

    init(mode: Mode = .memory) { self.mode = mode }

    mutating func raw(_ b: [UInt8]) { b.withUnsafeBytes { append($0) } }
    mutating func u64(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { append($0) } }
    mutating func int(_ x: Int) { u64(UInt64(bitPattern: Int64(x))) }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        int(utf8.count)
        raw(utf8)
    }

    mutating func strings(_ list: [String]) {
        int(list.count)
        for s in list { string(s) }
    }

    /// Count, then the elements' bytes as stored (little-endian machines only; the key names the
    /// machine-independent parts, and a big-endian reader would fail the range checks).
    mutating func array<T: BitwiseCopyable>(_ a: [T]) {
        int(a.count)
        a.withUnsafeBytes { append($0) }
    }

    mutating func negatives(_ n: EvalNegatives) {
        switch n {
        case .all: int(-1)
        case .sampled(let k): int(k)
        }
    }

    mutating func startChecksum(count: Int) { sum = StreamingChecksum(count: count) }

    mutating func finishChecksum() -> UInt64 {
        let value = sum?.finish() ?? 0
        sum = nil
        return value
    }

    private mutating func append(_ b: UnsafeRawBufferPointer) {
        written += b.count
        sum?.update(b)
        switch mode {
        case .count:
            return
        case .memory:
            bytes += b
        case .file(let fd):
            if bytes.count + b.count <= Self.bufferSize {
                bytes += b
                if bytes.count == Self.bufferSize { flush() }
            } else {
                flush()
                if b.count >= Self.bufferSize { writeAll(fd, b) } else { bytes += b }
            }
        }
    }

    /// Writes the buffer to the file (`.file` mode).
    mutating func flush() {
        guard case .file(let fd) = mode, !bytes.isEmpty else { return }
        let pending = bytes
        bytes.removeAll(keepingCapacity: true)
        pending.withUnsafeBytes { writeAll(fd, $0) }
    }

    private mutating func writeAll(_ fd: Int32, _ b: UnsafeRawBufferPointer) {
        guard !failed, let base = b.baseAddress else { return }
        var done = 0
        while done < b.count {
            let n = write(fd, base + done, b.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failed = true; return }
            done += n
        }
    }
}

/// `DatasetCache.checksum` fed a piece at a time: the same value for the same bytes however they
/// are cut.
struct StreamingChecksum {
    private var h: UInt64
    private var pending: UInt64 = 0
    private var pendingCount = 0

    init(count: Int) { h = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count) }

    mutating func update(_ b: UnsafeRawBufferPointer) {
        var i = 0
        // Complete a word left over from the last piece.
        while pendingCount > 0 && pendingCount < 8 && i < b.count {
            pending |= UInt64(b[i]) << UInt64(8 * pendingCount)
            pendingCount += 1
            i += 1
            if pendingCount == 8 {
                word(pending)
                pending = 0
                pendingCount = 0
                break
            }
        }
        while i + 8 <= b.count {
            word(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        while i < b.count {
            pending |= UInt64(b[i]) << UInt64(8 * pendingCount)
            pendingCount += 1
            i += 1
        }
    }

    @inline(__always) private mutating func word(_ w: UInt64) {
        h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 29
    }

    /// The checksum; the trailing bytes (fewer than 8) go in one at a time.
    func finish() -> UInt64 {
        var h = h
        for k in 0..<pendingCount {
            h = (h ^ ((pending >> UInt64(8 * k)) & 0xFF)) &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

/// Reads what `CacheWriter` wrote; every read returns nil past the end.
struct CacheReader {
    let data: [UInt8]
    var offset: Int

    init(_ data: [UInt8], offset: Int = 0) {
        self.data = data
        self.offset = offset
    }

    var remaining: Int { data.count - offset }

    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard n >= 0, n <= remaining else { return nil }
        defer { offset += n }
        return Array(data[offset..<(offset + n)])
    }

    mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        let x = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        offset += 8
        return UInt64(littleEndian: x)
    }

    mutating func int() -> Int? {
        guard let x = u64(), let v = Int(exactly: Int64(bitPattern: x)) else { return nil }
        return v
    }

    mutating func string() -> String? {
        guard let n = int(), let b = bytes(n) else { return nil }
        return String(validating: b, as: UTF8.self)
    }

    mutating func strings() -> [String]? {
        guard let n = int(), n >= 0, n <= remaining / 8 else { return nil }
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard let s = string() else { return nil }
            out.append(s)
        }
        return out
    }

    mutating func array<T: BitwiseCopyable>() -> [T]? {
        let size = MemoryLayout<T>.stride
        guard let n = int(), n >= 0, n <= remaining / size else { return nil }
        if n == 0 { return [] }
        let out = [T](unsafeUninitializedCapacity: n) { buffer, count in
            data.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress! + offset, byteCount: n * size)
            }
            count = n
        }
        offset += n * size
        return out
    }

    mutating func negatives() -> EvalNegatives? {
        guard let n = int() else { return nil }
        if n == -1 { return .all }
        return n > 0 ? .sampled(n) : nil
    }
}
