#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size, zero-initialised block of `Float`s with a stable address.
///
/// The model's parameters, gradients, optimizer state and activations each live in one of these,
/// allocated once; the training step reads and writes through the raw pointer, so it neither
/// allocates nor pays for copy-on-write checks.
///
/// A buffer of `hugePageBytes` or more (the embedding tables of a large dataset, their gradients
/// and Adam's moments) is aligned to 2 MiB and, on Linux, advised for transparent huge pages: a
/// training step touches rows scattered over tables of hundreds of MB, and with 4 KiB pages nearly
/// every row costs a TLB miss and a page walk besides its cache misses (docs/performance.md).
/// Where the kernel gives no huge pages the advice is a no-op and the buffer is an ordinary one.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    /// Whether `pointer` came from `posix_memalign` (freed with `free`) rather than `allocate`.
    private let alignedToHugePages: Bool

    /// The size from which a buffer is placed on 2 MiB boundaries and advised for huge pages.
    public static let hugePageBytes = 4 << 20
    static let hugePageSize = 2 << 20

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer: negative size")
        self.count = count
        let capacity = max(count, 1)
        if capacity * MemoryLayout<Float>.stride >= Self.hugePageBytes, let p = Self.hugePageAllocation(floats: capacity) {
            pointer = p
            alignedToHugePages = true
        } else {
            pointer = .allocate(capacity: capacity)
            alignedToHugePages = false
        }
        // The advice is given before the first write, so these writes fault in huge pages.
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit {
        if alignedToHugePages { free(pointer) } else { pointer.deallocate() }
    }

    /// `floats` floats on a 2 MiB boundary, advised `MADV_HUGEPAGE`; nil when the allocation fails
    /// (the caller falls back to an ordinary one). The size is not rounded up to whole huge pages:
    /// the kernel backs the whole 2 MiB pages of the range with huge pages and the tail with
    /// ordinary ones, so the buffer costs no more memory than its floats.
    private static func hugePageAllocation(floats: Int) -> UnsafeMutablePointer<Float>? {
        let bytes = floats * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, hugePageSize, bytes) == 0, let raw else { return nil }
        #if os(Linux)
        _ = madvise(raw, bytes, MADV_HUGEPAGE)  // refused (EINVAL) where THP is compiled out: still a valid buffer
        #endif
        return raw.bindMemory(to: Float.self, capacity: floats)
    }

    /// The kernel's transparent-huge-page mode (`always`, `madvise` or `never`, the bracketed word of
    /// /sys/kernel/mm/transparent_hugepage/enabled); nil where there is no such file.
    public static var transparentHugePageMode: String? {
        guard let file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// Whether the buffer was placed for huge pages (for tests).
    public var isHugePageAligned: Bool { alignedToHugePages }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// A copy of the contents as an array (for tests, checkpoints and printing).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Copies `values` in; `values.count` must equal `count`.
    public func assign(_ values: [Float]) {
        precondition(values.count == count, "FloatBuffer.assign: \(values.count) values for \(count) slots")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }
}
