import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - A raw HTTP/1.1 client for loopback servers, for the dashboard tests

/// One response as read off the socket.
public struct LoopbackHTTPResponse: Sendable, CustomStringConvertible {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: String

    public var description: String { "HTTP \(status) \(headers)\n\(body.prefix(2000))" }

    /// The body parsed as JSON (`[String: Any]`, `[Any]`, …); nil when it is not JSON.
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    /// The body as a JSON object, or an empty one.
    public var object: [String: Any] { (json as? [String: Any]) ?? [:] }
}

/// Why a request to the loopback server failed.
public struct LoopbackHTTPClientError: Error, CustomStringConvertible {
    public var description: String
}

/// A TCP socket connected to 127.0.0.1:`port`, its reads and writes timing out after `timeout`
/// seconds each. The caller closes it.
public func loopbackConnect(port: UInt16, timeout: Double = 30) throws -> Int32 {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw LoopbackHTTPClientError(description: "socket: \(String(cString: strerror(errno)))") }
    var tv = timeval()
    tv.tv_sec = Int(timeout)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        let detail = String(cString: strerror(errno))
        close(fd)
        throw LoopbackHTTPClientError(description: "connect to port \(port): \(detail)")
    }
    return fd
}

/// Sends `raw` (a whole request, head and any body) to 127.0.0.1:`port` and reads the response
/// until the server closes the connection (the dashboard answers with `Connection: close`).
/// Gives up after `timeout` seconds.
public func loopbackHTTP(port: UInt16, raw: [UInt8], timeout: Double = 30) throws -> LoopbackHTTPResponse {
    let fd = try loopbackConnect(port: port, timeout: timeout)
    defer { close(fd) }
    var sent = 0
    while sent < raw.count {
        #if canImport(Glibc)
        let n = raw[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        #else
        let n = raw[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        #endif
        if n <= 0 { break }  // the server may answer and close before it read everything
        sent += n
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw LoopbackHTTPClientError(description: "no complete response from port \(port) within \(timeout) s (\(bytes.count) bytes read)") }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else {
        throw LoopbackHTTPClientError(description: "no response head from port \(port): \(text.prefix(200))")
    }
    let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = lines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw LoopbackHTTPClientError(description: "bad status line \(lines[0])")
    }
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return LoopbackHTTPResponse(status: status, headers: headers, body: String(text[split.upperBound...]))
}

/// `GET path` (or another method) to 127.0.0.1:`port`.
public func loopbackGET(port: UInt16, _ path: String, method: String = "GET", headers: [String: String] = [:],
                        timeout: Double = 30) throws -> LoopbackHTTPResponse {
    var head = "\(method) \(path) HTTP/1.1\r\n"
    if !headers.keys.contains(where: { $0.lowercased() == "host" }) { head += "Host: 127.0.0.1:\(port)\r\n" }
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
    head += "\r\n"
    return try loopbackHTTP(port: port, raw: Array(head.utf8), timeout: timeout)
}
