import Foundation
import XCTest

@testable import NCFSweep

/// One case per validation rule: the message, its line and key path.
final class ValidationTests: XCTestCase {
    // MARK: - Helpers

    private func errors(_ yaml: String, flags: Set<String>? = nil, file: String = "t.yaml") -> [SweepProblem] {
        SweepConfig.check(yaml: yaml, file: file, trainer: flags.map(BuiltInTrainer.flags)).errors
    }

    /// Asserts that exactly one error was found, with this message fragment, line and key.
    private func assertOneError(_ yaml: String, _ fragment: String, line: Int?, key: String, flags: Set<String>? = nil,
                                file: StaticString = #filePath, testLine: UInt = #line) {
        let found = errors(yaml, flags: flags)
        XCTAssertEqual(found.count, 1, "expected one error, got:\n" + found.map(\.description).joined(separator: "\n"),
                       file: file, line: testLine)
        guard let problem = found.first else { return }
        XCTAssertTrue(problem.message.contains(fragment), "message \"\(problem.message)\" lacks \"\(fragment)\"", file: file, line: testLine)
        XCTAssertEqual(problem.line, line, "line", file: file, line: testLine)
        XCTAssertEqual(problem.key, key, "key", file: file, line: testLine)
        XCTAssertFalse(problem.hint.isEmpty, "hint", file: file, line: testLine)
    }

    /// A valid random config with one parameter spec (indented under `p:` at line 3).
    private func withParameter(_ lines: String, method: String = "random") -> String {
        "method: \(method)\nparameters:\n  p:\n" + lines.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
    }

    // MARK: - Top-level schema

    func testUnknownTopLevelKeySuggestsNearest() {
        assertOneError("method: random\ntrials: 10\nparameters: {lr: {value: 1}}", "unknown key `trials`; did you mean `run_cap`?",
                       line: 2, key: "trials")
        assertOneError("methd: random\nmethod: grid\nparameters: {lr: {value: 1}}", "unknown key `methd`; did you mean `method`?",
                       line: 1, key: "methd")
        assertOneError("method: random\nparameters: {lr: {value: 1}}\nfoo_bar_baz: 1", "unknown key `foo_bar_baz`", line: 3, key: "foo_bar_baz")
    }

    func testMethodIsRequiredAndChecked() {
        assertOneError("parameters: {lr: {value: 1}}", "'method' is a required property", line: 1, key: "method")
        assertOneError("method: hyperopt\nparameters: {lr: {value: 1}}", "`hyperopt` is not one of", line: 1, key: "method")
        assertOneError("method: custom\nparameters: {lr: {value: 1}}",
                       "Invalid search type custom, must be one of [\"grid\", \"random\", \"bayes\"]", line: 1, key: "method")
    }

    func testParametersRequiredNonEmptyAndNamed() {
        assertOneError("method: random", "'parameters' is a required property", line: 1, key: "parameters")
        assertOneError("method: random\nparameters: {}", "`parameters` should be non-empty", line: 2, key: "parameters")
        assertOneError("method: random\nparameters:\n  1lr: {value: 1}", "'1lr' does not match '^[A-Za-z_][A-Za-z0-9_.-]*$'",
                       line: 3, key: "parameters.1lr")
        assertOneError("method: random\nparameters:\n  lr: 0.1", "Invalid configuration for hyperparameter 'lr'", line: 3, key: "parameters.lr")
    }

    func testEmptyFileAndNonMappingRoot() {
        assertOneError("", "Sweep config must be parsable as a JSON object.", line: nil, key: "")
        assertOneError("# only a comment\n", "Sweep config must be parsable as a JSON object.", line: nil, key: "")
        assertOneError("- method: grid", "Sweep config must be parsable as a JSON object.", line: 1, key: "")
    }

    func testMetricRules() {
        assertOneError("method: random\nmetric:\n  name: loss\n  goal: minimise\nparameters: {lr: {value: 1}}",
                       "`minimise` is not one of `minimize`, `maximize`", line: 4, key: "metric.goal")
        assertOneError("method: random\nmetric:\n  name: loss\n  goal: Minimize\nparameters: {lr: {value: 1}}",
                       "`Minimize` is not one of", line: 4, key: "metric.goal")
        assertOneError("method: random\nmetric:\n  goal: minimize\nparameters: {lr: {value: 1}}", "'name' is a required property",
                       line: 2, key: "metric.name")
        assertOneError("method: random\nmetric: loss\nparameters: {lr: {value: 1}}", "`metric` must be a mapping, found the string \"loss\"",
                       line: 2, key: "metric")
        assertOneError("method: random\nmetric: {name: loss, impute: mean}\nparameters: {lr: {value: 1}}", "`mean` is not one of",
                       line: 2, key: "metric.impute")
        assertOneError("method: random\nmetric: {name: loss, target: high}\nparameters: {lr: {value: 1}}", "`target` must be a number",
                       line: 2, key: "metric.target")
        assertOneError("method: random\nmetric:\n  name: loss\n  impute_while_running: false\nparameters: {lr: {value: 1}}",
                       "`impute_while_running` must be a string", line: 4, key: "metric.impute_while_running")
        assertOneError("method: random\nmetric:\n  name: loss\n  direction: min\nparameters: {lr: {value: 1}}",
                       "unknown key `direction`", line: 4, key: "metric.direction")
    }

    func testOtherTopLevelTypes() {
        assertOneError("method: random\ncommand: python train.py\nparameters: {lr: {value: 1}}",
                       "'python train.py' is not of type 'array'", line: 2, key: "command")
        assertOneError("method: random\nrun_cap: 0\nparameters: {lr: {value: 1}}", "`run_cap` must be greater than 0", line: 2, key: "run_cap")
        assertOneError("method: random\nrun_cap: 2.5\nparameters: {lr: {value: 1}}", "`run_cap` must be an integer", line: 2, key: "run_cap")
        assertOneError("method: random\nname: 2024\nparameters: {lr: {value: 1}}", "`name` must be a string", line: 2, key: "name")
        assertOneError("method: random\ncontroller: {type: remote}\nparameters: {lr: {value: 1}}", "`remote` is not one of",
                       line: 2, key: "controller.type")
        assertOneError("method: random\nkind: job\nparameters: {lr: {value: 1}}", "`job` is not one of `sweep`", line: 2, key: "kind")
        assertOneError("method: random\nmetrics: [{name: a}, {name: b}]\nparameters: {lr: {value: 1}}",
                       "`metrics` (several objectives) requires `method: custom`", line: 2, key: "metrics")
        assertOneError("method: random\nscheduler: {engine: optuna}\nparameters: {lr: {value: 1}}",
                       "`scheduler.engine: optuna` needs `method: custom`", line: 2, key: "scheduler.engine")
    }

    func testAcceptedButIgnoredKeysWarn() {
        let report = SweepConfig.check(yaml: "method: random\njob: j\nimage_uri: u\napiVersion: v1\nkind: sweep\ncontroller: {type: cloud}\nscheduler: {engine: wandb}\nparameters: {lr: {value: 1}}",
                                       file: "t.yaml", trainer: nil)
        XCTAssertEqual(report.errors, [])
        XCTAssertEqual(report.warnings.map(\.key), ["job", "image_uri", "controller.type", "scheduler"])
    }

    // MARK: - Parameter forms

    func testMinNotLessThanMaxAtEveryDepth() {
        assertOneError(withParameter("min: 0.1\nmax: 0.01"), "min 0.1 is not less than max 0.01", line: 4, key: "parameters.p")
        assertOneError(withParameter("min: 3\nmax: 3"), "min 3 is not less than max 3", line: 4, key: "parameters.p")
        assertOneError(withParameter("distribution: log_uniform_values\nmin: 0.1\nmax: 0.01"), "min 0.1 is not less than max 0.01",
                       line: 5, key: "parameters.p")
        assertOneError("""
            method: random
            parameters:
              model:
                parameters:
                  dropout:
                    min: 0.5
                    max: 0.1
            """, "min 0.5 is not less than max 0.1", line: 6, key: "parameters.model.parameters.dropout")
    }

    func testProbabilities() {
        assertOneError(withParameter("values: [a, b, c]\nprobabilities: [0.5, 0.5]"),
                       "values [a, b, c] and probabilities [0.5, 0.5] are not the same length", line: 5, key: "parameters.p.probabilities")
        assertOneError(withParameter("values: [a, b]\nprobabilities: [0.5, 0.4]"), "probabilities [0.5, 0.4] do not sum to 1",
                       line: 5, key: "parameters.p.probabilities")
        assertOneError(withParameter("values: [a, b]\nprobabilities: [1.5, -0.5]"), "probability -0.5 is negative",
                       line: 5, key: "parameters.p.probabilities[1]")
        // Within numpy isclose's tolerance is fine.
        XCTAssertEqual(errors(withParameter("values: [a, b, c]\nprobabilities: [0.333333, 0.333333, 0.333334]")), [])
        XCTAssertEqual(errors(withParameter("values: [a, b, c]\nprobabilities: [0.1, 0.2, 0.7000001]")), [])
        assertOneError(withParameter("distribution: categorical\nvalues: [a, b]\nprobabilities: [0.5, 0.5]"),
                       "`distribution: categorical` cannot have `probabilities`", line: 6, key: "parameters.p.probabilities")
    }

    func testDeprecatedLogFormsAreRejectedWithTheReferenceMessage() {
        assertOneError(withParameter("distribution: log_uniform\nmin: -5\nmax: 0"),
                       "p uses log_uniform, where min/max specify base-e exponents. Use log_uniform_values to specify limit values.",
                       line: 4, key: "parameters.p.distribution")
        assertOneError(withParameter("distribution: q_log_uniform\nmin: -5\nmax: 0"),
                       "p uses q_log_uniform, where min/max specify base-e exponents. Use q_log_uniform_values", line: 4,
                       key: "parameters.p.distribution")
        assertOneError(withParameter("distribution: inv_log_uniform\nmin: -5\nmax: 0"), "Use inv_log_uniform_values", line: 4,
                       key: "parameters.p.distribution")
        // The hint gives the same range as limit values: e^3.4657 = 32, e^5.5452 = 256.
        let hint = errors(withParameter("distribution: q_log_uniform\nmin: 3.4657\nmax: 5.5452\nq: 1")).first?.hint ?? ""
        XCTAssertTrue(hint.contains("min: 32, max: 256"), hint)
        let small = errors(withParameter("distribution: log_uniform\nmin: -9.21\nmax: -2.303")).first?.hint ?? ""
        XCTAssertTrue(small.contains("min: 0.0001, max: 0.09996"), small)
    }

    func testValueConstraints() {
        assertOneError(withParameter("distribution: q_uniform\nmin: 0\nmax: 1\nq: 0"), "`q` must be greater than 0", line: 7, key: "parameters.p.q")
        assertOneError(withParameter("distribution: q_normal\nq: -1"), "`q` must be greater than 0", line: 5, key: "parameters.p.q")
        assertOneError(withParameter("distribution: normal\nsigma: -1"), "`sigma` must be ≥ 0", line: 5, key: "parameters.p.sigma")
        assertOneError(withParameter("distribution: beta\na: -1"), "`a` must be ≥ 0", line: 5, key: "parameters.p.a")
        assertOneError(withParameter("distribution: q_beta\nb: -0.5"), "`b` must be ≥ 0", line: 5, key: "parameters.p.b")
        assertOneError(withParameter("distribution: log_uniform_values\nmin: 0\nmax: 1"), "`min` must be greater than 0 for log_uniform_values",
                       line: 5, key: "parameters.p.min")
        assertOneError(withParameter("distribution: inv_log_uniform_values\nmin: -1\nmax: 1"), "`min` must be greater than 0", line: 5,
                       key: "parameters.p.min")
        assertOneError(withParameter("distribution: q_log_uniform_values\nmin: 0\nmax: 8"), "`min` must be greater than 0", line: 5,
                       key: "parameters.p.min")
    }

    func testFormsThatMatchNothing() {
        assertOneError(withParameter("min: 1\nmax: 10\nstep: 2"), "unknown key `step`", line: 6, key: "parameters.p.step")
        assertOneError(withParameter("min: 0\nmax: 10\nq: 2"), "`q` needs a `distribution`", line: 6, key: "parameters.p.q")
        assertOneError(withParameter("value: 1\nvalues: [1, 2]"), "`value` and `values` cannot be used together", line: 5, key: "parameters.p")
        assertOneError(withParameter("min: \"0.001\"\nmax: 0.1"), "`min` must be a number, found the string \"0.001\"", line: 4,
                       key: "parameters.p.min")
        assertOneError(withParameter("min: true\nmax: 2"), "`min` must be a number, found the boolean true", line: 4, key: "parameters.p.min")
        assertOneError(withParameter("min: 1"), "`max` is missing", line: 3, key: "parameters.p.max")
        assertOneError(withParameter("mu: 1"), "`mu` needs a `distribution`", line: 4, key: "parameters.p.mu")
        assertOneError(withParameter("distribution: normal\nmin: 0"), "`min` is not allowed with `distribution: normal`", line: 5,
                       key: "parameters.p.min")
        assertOneError(withParameter("distribution: int_uniform\nmin: 0.5\nmax: 3"), "int_uniform needs an integer `min`, found 0.5",
                       line: 5, key: "parameters.p.min")
        assertOneError(withParameter("distribution: q_uniform\nmin: 0"), "`distribution: q_uniform` needs `max`", line: 4, key: "parameters.p.max")
        assertOneError(withParameter("distribution: loguniform\nmin: 0.1\nmax: 1"), "unknown distribution `loguniform`", line: 4,
                       key: "parameters.p.distribution")
        assertOneError(withParameter("values: []"), "`values` should be non-empty", line: 4, key: "parameters.p.values")
        assertOneError(withParameter("values: 3"), "`values` must be a list", line: 4, key: "parameters.p.values")
        assertOneError(withParameter("value: 1\nmin: 0"), "`min` is not allowed with `value`", line: 5, key: "parameters.p.min")
        assertOneError(withParameter("parameters: {x: {value: 1}}\nvalue: 3"), "`value` is not allowed beside `parameters`", line: 5,
                       key: "parameters.p.value")
        assertOneError(withParameter("parameters: {}"), "`parameters` should be non-empty", line: 4, key: "parameters.p.parameters")
    }

    func testUnknownKeyInParameterSuggests() {
        let found = errors(withParameter("values: [1, 2]\nprobabilites: [0.5, 0.5]"))
        XCTAssertEqual(found.first?.message, "unknown key `probabilites`; did you mean `probabilities`?")
        XCTAssertEqual(found.first?.line, 5)
    }

    // MARK: - Method-specific rules

    func testGridRefusesContinuousParametersAndProbabilities() {
        assertOneError(withParameter("min: 0.1\nmax: 1.0", method: "grid"), "Parameter p is a disallowed type with grid search (uniform)",
                       line: 3, key: "parameters.p")
        assertOneError(withParameter("values: [a, b]\nprobabilities: [0.5, 0.5]", method: "grid"),
                       "Parameter p is a disallowed type with grid search (categorical with probabilities)", line: 3, key: "parameters.p")
        assertOneError("""
            method: grid
            parameters:
              model:
                parameters:
                  wd:
                    distribution: log_uniform_values
                    min: 0.0001
                    max: 0.1
            """, "Parameter wd is a disallowed type with grid search", line: 5, key: "parameters.model.parameters.wd")
        // Allowed forms give a grid.
        XCTAssertEqual(errors(withParameter("distribution: q_uniform\nmin: 0\nmax: 1\nq: 0.25", method: "grid")), [])
    }

    func testBayesNeedsMetricAndASearchableParameter() {
        assertOneError(withParameter("min: 0.1\nmax: 1.0", method: "bayes"), "Bayesian search requires \"metric\" section", line: 1, key: "metric")
        assertOneError("method: bayes\nmetric: {name: loss}\nparameters:\n  a: {value: 1}\n  b: {parameters: {c: {value: 2}}}",
                       "Need at least one searchable parameter for bayes search.", line: 3, key: "parameters")
    }

    func testHyperbandRules() {
        let head = "method: random\nparameters: {lr: {min: 0.1, max: 1.0}}\n"
        assertOneError(head + "early_terminate: {type: hyperband, min_iter: 3}", "early terminate requires \"metric\" section", line: 3,
                       key: "early_terminate")
        let withMetric = head + "metric: {name: loss}\n"
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  max_iter: 2\n  s: 1",
                       "Bands must be an array of length at least 1. Try increasing s, decreasing eta, or increasing min_iter.",
                       line: 4, key: "early_terminate")
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  max_iter: 27\n  s: 0", "Bands must be an array", line: 4,
                       key: "early_terminate")
        XCTAssertEqual(errors(withMetric + "early_terminate: {type: hyperband, max_iter: 27, s: 2}"), [])
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  min_iter: 3\n  max_iter: 27", "`max_iter` needs `s`",
                       line: 7, key: "early_terminate.max_iter")
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  eta: 2", "early_terminate needs `min_iter`, or `max_iter` with `s`",
                       line: 4, key: "early_terminate")
        assertOneError(withMetric + "early_terminate:\n  type: envelope\n  min_iter: 3", "unknown early_terminate type `envelope`",
                       line: 5, key: "early_terminate.type")
        assertOneError(withMetric + "early_terminate:\n  min_iter: 3", "'type' is a required property", line: 4, key: "early_terminate.type")
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  min_iter: 3\n  eta: 1", "`eta` must be greater than 1",
                       line: 7, key: "early_terminate.eta")
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  min_iter: 0", "`min_iter` must be at least 1", line: 6,
                       key: "early_terminate.min_iter")
        assertOneError(withMetric + "early_terminate:\n  type: hyperband\n  min_iter: 3\n  strict: maybe", "`strict` must be true or false",
                       line: 7, key: "early_terminate.strict")
        // Both forms with s: the max_iter form is used, with a warning.
        let report = SweepConfig.check(yaml: withMetric + "early_terminate: {type: hyperband, min_iter: 3, max_iter: 27, s: 2}",
                                       file: "t.yaml", trainer: nil)
        XCTAssertEqual(report.errors, [])
        XCTAssertEqual(report.config?.earlyTerminate, SweepConfig.Hyperband(minIter: nil, maxIter: 27, s: 2))
        XCTAssertEqual(report.warnings.map(\.key), ["early_terminate.min_iter"])
    }

    // MARK: - YAML syntax rules

    func testTabIndentationNamesTheLine() {
        let found = errors("method: random\nparameters:\n\tlr:\n    value: 1\n  bs:\n \t value: 2\n")
        XCTAssertEqual(found.map(\.line), [3, 6])
        XCTAssertEqual(found.first?.message, "line 3 is indented with a TAB")
        // A TAB inside a block scalar or after a value is not indentation.
        XCTAssertEqual(errors("method: random\ndescription: |\n  notes\n  \tindented text\nparameters:\n  lr: {value:\t1}\n"), [])
    }

    func testDuplicateKeyNamesBothLines() {
        assertOneError("method: random\nparameters:\n  lr: {value: 1}\nmethod: grid\n", "duplicate key `method`: it is given on lines 1 and 4",
                       line: 4, key: "method")
        let found = errors("""
            method: random
            parameters:
              lr:
                min: 0.1
                max: 1.0
                min: 0.2
              bs:
                value: 1
              bs:
                value: 2
            """)
        XCTAssertEqual(found.map(\.message), ["duplicate key `min`: it is given on lines 4 and 6",
                                              "duplicate key `bs`: it is given on lines 7 and 9"])
        XCTAssertEqual(found.map(\.key), ["parameters.lr.min", "parameters.bs"])
        assertOneError("method: random\nparameters: {lr: {value: 1, \"value\": 2}}", "duplicate key `value`: it is given twice on line 2",
                       line: 2, key: "parameters.lr.value")
        // A key given three times: each repeat is named.
        XCTAssertEqual(errors("method: random\nparameters: {lr: {value: 1}}\nname: a\nname: b\nname: c\n").map(\.message),
                       ["duplicate key `name`: it is given on lines 3 and 4", "duplicate key `name`: it is given on lines 4 and 5"])
    }

    func testYAMLSyntaxErrorNamesItsLine() {
        let found = errors("method: random\nparameters:\n  lr: {value: 1\n  bs: [1, 2\n")
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found.first?.message.hasPrefix("YAML") ?? false, found.first?.message ?? "")
        XCTAssertNotNil(found.first?.line)
    }

    // MARK: - Program and trainer flags

    func testUnknownTrainerFlagNamesTheNearestFlag() {
        let flags: Set<String> = ["lr", "batch_size", "embed_dim", "epochs", "dropout"]
        let yaml = "method: random\nparameters:\n  learning_rat: {value: 1}\n  bs: {value: 2}\n  epochs: {value: 3}\n"
        let found = errors(yaml, flags: flags)
        XCTAssertEqual(found.map(\.message), [
            "parameter `learning_rat` is not a flag of the built-in trainer (nearest flag: `lr`)",
            "parameter `bs` is not a flag of the built-in trainer (nearest flag: `batch_size`)",
        ])
        XCTAssertEqual(found.map(\.line), [3, 4])
        XCTAssertEqual(found.map(\.kind), [.unknownFlag, .unknownFlag])
        // The same verdict wherever the config is read; `program: ncf` is the built-in trainer too;
        // a config without the trainer's flags (another program's) skips the check.
        XCTAssertEqual(errors("program: ncf\n" + yaml, flags: flags).count, 2)
        XCTAssertEqual(errors(yaml, flags: nil), [])
    }

    func testMissingProgramIsAWarningAndTheBuiltInTrainerRunsWhenEveryParameterIsAFlag() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ncf-val-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let yamlPath = dir.appendingPathComponent("sweep.yaml").path
        // Every parameter a flag: the built-in trainer runs it, and the warning says so.
        let text = "program: train_missing.py\nmethod: random\nparameters: {epochs: {value: 1}}\n"
        let report = SweepConfig.check(yaml: text, file: yamlPath, trainer: .flags(["epochs"]))
        XCTAssertEqual(report.errors, [])
        XCTAssertEqual(report.warnings.map(\.key), ["program"])
        let warning = report.warnings.first?.message ?? ""
        XCTAssertTrue(warning.hasPrefix("program `train_missing.py` not found"), warning)
        XCTAssertTrue(warning.contains("built-in trainer"), warning)
        XCTAssertEqual(report.warnings.first?.line, 1)
        XCTAssertEqual(report.config?.usesBuiltInTrainer, true)
        // Another program's parameters: still only a warning (an agent elsewhere may have the file).
        let other = SweepConfig.check(yaml: "program: train_missing.py\nmethod: random\nparameters: {depth: {value: 1}}\n",
                                      file: yamlPath, trainer: .flags(["epochs"]))
        XCTAssertEqual(other.errors, [])
        XCTAssertEqual(other.warnings.map(\.key), ["program"])
        XCTAssertEqual(other.config?.usesBuiltInTrainer, false)
        // Beside the YAML file it is found, whatever the working directory.
        try "".write(to: dir.appendingPathComponent("train_missing.py"), atomically: true, encoding: .utf8)
        let found = SweepConfig.check(yaml: text, file: yamlPath, trainer: .flags(["epochs"]))
        XCTAssertEqual(found.warnings, [])
        XCTAssertEqual(found.config?.usesBuiltInTrainer, false)
    }

    // MARK: - The metric

    func testBuiltInTrainerMetricMustBeOneItLogs() {
        let flags: Set<String> = ["lr", "epochs", "task", "topk", "format"]
        func metricErrors(_ metric: String, _ parameters: String = "lr: {value: 0.1}") -> [String] {
            errors("method: random\nmetric: {name: \(metric), goal: minimize}\nparameters:\n  \(parameters)\n", flags: flags)
                .map(\.message)
        }
        XCTAssertEqual(metricErrors("Valid Loss"), [])
        XCTAssertEqual(metricErrors("Valid RMSE"), [])
        let typo = metricErrors("Valid loss")
        XCTAssertEqual(typo, ["metric `Valid loss` is not logged by the built-in trainer for every run of this sweep (not for rating task, topk 10); did you mean `Valid Loss`?"])
        XCTAssertTrue(metricErrors("val_loss").first?.hasSuffix("did you mean `Valid Loss`?") ?? false)
        // W&B tutorials' `loss`: the validation loss, which steers a sweep, not `Train Loss`.
        XCTAssertTrue(metricErrors("loss").first?.hasSuffix("did you mean `Valid Loss`?") ?? false, metricErrors("loss").description)
        // The rating task's metrics have no K, so the hint does not explain one.
        let ratingHint = errors("method: random\nmetric: {name: loss}\nparameters: {lr: {value: 0.1}}\n", flags: flags).first?.hint ?? ""
        XCTAssertFalse(ratingHint.contains("topk"), ratingHint)
        // Ranking metrics need the implicit task; HR@K needs that K.
        XCTAssertEqual(metricErrors("HR@10", "task: {value: implicit}").count, 1)
        XCTAssertTrue(metricErrors("HR@10", "task: {value: implicit}").first?.hasSuffix("did you mean `Valid HR@10`?") ?? false)
        XCTAssertEqual(metricErrors("Valid HR@10", "task: {value: implicit}"), [])
        XCTAssertEqual(metricErrors("Valid HR@10", "format: {value: ncf}"), [], "ncf files default to the implicit task")
        XCTAssertTrue(metricErrors("Valid HR@20", "task: {value: implicit}").first?.contains("did you mean `Valid HR@10`?") ?? false)
        XCTAssertEqual(metricErrors("Valid HR@20", "topk: {value: 20}\n  task: {value: implicit}"), [])
        XCTAssertEqual(metricErrors("Valid HR@20", "topk: {values: [10, 20]}\n  task: {value: implicit}").count, 1,
                       "topk 10 runs would not log it")
        let rating = errors("method: random\nmetric: {name: Valid HR@10}\nparameters: {lr: {value: 0.1}}\n", flags: flags)
        XCTAssertEqual(rating.count, 1)
        XCTAssertTrue(rating.first?.hint.hasPrefix("the implicit task logs it (set `task: {value: implicit}`)") ?? false, rating.first?.hint ?? "")
        // Test metrics never steer a sweep.
        let test = errors("method: random\nmetric: {name: Test RMSE, goal: minimize}\nparameters: {lr: {value: 0.1}}\n", flags: flags)
        XCTAssertEqual(test.count, 1)
        XCTAssertTrue(test.first?.hint.hasPrefix("test metrics are measured once") ?? false, test.first?.hint ?? "")
        XCTAssertEqual(test.first?.key, "metric.name")
        XCTAssertEqual(test.first?.line, 2)
        // Another program's metric is its own business.
        XCTAssertEqual(errors("method: random\nmetric: {name: val_acc, goal: maximize}\nparameters: {lr: {value: 0.1}}\n", flags: nil), [])
    }

    // MARK: - Gathering

    func testEveryProblemIsReportedAtOnceInLineOrder() {
        let yaml = """
            method: bayes
            trials: 4
            parameters:
              lr:
                min: 0.1
                max: 0.01
              opt:
                values: [a, b]
                probabilities: [0.9, 0.9]
            early_terminate: {type: hyperband, min_iter: 3}
            """
        XCTAssertThrowsError(try SweepConfig.parse(yaml: yaml, file: "s.yaml", trainer: nil)) { error in
            guard case SweepError.invalidConfig(let problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.map(\.line), [1, 2, 5, 9, 10])
            XCTAssertEqual(problems.map(\.key), ["metric", "trials", "parameters.lr", "parameters.opt.probabilities", "early_terminate"])
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("the sweep config has 5 problems:"), text)
            XCTAssertTrue(text.contains("\n  s.yaml:2: trials: unknown key `trials`; did you mean `run_cap`? (valid keys at the top level:"), text)
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, text)
        }
    }

    /// A NUL cannot travel in a command line (the kernel would cut the argument there): a value,
    /// `program` or a `command` word holding one is refused, naming its key.
    func testANULInAValueOrCommandIsRefusedNamingTheKey() {
        assertOneError(withParameter(#"value: "a\0b""#), "NUL", line: 4, key: "parameters.p.value")
        assertOneError(withParameter(#"values: [ok, "x\0y"]"#), "NUL", line: 4, key: "parameters.p.values[1]")
        assertOneError(withParameter("value: {inner: \"x\\0\"}"), "NUL", line: 4, key: "parameters.p.value.inner")
        assertOneError("method: random\nparameters: {p: {value: 1}}\nprogram: ncf\ncommand: [\"${program}\", \"a\\0\"]",
                       "NUL", line: 4, key: "command[1]")
        XCTAssertTrue(errors(withParameter(#"value: "a\u0001b""#)).isEmpty, "other control characters are values like any")
    }

    func testProblemDescriptionFormat() {
        let p = SweepProblem(message: "bad", line: 12, key: "parameters.lr", hint: "fix it", file: "a.yaml")
        XCTAssertEqual(p.description, "a.yaml:12: parameters.lr: bad (fix it)")
        XCTAssertEqual(SweepProblem(message: "empty", line: nil, key: "", hint: "").description, "empty")
    }
}
