import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A small HTTP/1.1 server on POSIX sockets, enough for a local dashboard: GET and HEAD requests
// without bodies, one response per connection (`Connection: close`).
//
// Safety, since anything that can reach the port can talk to it:
// - a request head is at most `Limits.maxHeadBytes` (431 past that) and must arrive within
//   `Limits.timeout` seconds in all (408 otherwise), however its bytes are spaced;
// - the response must be taken within `Limits.timeout` seconds plus one second per 100 kB;
// - a body is never read into memory: after the response, at most 64 KiB are drained for at most
//   one second in all (so the client sees the response rather than a reset) and the connection
//   is closed; so a slow or endless client holds a connection for a bounded time;
// - one thread per connection, at most `Limits.maxConnections` at once; past that, 503 from the
//   accepting thread, which then drains only what has already arrived (it never waits on a client);
// - writes never raise SIGPIPE (`MSG_NOSIGNAL`).

/// Why the server could not start.
public enum HTTPServerError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// Another process listens on the port.
    case addressInUse(host: String, port: UInt16)
    /// The port needs privileges (below 1024) or the address is not this machine's.
    case cannotBind(host: String, port: UInt16, detail: String)
    /// The host name does not resolve to an address.
    case badHost(host: String, detail: String)
    /// A socket call failed.
    case socket(call: String, detail: String)

    public var description: String {
        switch self {
        case let .addressInUse(host, port):
            return "port \(port) is in use\(host == "127.0.0.1" ? "" : " on \(host)"): --port 0 picks a free one"
        case let .cannotBind(host, port, detail):
            return "cannot listen on \(host) port \(port): \(detail). Hint: ports below 1024 need privileges; --port 0 picks a free one, and --host must be an address of this machine."
        case let .badHost(host, detail):
            return "--host \(host): \(detail). Hint: pass an address of this machine, e.g. 127.0.0.1 (the default), ::1 or 0.0.0.0."
        case let .socket(call, detail):
            return "the dashboard's server could not start: \(call) failed (\(detail))."
        }
    }

    public var errorDescription: String? { description }
}

/// One request as the server read it.
public struct HTTPRequest: Sendable {
    /// `GET`, `HEAD`, `POST`, … as sent.
    public var method: String
    /// The request target as sent (`/api/sweeps?state=finished`).
    public var target: String
    /// The path's segments, percent-decoded (`["api", "sweeps"]`); a trailing slash is ignored.
    public var segments: [String]
    /// The query's `name=value` pairs, percent-decoded (`+` is a space), in order.
    public var query: [(name: String, value: String)]
    /// Header names lowercased, values trimmed, in order.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, headers: [(name: String, value: String)] = []) throws(HTTPRequestError) {
        self.method = method
        self.target = target
        self.headers = headers
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        guard path.hasPrefix("/") else { throw HTTPRequestError("the request target \(target.prefix(80)) is not a path starting with /") }
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = Self.percentDecoded(raw, plusIsSpace: false) else {
                throw HTTPRequestError("the path segment \(raw.prefix(80)) is not valid percent-encoded UTF-8")
            }
            segments.append(decoded)
        }
        self.segments = segments
        var query: [(name: String, value: String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&", omittingEmptySubsequences: true) {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = Self.percentDecoded(kv[0], plusIsSpace: true),
                      let value = Self.percentDecoded(kv.count == 2 ? kv[1] : "", plusIsSpace: true) else {
                    throw HTTPRequestError("the query parameter \(pair.prefix(80)) is not valid percent-encoded UTF-8")
                }
                query.append((name, value))
            }
        }
        self.query = query
    }

    /// The value of header `name` (case-insensitive), the first if sent twice.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// `%41` → `A`; nil for a bad escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = Array(text.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hexValue(it[it.startIndex]), let lo = hexValue(it[it.startIndex + 1]) else { return nil }
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else if b == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A request the server cannot read (answered 400 with this message).
public struct HTTPRequestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One response: status, headers, body. The server adds `Content-Length`, `Connection: close`,
/// `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `application/json` with this text.
    public static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: Array(text.utf8))
    }

    /// `{"error": message}` with this status.
    public static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        json(status, JSONText.object([("error", .string(message))]).text, headers: headers)
    }

    /// The reason phrase of a status code.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

/// The server: binds at `init`, answers from `start()` until `stop()`.
///
///     let server = try HTTPServer(host: "127.0.0.1", port: 0) { request in .json(200, "{}") }
///     server.start()
///     print("http://127.0.0.1:\(server.port)/")
public final class HTTPServer: @unchecked Sendable {
    /// What one client may take.
    public struct Limits: Sendable {
        /// Bytes of request line and headers.
        public var maxHeadBytes = 16 * 1024
        /// Seconds for the whole request head to arrive, and for each write of the response.
        public var timeout: Double = 10
        /// Connections served at once.
        public var maxConnections = 32

        public init() {}
    }

    /// The port listened on (the one the system picked for port 0).
    public let port: UInt16
    /// The host as given.
    public let host: String
    public let limits: Limits

    private let listener: Int32
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let lock = NSLock()
    // Guarded by `lock`.
    private var active = 0
    private var stopping = false
    private var started = false
    private let acceptEnded = DispatchSemaphore(value: 0)

    /// Resolves `host` and listens on `port` (0: a free port the system picks).
    /// - Throws: `HTTPServerError` (`.addressInUse` when another process has the port).
    public init(host: String, port: UInt16, limits: Limits = Limits(),
                handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws(HTTPServerError) {
        self.host = host
        self.limits = limits
        self.handler = handler
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw .badHost(host: host, detail: String(cString: gai_strerror(resolved)))
        }
        defer { freeaddrinfo(list) }
        var lastError: HTTPServerError = .badHost(host: host, detail: "no address")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var bound: Int32 = -1
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 {
                lastError = .socket(call: "socket", detail: String(cString: strerror(errno)))
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                let code = errno
                close(fd)
                lastError = code == EADDRINUSE ? .addressInUse(host: host, port: port)
                    : .cannotBind(host: host, port: port, detail: String(cString: strerror(code)))
                continue
            }
            if listen(fd, 64) != 0 {
                let code = errno
                close(fd)
                lastError = code == EADDRINUSE ? .addressInUse(host: host, port: port)
                    : .socket(call: "listen", detail: String(cString: strerror(code)))
                continue
            }
            bound = fd
            break
        }
        guard bound >= 0 else { throw lastError }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(bound, $0, &length) }
        }
        guard named == 0 else {
            let code = errno
            close(bound)
            throw .socket(call: "getsockname", detail: String(cString: strerror(code)))
        }
        let family = Int32(storage.ss_family)
        let actual: UInt16 = withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        listener = bound
        self.port = actual
    }

    deinit { stop() }

    /// Starts answering, on a thread of its own (each connection gets another).
    public func start() {
        let first = lock.withLock {
            defer { started = true }
            return !started && !stopping
        }
        guard first else { return }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "ncf-dashboard-accept"
        thread.start()
    }

    /// Stops listening, then waits up to `grace` seconds for the connections being answered.
    /// Later calls do nothing.
    public func stop(grace: Double = 2) {
        let (first, wasStarted) = lock.withLock {
            defer { stopping = true }
            return (!stopping, started)
        }
        guard first else { return }
        if wasStarted { acceptEnded.wait() }
        close(listener)
        let deadline = Date().addingTimeInterval(grace)
        while lock.withLock({ active }) > 0 && Date() < deadline { usleep(10_000) }
    }

    /// Connections being answered now.
    public var activeConnections: Int { lock.withLock { active } }

    // MARK: - Accepting

    private func acceptLoop() {
        defer { acceptEnded.signal() }
        while !lock.withLock({ stopping }) {
            var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiting, 1, 200)
            if ready <= 0 { continue }
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                continue
            }
            setTimeouts(fd)
            let admitted = lock.withLock {
                guard active < limits.maxConnections else { return false }
                active += 1
                return true
            }
            guard admitted else {
                reply(fd, response: .error(503, "the dashboard is answering \(limits.maxConnections) connections already; try again in a moment",
                                          headers: [("Retry-After", "1")]), headOnly: false, within: 0.2)
                finish(fd, within: 0)
                continue
            }
            let thread = Thread { [self] in
                serve(fd)
                lock.withLock { active -= 1 }
            }
            thread.name = "ncf-dashboard-connection"
            thread.start()
        }
    }

    private func setTimeouts(_ fd: Int32) {
        let seconds = max(0.001, limits.timeout)
        var tv = timeval()
        tv.tv_sec = Int(seconds)
        tv.tv_usec = .init((seconds - seconds.rounded(.down)) * 1e6)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    // MARK: - One connection

    private func serve(_ fd: Int32) {
        defer { finish(fd) }
        let head: [UInt8]
        switch readHead(fd) {
        case .head(let bytes): head = bytes
        case .closed: return
        case .failed(let response):
            reply(fd, response: response, headOnly: false)
            return
        }
        let request: HTTPRequest
        do {
            request = try Self.parseHead(head)
        } catch {
            reply(fd, response: .error(400, "bad request: \(error.description)"), headOnly: false)
            return
        }
        reply(fd, response: handler(request), headOnly: request.method == "HEAD")
    }

    private enum HeadResult {
        case head([UInt8])
        /// The client closed (or sent nothing) before a whole head: nothing to answer.
        case closed
        case failed(HTTPResponse)
    }

    /// Reads up to the blank line that ends the head, within the size and time limits.
    private func readHead(_ fd: Int32) -> HeadResult {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(limits.timeout)
        let end: [UInt8] = [13, 10, 13, 10]
        var searched = 0
        while true {
            guard Self.wait(fd, for: Int16(POLLIN), until: deadline) else {
                return buffer.isEmpty ? .closed : .failed(.error(408, "the request head did not arrive within \(formatSeconds(limits.timeout)) s"))
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return .closed }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    return buffer.isEmpty ? .closed : .failed(.error(408, "the request head did not arrive within \(formatSeconds(limits.timeout)) s"))
                }
                return .closed
            }
            buffer.append(contentsOf: chunk[0..<n])
            // Look for CRLF CRLF from a little before the new bytes.
            let from = max(0, searched - 3)
            if buffer.count >= 4 {
                for i in from...(buffer.count - 4) where buffer[i] == 13 && Array(buffer[i..<(i + 4)]) == end {
                    guard i + 4 <= limits.maxHeadBytes else { break }
                    return .head(Array(buffer[0..<i]))
                }
            }
            searched = buffer.count
            if buffer.count > limits.maxHeadBytes {
                return .failed(.error(431, "the request head is longer than \(limits.maxHeadBytes) bytes"))
            }
            if Date() > deadline {
                return .failed(.error(408, "the request head did not arrive within \(formatSeconds(limits.timeout)) s"))
            }
        }
    }

    /// The request line and headers (`GET /path HTTP/1.1`, `Name: value`).
    static func parseHead(_ head: [UInt8]) throws(HTTPRequestError) -> HTTPRequest {
        guard let text = String(validating: head, as: UTF8.self) else { throw HTTPRequestError("the request head is not UTF-8 text") }
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw HTTPRequestError("the request line \(lines[0].prefix(80)) is not `METHOD /path HTTP/1.1`")
        }
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else {
            throw HTTPRequestError("\(parts[2].prefix(20)) is not HTTP/1.0 or HTTP/1.1")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw HTTPRequestError("the header line \(line.prefix(80)) has no `Name: value`")
            }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return try HTTPRequest(method: String(parts[0]), target: String(parts[1]), headers: headers)
    }

    /// Whether `fd` became ready for `events` before `deadline` (false on a timeout or an error).
    private static func wait(_ fd: Int32, for events: Int16, until deadline: Date) -> Bool {
        while true {
            let left = deadline.timeIntervalSinceNow
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(max(0, min(left, 3600)) * 1000))
            if ready > 0 { return true }
            if ready < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// Writes the response; gives up when the client has not taken it within `within` seconds
    /// (default: `limits.timeout` plus one second per 100 kB).
    private func reply(_ fd: Int32, response: HTTPResponse, headOnly: Bool, within: Double? = nil) {
        var head = "HTTP/1.1 \(response.status) \(HTTPResponse.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"
        var bytes = Array(head.utf8)
        if !headOnly { bytes += response.body }
        let deadline = Date().addingTimeInterval(within ?? limits.timeout + Double(bytes.count) / 100_000)
        var sent = 0
        while sent < bytes.count {
            guard Self.wait(fd, for: Int16(POLLOUT), until: deadline) else { return }
            let n = bytes[sent...].withUnsafeBytes { socketSend(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Half-closes, drains what the client still sends (at most 64 KiB, for at most `within`
    /// seconds in all), and closes.
    private func finish(_ fd: Int32, within: Double = 1) {
        shutdown(fd, Int32(SHUT_WR))
        let deadline = Date().addingTimeInterval(within)
        var drained = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while drained < 65_536, Self.wait(fd, for: Int16(POLLIN), until: deadline) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
            drained += n
        }
        close(fd)
    }
}

/// `send` that never raises SIGPIPE on a connection the client closed.
private func socketSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return send(fd, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    return send(fd, bytes, count, 0)
    #endif
}

/// `10`, `0.5`.
func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(s)
}
