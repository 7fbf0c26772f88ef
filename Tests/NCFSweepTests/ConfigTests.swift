import Foundation
import XCTest

@testable import NCFSweep

/// Parsing W&B sweep YAML into `SweepConfig`, and canonical JSON of parameter values.
final class ConfigTests: XCTestCase {
    // MARK: - Helpers

    private func config(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) throws -> SweepConfig {
        let report = SweepConfig.check(yaml: yaml, file: "t.yaml", trainer: nil)
        XCTAssertEqual(report.errors, [], "unexpected problems", file: file, line: line)
        return try XCTUnwrap(report.config, file: file, line: line)
    }

    private func spec(_ parameterYAML: String, method: String = "random", file: StaticString = #filePath, line: UInt = #line) throws -> ParameterSpec {
        let yaml = "method: \(method)\nparameters:\n  p:\n" + parameterYAML.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let c = try config(yaml, file: file, line: line)
        return try XCTUnwrap(c.parameters.first, file: file, line: line).spec
    }

    private static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    // MARK: - Parameter forms and inference

    func testInferenceOrder() throws {
        XCTAssertEqual(try spec("value: 3"), .constant(.int(3)))
        XCTAssertEqual(try spec("values: [1, a, 2.5, true]"), .categorical([.int(1), .string("a"), .double(2.5), .bool(true)], probabilities: nil))
        XCTAssertEqual(try spec("values: [a, b]\nprobabilities: [0.25, 0.75]"), .categorical([.string("a"), .string("b")], probabilities: [0.25, 0.75]))
        XCTAssertEqual(try spec("min: 1\nmax: 10"), .intUniform(min: 1, max: 10))
        XCTAssertEqual(try spec("min: 1\nmax: 10.0"), .uniform(min: 1, max: 10))
        XCTAssertEqual(try spec("min: 0.5\nmax: 2"), .uniform(min: 0.5, max: 2))
        XCTAssertEqual(try spec("distribution: uniform\nmin: 1\nmax: 10"), .uniform(min: 1, max: 10))
    }

    func testEveryExplicitDistribution() throws {
        XCTAssertEqual(try spec("distribution: constant\nvalue: [1, 2]"), .constant(.list([.int(1), .int(2)])))
        XCTAssertEqual(try spec("distribution: categorical\nvalues: [x]"), .categorical([.string("x")], probabilities: nil))
        XCTAssertEqual(try spec("distribution: categorical_w_probabilities\nvalues: [x, y]\nprobabilities: [0.5, 0.5]"),
                       .categorical([.string("x"), .string("y")], probabilities: [0.5, 0.5]))
        XCTAssertEqual(try spec("distribution: int_uniform\nmin: -2\nmax: 2"), .intUniform(min: -2, max: 2))
        XCTAssertEqual(try spec("distribution: q_uniform\nmin: 0\nmax: 11\nq: 4"), .qUniform(min: 0, max: 11, q: 4, integerQ: true))
        XCTAssertEqual(try spec("distribution: log_uniform_values\nmin: 0.0001\nmax: 0.1"), .logUniformValues(min: 0.0001, max: 0.1))
        XCTAssertEqual(try spec("distribution: q_log_uniform_values\nmin: 1\nmax: 1000\nq: 0.5"),
                       .qLogUniformValues(min: 1, max: 1000, q: 0.5, integerQ: false))
        XCTAssertEqual(try spec("distribution: inv_log_uniform_values\nmin: 0.1\nmax: 10"), .invLogUniformValues(min: 0.1, max: 10))
        XCTAssertEqual(try spec("distribution: normal"), .normal(mu: 0, sigma: 1))
        XCTAssertEqual(try spec("distribution: normal\nmu: 5\nsigma: 0.5"), .normal(mu: 5, sigma: 0.5))
        XCTAssertEqual(try spec("distribution: q_normal\nq: 2"), .qNormal(mu: 0, sigma: 1, q: 2, integerQ: true))
        XCTAssertEqual(try spec("distribution: log_normal\nmu: -1"), .logNormal(mu: -1, sigma: 1))
        XCTAssertEqual(try spec("distribution: q_log_normal"), .qLogNormal(mu: 0, sigma: 1, q: 1, integerQ: false))
        XCTAssertEqual(try spec("distribution: beta"), .beta(a: 1, b: 1))
        XCTAssertEqual(try spec("distribution: q_beta\na: 2\nb: 3\nq: 0.1"), .qBeta(a: 2, b: 3, q: 0.1, integerQ: false))
    }

    /// q written as a YAML integer gives integer samples; the default q (1.0) and `q: 2.0` do not.
    func testIntegerQ() throws {
        XCTAssertEqual(try spec("distribution: q_uniform\nmin: 0\nmax: 10\nq: 2"), .qUniform(min: 0, max: 10, q: 2, integerQ: true))
        XCTAssertEqual(try spec("distribution: q_uniform\nmin: 0\nmax: 10\nq: 2.0"), .qUniform(min: 0, max: 10, q: 2, integerQ: false))
        XCTAssertEqual(try spec("distribution: q_uniform\nmin: 0\nmax: 4"), .qUniform(min: 0, max: 4, q: 1, integerQ: false))
    }

    func testNestedParametersAreSortedAndCarryLines() throws {
        let c = try config("""
            method: grid
            parameters:
              opt:
                parameters:
                  momentum:
                    values: [0.9, 0.99]
                  beta:
                    value: 1
            """)
        guard case .nested(let children) = c.parameters[0].spec else { return XCTFail("not nested: \(c.parameters[0].spec)") }
        XCTAssertEqual(children.map(\.name), ["beta", "momentum"])
        XCTAssertEqual(children.map(\.line), [7, 5])
        XCTAssertEqual(c.parameters[0].line, 3)
        XCTAssertEqual(c.gridPointCount, 2)
    }

    // MARK: - YAML reading

    /// ncf reads `1e-4` (no dot) as the number users mean (PyYAML would read a string).
    func testExponentWithoutDotIsANumber() throws {
        XCTAssertEqual(try spec("min: 1e-4\nmax: 1e-2"), .uniform(min: 0.0001, max: 0.01))
    }

    /// yes/no/on/off are YAML 1.1 booleans, as W&B's PyYAML reads them: a 2-point grid, with a warning per word.
    func testYAML11BooleansAreBooleansWithAWarning() throws {
        let report = SweepConfig.check(yaml: "method: grid\nparameters:\n  f:\n    values: [yes, no, on, off, true, \"yes\"]\n",
                                       file: "t.yaml", trainer: nil)
        XCTAssertEqual(report.errors, [])
        XCTAssertEqual(report.config?.parameters[0].spec,
                       .categorical([.bool(true), .bool(false), .bool(true), .bool(false), .bool(true), .string("yes")], probabilities: nil))
        XCTAssertEqual(report.gridPoints, 3)
        XCTAssertEqual(report.warnings.count, 4)
        XCTAssertEqual(report.warnings.first?.line, 4)
        XCTAssertTrue(report.warnings.first?.message.contains("`yes` is read as the boolean true") ?? false)
    }

    func testTopLevelFields() throws {
        let c = try config("""
            name: my sweep
            description: tuning
            project: p
            entity: e
            program: ncf
            method: random
            run_cap: 7
            controller:
              type: local
            metric:
              name: Valid HR@10
              goal: maximize
              target: 0.7
              impute: best
              impute_while_running: latest
            early_terminate:
              type: hyperband
              min_iter: 2
              eta: 2
              strict: false
            parameters:
              lr:
                value: 0.01
            """)
        XCTAssertEqual(c.method, .random)
        XCTAssertEqual(c.name, "my sweep")
        XCTAssertEqual(c.description, "tuning")
        XCTAssertEqual(c.project, "p")
        XCTAssertEqual(c.entity, "e")
        XCTAssertEqual(c.program, "ncf")
        XCTAssertTrue(c.usesBuiltInTrainer)
        XCTAssertEqual(c.runCap, 7)
        XCTAssertEqual(c.controller, "local")
        XCTAssertEqual(c.metric, SweepConfig.Metric(name: "Valid HR@10", goal: .maximize, target: 0.7, impute: .best, imputeWhileRunning: .latest))
        XCTAssertEqual(c.earlyTerminate, SweepConfig.Hyperband(minIter: 2, eta: 2, strict: false))
        XCTAssertTrue(c.sourceText.hasPrefix("name: my sweep"))
    }

    func testDefaultsOfMetricAndHyperband() throws {
        let c = try config("""
            method: random
            metric: {name: loss}
            early_terminate: {type: hyperband, max_iter: 27, s: 2}
            parameters: {lr: {min: 0.1, max: 1.0}}
            """)
        XCTAssertEqual(c.metric, SweepConfig.Metric(name: "loss", goal: .minimize, target: nil, impute: .worst, imputeWhileRunning: nil))
        XCTAssertEqual(c.earlyTerminate, SweepConfig.Hyperband(minIter: nil, maxIter: 27, s: 2, eta: 3, strict: true))
        let quoted = try config("method: random\nmetric: {name: loss, impute_while_running: \"false\"}\nparameters: {lr: {value: 1}}")
        XCTAssertNil(quoted.metric?.imputeWhileRunning)
    }

    func testCommandListWithMacros() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "print(1)\n".write(to: dir.appendingPathComponent("train.py"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("s.yaml").path
        try """
            program: train.py
            method: random
            command:
              - ${env}
              - python3
              - ${program}
              - ${args}
              - 5
            parameters: {lr: {min: 0.1, max: 1.0}}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        // A parameter that is no ncf flag is fine for another program.
        let (c, warnings) = try SweepConfig.load(path: path, trainer: .flags(["epochs"]))
        XCTAssertEqual(c.command, ["${env}", "python3", "${program}", "${args}", "5"])
        XCTAssertFalse(c.usesBuiltInTrainer)
        XCTAssertEqual(warnings, [])
    }

    func testLoadOfMissingFileIsUnreadable() {
        XCTAssertThrowsError(try SweepConfig.load(path: "/nonexistent/x.yaml", trainer: nil)) { error in
            XCTAssertEqual(error as? SweepError, .unreadableFile(path: "/nonexistent/x.yaml", reason: "no such file"))
        }
    }

    /// Anchors, aliases and merge keys work as in PyYAML: own keys override merged ones.
    func testAnchorsAndMergeKeys() throws {
        let c = try config("""
            method: random
            parameters:
              lr: &bounds {min: 0.1, max: 1.0}
              wd:
                <<: *bounds
                max: 2.0
              x:
                <<: [{value: 1}, {value: 2}]
            """)
        XCTAssertEqual(c.parameters.map(\.spec), [.uniform(min: 0.1, max: 1.0), .uniform(min: 0.1, max: 2.0), .constant(.int(1))])
    }

    // MARK: - Shipped examples

    func testShippedSweepsValidateClean() throws {
        // The names the examples use are all `ncf train` flags.
        let flags: Set<String> = ["model", "lr", "batch_size", "embed_dim", "mlp_dims", "epochs", "dropout"]
        var counts: [String: Int?] = [:]
        for name in ["ncf.yaml", "grid.yaml", "hyperband.yaml"] {
            let path = Self.packageRoot.appendingPathComponent("Sweeps").appendingPathComponent(name).path
            let report = SweepConfig.check(path: path, trainer: .flags(flags))
            XCTAssertEqual(report.errors, [], name)
            XCTAssertEqual(report.warnings, [], name)
            XCTAssertNotNil(report.config, name)
            counts[name] = report.gridPoints
        }
        XCTAssertEqual(counts["grid.yaml"], 12)
        XCTAssertEqual(counts["ncf.yaml"], .some(nil))
        let ncf = try SweepConfig.load(path: Self.packageRoot.appendingPathComponent("Sweeps/ncf.yaml").path, trainer: .flags(flags)).config
        XCTAssertEqual(ncf.method, .bayes)
        XCTAssertEqual(ncf.metric?.name, "Valid Loss")
        XCTAssertEqual(ncf.parameters.map(\.name), ["batch_size", "dropout", "embed_dim", "epochs", "lr", "mlp_dims", "model"])
        XCTAssertEqual(ncf.parameters.first { $0.name == "lr" }?.spec, .uniform(min: 0.0001, max: 0.01))
        let hyperband = try SweepConfig.load(path: Self.packageRoot.appendingPathComponent("Sweeps/hyperband.yaml").path, trainer: .flags(flags)).config
        XCTAssertEqual(hyperband.earlyTerminate, SweepConfig.Hyperband(minIter: 2, eta: 2, strict: true))
        XCTAssertEqual(hyperband.parameters.first { $0.name == "epochs" }?.spec, .constant(.int(20)))
    }

    // MARK: - Grid size

    /// The reference's full NCF grid: 1·3·3·3·4·4·3 = 1296 points.
    func testNCFFullGridHas1296Points() throws {
        let c = try config("""
            method: grid
            parameters:
              model: {value: NCF}
              batch_size: {values: [32, 64, 128]}
              embed_dim: {values: [8, 16, 32]}
              dropout: {values: [0.1, 0.2, 0.3]}
              mlp_dims: {values: ["16,16", "32,32", "16,32,64", "32,64,128"]}
              epochs: {values: [10, 30, 50, 100]}
              lr: {values: [0.001, 0.003, 0.01]}
            """)
        XCTAssertEqual(c.gridPointCount, 1296)
    }

    func testGridCountsUniqueValuesAndRanges() throws {
        XCTAssertEqual(try config("method: grid\nparameters: {a: {values: [1, 1, 2, 1.0]}, b: {values: [x, x]}}").gridPointCount, 2)
        XCTAssertEqual(try config("method: grid\nparameters: {a: {min: 1, max: 5}}").gridPointCount, 5)
        XCTAssertEqual(try config("method: grid\nparameters: {a: {distribution: q_uniform, min: 0, max: 1, q: 0.25}}").gridPointCount, 4)
        XCTAssertEqual(try config("method: grid\nparameters: {a: {distribution: q_uniform, min: 0, max: 10, q: 2}}").gridPointCount, 5)
        XCTAssertEqual(try config("method: grid\nparameters: {g: {parameters: {x: {values: [1, 2, 2]}, y: {min: 0, max: 3}}}}").gridPointCount, 8)
        XCTAssertNil(try config("method: random\nparameters: {a: {values: [1, 2]}}").gridPointCount)
    }

    // MARK: - Canonical JSON

    func testCanonicalJSONSortsKeysAndWritesWholeDoublesAsInts() {
        let config: [String: ParamValue] = [
            "lr": .double(0.001), "epochs": .double(5.0), "batch_size": .int(64), "model": .string("NCF"),
            "flags": .list([.bool(true), .null, .double(-0.0), .double(1e-5), .double(2.5e20)]),
            "nested": .map(["z": .int(1), "a": .double(1e16)]),
        ]
        XCTAssertEqual(ParamValue.canonicalJSON(config),
                       #"{"batch_size":64,"epochs":5,"flags":[true,null,0,1e-05,2.5e+20],"lr":0.001,"model":"NCF","nested":{"a":10000000000000000,"z":1}}"#)
        XCTAssertEqual(ParamValue.double(.nan).canonicalJSON, "null")
        XCTAssertEqual(ParamValue.double(1e300).canonicalJSON, "1e+300")
        XCTAssertEqual(ParamValue.double(0.1).canonicalJSON, "0.1")
    }

    func testCanonicalJSONEscapesStrings() {
        XCTAssertEqual(ParamValue.string("a\"b\\c\nd\te\u{01}é☃").canonicalJSON, #""a\"b\\c\nd\te\u0001é☃""#)
        XCTAssertEqual(ParamValue.map(["k\"ey": .int(1)]).canonicalJSON, #"{"k\"ey":1}"#)
        // Keys sort by code point: uppercase before lowercase, "B" < "a" < "b".
        XCTAssertEqual(ParamValue.map(["b": .int(1), "a": .int(2), "B": .int(3)]).canonicalJSON, #"{"B":3,"a":2,"b":1}"#)
    }

    func testJSONRoundTrip() throws {
        let values: [ParamValue] = [
            .map(["lr": .double(0.0031), "bs": .int(-64), "s": .string("x\"y\n☃"), "on": .bool(false), "n": .null,
                  "l": .list([.list([]), .map([:]), .double(1.5e-7)])]),
            .int(Int.max), .int(Int.min), .double(123.456), .string(""),
        ]
        for value in values {
            let text = value.canonicalJSON
            let parsed = try ParamValue.parseJSON(text)
            XCTAssertEqual(parsed, value, text)
            XCTAssertEqual(parsed.canonicalJSON, text)
        }
        // Whole-number doubles come back as ints (the canonical form), and the text is stable.
        XCTAssertEqual(try ParamValue.parseJSON(ParamValue.double(5).canonicalJSON), .int(5))
    }

    func testJSONParserReadsNumbersBoolsAndEscapes() throws {
        XCTAssertEqual(try ParamValue.parseJSON(" 5 "), .int(5))
        XCTAssertEqual(try ParamValue.parseJSON("5.0"), .double(5))
        XCTAssertEqual(try ParamValue.parseJSON("1e3"), .double(1000))
        XCTAssertEqual(try ParamValue.parseJSON("-0.5E-2"), .double(-0.005))
        XCTAssertEqual(try ParamValue.parseJSON("99999999999999999999"), .double(1e20))
        XCTAssertEqual(try ParamValue.parseJSON("[true, false, null]"), .list([.bool(true), .bool(false), .null]))
        XCTAssertEqual(try ParamValue.parseJSON(#""\u00e9\ud83d\ude00\/""#), .string("é😀/"))
        XCTAssertEqual(try ParamValue.parseJSONConfig(#"{"a": {"b": [1, 2.5]}}"#), ["a": .map(["b": .list([.int(1), .double(2.5)])])])
    }

    func testJSONParserErrorsNameLineAndColumn() {
        func failure(_ text: String) -> ParamValue.JSONParseError? {
            do { _ = try ParamValue.parseJSON(text); return nil } catch { return error }
        }
        XCTAssertEqual(failure("{\"a\": 1,\n  \"b\": }").map { [$0.line, $0.column] }, [2, 8])
        XCTAssertEqual(failure("[1, 2")?.message, "unexpected end of text inside a list")
        XCTAssertEqual(failure("01")?.message, "leading zero in a number")
        XCTAssertEqual(failure("{\"a\":1,\"a\":2}")?.message, "duplicate key \"a\"")
        XCTAssertEqual(failure("1 2")?.message, "unexpected text after the JSON value")
        XCTAssertNotNil(failure("\"\u{01}\""))
        XCTAssertThrowsError(try ParamValue.parseJSONConfig("[1]"))
    }

    func testCodableRoundTrip() throws {
        let value = ParamValue.map(["a": .list([.int(1), .double(0.5), .string("s"), .bool(true), .null])])
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONDecoder().decode(ParamValue.self, from: data), value)
    }
}
