import Foundation
import NCFSweep

/// What the dashboard could not do, as an HTTP status and a message for the client.
public struct DashboardError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    /// Seconds after which the same request may succeed (`Retry-After`, with 503).
    public var retryAfter: Int?
    /// Whether the store cannot be served at all, whatever happens to it meanwhile: no store at
    /// the path, not an ncf store, a schema of another ncf version, a bad location
    /// (`ncf sweep serve` exits at start with this message).
    public var unusableStore: Bool

    public init(status: Int, message: String, retryAfter: Int? = nil, unusableStore: Bool = false) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
        self.unusableStore = unusableStore
    }

    public var description: String { message }

    /// The answer for an error a store threw: 404 for an unknown sweep or run, 503 (with
    /// `Retry-After`) for a store that is locked or a server that is away, 500 for a damaged,
    /// foreign or unreadable store, and 500 for anything else, with its message.
    public static func from(_ error: Error) -> DashboardError {
        if let error = error as? DashboardError { return error }
        if let error = error as? RunStoreError {
            switch error {
            case .noSuchSweep, .noSuchRun:
                return DashboardError(status: 404, message: error.description)
            case .busy:
                return DashboardError(status: 503, message: error.description, retryAfter: 2)
            case .missingStore, .notAStore, .newerSchema, .olderSchema, .unsupportedLocation:
                return DashboardError(status: 500, message: error.description, unusableStore: true)
            default:
                return DashboardError(status: 500, message: error.description)
            }
        }
        if let error = error as? PostgreSQLStoreError {
            switch error {
            case .cannotConnect, .connectionLost:
                return DashboardError(status: 503, message: error.description, retryAfter: 5)
            case .badURL, .notAStore, .newerSchema:
                return DashboardError(status: 500, message: error.description, unusableStore: true)
            case .query, .badRow:
                return DashboardError(status: 500, message: error.description)
            }
        }
        return DashboardError(status: 500, message: "the dashboard could not read the store: \(error)")
    }
}

/// The store the dashboard reads, opened read-only: never created, migrated or written.
///
/// - **SQLite**: one read-only connection, kept open while the file stays the same file; it is
///   opened again when the file is replaced or rewritten by a checkpoint (its inode, size or
///   modification time change), so a restored or repaired store is picked up and damage is
///   looked for again (`PRAGMA integrity_check` runs at every open). A lock another process
///   holds is waited for at most `busyTimeout` seconds, then the request gets 503. A store whose
///   integrity check fails, or a request that meets a row ncf cannot read, gets 500 naming what
///   is wrong: the dashboard shows nothing rather than a part it cannot vouch for.
/// - **PostgreSQL**: one connection whose sessions are read-only (the server refuses writes),
///   re-established when it breaks; a server that is away gets 503.
/// - **A given store** (tests): used as it is.
///
/// Requests are answered one store read at a time (a lock), which a local dashboard can afford.
public final class DashboardStore: @unchecked Sendable {
    private enum Source {
        case sqlite(path: String)
        case postgresql(url: String)
        case given(any RunStore)
    }

    /// The store as pages and messages show it (a URL's password hidden).
    public let shown: String
    /// How long a read waits for a lock on an SQLite store before answering 503.
    public let busyTimeout: TimeInterval
    private let source: Source
    private let lock = NSLock()
    // Guarded by `lock`.
    private var open: (any RunStore)?
    private var identity: FileIdentity?

    /// The store at `location`: a `postgresql://` or `postgres://` URL, else an SQLite file path.
    public init(location: String, busyTimeout: TimeInterval = 2) {
        source = isPostgreSQLStoreURL(location) ? .postgresql(url: location) : .sqlite(path: location)
        shown = redactedStoreURL(location)
        self.busyTimeout = busyTimeout
    }

    /// A store opened by the caller (tests; any `RunStore`).
    public init(store: any RunStore, shown: String) {
        source = .given(store)
        self.shown = shown
        busyTimeout = 0
    }

    /// Runs `body` on the store, opening it first when needed.
    /// - Throws: `DashboardError` with the status to answer.
    public func read<T>(_ body: (any RunStore) throws -> T) throws(DashboardError) -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            switch source {
            case .given(let store):
                return try body(store)
            case .postgresql(let url):
                if open == nil { open = try PostgreSQLRunStore(readOnlyURL: url) }
                guard let store = open else { throw DashboardError(status: 500, message: "the store is not open") }
                return try body(store)
            case .sqlite(let path):
                let store = try sqliteStore(path: path)
                store.resetRowProblems()
                let result: T
                do {
                    result = try body(store)
                } catch let error as RunStoreError {
                    if case .damaged = error { forget() }
                    throw error
                }
                let (problems, count) = store.rowProblems
                if count > 0 {
                    let shown = problems.prefix(3).map(\.description).joined(separator: "; ")
                    throw DashboardError(status: 500, message: "sweep store \(path) is damaged: \(count) row\(count == 1 ? "" : "s") could not be read (\(shown)\(count > 3 ? "; …" : "")). Hint: `ncf sweep check --store \(path)` lists every one; see \"Reliability\" in the README for how to recover a store.")
                }
                return result
            }
        } catch {
            throw DashboardError.from(error)
        }
    }

    /// Checks that the store can be opened and read (`ncf sweep serve` does at start).
    public func check() throws(DashboardError) {
        _ = try read { try $0.sweeps() }
    }

    /// Closes the connection (a later `read` opens it again).
    public func close() {
        lock.withLock { forget() }
    }

    // MARK: - SQLite

    /// The file's identity: a replaced or checkpointed file differs.
    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
    }

    private static func identity(of path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Glibc)
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #else
        let modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #endif
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size), modified: modified)
    }

    /// The open store, opened again when the file changed; a damaged one is refused (500) but
    /// kept open, so the integrity check is not run again until the file changes.
    private func sqliteStore(path: String) throws -> SQLiteRunStore {
        let now = Self.identity(of: path)
        if now == nil || now != identity { forget() }
        if open == nil {
            let store = try SQLiteRunStore(path: path, access: .readOnly, busyTimeout: busyTimeout)
            open = store
            identity = now
        }
        guard let store = open as? SQLiteRunStore else { throw DashboardError(status: 500, message: "the store is not open") }
        if store.openCheck != ["ok"] {
            let found = store.openCheck.prefix(3).joined(separator: "; ")
            throw DashboardError(status: 500, message: "sweep store \(path) is damaged (\(found)). Hint: ncf does not show a damaged store here; `ncf sweep check --store \(path)` lists what is wrong, `ncf sweep status` and `report` show what can still be read, and \"Reliability\" in the README says how to recover it.")
        }
        return store
    }

    private func forget() {
        (open as? SQLiteRunStore)?.close()
        open = nil
        identity = nil
    }
}
