import Foundation
import XCTest

@testable import NCFModel

/// `FloatBuffer`: zeroed, and placed for huge pages from `hugePageBytes` on.
final class FloatBufferTests: XCTestCase {
    func testSmallBufferIsZeroedAndOrdinary() {
        let b = FloatBuffer(count: 1000)
        XCTAssertFalse(b.isHugePageAligned)
        XCTAssertTrue(b.array.allSatisfy { $0 == 0 })
        XCTAssertFalse(FloatBuffer(count: 0).isHugePageAligned)
    }

    func testLargeBufferIsZeroedAndOnA2MiBBoundary() {
        let count = FloatBuffer.hugePageBytes / 4 + 12_345  // not a whole number of pages
        let b = FloatBuffer(count: count)
        XCTAssertTrue(b.isHugePageAligned)
        XCTAssertEqual(Int(bitPattern: b.pointer) % (2 << 20), 0)
        XCTAssertTrue(b.array.allSatisfy { $0 == 0 })
        b[count - 1] = 3
        b.zero()
        XCTAssertEqual(b[count - 1], 0)
    }

    /// On Linux the mapping that holds a large buffer carries the kernel's "hg" flag (advised
    /// MADV_HUGEPAGE), read back from /proc/self/smaps.
    func testLargeBufferIsAdvisedForHugePagesOnLinux() throws {
        #if os(Linux)
        guard let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
              !mode.contains("[never]") else {
            throw XCTSkip("transparent huge pages are off on this kernel")
        }
        let b = FloatBuffer(count: FloatBuffer.hugePageBytes / 4 * 2)
        let address = UInt(bitPattern: b.pointer)
        // Read to the end: /proc files report size 0, and a read sized by the file stops early.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inMapping = false, flags: String?
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let lo = UInt(line[..<dash], radix: 16), let hi = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inMapping = lo <= address && address < hi
            } else if inMapping && line.hasPrefix("VmFlags:") {
                flags = String(line)
            }
        }
        let vmFlags = try XCTUnwrap(flags, "no mapping in /proc/self/smaps holds the buffer")
        XCTAssertTrue(vmFlags.split(separator: " ").contains("hg"), vmFlags)
        #else
        throw XCTSkip("huge-page advice is Linux only")
        #endif
    }
}

extension FloatBufferTests {
    /// The mode is the bracketed word of the kernel's file, read the same way the test reads it.
    func testTransparentHugePageModeIsTheKernelsBracketedWord() throws {
        guard let text = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8) else {
            XCTAssertNil(FloatBuffer.transparentHugePageMode)
            return
        }
        let mode = try XCTUnwrap(FloatBuffer.transparentHugePageMode, text)
        XCTAssertTrue(["always", "madvise", "never"].contains(mode), mode)
        XCTAssertTrue(text.contains("[\(mode)]"), text)
    }
}
