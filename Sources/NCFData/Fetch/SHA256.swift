// SHA-256 (FIPS 180-4, section 6.2), written out so that checking a download needs no crypto
// library. Used only to verify files against published checksums, never for secrets, so it makes
// no attempt at constant-time behaviour.
//
// The message is padded with one 1 bit, zeros, and its bit length as a 64-bit big-endian number, to
// a multiple of 512 bits; each 512-bit block updates eight 32-bit words through 64 rounds.
// Check values: SHA-256("abc") = ba7816bf…f20015ad, SHA-256("") = e3b0c442…7852b855.

import Foundation

/// Incremental SHA-256 digest.
///
///     var hash = SHA256()
///     hash.update(part1); hash.update(part2)
///     hash.hexDigest      // same as SHA256.hex(part1 + part2)
public struct SHA256: Sendable {
    /// The eight working words H0…H7 (initially the first 32 bits of the fractional parts of the
    /// square roots of the first eight primes).
    private var state: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
        0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]
    /// Bytes of an incomplete block, waiting for more input (always fewer than 64).
    private var pending: [UInt8] = []
    /// Message length so far, in bytes.
    private var length: UInt64 = 0

    /// The digest of nothing yet.
    public init() {
        pending.reserveCapacity(64)
    }

    /// Feeds `bytes` into the digest.
    /// - Complexity: O(n).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        length &+= UInt64(bytes.count)
        var p = base.assumingMemoryBound(to: UInt8.self)
        var n = bytes.count
        if !pending.isEmpty {
            let take = min(64 - pending.count, n)
            pending.append(contentsOf: UnsafeBufferPointer(start: p, count: take))
            p += take
            n -= take
            guard pending.count == 64 else { return }
            pending.withUnsafeBufferPointer { Self.compress(&state, block: $0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while n >= 64 {
            Self.compress(&state, block: p)
            p += 64
            n -= 64
        }
        if n > 0 { pending.append(contentsOf: UnsafeBufferPointer(start: p, count: n)) }
    }

    /// Feeds `bytes` into the digest. - Complexity: O(n).
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest of everything passed to `update` so far (the hasher itself is unchanged,
    /// so more input may follow).
    public var digest: [UInt8] {
        var copy = self
        // Padding: 0x80, zeros up to 56 mod 64, then the bit length big-endian.
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        let used = (pending.count + 1) % 64
        tail += [UInt8](repeating: 0, count: used <= 56 ? 56 - used : 120 - used)
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        copy.update(tail)
        precondition(copy.pending.isEmpty, "SHA-256 padding did not end on a block boundary")
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in copy.state {
            out += [UInt8(word >> 24), UInt8((word >> 16) & 0xFF), UInt8((word >> 8) & 0xFF), UInt8(word & 0xFF)]
        }
        return out
    }

    /// The digest as 64 lowercase hexadecimal digits.
    public var hexDigest: String { Self.hexString(digest) }

    // MARK: - One-shot helpers

    /// The SHA-256 of `bytes`. - Complexity: O(n).
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(bytes)
        return h.digest
    }

    /// The SHA-256 of `bytes` as 64 lowercase hexadecimal digits. - Complexity: O(n).
    public static func hex(_ bytes: [UInt8]) -> String { hexString(hash(bytes)) }

    /// The SHA-256 of the file at `path`, as 64 lowercase hexadecimal digits, read in 1 MiB chunks.
    /// - Throws: `FetchError.fileSystem` naming `path` when it cannot be read.
    /// - Complexity: O(file size) time, O(1 MiB) memory.
    public static func hexOfFile(atPath path: String) throws(FetchError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .fileSystem(path: path, reason: "cannot open the file for reading")
        }
        defer { try? handle.close() }
        var h = SHA256()
        do {
            while true {
                guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
                chunk.withUnsafeBytes { h.update($0) }
            }
        } catch {
            throw .fileSystem(path: path, reason: error.localizedDescription)
        }
        return h.hexDigest
    }

    /// `bytes` as lowercase hexadecimal, two digits per byte.
    public static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `text` is 64 hexadecimal digits (either case): the shape of a SHA-256 checksum.
    public static func isHexDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }

    // MARK: - The compression function

    /// Round constants K0…K63: the first 32 bits of the fractional parts of the cube roots of the
    /// first 64 primes.
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    /// Updates `h` with one 64-byte block:
    /// `W[t] = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16]`, then 64 rounds of
    /// `T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t]`, `T2 = Σ0(a) + Maj(a,b,c)`.
    /// - Complexity: O(1) (64 rounds).
    private static func compress(_ h: inout [UInt32], block: UnsafePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 {
                let b = block + 4 * t
                w[t] = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
            k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let bigS1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ bigS1 &+ ch &+ k[t] &+ w[t]
                    let bigS0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = bigS0 &+ maj
                    hh = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d
            h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }
    }
}
