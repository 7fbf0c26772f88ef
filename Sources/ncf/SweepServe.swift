import ArgumentParser
import Dispatch
import Foundation
import NCFDashboard
import NCFSweep

/// `ncf sweep serve`: a live local dashboard and JSON API over a store it only reads.
struct SweepServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a live dashboard of the store's sweeps, and a JSON API, on this machine.",
        discussion: """
            Open the printed address in a browser: / lists the store's sweeps, /sweeps/ID shows \
            one sweep's report and updates it while agents run. The JSON API under /api \
            (docs/dashboard-api.md) answers scripts. The store is opened read-only and never \
            written; agents may go on writing it. Nothing is loaded from the network. Ctrl-C stops it.
            """)

    @OptionGroup var store: StoreOption

    @Option(name: .customLong("port"), parsing: .unconditional, help: ArgumentHelp(
        "The port to listen on; 0 picks a free one.", valueName: "port"))
    var port: Int = 8080

    @Option(name: .customLong("host"), help: ArgumentHelp(
        "The address to listen on. Anything but loopback (127.0.0.1, ::1, localhost) lets other machines in, and the dashboard has no authentication.",
        valueName: "address"))
    var host: String = "127.0.0.1"

    @Option(name: .customLong("allow-host"), help: ArgumentHelp(
        "A host name the dashboard may be reached by, besides localhost, IP addresses, --host and this machine's name (repeat for more). Requests naming any other host are refused, so a web page cannot reach the dashboard through a DNS name of its own.",
        valueName: "name"))
    var allowHost: [String] = []

    func validate() throws {
        guard (0...65535).contains(port) else {
            throw ValidationError("--port \(port): a port is 0…65535 (0 picks a free one).")
        }
        guard !host.isEmpty else { throw ValidationError("--host is empty: pass an address such as 127.0.0.1.") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let location = store.store
        let shown = store.shownStore
        let dashboard = DashboardStore(location: location)
        // A store that cannot be opened at all (missing, not a store) is an error now; a damaged
        // or locked one is served, and its pages and API say what is wrong.
        do {
            try dashboard.check()
        } catch {
            if error.unusableStore { throw CLIError(message: error.message) }
            warn(error.message)
        }
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host.lowercased())
        let server: HTTPServer
        do {
            let holder = Holder()
            server = try HTTPServer(host: host, port: UInt16(port)) { request in holder.respond(request) }
            // IP literals and localhost are always accepted; names only when they are this
            // machine's, --host's or --allow-host's.
            let names = Set([host, ProcessInfo.processInfo.hostName].map { $0.lowercased() } + allowHost.map { $0.lowercased() })
            holder.dashboard = Dashboard(store: dashboard, allowedHostNames: names)
        } catch {
            throw CLIError(message: error.description)
        }
        if !loopback {
            warn("listening on \(host): any machine that can reach this address can read every sweep in \(shown); the dashboard has no authentication. Use the default --host 127.0.0.1 (and an SSH tunnel) unless this network is trusted.")
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let browsable = ["0.0.0.0", "::"].contains(host) ? "127.0.0.1" : shownHost
        // Written at once (not buffered), so a script or test reading the output finds the URL.
        FileHandle.standardOutput.write(Data(terminalSafe("ncf dashboard for \(shown) at http://\(browsable):\(server.port)/ (read-only; Ctrl-C stops it)\n").utf8))

        // Ctrl-C and SIGTERM end the wait; the server then stops and the store is closed.
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        server.start()
        done.wait()
        server.stop()
        dashboard.close()
        for source in sources { source.cancel() }
        FileHandle.standardOutput.write(Data("dashboard stopped\n".utf8))
    }
}

/// Lets the handler reach the dashboard, which needs the server's port (known once it listens).
private final class Holder: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Dashboard?

    var dashboard: Dashboard? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }

    func respond(_ request: HTTPRequest) -> HTTPResponse {
        guard let dashboard else { return .error(503, "the dashboard is starting", headers: [("Retry-After", "1")]) }
        return dashboard.respond(request)
    }
}
