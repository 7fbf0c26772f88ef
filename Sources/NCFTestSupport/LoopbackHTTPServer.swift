import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - A tiny HTTP server on 127.0.0.1, for download tests

/// Why the loopback server could not start.
public struct LoopbackHTTPServerError: Error, LocalizedError, CustomStringConvertible {
    public let call: String
    public let code: Int32

    public var description: String {
        "loopback HTTP server: \(call) failed (\(String(cString: strerror(code)))). Hint: the test needs a loopback interface (127.0.0.1) and one free port."
    }

    public var errorDescription: String? { description }
}

/// Serves fixed responses by path on an ephemeral port of 127.0.0.1, from one background thread.
///
/// Enough HTTP/1.1 for a client's GET: the request head is read, the path looked up, and one
/// response written with `Connection: close`. Unknown paths get 404. Requests are counted per
/// path so a test can tell whether a client came back.
///
///     let server = try LoopbackHTTPServer(routes: ["/x.zip": .ok(bytes)])
///     defer { server.stop() }
///     fetch("\(server.baseURL)/x.zip") …
///     XCTAssertEqual(server.requestCount(for: "/x.zip"), 1)
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// What a path answers.
    public enum Response: Sendable {
        /// 200 with this body.
        case ok([UInt8])
        /// This status with a short text body.
        case status(Int)
        /// Read the request and never answer (until `stop()`), for timeout tests.
        case silent
        /// 200 announcing the whole body's length, then `chunk` bytes every `interval` seconds:
        /// a slow server that never goes quiet long enough to trip an idle timeout. Stops early
        /// when the client hangs up or the server is stopped.
        case drip([UInt8], chunk: Int, interval: Double)
    }

    /// The port the server listens on (127.0.0.1).
    public let port: UInt16
    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let routes: [String: Response]
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var held: [Int32] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Binds 127.0.0.1 on a port the system picks and starts answering.
    /// - Throws: `LoopbackHTTPServerError` naming the failing socket call.
    public init(routes: [String: Response]) throws {
        self.routes = routes
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LoopbackHTTPServerError(call: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(call: "bind", code: code)
        }
        guard listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(call: "listen", code: code)
        }
        var actual = sockaddr_in()
        var actualLength = length
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        guard named == 0 else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(call: "getsockname", code: code)
        }
        listener = fd
        port = UInt16(bigEndian: actual.sin_port)
        let thread = Thread { [self] in serve() }
        thread.name = "LoopbackHTTPServer:\(port)"
        thread.start()
    }

    deinit { stop() }

    /// Requests received for `path` so far (query strings are ignored).
    public func requestCount(for path: String) -> Int {
        lock.withLock { counts[path, default: 0] }
    }

    /// Requests received for every path so far.
    public var requestCount: Int {
        lock.withLock { counts.values.reduce(0, +) }
    }

    /// Stops answering, closes every socket and waits for the thread to finish. Idempotent.
    public func stop() {
        let first: Bool = lock.withLock {
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        finished.wait()
        close(listener)
        lock.withLock {
            for fd in held { close(fd) }
            held.removeAll()
        }
    }

    // MARK: Serving

    private func serve() {
        defer { finished.signal() }
        while !lock.withLock({ stopping }) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            answer(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif

        // Read the request head (up to the blank line).
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let blankLine: [UInt8] = [13, 10, 13, 10]
        while head.count < 65_536 {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            head += buffer[0..<n]
            if head.count >= 4, head.indices.dropLast(3).contains(where: { Array(head[$0..<($0 + 4)]) == blankLine }) { break }
        }
        let requestLine = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = requestLine.split(separator: " ")
        let target = parts.count >= 2 ? String(parts[1]) : "/"
        let path = String(target.prefix { $0 != "?" })
        lock.withLock { counts[path, default: 0] += 1 }

        let response = routes[path] ?? .status(404)
        switch response {
        case .silent:
            lock.withLock { held.append(client) }
            return
        case let .ok(body):
            send(client, status: 200, body: body, type: "application/octet-stream")
        case let .status(code):
            send(client, status: code, body: Array("status \(code) for \(path)\n".utf8), type: "text/plain")
        case let .drip(body, chunk, interval):
            guard sendAll(client, Array(Self.head(status: 200, length: body.count, type: "application/octet-stream").utf8)) else { break }
            var offset = 0
            while offset < body.count, !lock.withLock({ stopping }) {
                let end = min(body.count, offset + max(1, chunk))
                guard sendAll(client, Array(body[offset..<end])) else { break }
                offset = end
                if offset < body.count { usleep(useconds_t(max(0, interval) * 1_000_000)) }
            }
        }
        close(client)
    }

    private static func head(status: Int, length: Int, type: String) -> String {
        "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\nContent-Type: \(type)\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n"
    }

    private func send(_ client: Int32, status: Int, body: [UInt8], type: String) {
        _ = sendAll(client, Array(Self.head(status: status, length: body.count, type: type).utf8) + body)
    }

    /// Writes all of `bytes`; false when the peer is gone.
    private func sendAll(_ client: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                #if os(Linux)
                return Glibc.send(client, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                #else
                return Darwin.send(client, raw.baseAddress! + sent, raw.count - sent, 0)
                #endif
            }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }
}

private enum HTTPStatus {
    static func reason(_ code: Int) -> String {
        switch code {
        case 200: return "OK"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}
