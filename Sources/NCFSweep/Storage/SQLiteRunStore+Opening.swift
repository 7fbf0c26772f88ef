import Foundation
import GRDB

// Opening a store file: what is refused before SQLite touches it, how a new store comes to be,
// and what is looked at through a read-only connection before anything is written.
//
// The rules:
// - `--store` is a path. SQLite would read `file:NAME` as a URI (and skip these checks), so
//   SQLite is always given an absolute path, and a value that looks like a URI or URL is refused
//   with a message: `file:x.db`, `postgresql://…`.
// - Only a file ncf builds itself gets a schema. A new store is built under a temporary name in
//   the same directory (schema, WAL mode) and linked to its path complete; `link` fails when
//   anything is there already, so another process's file, even an empty one, is never
//   initialised, and no other process ever sees a half-made store. An empty (0-byte) file at the
//   path is therefore never ncf's, and is refused.
// - An existing file is looked at through a read-only connection first: its tables (a store has
//   `grdb_migrations`), its schema version and `PRAGMA integrity_check`. Only then, and only for a
//   sound ncf store, is a writing connection opened.

extension SQLiteRunStore {
    /// The file name SQLite is given for `path`: absolute, so never read as an SQLite URI.
    /// - Throws: `RunStoreError.unsupportedLocation` for a value that looks like a URI or URL.
    static func fileName(for path: String) throws -> String {
        if let scheme = urlScheme(path) {
            let detail = scheme == "file"
                ? "an SQLite URI, which is not supported: --store takes a plain file path (`./\(path)` for a file literally named so)"
                : "a \(scheme):// URL, which is not supported: --store takes a file path or a postgresql:// URL"
            throw RunStoreError.unsupportedLocation(value: path, detail: detail)
        }
        guard !path.isEmpty else { throw RunStoreError.unsupportedLocation(value: path, detail: "an empty path") }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `file` for `file:…`, `postgresql` for `postgresql://…`; nil for a path.
    static func urlScheme(_ value: String) -> String? {
        if value.lowercased().hasPrefix("file:") { return "file" }
        guard let colon = value.range(of: "://") else { return nil }
        let scheme = value[..<colon.lowerBound]
        guard let first = scheme.first, first.isASCII, first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        return scheme.lowercased()
    }

    // MARK: - A new store

    /// Builds a new store at `file` when nothing is there: under a temporary name beside it
    /// (schema applied, WAL mode set, closed), then hard-linked to `file`, which fails when a
    /// file appeared there meanwhile (then that file is checked and opened as any other).
    static func createIfMissing(path: String, file: String) throws {
        var info = stat()
        if lstat(file, &info) == 0 { return }
        let dir = URL(fileURLWithPath: file).deletingLastPathComponent().path
        var dirInfo = stat()
        guard stat(dir, &dirInfo) == 0, (dirInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw RunStoreError.database(path: path, detail: "the directory \(dir) does not exist")
        }
        if access(dir, W_OK) != 0 {
            throw RunStoreError.notWritable(path: path, detail: "cannot create it: the directory \(dir) is not writable (\(String(cString: strerror(errno))))")
        }
        let temporary = "\(file).new-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        func removeTemporary() {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
        }
        defer { removeTemporary() }
        do {
            let queue = try DatabaseQueue(path: temporary)
            try migrator.migrate(queue)
            try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try queue.close()
        } catch let error as DatabaseError {
            throw translate(error, path: path)
        }
        if link(temporary, file) != 0 {
            let code = errno
            if code == EEXIST { return }
            throw RunStoreError.notWritable(path: path, detail: "cannot create it (\(String(cString: strerror(code))))")
        }
    }

    // MARK: - Checks before SQLite opens the file

    /// Refuses what SQLite would open badly: a missing file, a directory, an empty file, a
    /// truncated file; for writing also a read-only file or directory (WAL mode needs `PATH-wal`
    /// and `PATH-shm` beside the store).
    static func checkFile(path: String, file: String, writable: Bool) throws {
        var info = stat()
        guard stat(file, &info) == 0 else { throw RunStoreError.missingStore(path: path) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw RunStoreError.notAStore(path: path, detail: "it is a directory") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw RunStoreError.notAStore(path: path, detail: "it is not a regular file") }
        let size = Int(info.st_size)
        if size == 0 {
            throw RunStoreError.notAStore(path: path, detail: "the file is empty (0 bytes), while a store holds at least its tables; if it was a store, it has been truncated")
        }
        if let problem = truncation(file: file, size: size) { throw RunStoreError.damaged(path: path, detail: problem) }
        guard writable else { return }
        if access(file, W_OK) != 0 {
            throw RunStoreError.notWritable(path: path, detail: "the file is not writable (\(String(cString: strerror(errno))))")
        }
        let dir = URL(fileURLWithPath: file).deletingLastPathComponent().path
        if access(dir, W_OK) != 0 {
            throw RunStoreError.notWritable(path: path, detail: "its directory \(dir) is not writable (\(String(cString: strerror(errno)))), and the store needs to create \(URL(fileURLWithPath: file).lastPathComponent)-wal and -shm beside it")
        }
    }

    /// Why an SQLite file looks truncated, or nil: shorter than the page count its header gives
    /// (checked only with no `-wal` file beside it, whose frames may still complete the file), or
    /// a cut-off SQLite header.
    static func truncation(file: String, size: Int) -> String? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let header = [UInt8](handle.readData(ofLength: 100))
        let magic = Array("SQLite format 3\0".utf8)
        if header.count < 100 {
            let n = min(header.count, magic.count)
            return n > 0 && Array(header.prefix(n)) == Array(magic.prefix(n))
                ? "the file is \(size) bytes, cut off inside the SQLite header (truncated)" : nil
        }
        guard Array(header.prefix(16)) == magic else { return nil }
        var walInfo = stat()
        if stat(file + "-wal", &walInfo) == 0 && walInfo.st_size > 0 { return nil }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        let pages = header[28..<32].reduce(0) { $0 << 8 | Int($1) }
        // The page count is valid only when the "version valid for" number matches the change counter.
        guard pageSize >= 512, pages > 0, header[92..<96].elementsEqual(header[24..<28]) else { return nil }
        let expected = pages * pageSize
        guard size < expected else { return nil }
        return "the file has \(size) bytes but its header says \(pages) pages of \(pageSize) bytes (\(expected) bytes): it was truncated"
    }

    // MARK: - A look through a read-only connection

    /// What `inspect` found in a file that is an ncf store.
    struct Inspection {
        /// The read-only connection it used (a reader keeps it; a writer closes it).
        var queue: DatabaseQueue
        /// Whether every migration this ncf knows is applied.
        var migrated: Bool
        /// `PRAGMA integrity_check`'s rows (`["ok"]` for a sound file), or the error it ended with.
        var quickCheck: [String]
    }

    /// Opens `file` read-only and refuses it unless it is an ncf store of a schema this ncf
    /// knows: another program's SQLite database (tables, but no `grdb_migrations`), an SQLite
    /// file without tables (ncf did not make it: a store always has its tables), a store from a
    /// newer ncf. Nothing is written to the file.
    static func inspect(path: String, file: String, busyTimeout: TimeInterval = SQLiteRunStore.busyTimeout) throws -> Inspection {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(busyTimeout)
        config.label = "ncf-store-read"
        let queue: DatabaseQueue
        let tables: [String]
        do {
            queue = try DatabaseQueue(path: file, configuration: config)
            tables = try queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND typeof(name) = 'text'")
            }
        } catch let error as DatabaseError {
            let dir = URL(fileURLWithPath: file).deletingLastPathComponent().path
            if [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode) && access(dir, W_OK) != 0 {
                throw RunStoreError.notWritable(path: path, detail: "its directory \(dir) is not writable, and SQLite needs to create \(URL(fileURLWithPath: file).lastPathComponent)-shm beside a store in WAL mode even to read it")
            }
            throw translate(error, path: path)
        } catch {
            throw RunStoreError.damaged(path: path, detail: "its list of tables cannot be read (\(error))")
        }
        if tables.isEmpty {
            try? queue.close()
            throw RunStoreError.notAStore(path: path, detail: "an SQLite database with no tables, which ncf did not make; a copy of a store taken while ncf had it open needs the `-wal` file beside it too")
        }
        if !tables.contains("grdb_migrations") {
            try? queue.close()
            throw RunStoreError.notAStore(path: path, detail: "an SQLite database with other tables: \(tables.prefix(5).joined(separator: ", "))")
        }
        let superseded: Bool, completed: Bool
        do {
            (superseded, completed) = try queue.read { db in
                (try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db))
            }
        } catch let error as DatabaseError {
            try? queue.close()
            throw translate(error, path: path)
        } catch {
            try? queue.close()
            throw RunStoreError.damaged(path: path, detail: "its schema version cannot be read (\(error))")
        }
        if superseded {
            try? queue.close()
            throw RunStoreError.newerSchema(path: path)
        }
        var quickCheck: [String]
        do {
            quickCheck = try queue.read { db in
                try Row.fetchAll(db, sql: "PRAGMA integrity_check").map { row in
                    (StoreRowReader.value(row, row.columnNames.first ?? "") as? String) ?? "an unreadable integrity_check row"
                }
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            // Locked by another process is no damage: the caller may try again.
            try? queue.close()
            throw translate(error, path: path)
        } catch let error as DatabaseError {
            quickCheck = [error.message ?? "\(error.resultCode)"]
        }
        if quickCheck.isEmpty { quickCheck = ["integrity_check returned nothing"] }
        return Inspection(queue: queue, migrated: completed, quickCheck: quickCheck)
    }
}

extension SQLiteRunStore {
    /// The SQLite library's version (`sqlite_version()`), e.g. `3.40.1`.
    public static var libraryVersion: String {
        (try? DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") }) ?? "unknown"
    }
}
