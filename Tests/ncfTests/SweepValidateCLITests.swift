import Foundation
import XCTest

/// `ncf sweep validate FILE [--json]` end to end.
final class SweepValidateCLITests: CLITestCase {
    private var sweepsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sweeps")
    }

    private func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], text)
    }

    /// Every YAML in Sweeps/ validates against the built-in trainer's flags, with no error and no
    /// warning (a misspelt parameter in a shipped sweep would be a warning).
    func testBundledSweepsAreValid() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: sweepsDirectory.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertTrue(Set(["ncf.yaml", "grid.yaml", "hyperband.yaml", "ml1m-ncf.yaml", "ml100k.yaml"]).isSubset(of: Set(names)), "\(names)")
        for name in names {
            let path = sweepsDirectory.appendingPathComponent(name).path
            let result = try ncfSucceeds(["sweep", "validate", path, "--json"])
            let object = try json(result.stdout)
            XCTAssertEqual(object["valid"] as? Bool, true, "\(name): \(result)")
            XCTAssertEqual((object["errors"] as? [Any])?.count, 0, name)
            XCTAssertEqual((object["warnings"] as? [Any])?.count, 0, "\(name): \(result)")
            if name == "grid.yaml" {
                XCTAssertEqual(object["method"] as? String, "grid")
                XCTAssertEqual(object["grid_points"] as? Int, 12)
            } else {
                XCTAssertTrue(object["grid_points"] is NSNull, "\(name): grid_points is null unless grid")
            }
        }
    }

    func testInvalidConfigListsEveryProblemWithLineAndKey() throws {
        let yaml = """
            method: grid
            metric:
              name: Valid Loss
              goal: minimise
            parameters:
              lr:
                min: 0.1
                max: 0.01
              batch_size:
                values: [32, 64]
            trials: 5
            """
        let path = tmp.appendingPathComponent("bad.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ncf(["sweep", "validate", path, "--json"])
        XCTAssertEqual(result.exitCode, 1, result.description)
        let object = try json(result.stdout)
        XCTAssertEqual(object["valid"] as? Bool, false)
        let errors = try XCTUnwrap(object["errors"] as? [[String: Any]])
        let keys = errors.compactMap { $0["key"] as? String }
        XCTAssertTrue(keys.contains { $0.hasPrefix("metric.goal") }, "\(errors)")
        XCTAssertTrue(keys.contains { $0.hasPrefix("parameters.lr") }, "\(errors)")
        XCTAssertTrue(keys.contains { $0.hasPrefix("trials") }, "\(errors)")
        let goal = try XCTUnwrap(errors.first { ($0["key"] as? String)?.hasPrefix("metric.goal") == true })
        XCTAssertEqual(goal["line"] as? Int, 4)

        let human = try ncf(["sweep", "validate", path])
        XCTAssertEqual(human.exitCode, 1)
        XCTAssertTrue((human.stdout + human.stderr).contains("bad.yaml:4"), human.description)
    }

    func testUnknownTrainerFlagIsTheSameErrorAsForSweep() throws {
        let yaml = """
            method: random
            parameters:
              learning_rate:
                values: [0.1, 0.01]
            """
        let path = tmp.appendingPathComponent("other.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ncf(["sweep", "validate", path, "--json"])
        XCTAssertEqual(result.exitCode, 1, result.description)
        let object = try json(result.stdout)
        XCTAssertEqual(object["valid"] as? Bool, false)
        let errors = try XCTUnwrap(object["errors"] as? [[String: Any]])
        XCTAssertTrue(errors.contains { ($0["message"] as? String)?.contains("nearest flag: `lr`") == true }, "\(errors)")
        let sweep = try ncfFails(["sweep", path, "--store", tmp.appendingPathComponent("s.db").path])
        XCTAssertTrue(sweep.contains("nearest flag: `lr`"), sweep)
    }

    func testAMetricTheTrainerDoesNotLogIsAnErrorNamingTheNearest() throws {
        let path = tmp.appendingPathComponent("typo.yaml").path
        try "method: random\nmetric: {name: Valid loss, goal: minimize}\nparameters:\n  lr: {values: [0.1, 0.01]}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ncf(["sweep", "validate", path])
        XCTAssertEqual(result.exitCode, 1, result.description)
        XCTAssertTrue(result.stdout.contains("typo.yaml:2: metric.name: metric `Valid loss` is not logged"), result.description)
        XCTAssertTrue(result.stdout.contains("did you mean `Valid Loss`?"), result.description)
    }
}
