import Foundation
import XCTest

/// Polls `condition` every 10 ms until it holds; after `timeout` seconds (default 60) records a failure
/// ("timed out waiting until `what`") at the caller's line and returns.
public func waitUntil(_ what: String, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line,
                      _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while try !condition() {
        if Date() > deadline { return XCTFail("timed out waiting until \(what)", file: file, line: line) }
        usleep(10_000)
    }
}
