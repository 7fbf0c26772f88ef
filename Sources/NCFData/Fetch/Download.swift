// HTTP(S) GET into a file, through Foundation's URLSession (FoundationNetworking on Linux).
// Blocking on purpose: `ncf data fetch` has nothing else to do while it waits.

import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads one URL into one file.
public enum Download {
    /// GETs `url` and moves the body to `destination` (replaced if it exists) when the server
    /// answers 200. Redirects are followed. Returns the number of bytes written.
    ///
    /// - Parameters:
    ///   - url: an http:// or https:// URL.
    ///   - destination: the file to write; its directory must exist.
    ///   - timeout: seconds without any data before giving up, and, times ten, the limit for the
    ///     whole transfer. Rounded up to whole seconds: the Linux transport truncates fractions
    ///     (so 0.5 would otherwise time out at once).
    /// - Throws: `FetchError.httpStatus` for any status but 200, `.timedOut` when the server stays
    ///   silent, `.downloadFailed` for everything else the transport reports, `.fileSystem` when
    ///   the body cannot be moved into place. Every message names the URL.
    /// - Complexity: O(body size); the body streams to a temporary file, never into memory.
    @discardableResult
    public static func get(_ url: URL, to destination: URL, timeout: Double = 60) throws(FetchError) -> Int {
        let timeout = max(1, timeout.rounded(.up))
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 10
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }

        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = session.downloadTask(with: url) { location, response, error in
            defer { done.signal() }
            if let error {
                let code = (error as? URLError)?.code
                outcome.set(code == .timedOut
                    ? .timedOut(url: url.absoluteString, seconds: timeout)
                    : .downloadFailed(url: url.absoluteString, reason: error.localizedDescription))
                return
            }
            guard let http = response as? HTTPURLResponse else {
                outcome.set(.downloadFailed(url: url.absoluteString, reason: "the response is not HTTP"))
                return
            }
            guard http.statusCode == 200 else {
                outcome.set(.httpStatus(url: url.absoluteString, status: http.statusCode))
                return
            }
            guard let location else {
                outcome.set(.downloadFailed(url: url.absoluteString, reason: "no body was received"))
                return
            }
            // The temporary file is deleted when this handler returns: move it now.
            let fm = FileManager.default
            do {
                if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
                try fm.moveItem(at: location, to: destination)
                let size = (try fm.attributesOfItem(atPath: destination.path)[.size] as? NSNumber)?.intValue ?? 0
                outcome.set(bytes: size)
            } catch {
                outcome.set(.fileSystem(path: destination.path, reason: "cannot store the download from \(url.absoluteString) (\(error.localizedDescription))"))
            }
        }
        task.resume()
        // The session enforces the timeouts; this wait only guards against a handler never called.
        if done.wait(timeout: .now() + timeout * 10 + 30) == .timedOut {
            task.cancel()
            throw .timedOut(url: url.absoluteString, seconds: timeout * 10)
        }
        return try outcome.get()
    }

    /// The completion handler's result, handed across threads under a lock.
    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var error: FetchError?
        private var bytes = 0

        func set(_ error: FetchError) { lock.withLock { self.error = error } }
        func set(bytes: Int) { lock.withLock { self.bytes = bytes } }

        func get() throws(FetchError) -> Int {
            let (error, bytes) = lock.withLock { (self.error, self.bytes) }
            if let error { throw error }
            return bytes
        }
    }
}
