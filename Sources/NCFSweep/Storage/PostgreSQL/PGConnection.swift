import CLibPQ
import Foundation

// A thin, synchronous wrapper over libpq: one connection, parameterised statements only
// (`PQexecParams`, every value sent as text), rows read back as text. Only the PostgreSQL store
// uses it.

/// Why the PostgreSQL store could not do what was asked. Every URL in a message has its password
/// replaced by `***` (see `redactedStoreURL`).
public enum PostgreSQLStoreError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// libpq could not parse the connection URL.
    case badURL(url: String, detail: String)
    /// The server could not be reached, or refused the login.
    case cannotConnect(url: String, detail: String)
    /// The database (its schema on the search path) holds tables that are not an ncf store's.
    case notAStore(url: String, tables: [String])
    /// The store was written by a newer ncf whose schema this one does not know.
    case newerSchema(url: String, versions: [String])
    /// The server refused a statement.
    case query(url: String, detail: String)
    /// A row of the store holds a value ncf cannot use (written by hand, or a loosened schema).
    case badRow(url: String, problem: StoreRowProblem)
    /// The connection broke (the server went away) and could not be re-established.
    case connectionLost(url: String, detail: String)

    /// Whether the server could not be reached (as against a statement it refused).
    public var isConnectionFailure: Bool {
        switch self {
        case .cannotConnect, .connectionLost: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .badURL(url, detail):
            return "\(url) is not a PostgreSQL connection URL (\(detail)). Hint: write it as postgresql://USER@HOST:5432/DATABASE (a password comes from PGPASSFILE, ~/.pgpass or PGPASSWORD rather than the URL; `?sslmode=require` passes through)."
        case let .cannotConnect(url, detail):
            let ended = detail.unicodeScalars.last.map { CharacterSet(charactersIn: ".?!").contains($0) } ?? false
            return "cannot connect to the sweep store \(url): \(detail)\(ended ? "" : ".") Hint: check that the server runs and accepts this host (`pg_isready -d URL`), and the user's password (PGPASSFILE, ~/.pgpass or PGPASSWORD)."
        case let .notAStore(url, tables):
            return "\(url) is not an ncf sweep store: its schema holds other tables (\(tables.prefix(5).joined(separator: ", "))). Hint: create an empty database for ncf (`createdb ncf`), or name an empty schema with `?options=-csearch_path%3DSCHEMA`; ncf never writes into a database it did not create."
        case let .newerSchema(url, versions):
            return "\(url) was written by a newer ncf (schema versions \(versions.joined(separator: ", ")) are newer than this one knows). Hint: use the newer ncf, or another --store."
        case let .query(url, detail):
            return "sweep store \(url): the server refused a statement: \(detail). Hint: check that the database user may write the store's tables; `ncf sweep status` shows what the store holds."
        case let .badRow(url, problem):
            return "sweep store \(url): \(problem). Hint: ncf does not go on with a sweep whose rows it cannot read, so that the row never decides a claim; correct or delete the row with psql (`psql URL -c \"SELECT * FROM \(problem.table) WHERE …\"`), then run the command again."
        case let .connectionLost(url, detail):
            return "sweep store \(url): the connection to the server was lost (\(detail)). Hint: check that the server is up (`pg_isready -d URL`); an agent's running runs are marked stale and run again if it stays away."
        }
    }

    public var errorDescription: String? { description }
}

/// `url` with any password replaced by `***`: the `user:password@` of a URL, and a `password=`
/// in its query or in a `key=value` connection string. For every message, log and report.
public func redactedStoreURL(_ url: String) -> String {
    var text = url
    // postgresql://user:secret@host → postgresql://user:***@host
    if let password = userInfoPassword(in: text) { text.replaceSubrange(text.index(after: password.lowerBound)..<password.upperBound, with: "***") }
    // password=secret in a query string or key=value connection string
    var out = ""
    var rest = Substring(text)
    while let r = rest.range(of: "password=", options: .caseInsensitive) {
        out += rest[..<r.upperBound] + "***"
        rest = rest[r.upperBound...]
        let end = rest.firstIndex(where: { $0 == "&" || $0 == " " }) ?? rest.endIndex
        rest = rest[end...]
    }
    return out + rest
}

/// `url` without any password, for a command printed to be run again: libpq then takes the
/// password from `PGPASSWORD` or `~/.pgpass`, where a `***` placeholder would be tried and fail.
/// Removes the `:password` of `user:password@` and every `password=…` parameter of the query.
public func storeURLWithoutPassword(_ url: String) -> String {
    var text = url
    if let password = userInfoPassword(in: text) { text.removeSubrange(password) }
    guard let query = text.firstIndex(of: "?") else { return text }
    let kept = text[text.index(after: query)...].split(separator: "&")
        .filter { !$0.lowercased().hasPrefix("password=") }
    return String(text[..<query]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
}

/// The `:secret` of a URL's `user:secret@`, colon included; nil when it has none.
private func userInfoPassword(in url: String) -> Range<String.Index>? {
    guard let scheme = url.range(of: "://") else { return nil }
    let rest = url[scheme.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return nil }
    return colon..<at
}

/// Whether `store` names a PostgreSQL server (`postgresql://…` or `postgres://…`) rather than a file.
public func isPostgreSQLStoreURL(_ store: String) -> Bool {
    let lower = store.lowercased()
    return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
}

/// A value sent as a statement parameter, in PostgreSQL's text format (nil = SQL NULL).
protocol PGParam {
    var pgText: String? { get }
}

extension String: PGParam { var pgText: String? { self } }
extension Int: PGParam { var pgText: String? { String(self) } }
extension Int64: PGParam { var pgText: String? { String(self) } }
extension Int32: PGParam { var pgText: String? { String(self) } }
extension Bool: PGParam { var pgText: String? { self ? "true" : "false" } }
extension Double: PGParam {
    /// Swift's shortest round-tripping form, which PostgreSQL's float8 input reads back exactly.
    var pgText: String? { precondition(isFinite, "non-finite values are stored as NULL"); return "\(self)" }
}
extension Optional: PGParam where Wrapped: PGParam {
    var pgText: String? { self?.pgText }
}

/// One row of a result, its values as PostgreSQL's text output.
struct PGRow {
    let values: [String?]
    let columns: [String: Int]

    /// The column's text: nil when the result has no such column, `.some(nil)` for NULL.
    func value(_ name: String) -> String?? {
        guard let i = columns[name], i < values.count else { return nil }
        return .some(values[i])
    }
    /// The column's text; nil for NULL or a missing column (for the store's own statements;
    /// rows of the store's tables are read through `PGRowReader`, which tells the two apart).
    func string(_ name: String) -> String? { value(name) ?? nil }
    func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }
    func int64(_ name: String) -> Int64? { string(name).flatMap { Int64($0) } }
    func double(_ name: String) -> Double? { string(name).flatMap { Double($0) } }
    func bool(_ name: String) -> Bool? { string(name).map { $0 == "t" || $0 == "true" } }
}

/// A statement's outcome: its rows, and how many rows it changed.
struct PGResult {
    var rows: [PGRow]
    var changed: Int
}

/// One libpq connection. Not thread-safe: its owner serialises calls.
final class PGConnection {
    /// The URL with its password hidden, for messages.
    let shownURL: String
    private let url: String
    private var conn: OpaquePointer?

    /// libpq's version, `15.20` (from `PQlibVersion`, e.g. 150020).
    static var libraryVersion: String {
        let v = Int(PQlibVersion())
        return v >= 100_000 ? "\(v / 10_000).\(v % 10_000)" : "\(v / 10_000).\(v / 100 % 100).\(v % 100)"
    }

    /// SQLSTATEs after which a transaction may simply be run again: serialization failure, deadlock.
    static let retryableStates: Set<String> = ["40001", "40P01"]

    /// Whether every session is read-only (`default_transaction_read_only`, set again on every reconnect).
    let readOnly: Bool

    /// Connects to `url` (a `postgresql://` URL; libpq reads PGPASSFILE, PGPASSWORD, PGSSLMODE… itself).
    /// With `readOnly`, the server refuses any write on this connection.
    init(url: String, readOnly: Bool = false) throws {
        self.url = url
        self.readOnly = readOnly
        self.shownURL = redactedStoreURL(url)
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &parseError) else {
            let detail = parseError.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unreadable"
            if let parseError { PQfreemem(parseError) }
            throw PostgreSQLStoreError.badURL(url: shownURL, detail: redactedStoreURL(detail))
        }
        PQconninfoFree(options)
        try connect()
    }

    deinit { PQfinish(conn) }

    private func connect() throws {
        PQfinish(conn)
        // Defaults the URL may override: give up on an unreachable host after 10 s, and notice a
        // dead server or a cut link within about a minute rather than the system's two hours (TCP
        // keepalives while idle; tcp_user_timeout while a statement waits for its answer).
        let settings = [("connect_timeout", "10"), ("keepalives_idle", "30"), ("keepalives_interval", "10"),
                        ("keepalives_count", "3"), ("tcp_user_timeout", "60000"), ("application_name", "ncf"), ("dbname", url)]
        let keys = settings.map { strdup($0.0) }, values = settings.map { strdup($0.1) }
        defer { for p in keys + values { free(p) } }
        conn = (keys.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { k in
            (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)  // 1: dbname is a URL whose settings win
            }
        }
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let detail = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(conn)
            self.conn = nil
            throw PostgreSQLStoreError.cannotConnect(url: shownURL, detail: Self.oneLine(redactedStoreURL(detail)))
        }
        // Notices (e.g. "relation already exists, skipping") are not for the agent's log, nor is
        // the server's "FATAL: terminating connection" libpq prints when it goes away: the next
        // call finds the connection broken and says so in ncf's words.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        _ = try? execute("SET client_min_messages = warning")
        if readOnly {
            // A reader waits at most 2 s for a lock a writer holds (a migration's), then answers busy.
            try execute("SET default_transaction_read_only = on")
            try execute("SET lock_timeout = '2s'")
        }
        // A host cut off in the middle of a transaction (a claim holds its sweep's row lock)
        // must not stall every other host's claims until the server's TCP gives up, hours later:
        // the server ends a session idle inside a transaction for 60 s, unless the server or the
        // URL (`options=-c idle_in_transaction_session_timeout=…`) already sets a limit.
        _ = try? execute("""
            SELECT set_config('idle_in_transaction_session_timeout', '60s', false)
            WHERE current_setting('idle_in_transaction_session_timeout') = '0'
            """)
    }

    /// Whether the connection is usable; a broken one is re-established once here.
    func ensureConnected() throws {
        if let conn, PQstatus(conn) == CONNECTION_OK { return }
        try connect()
    }

    /// Whether the last failure left the connection broken (the server went away).
    var isBroken: Bool { conn.map { PQstatus($0) != CONNECTION_OK } ?? true }

    /// Runs one statement with `params` bound to `$1, $2, …` (sent as text, typed by the server
    /// from the statement; write `$1::float8` where the statement leaves a type open).
    /// - Throws: `PGStatementError` with the server's SQLSTATE and message.
    @discardableResult
    func execute(_ sql: String, _ params: [any PGParam] = []) throws -> PGResult {
        guard let conn else { throw PGStatementError(sqlState: "08003", message: "no connection") }
        let texts = params.map(\.pgText)
        let cStrings: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0) } ?? nil }
        defer { for p in cStrings { free(p) } }
        let result: OpaquePointer? = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PQexecParams(conn, sql, Int32(values.count), nil, values.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard let result else {
            throw PGStatementError(sqlState: "08006", message: Self.oneLine(String(cString: PQerrorMessage(conn))))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            break
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "08006"
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? String(cString: PQerrorMessage(conn))
            throw PGStatementError(sqlState: state, message: Self.oneLine(message))
        }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [String: Int] = [:]
        for c in 0..<columnCount { columns[String(cString: PQfname(result, Int32(c)))] = c }
        var rows: [PGRow] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                values.append(PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(r), Int32(c))))
            }
            rows.append(PGRow(values: values, columns: columns))
        }
        let changed = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PGResult(rows: rows, changed: changed)
    }

    /// Whether the last transaction failed while its COMMIT was on the way: whether it took
    /// effect is unknown then. (A failure before COMMIT was sent left nothing behind: the server
    /// rolls back what a lost connection had begun.)
    private(set) var commitInDoubt = false

    /// Runs `body` inside `BEGIN … COMMIT` (rolled back when it throws).
    func transaction<T>(_ body: () throws -> T) throws -> T {
        commitInDoubt = false
        try execute("BEGIN")
        do {
            let value = try body()
            commitInDoubt = true
            try execute("COMMIT")
            commitInDoubt = false
            return value
        } catch {
            if !isBroken { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// libpq's lines as one sentence each: `Connection refused; Is the server running …?`.
    static func oneLine(_ s: String) -> String {
        var out = ""
        for line in s.split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            if let last = out.last { out += ".?!:;".contains(last) ? " " : "; " }
            out += text
        }
        return out
    }
}

/// A statement the server refused (or a connection that broke during it).
struct PGStatementError: Error, CustomStringConvertible {
    /// The five-character SQLSTATE, e.g. `23505` (unique violation); class `08` is a connection error.
    var sqlState: String
    var message: String
    var description: String { "\(message) (SQLSTATE \(sqlState))" }
}
