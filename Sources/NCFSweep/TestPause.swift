import Foundation

// A test seam shared by the store and the agent.

/// A pause for fault tests, so a test can `kill -9` an agent at an exact moment.
///
/// With `NCF_TEST_PAUSE_AT=POINT` in the environment, the process prints `NCF_TEST_PAUSED POINT`
/// to stderr the first time it reaches POINT and sleeps there for `NCF_TEST_PAUSE_SECONDS`
/// (default 60), then goes on. Points: `claim` (inside the claim transaction, after the new run
/// is inserted), `after-claim` (the claim committed, the trial not started), `before-finish`
/// (the trial ended, its result not written) and `finish` (inside the result's transaction).
/// Without the variable (always, outside tests) a check is one comparison.
public enum TestPause {
    public static let point: String? = ProcessInfo.processInfo.environment["NCF_TEST_PAUSE_AT"]
    private static let state = Once()

    public static func at(_ name: String) {
        guard point == name, state.first() else { return }
        let seconds = ProcessInfo.processInfo.environment["NCF_TEST_PAUSE_SECONDS"].flatMap(Double.init) ?? 60
        FileHandle.standardError.write(Data("NCF_TEST_PAUSED \(name)\n".utf8))
        Thread.sleep(forTimeInterval: seconds)
    }

    private final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false

        /// True the first time only.
        func first() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if done { return false }
            done = true
            return true
        }
    }
}
