import Foundation
import XCTest

/// Lines collected from several threads, e.g. an agent's log.
public final class LineLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    public init() {}

    /// Appends one line (thread-safe).
    public func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }

    /// A snapshot of every line so far.
    public var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

/// Starts `body` on a new thread and returns a closure that waits for it (at most `timeout`
/// seconds) and returns its result or rethrows its error. A body still running at the deadline
/// fails the test at the caller's line and throws `XCTSkip`, so the test stops there.
public func inBackground<T>(timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line,
                            _ body: @escaping @Sendable () throws -> T) -> () throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Thread {
        box.result = Result { try body() }
        done.signal()
    }.start()
    return {
        guard done.wait(timeout: .now() + timeout) == .success else {
            XCTFail("the background work did not finish within \(Int(timeout)) s", file: file, line: line)
            throw XCTSkip("background work hung")
        }
        return try box.result!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }
