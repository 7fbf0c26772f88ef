import NCFKernels
import XCTest

@testable import NCFSweep

final class SuggestTests: XCTestCase {
    private let loss = SweepConfig.Metric(name: "loss")

    private var mixed: [Parameter] {
        [
            Parameter(name: "lr", spec: .logUniformValues(min: 1e-4, max: 1e-2)),
            Parameter(name: "batch_size", spec: .categorical([.int(32), .int(64), .int(128)], probabilities: nil)),
            Parameter(name: "epochs", spec: .intUniform(min: 1, max: 20)),
            Parameter(name: "model", spec: .constant(.string("NCF"))),
        ]
    }

    private func history(_ count: Int) -> [RunRecord] {
        var out: [RunRecord] = []
        let config = SweepConfig(method: .random, parameters: mixed)
        for i in 0..<count {
            let c = suggest(config: config, history: out, seed: 99).suggestions[0]
            let v = log10(c["lr"]!.numericValue!) * log10(c["lr"]!.numericValue!) + c["epochs"]!.numericValue! / 10
            out.append(RunRecord(id: i, config: c, state: i == count - 1 ? .running : .finished, history: [v], metric: v))
        }
        return out
    }

    func testSameInputsAndSeedSameOutput() {
        let runs = history(6)
        for method in SweepConfig.Method.allCases where method != .grid {
            let config = SweepConfig(method: method, metric: loss, parameters: mixed)
            let a = suggest(config: config, history: runs, seed: 5, n: 2)
            let b = suggest(config: config, history: runs, seed: 5, n: 2)
            XCTAssertEqual(a, b, "\(method)")
            XCTAssertEqual(a.suggestions.count, 2)
            XCTAssertFalse(a.done)
            XCTAssertNotEqual(a, suggest(config: config, history: runs, seed: 6, n: 2), "\(method)")
            XCTAssertTrue(a.suggestions.allSatisfy { $0["model"] == .string("NCF") && $0.count == 4 })
        }
    }

    func testGridIsDoneWhenExhausted() {
        let config = SweepConfig(method: .grid, parameters: [Parameter(name: "a", spec: .intUniform(min: 1, max: 3))])
        let first = suggest(config: config, history: [], seed: 0, n: 2)
        XCTAssertEqual(first.suggestions, [["a": .int(1)], ["a": .int(2)]])
        let runs = first.suggestions.enumerated().map { RunRecord(id: $0, config: $1, state: .finished) }
        let last = suggest(config: config, history: runs, seed: 0, n: 5)
        XCTAssertEqual(last.suggestions, [["a": .int(3)]], "fewer than asked near the end")
        let all = runs + [RunRecord(id: 2, config: ["a": .int(3)], state: .failed)]
        let done = suggest(config: config, history: all, seed: 0)
        XCTAssertTrue(done.done)
        XCTAssertEqual(done.suggestions, [])
        XCTAssertEqual(done.json, #"{"done":true}"#)
    }

    func testRunCapAndTarget() {
        var config = SweepConfig(method: .random, metric: SweepConfig.Metric(name: "loss", target: 0.5), parameters: mixed)
        config.runCap = 3
        let runs = [
            RunRecord(id: 0, config: [:], state: .finished, history: [0.9], metric: 0.9),
            RunRecord(id: 1, config: [:], state: .stale),
        ]
        XCTAssertEqual(suggest(config: config, history: runs, seed: 1, n: 5).suggestions.count, 2, "the stale run's slot is given back")
        let capped = runs + [RunRecord(id: 2, config: [:], state: .running), RunRecord(id: 3, config: [:], state: .failed)]
        XCTAssertEqual(suggest(config: config, history: capped, seed: 1).reason, "run_cap reached")
        let hit = [RunRecord(id: 0, config: [:], state: .running, history: [0.9, 0.4])]
        let result = suggest(config: config, history: hit, seed: 1)
        XCTAssertTrue(result.done)
        XCTAssertEqual(result.reason, "target reached")
    }

    /// What every sampler promises: the asked count (grids: at most), every parameter present with a
    /// value its form can produce, constants and nested groups passed through, same seed → same output.
    func testEverySamplerConformance() {
        let parameters = [
            Parameter(name: "batch_size", spec: .categorical([.int(32), .int(64)], probabilities: nil)),
            Parameter(name: "epochs", spec: .intUniform(min: 1, max: 3)),
            Parameter(name: "model", spec: .constant(.string("NCF"))),
            Parameter(name: "opt", spec: .nested([
                Parameter(name: "beta", spec: .qUniform(min: 0, max: 1, q: 0.5, integerQ: false)),
                Parameter(name: "name", spec: .constant(.string("adam"))),
            ])),
        ]
        let leaves = flattenParameters(parameters)
        for method in SweepConfig.Method.allCases {
            let config = SweepConfig(method: method, metric: loss, parameters: parameters)
            var runs: [RunRecord] = []
            for i in 0..<4 {
                let c = suggest(config: config, history: runs, seed: 8).suggestions[0]
                runs.append(RunRecord(id: i, config: c, state: .finished, history: [Double(i)], metric: Double(i)))
            }
            var a = SplitMix64(seed: 1), b = SplitMix64(seed: 1)
            let first = config.sampler.next(3, config: config, runs: runs, rng: &a)
            XCTAssertEqual(first, config.sampler.next(3, config: config, runs: runs, rng: &b), "\(method)")
            XCTAssertEqual(first.count, 3, "\(method)")
            for c in first + runs.map(\.config) {
                XCTAssertEqual(Set(c.keys), ["batch_size", "epochs", "model", "opt"], "\(method)")
                for leaf in leaves {
                    guard let value = leafValue(in: c, at: leaf.path) else { XCTFail("\(method): \(leaf.dottedName) missing in \(c)"); continue }
                    if case .constant(let constant) = leaf.spec {
                        XCTAssertEqual(value, constant, "\(method)")
                    } else {
                        XCTAssertNotNil(leaf.spec.cdf(value), "\(method): \(leaf.dottedName) = \(value)")
                    }
                }
            }
        }
    }

    func testJSONOutput() {
        let result = SuggestResult(suggestions: [["b": .int(2), "a": .map(["y": .double(0.5), "x": .string("s")])]], done: false)
        XCTAssertEqual(result.json, #"{"suggestions":[{"a":{"x":"s","y":0.5},"b":2}]}"#)
    }

    func testBayesSuggestionsAreLegalValues() {
        let config = SweepConfig(method: .bayes, metric: loss, parameters: mixed)
        let result = suggest(config: config, history: history(8), seed: 3, n: 3)
        XCTAssertEqual(result.suggestions.count, 3)
        for s in result.suggestions {
            XCTAssertTrue([.int(32), .int(64), .int(128)].contains(s["batch_size"]!))
            guard case .int(let e)? = s["epochs"] else { return XCTFail("epochs not an int: \(s)") }
            XCTAssertTrue((1...20).contains(e))
            let lr = s["lr"]!.numericValue!
            XCTAssertTrue(lr >= 1e-4 && lr <= 1e-2)
        }
    }
}
