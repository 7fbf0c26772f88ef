import Foundation
import NCFTestSupport
import XCTest

@testable import NCFSweep

/// The store tests' use of the shared test server (`NCFTestSupport.TestPostgres`).
extension TestPostgres {
    static let skipMessage = skipMessage("the PostgreSQL store tests")

    /// The server's URL, or a skip (a failure under CI).
    static func requireURL(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try requireURL(for: "the PostgreSQL store tests", file: file, line: line)
    }

    /// A connection URL whose search_path is a new, empty schema: a fresh store for one test.
    static func freshStoreURL(base: String) throws -> String {
        let schema = newSchemaName("ncf_t_")
        try admin(base).execute("CREATE SCHEMA \(schema)")
        return withSchema(base, schema)
    }

    /// A plain connection to `url`, for a test's own SQL.
    static func admin(_ url: String) throws -> PGConnection { try PGConnection(url: url) }

    /// Prints the skip message once per process, for suites that run other stores anyway.
    static let noteSkippedOnce: Void = {
        FileHandle.standardError.write(Data("note: \(skipMessage)\n".utf8))
    }()
}
