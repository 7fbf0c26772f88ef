import Foundation
import XCTest

/// `ncf sweep suggest FILE --history H.json`: ask/tell without running anything.
final class SweepSuggestCLITests: CLITestCase {
    private func write(_ name: String, _ text: String) throws -> String {
        let path = tmp.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let grid = """
        method: grid
        metric: {name: Valid Loss, goal: minimize}
        parameters:
          batch_size: {values: [32, 64]}
          lr: {values: [0.01, 0.001]}
        """

    func testGridSkipsUsedPointsAndSaysDone() throws {
        let config = try write("grid.yaml", grid)
        let history = try write("h.json", """
            [{"config": {"batch_size": 32, "lr": 0.01}, "state": "finished", "metric": 0.95, "history": [0.99, 0.95]},
             {"config": {"batch_size": 32, "lr": 0.001}, "state": "running", "metric": null, "history": [1.0]}]
            """)
        let out = try ncfSucceeds(["sweep", "suggest", config, "--history", history, "--n", "5"]).stdout
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        let suggestions = try XCTUnwrap(object["suggestions"] as? [[String: Any]], out)
        XCTAssertEqual(suggestions.count, 2, "4 grid points, 2 already used")
        XCTAssertTrue(suggestions.allSatisfy { ($0["batch_size"] as? Int) == 64 }, out)

        let all = try write("all.json", """
            [{"config": {"batch_size": 32, "lr": 0.01}, "state": "finished", "metric": 0.9, "history": []},
             {"config": {"batch_size": 32, "lr": 0.001}, "state": "failed", "metric": null, "history": []},
             {"config": {"batch_size": 64, "lr": 0.01}, "state": "stopped", "metric": 0.8, "history": [0.8]},
             {"config": {"batch_size": 64, "lr": 0.001}, "state": "finished", "metric": 0.7, "history": []}]
            """)
        let done = try ncfSucceeds(["sweep", "suggest", config, "--history", all]).stdout
        let doneObject = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(done.utf8)) as? [String: Any], done)
        XCTAssertEqual(doneObject["done"] as? Bool, true, done)
    }

    func testBayesIsDeterministicForASeed() throws {
        let config = try write("bayes.yaml", """
            method: bayes
            metric: {name: Valid Loss, goal: minimize}
            parameters:
              lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
              embed_dim: {values: [8, 16, 32]}
            """)
        var runs: [String] = []
        for i in 0..<6 {
            let lr = 0.0001 * pow(10, Double(i) / 2)
            runs.append(#"{"config": {"lr": \#(lr), "embed_dim": \#([8, 16, 32][i % 3])}, "state": "finished", "metric": \#(0.9 + abs(log10(lr) + 2.5) / 10), "history": []}"#)
        }
        let history = try write("h.json", "[" + runs.joined(separator: ",\n") + "]")
        let a = try ncfSucceeds(["sweep", "suggest", config, "--history", history, "--seed", "3", "--n", "2"]).stdout
        let b = try ncfSucceeds(["sweep", "suggest", config, "--history", history, "--seed", "3", "--n", "2"]).stdout
        XCTAssertEqual(a, b, "same inputs and seed, same suggestions")
        let c = try ncfSucceeds(["sweep", "suggest", config, "--history", history, "--seed", "4", "--n", "2"]).stdout
        XCTAssertNotEqual(a, c, "another seed explores elsewhere")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any], a)
        let suggestions = try XCTUnwrap(object["suggestions"] as? [[String: Any]], a)
        XCTAssertEqual(suggestions.count, 2)
        for s in suggestions {
            let lr = try XCTUnwrap(s["lr"] as? Double, a)
            XCTAssertTrue((0.0001...0.1).contains(lr), a)
            XCTAssertTrue([8, 16, 32].contains(try XCTUnwrap(s["embed_dim"] as? Int, a)), a)
        }
    }

    func testBadHistoryIsAClearError() throws {
        let config = try write("grid.yaml", grid)
        let history = try write("bad.json", #"[{"config": {"batch_size": 32}, "state": "exploded"}]"#)
        let message = try ncfFails(["sweep", "suggest", config, "--history", history])
        XCTAssertTrue(message.contains("bad.json") || message.contains("state"), message)
    }
}
