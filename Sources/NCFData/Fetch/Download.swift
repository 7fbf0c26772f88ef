// HTTP(S) GET into a file, through Foundation's URLSession (FoundationNetworking on Linux).
// Blocking on purpose: `ncf data fetch` has nothing else to do while it waits.
//
// The body streams through a data task's delegate into a hidden file beside the destination,
// which is renamed into place only after a complete 200 response. Both limits are enforced here,
// not left to the transport (on Linux it does not enforce the whole-transfer limit): the waiting
// thread wakes at whichever comes first, the idle deadline or the whole-transfer deadline, and
// cancels the task. The byte cap is checked against Content-Length and against every chunk.
// Every failure removes the partial file; nothing is written anywhere else (a download task
// would leave its scratch file in the temporary directory when it fails).

import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads one URL into one file.
public enum Download {
    /// GETs `url` and writes the body to `destination` (replaced if it exists) when the server
    /// answers 200. Redirects are followed. Returns the number of bytes written.
    ///
    /// - Parameters:
    ///   - url: an http:// or https:// URL.
    ///   - destination: the file to write; its directory must exist.
    ///   - timeout: seconds without any data before giving up. Rounded up to whole seconds: the
    ///     Linux transport truncates fractions (so 0.5 would otherwise time out at once).
    ///   - totalTimeout: seconds the whole transfer may take (any fraction); nil means ten times
    ///     the (rounded) `timeout`. A server that keeps dripping bytes is stopped here.
    ///   - maximumBytes: the largest body accepted; a larger Content-Length is refused at once, a
    ///     body that grows past it is stopped.
    /// - Throws: `FetchError.httpStatus` for any status but 200, `.timedOut` naming the limit that
    ///   was hit, `.downloadTooLarge`, `.downloadFailed` for everything else the transport
    ///   reports, `.fileSystem` when the file cannot be written. Every message names the URL.
    ///   On every error the partial file is removed.
    /// - Complexity: O(body size) time; the body streams to disk, never into memory.
    @discardableResult
    public static func get(_ url: URL, to destination: URL, timeout: Double = 60, totalTimeout: Double? = nil,
                           maximumBytes: Int = FetchOptions.defaultMaximumDownloadBytes) throws(FetchError) -> Int {
        let idle = max(1, timeout.rounded(.up))
        let total = totalTimeout.map { max(0.001, $0) } ?? idle * 10
        let fm = FileManager.default
        let partial = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(getpid())-\(UUID().uuidString.prefix(8)).download")
        guard fm.createFile(atPath: partial.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw .fileSystem(path: partial.path, reason: "cannot create the file to download \(url.absoluteString) into")
        }
        let receiver = Receiver(url: url.absoluteString, file: handle, path: partial.path, limit: maximumBytes, idle: idle)

        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idle
        configuration.timeoutIntervalForResource = total.rounded(.up) + 1  // ours fires first
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        let task = session.dataTask(with: url)
        receiver.task = task
        task.resume()

        // Wake at the earlier deadline; data arriving moves the idle one.
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(total * 1e9)
        while true {
            let idleDeadline = receiver.lastProgress + UInt64(idle * 1e9)
            let wake = DispatchTime(uptimeNanoseconds: min(deadline, idleDeadline))
            if receiver.done.wait(timeout: wake) == .success { break }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline {
                receiver.fail(.timedOut(url: url.absoluteString, seconds: total))
                break
            }
            if now >= receiver.lastProgress + UInt64(idle * 1e9) {
                receiver.fail(.timedOut(url: url.absoluteString, seconds: idle))
                break
            }
        }
        task.cancel()
        session.invalidateAndCancel()
        let result = receiver.close()

        switch result {
        case .failure(let error):
            try? fm.removeItem(at: partial)
            throw error
        case .success(let bytes):
            do {
                if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
                try fm.moveItem(at: partial, to: destination)
            } catch {
                try? fm.removeItem(at: partial)
                throw .fileSystem(path: destination.path, reason: "cannot store the download from \(url.absoluteString) (\(error.localizedDescription))")
            }
            return bytes
        }
    }

    /// The data task's delegate: checks the response, appends the body to the file, counts bytes
    /// against the cap, and records the first failure. Every field is guarded by `lock`; once
    /// closed, nothing more is written.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let url: String
        let path: String
        let limit: Int
        let idle: Double
        /// Signalled once the task has completed (or failed in a delegate callback).
        let done = DispatchSemaphore(value: 0)
        var task: URLSessionTask? {
            get { lock.withLock { _task } }
            set { lock.withLock { _task = newValue } }
        }

        private let lock = NSLock()
        private var file: FileHandle?
        private var _task: URLSessionTask?
        private var bytes = 0
        private var error: FetchError?
        private var sawOK = false
        private var signalled = false
        private var progressAt = DispatchTime.now().uptimeNanoseconds

        init(url: String, file: FileHandle, path: String, limit: Int, idle: Double) {
            self.url = url
            self.file = file
            self.path = path
            self.limit = limit
            self.idle = idle
        }

        /// When data (or the response) last arrived, in uptime nanoseconds.
        var lastProgress: UInt64 { lock.withLock { progressAt } }

        /// Records `error` unless an earlier one is already recorded, and wakes the waiter.
        func fail(_ error: FetchError) {
            let task: URLSessionTask? = lock.withLock {
                if self.error == nil { self.error = error }
                return _task
            }
            task?.cancel()
            signal()
        }

        /// Closes the file; afterwards nothing is written. The byte count, or the first failure.
        func close() -> Result<Int, FetchError> {
            lock.withLock {
                try? file?.close()
                file = nil
                if let error { return .failure(error) }
                guard sawOK else { return .failure(.downloadFailed(url: url, reason: "no response was received")) }
                return .success(bytes)
            }
        }

        private func signal() {
            let first: Bool = lock.withLock {
                defer { signalled = true }
                return !signalled
            }
            if first { done.signal() }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            guard let http = response as? HTTPURLResponse else {
                fail(.downloadFailed(url: url, reason: "the response is not HTTP"))
                return completionHandler(.cancel)
            }
            guard http.statusCode == 200 else {
                fail(.httpStatus(url: url, status: http.statusCode))
                return completionHandler(.cancel)
            }
            if http.expectedContentLength > Int64(limit) {
                fail(.downloadTooLarge(url: url, limit: limit))
                return completionHandler(.cancel)
            }
            lock.withLock {
                sawOK = true
                progressAt = DispatchTime.now().uptimeNanoseconds
            }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            var problem: FetchError?
            lock.withLock {
                guard let file, error == nil else { return }
                progressAt = DispatchTime.now().uptimeNanoseconds
                guard bytes + data.count <= limit else {
                    problem = .downloadTooLarge(url: url, limit: limit)
                    return
                }
                do {
                    try file.write(contentsOf: data)
                    bytes += data.count
                } catch {
                    problem = .fileSystem(path: path, reason: "cannot write the download from \(url) (\(error.localizedDescription))")
                }
            }
            if let problem { fail(problem) }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            if let error {
                let code = (error as? URLError)?.code
                if code == .timedOut {
                    fail(.timedOut(url: url, seconds: idle))
                } else if code != .cancelled {
                    fail(.downloadFailed(url: url, reason: error.localizedDescription))
                }
            }
            signal()
        }
    }
}
