import XCTest

/// Asserts that two float arrays agree within `tolerance` (absolute or relative to the larger
/// magnitude, whichever is looser), reporting the first index that differs and the largest gap.
public func assertClose(
    _ actual: [Float], _ expected: [Float], tolerance: Float, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(message) sizes differ: \(actual.count) vs \(expected.count)", file: file, line: line)
        return
    }
    var firstBad: Int? = nil
    var maxDiff: Float = 0
    for i in actual.indices {
        let diff = abs(actual[i] - expected[i])
        let scale = max(1, max(abs(actual[i]), abs(expected[i])))
        if !(diff <= tolerance * scale) && firstBad == nil { firstBad = i }
        if diff.isNaN { maxDiff = .nan } else { maxDiff = max(maxDiff, diff) }
    }
    if let i = firstBad {
        XCTFail("\(message) first difference at index \(i): \(actual[i]) vs \(expected[i]); max |diff| \(maxDiff), tolerance \(tolerance)",
                file: file, line: line)
    }
}
