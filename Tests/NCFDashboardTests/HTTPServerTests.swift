import Foundation
import NCFTestSupport
import XCTest

@testable import NCFDashboard

/// The dashboard's HTTP server on its own: limits on slow and many clients, a port in use,
/// stopping, request parsing.
final class HTTPServerTests: XCTestCase {
    private func server(_ limits: HTTPServer.Limits = HTTPServer.Limits()) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits) { request in
            .json(200, JSONText.object([("path", .array(request.segments.map { .string($0) })),
                                        ("query", .array(request.query.map { .string("\($0.name)=\($0.value)") }))]).text)
        }
        server.start()
        addTeardownBlock { server.stop() }
        return server
    }

    /// A connected socket that sends `bytes` and then nothing.
    private func idleClient(port: UInt16, sending bytes: String = "") throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        if !bytes.isEmpty { _ = Array(bytes.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        return fd
    }

    func testPathAndQueryArePercentDecoded() throws {
        let s = try server()
        let response = try loopbackGET(port: s.port, "/api/a%20b/c/?x=1+2&param.model.dropout=0.5&flag")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.object["path"] as? [String], ["api", "a b", "c"])
        XCTAssertEqual(response.object["query"] as? [String], ["x=1 2", "param.model.dropout=0.5", "flag="])
    }

    func testAHeadThatDoesNotArriveInTimeGets408() throws {
        var limits = HTTPServer.Limits()
        limits.timeout = 0.5
        let s = try server(limits)
        let response = try loopbackHTTP(port: s.port, raw: Array("GET /slow HTTP/1.1\r\nHost: x\r\n".utf8), timeout: 10)
        XCTAssertEqual(response.status, 408, "\(response)")
        XCTAssertEqual(try loopbackGET(port: s.port, "/after").status, 200)
    }

    func testConnectionsBeyondTheLimitGet503AndTheSlotComesBack() throws {
        var limits = HTTPServer.Limits()
        limits.maxConnections = 1
        limits.timeout = 5
        let s = try server(limits)
        let held = try idleClient(port: s.port, sending: "GET / HTTP/1.1\r\n")
        let deadline = Date().addingTimeInterval(5)
        while s.activeConnections < 1 && Date() < deadline { usleep(10_000) }
        let refused = try loopbackGET(port: s.port, "/x")
        XCTAssertEqual(refused.status, 503, "\(refused)")
        XCTAssertEqual(refused.headers["retry-after"], "1")
        close(held)
        while s.activeConnections > 0 && Date() < deadline.addingTimeInterval(5) { usleep(10_000) }
        XCTAssertEqual(try loopbackGET(port: s.port, "/x").status, 200)
    }

    func testAPortInUseIsNamed() throws {
        let s = try server()
        XCTAssertThrowsError(try HTTPServer(host: "127.0.0.1", port: s.port) { _ in HTTPResponse(status: 204) }) { error in
            XCTAssertEqual(error as? HTTPServerError, .addressInUse(host: "127.0.0.1", port: s.port))
            XCTAssertEqual("\(error)", "port \(s.port) is in use: --port 0 picks a free one")
        }
        XCTAssertThrowsError(try HTTPServer(host: "no-such-host.invalid", port: 0) { _ in HTTPResponse(status: 204) }) { error in
            XCTAssertTrue("\(error)".contains("--host no-such-host.invalid"), "\(error)")
        }
    }

    func testStopClosesThePort() throws {
        let s = try server()
        XCTAssertEqual(try loopbackGET(port: s.port, "/").status, 200)
        s.stop()
        XCTAssertThrowsError(try loopbackGET(port: s.port, "/", timeout: 2), "nothing listens after stop()")
    }
}
