import Foundation
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// The page's data (`SweepReport.pageData`): what the page draws from and the dashboard serves.
final class PageDataTests: XCTestCase {
    private let yaml = """
        name: data
        method: random
        metric:
          name: Valid Loss
          goal: minimize
        parameters:
          lr:
            distribution: log_uniform_values
            min: 0.001
            max: 0.1
          opt:
            values: [adam]
          tag:
            values: ["a", "b"]
        """

    private func object(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// The JSON embedded in `html`'s data element.
    private func embedded(_ html: String) throws -> String {
        let open = try XCTUnwrap(html.range(of: "<script type=\"application/json\" id=\"ncf-data\">"))
        let close = try XCTUnwrap(html.range(of: "</script>", range: open.upperBound..<html.endIndex))
        return String(html[open.upperBound..<close.lowerBound])
    }

    private func sweep(runs n: Int, tag: String = "a") throws -> ReportFixture {
        let fixture = try ReportFixture(yaml: yaml)
        for k in 0..<n {
            try fixture.add(["lr": .double(0.001 * Double(k + 1)), "opt": .string("adam"), "tag": .string(k % 2 == 0 ? tag : "b")],
                            valid: [1.0 - 0.01 * Double(k), 0.9 - 0.01 * Double(k)],
                            summary: #"{"Test RMSE":\#(0.95 - 0.01 * Double(k))}"#)
        }
        return fixture
    }

    func testAConfigValueCannotEndTheDataElementAndRoundTrips() throws {
        let nasty = "</script><script>alert(1)</script><!-- \u{2028}"
        let fixture = try sweep(runs: 2, tag: nasty)
        let html = SweepReport.html(try fixture.model())
        let json = try embedded(html)
        XCTAssertFalse(json.contains("<"), "no < inside the data element")
        XCTAssertFalse(json.contains("\u{2028}"))
        let data = try object(json)
        let runs = try XCTUnwrap(data["runs"] as? [[String: Any]])
        let config = try XCTUnwrap(runs.first?["config"] as? [String: Any])
        XCTAssertEqual(config["tag"] as? String, nasty, "the value arrives exactly")
        XCTAssertEqual(try object(SweepReport.pageData(try fixture.model()))["sweep"] as? NSDictionary,
                       data["sweep"] as? NSDictionary, "the embedded data is the served data")
    }

    func testRunsCarryWhatThePageShows() throws {
        let fixture = try sweep(runs: 3)
        let data = try object(SweepReport.pageData(try fixture.model()))
        let runs = try XCTUnwrap(data["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 3)
        let last = runs[2]
        XCTAssertEqual(last["history"] as? [Double], [0.98, 0.88], "the metric per epoch, for overlaying")
        XCTAssertEqual(last["metric"] as? Double, 0.88)
        XCTAssertEqual((last["test"] as? [String: Double])?["Test RMSE"] ?? 0, 0.93, accuracy: 1e-12)
        XCTAssertEqual(last["state"] as? String, "finished")
        XCTAssertEqual(data["counts"] as? [String: Int], ["finished": 3])
        XCTAssertEqual(data["best"] as? Int, last["id"] as? Int)
        let sweep = try XCTUnwrap(data["sweep"] as? [String: Any])
        XCTAssertEqual(sweep["stateText"] as? String, "running, but no agent is working on it now")
        let html = try XCTUnwrap(data["html"] as? [String: String])
        XCTAssertEqual(Set(html.keys), ["chips", "best", "progress", "importance", "curves", "time"])
        XCTAssertTrue(html["chips"]?.contains("3 finished") ?? false)
    }

    func testAParameterWithOneValueGetsNoAxisAndNoImportanceRow() throws {
        let fixture = try sweep(runs: 6)
        let model = try fixture.model()
        let data = try object(SweepReport.pageData(model))
        let parameters = try XCTUnwrap(data["parameters"] as? [[String: Any]])
        XCTAssertEqual(parameters.map { $0["name"] as? String }, ["lr", "opt", "tag"])
        XCTAssertEqual(parameters.map { $0["varies"] as? Bool }, [true, false, true])
        let html = SweepReport.html(model)
        XCTAssertTrue(html.contains("Left out: opt (every run so far has the same value)."), "said, not drawn")
        XCTAssertFalse(html.contains("<th>opt</th><td class=\"barcell\">"), "no importance row for opt")
    }

    func testImportanceOnFewRunsComesWithACaveat() throws {
        let few = try sweep(runs: 6)
        let fewData = try object(SweepReport.pageData(try few.model()))
        let caveat = try XCTUnwrap((fewData["importance"] as? [String: Any])?["caveat"] as? String)
        XCTAssertTrue(caveat.contains("Only 6 runs"), caveat)
        XCTAssertEqual((fewData["importance"] as? [String: Any])?["runs"] as? Int, 6)
        XCTAssertTrue(SweepReport.html(try few.model()).contains("id=\"importance-caveat\""))

        let enough = try sweep(runs: 10)
        let data = try object(SweepReport.pageData(try enough.model()))
        XCTAssertTrue((data["importance"] as? [String: Any])?["caveat"] is NSNull, "10 runs: no caveat")
        XCTAssertFalse(SweepReport.html(try enough.model()).contains("id=\"importance-caveat\""))
    }

    func testTheLivePagePollsItsURLAndTheStaticPageDoesNot() throws {
        let model = try sweep(runs: 2).model()
        let live = SweepReport.html(model, liveDataURL: "/api/sweeps/\(model.sweep.id)/report")
        XCTAssertTrue(live.contains("window.ncfLiveURL=\"/api/sweeps/\(model.sweep.id)/report\";"))
        XCTAssertFalse(live.contains("http-equiv=\"refresh\""), "no full-page reloads")
        XCTAssertTrue(live.contains("id=\"live-note\""))
        let page = SweepReport.html(model)
        XCTAssertFalse(page.contains("ncfLiveURL="))
    }

    func testALivePageOfAnEmptySweepHasItsSectionsReady() throws {
        let model = try ReportFixture(yaml: yaml).model()
        let live = SweepReport.html(model, liveDataURL: "data.json")
        XCTAssertTrue(live.contains("<div id=\"has-runs\" hidden>"), "hidden until runs arrive")
        XCTAssertTrue(live.contains("<section id=\"no-runs\">"))
        let page = SweepReport.html(model)
        XCTAssertFalse(page.contains("id=\"has-runs\""), "a static page without runs shows only the note")
    }
}
