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
        let fd = try loopbackConnect(port: port)
        if !bytes.isEmpty { _ = Array(bytes.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        return fd
    }

    /// A server whose only connection slot an idle client holds; returns both.
    private func serverWithItsOnlySlotTaken() throws -> (HTTPServer, held: Int32) {
        var limits = HTTPServer.Limits()
        limits.maxConnections = 1
        limits.timeout = 5
        let s = try server(limits)
        let held = try idleClient(port: s.port, sending: "GET / HTTP/1.1\r\n")
        let deadline = Date().addingTimeInterval(5)
        while s.activeConnections < 1 && Date() < deadline { usleep(10_000) }
        return (s, held)
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
        let (s, held) = try serverWithItsOnlySlotTaken()
        let deadline = Date().addingTimeInterval(5)
        let refused = try loopbackGET(port: s.port, "/x")
        XCTAssertEqual(refused.status, 503, "\(refused)")
        XCTAssertEqual(refused.headers["retry-after"], "1")
        close(held)
        while s.activeConnections > 0 && Date() < deadline.addingTimeInterval(5) { usleep(10_000) }
        XCTAssertEqual(try loopbackGET(port: s.port, "/x").status, 200)
    }

    /// Sends one byte every `every` seconds on `fd` from another thread until `until`.
    private func trickle(_ fd: Int32, every: Double, for seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        Thread.detachNewThread {
            while Date() < end {
                let sent = [UInt8(65)].withUnsafeBytes { send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                usleep(UInt32(every * 1e6))
            }
        }
    }

    /// A client that trickles bytes: one that never ends its head gets 408 by the head's
    /// deadline, however its bytes are spaced; one that keeps sending after the response loses
    /// the connection within the drain's second. Neither holds a connection longer.
    func testATricklingSenderHoldsAConnectionForABoundedTime() throws {
        var limits = HTTPServer.Limits()
        limits.timeout = 1
        let s = try server(limits)
        let slowHead = try idleClient(port: s.port, sending: "GET /slow HTTP/1.1\r\n")
        trickle(slowHead, every: 0.8, for: 8)  // each byte within the per-read timeout
        let afterResponse = try idleClient(port: s.port, sending: "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        trickle(afterResponse, every: 0.3, for: 8)
        defer { close(slowHead); close(afterResponse) }
        let start = Date()
        while s.activeConnections < 2 && Date().timeIntervalSince(start) < 2 { usleep(10_000) }
        while s.activeConnections > 0 && Date().timeIntervalSince(start) < 8 { usleep(20_000) }
        XCTAssertEqual(s.activeConnections, 0, "a trickling client still holds a connection after \(Date().timeIntervalSince(start)) s")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "released only when the client stopped sending")
    }

    /// A client turned away with 503 that keeps sending does not stall the accept loop.
    func testARefusedClientThatKeepsSendingDoesNotStopAccepting() throws {
        let (s, held) = try serverWithItsOnlySlotTaken()
        let deadline = Date().addingTimeInterval(5)
        let refused = try idleClient(port: s.port, sending: "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        trickle(refused, every: 0.2, for: 10)
        defer { close(refused) }
        usleep(300_000)
        close(held)
        while s.activeConnections > 0 && Date() < deadline.addingTimeInterval(5) { usleep(10_000) }
        let start = Date()
        XCTAssertEqual(try loopbackGET(port: s.port, "/next", timeout: 5).status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "the next client waited for the refused one")
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
