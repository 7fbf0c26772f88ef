import ArgumentParser
import Foundation
import NCFSweep

// How the commands open a sweep store: writers (`ncf sweep FILE`, `ncf agent`) only a sound
// store, readers (`status`, `list`, `best`, `report`) any store, saying what they could not read.
// Either way the store is closed on the way out, so its write-ahead log is folded into the file.
// A `postgresql://` or `postgres://` URL opens a PostgreSQL store instead; its messages show the
// URL with the password hidden.

/// Opens the SQLite store at `path`, turning its errors into one-sentence CLI errors.
///
/// SIGXFSZ is ignored from here on, so a file-size limit (`ulimit -f`) or a full disk makes a
/// store write fail with an error message instead of killing the process mid-transaction.
func openSQLiteStore(_ path: String, access: SQLiteRunStore.Access) throws -> SQLiteRunStore {
    signal(SIGXFSZ, SIG_IGN)
    do {
        return try SQLiteRunStore(path: path, access: access)
    } catch RunStoreError.unsupportedLocation(let value, let detail) {
        // `mysql://user:secret@host/db`: never print the password.
        throw CLIError(RunStoreError.unsupportedLocation(value: redactedStoreURL(value), detail: detail))
    } catch {
        throw CLIError(error)
    }
}

/// Opens the store `location` names: a PostgreSQL database for a URL (with `.create`, an empty
/// database becomes a store; otherwise it is refused as no store), else a SQLite file.
func openStore(_ location: String, access: SQLiteRunStore.Access) throws -> any RunStore {
    guard isPostgreSQLStoreURL(location) else { return try openSQLiteStore(location, access: access) }
    do { return try PostgreSQLRunStore(url: location, create: access == .create) } catch { throw CLIError(error) }
}

/// Closes a SQLite store (folding its write-ahead log into the file); a PostgreSQL store's
/// connection closes with its last reference.
func closeStore(_ store: any RunStore) {
    (store as? SQLiteRunStore)?.close()
}

/// Runs `body` with the store open for writing (`create`: making a new store when none is
/// there), then closes it. A damaged store is refused before anything is written.
func writingStore(_ location: String, create: Bool, _ body: (any RunStore) throws -> Void) throws {
    let store = try openStore(location, access: create ? .create : .write)
    defer { closeStore(store) }
    try body(store)
}

/// Runs `body` with the store open read-only, then closes it; never creates, initialises or
/// changes a store.
///
/// A store that is damaged (`PRAGMA integrity_check` fails) or has rows ncf cannot read is shown as
/// far as it can be read: a warning on stderr says so before the output (damage) and after it
/// (the rows left out, with the table, row and column of each), and the command then exits 1,
/// so a script does not take the output for the whole truth.
func readingStore(_ path: String, _ body: (any RunStore) throws -> Void) throws {
    if isPostgreSQLStoreURL(path) {
        let store = try openStore(path, access: .readOnly)
        do { try body(store) } catch let error as RunStoreError { throw CLIError(error) }
        return
    }
    let store = try openSQLiteStore(path, access: .readOnly)
    defer { store.close() }
    let hint = "Hint: `ncf sweep check --store \(path)` lists what is wrong; see \"Reliability\" in the README for how to recover a store."
    if store.openCheck != ["ok"] {
        let found = store.openCheck.prefix(3).joined(separator: "; ")
        warn("sweep store \(path) is damaged (\(found)); what follows is what could still be read, and may be incomplete. \(hint)")
    }
    var failure: Error?
    do { try body(store) } catch { failure = error }
    let (problems, count) = store.rowProblems
    if count > 0 {
        let shown = problems.prefix(5).map { "  \($0)" }.joined(separator: "\n")
        let more = count > 5 ? "\n  … and \(count - 5) more" : ""
        warn("\(count) row\(count == 1 ? "" : "s") of sweep store \(path) could not be read and \(count == 1 ? "was" : "were") left out:\n\(shown)\(more)\n\(hint)")
    }
    if let failure {
        if failure is RunStoreError { throw CLIError(failure) }
        throw failure
    }
    if store.openCheck != ["ok"] || count > 0 { throw ExitCode(1) }
}

/// One line (or block) to stderr, prefixed `warning: `.
func warn(_ text: String) {
    FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
}
