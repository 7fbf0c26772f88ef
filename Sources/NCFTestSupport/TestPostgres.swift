import Foundation
import XCTest

/// The PostgreSQL server the tests run against: `NCF_TEST_POSTGRES_URL`, which `.ci/run` sets
/// after starting a throwaway cluster (`.ci/postgres`). Without it (a laptop) the PostgreSQL
/// tests skip with a message; under CI (`CI` set) its absence is a failure.
public enum TestPostgres {
    public static var url: String? {
        let url = ProcessInfo.processInfo.environment["NCF_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }

    /// Why `what` (e.g. "the PostgreSQL store tests") did not run, and how to run it.
    public static func skipMessage(_ what: String) -> String {
        "NCF_TEST_POSTGRES_URL is not set: \(what) did not run. Start a throwaway server with `. .ci/postgres` (it sets the variable), or run `bash .ci/run`."
    }

    /// The server's URL, or a skip naming `what` (a failure under CI).
    public static func requireURL(for what: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        if let url { return url }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("CI is set but NCF_TEST_POSTGRES_URL is not: \(what) must run in CI", file: file, line: line)
        }
        throw XCTSkip(skipMessage(what))
    }

    /// A schema name no other test uses: `prefix` and 12 random characters.
    public static func newSchemaName(_ prefix: String) -> String {
        prefix + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
    }

    /// `base` with `options=-csearch_path=SCHEMA` added (libpq decodes the `%3D`).
    public static func withSchema(_ base: String, _ schema: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }
}
