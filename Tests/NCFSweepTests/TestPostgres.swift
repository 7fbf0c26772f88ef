import Foundation
import XCTest

@testable import NCFSweep

/// The PostgreSQL server the store tests run against: `NCF_TEST_POSTGRES_URL`, which `.ci/run`
/// sets after starting a throwaway cluster (`.ci/postgres`). Without it (a laptop) the
/// PostgreSQL tests skip with a message; under CI (`CI` set) its absence is a failure.
enum TestPostgres {
    static var url: String? {
        let url = ProcessInfo.processInfo.environment["NCF_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }

    static let skipMessage = "NCF_TEST_POSTGRES_URL is not set: the PostgreSQL store tests did not run. Start a throwaway server with `. .ci/postgres` (it sets the variable), or run `bash .ci/run`."

    /// The server's URL, or a skip (a failure under CI).
    static func requireURL(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        if let url { return url }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("CI is set but NCF_TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI", file: file, line: line)
        }
        throw XCTSkip(skipMessage)
    }

    /// A connection URL whose search_path is a new, empty schema: a fresh store for one test.
    static func freshStoreURL(base: String) throws -> String {
        let schema = "ncf_t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try admin(base).execute("CREATE SCHEMA \(schema)")
        return withSchema(base, schema)
    }

    /// `base` with `options=-csearch_path=SCHEMA` added (libpq decodes the `%3D`).
    static func withSchema(_ base: String, _ schema: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }

    /// A plain connection to `url`, for a test's own SQL.
    static func admin(_ url: String) throws -> PGConnection { try PGConnection(url: url) }

    /// Prints the skip message once per process, for suites that run other stores anyway.
    static let noteSkippedOnce: Void = {
        FileHandle.standardError.write(Data("note: \(skipMessage)\n".utf8))
    }()
}
