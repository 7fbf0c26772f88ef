// CRC-32 as used by zip, gzip and PNG (IEEE 802.3): reflected polynomial 0xEDB88320, initial value
// 0xFFFFFFFF, final XOR 0xFFFFFFFF. Check value: CRC-32("123456789") = 0xCBF43926.
//
// Table-driven, eight bytes per step ("slicing-by-8"): table k maps a byte to the CRC of that byte
// followed by k zero bytes, so eight lookups advance the register by eight input bytes at once.

/// Incremental CRC-32 (IEEE) checksum.
///
///     var crc = CRC32()
///     crc.update(header); crc.update(body)
///     crc.checksum        // same as CRC32.checksum(header + body)
public struct CRC32: Sendable, Equatable {
    /// The register before the final XOR.
    private var state: UInt32 = 0xFFFF_FFFF

    /// The checksum of nothing yet (0).
    public init() {}

    /// The checksum of every byte passed to `update` so far.
    public var checksum: UInt32 { state ^ 0xFFFF_FFFF }

    /// Feeds `bytes` into the checksum. - Complexity: O(n).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var p = base.assumingMemoryBound(to: UInt8.self)
        var n = bytes.count
        var crc = state
        Self.tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                let lo = (UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24) ^ crc
                let hi = UInt32(p[4]) | UInt32(p[5]) << 8 | UInt32(p[6]) << 16 | UInt32(p[7]) << 24
                crc = t[7 &* 256 &+ Int(lo & 0xFF)] ^ t[6 &* 256 &+ Int((lo >> 8) & 0xFF)]
                    ^ t[5 &* 256 &+ Int((lo >> 16) & 0xFF)] ^ t[4 &* 256 &+ Int(lo >> 24)]
                    ^ t[3 &* 256 &+ Int(hi & 0xFF)] ^ t[2 &* 256 &+ Int((hi >> 8) & 0xFF)]
                    ^ t[1 &* 256 &+ Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p[0])) & 0xFF)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
        }
        state = crc
    }

    /// Feeds `bytes` into the checksum. - Complexity: O(n).
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC-32 of `bytes`. - Complexity: O(n).
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.checksum
    }

    /// The CRC-32 of `bytes`. - Complexity: O(n).
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Eight 256-entry tables, flattened: entry `k * 256 + b` is the CRC register after byte `b`
    /// followed by `k` zero bytes.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var c = UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[b] = c
        }
        for k in 1..<8 {
            for b in 0..<256 {
                let prev = t[(k - 1) * 256 + b]
                t[k * 256 + b] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()
}
