import ArgumentParser
import Foundation
import NCFSweep

/// `ncf sweep check`: is the store sound? SQLite's integrity check plus ncf's checks of every row.
struct SweepCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a sweep store for damage: SQLite's integrity check and ncf's checks of every row.",
        discussion: """
            Runs `PRAGMA integrity_check` on the file, then reads every sweep, run and metric as ncf \
            does (types, states, times, JSON configs and summaries, that each run has its sweep). \
            Prints what it found and exits 1 when anything is wrong. It only reads: the store is \
            opened read-only and nothing is changed.
            """)

    @OptionGroup var store: StoreOption

    func run() throws {
        if isPostgreSQLStoreURL(store.store) {
            throw CLIError(message: "ncf sweep check reads SQLite files; \(store.shownStore) is a PostgreSQL database, whose integrity the server keeps. Hint: check it with PostgreSQL's tools (`pg_amcheck`), or copy a sweep to a file (`ncf sweep copy ID --from URL --to FILE.db`) and check that.")
        }
        let db = try openSQLiteStore(store.store, access: .readOnly)
        defer { db.close() }
        let report = db.check()
        print("sweep store \(store.store)")
        if report.integrity == ["ok"] {
            print("  integrity_check: ok")
        } else {
            print("  integrity_check: \(report.integrity.count) problem\(report.integrity.count == 1 ? "" : "s")")
            for line in report.integrity { print("    \(line)") }
        }
        print("  rows: " + report.rows.map { "\($0.count) in \($0.table)" }.joined(separator: ", "))
        if report.problemCount == 0 {
            print("  every row reads as ncf wrote it")
        } else {
            print("  rows ncf cannot use: \(report.problemCount)")
            for problem in report.problems { print("    \(problem)") }
            if report.problemCount > report.problems.count {
                print("    … and \(report.problemCount - report.problems.count) more")
            }
        }
        guard !report.isSound else {
            print("no problems found")
            return
        }
        throw CLIError(message: """
            sweep store \(store.store) is damaged (listed above). Hint: readers (`ncf sweep status`, `best`, `report`) \
            still show what can be read, but ncf does not write to it. Restore a backup, or copy what can be saved \
            into a new store: `sqlite3 \(store.store) .recover | sqlite3 NEW.db` (or `.dump`), run `ncf sweep check --store NEW.db`, \
            correct or delete the rows it still lists with sqlite3, then go on with `ncf agent SWEEP_ID --store NEW.db`.
            """)
    }
}
