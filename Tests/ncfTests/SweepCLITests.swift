import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// `ncf sweep FILE`, `ncf agent`, `ncf sweep status|list|best` through the built binary, with
/// several agent processes sharing one store. Trials are the fake trial script (`FakeTrial`),
/// except in the end-to-end test, which trains on the bundled data.
final class SweepCLITests: SweepProcessTestCase {
    // MARK: - Creating and joining

    func testSweepPrintsItsIdAndHowToJoin() throws {
        let config = try writeConfig(parameters: grid(12))
        let result = try ncfSucceeds(["sweep", config, "--count", "0", "--store", store])
        let id = try sweepID(result)
        XCTAssertTrue(result.stdout.contains("to join: ncf agent \(id) --store \(store)"), result.description)
        XCTAssertTrue(result.stdout.contains("grid, metric Valid Loss (minimize), 12 grid points"), result.description)
        let db = try SQLiteRunStore(path: store, create: false)
        XCTAssertEqual(try db.sweep(id: id).configText, try String(contentsOfFile: config, encoding: .utf8))
        XCTAssertEqual(try db.runs(sweepID: id), [])
    }

    func testInvalidConfigTouchesNoStore() throws {
        let config = try writeConfig(parameters: "  x:\n    min: 5\n    max: 1")
        let stderr = try ncfFails(["sweep", config, "--store", store])
        XCTAssertTrue(stderr.contains("parameters.x"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "the store is not created for an invalid config")
    }

    func testAParameterThatIsNoTrainerFlagIsRefused() throws {
        let path = tmp.appendingPathComponent("bad.yaml").path
        try "method: random\nparameters:\n  learning_rate:\n    values: [0.1, 0.2]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let stderr = try ncfFails(["sweep", path, "--store", store])
        XCTAssertTrue(stderr.contains("learning_rate") && stderr.contains("`lr`"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store))
    }

    func testAgentErrorsNameWhatIsWrong() throws {
        var stderr = try ncfFails(["agent", "abcd1234", "--store", store])
        XCTAssertTrue(stderr.contains("no sweep store at \(store)"), stderr)
        _ = try createSweep(writeConfig(parameters: grid(12)))
        stderr = try ncfFails(["agent", "abcd1234", "--store", store])
        XCTAssertTrue(stderr.contains("no sweep abcd1234 in \(store)"), stderr)
        stderr = try ncfFails(["agent", "abcd1234", "--store", store, "--heartbeat", "5", "--grace", "2"])
        XCTAssertTrue(stderr.contains("--grace 2.0 must be longer than --heartbeat 5.0"), stderr)
    }

    // MARK: - Many agents, one store

    func testTwoAndFourAgentProcessesRunEveryGridPointOnce() throws {
        let config = try writeConfig(parameters: grid(12))
        for agents in [2, 4] {
            for round in 1...3 {
                let id = try createSweep(config)
                let started = try (0..<agents).map { _ in try start(["agent", id, "--store", store]) }
                for agent in started {
                    XCTAssertEqual(finish(agent), 0, "\(agents) agents, round \(round):\n\(agent.output)")
                }
                let runs = try runs(id)
                XCTAssertEqual(runs.count, 12, "\(agents) agents, round \(round): \(runs.map(\.config))")
                XCTAssertEqual(Set(runs.map { ParamValue.canonicalJSON($0.config) }).count, 12, "no point twice")
                XCTAssertTrue(runs.allSatisfy { $0.state == .finished }, "\(runs.map(\.state))")
                XCTAssertEqual(try SQLiteRunStore(path: store, create: false).sweep(id: id).state, .finished)
                let histories = try SQLiteRunStore(path: store, create: false).histories(sweepID: id, metric: "Valid Loss")
                XCTAssertTrue(runs.allSatisfy { histories[$0.id]?.count == 3 }, "every epoch of every run is kept")
                XCTAssertTrue(started.contains { $0.output.contains("the sweep is done: every point of the search space has been run") })
            }
        }
    }

    func testRunCapIsExactAcrossFourAgents() throws {
        let config = try writeConfig(method: "random", parameters: "  x:\n    min: 0\n    max: 1000", extra: "run_cap: 7")
        for _ in 1...2 {
            let id = try createSweep(config)
            let started = try (0..<4).map { _ in try start(["agent", id, "--store", store]) }
            for agent in started { XCTAssertEqual(finish(agent), 0, agent.output) }
            let runs = try runs(id)
            XCTAssertEqual(runs.count, 7)
            XCTAssertTrue(runs.allSatisfy { $0.state == .finished })
        }
    }

    func testKilledAgentsRunGoesStaleAndIsRunAgain() throws {
        let config = try writeConfig(parameters: "  x:\n    values: [0, 1, 2, 3]\n  sleep:\n    value: 0.2\n  epochs:\n    value: 4")
        let id = try createSweep(config)
        let victim = try start(["agent", id, "--store", store, "--heartbeat", "0.2", "--grace", "1"])
        var killed: StoredRun?
        try waitUntil("the first trial logged an epoch") {
            let db = try SQLiteRunStore(path: store, create: false)
            killed = try db.runs(sweepID: id).first { run in try run.state == .running && !db.metrics(runID: run.id).isEmpty }
            return killed != nil
        }
        kill(victim.process.processIdentifier, SIGKILL)
        XCTAssertEqual(finish(victim), 128 + SIGKILL)
        let killedRun = try XCTUnwrap(killed)
        XCTAssertEqual(try runs(id).first { $0.id == killedRun.id }?.state, .running, "nobody has noticed yet")

        let rescuer = try ncfSucceeds(["agent", id, "--store", store, "--heartbeat", "0.2", "--grace", "1"])
        let after = try runs(id)
        XCTAssertEqual(after.first { $0.id == killedRun.id }?.state, .stale, rescuer.description)
        let finished = after.filter { $0.state == .finished }
        XCTAssertEqual(finished.count, 4, rescuer.description)
        XCTAssertEqual(Set(finished.map { ParamValue.canonicalJSON($0.config) }).count, 4, "each point finished exactly once")
        XCTAssertTrue(finished.contains { $0.config == killedRun.config && $0.seed == killedRun.seed },
                      "the killed point ran again, with the same seed")
        XCTAssertEqual(after.count, 5)
        XCTAssertTrue(rescuer.stdout.contains("run \(killedRun.id): marked stale"), rescuer.description)
    }

    // MARK: - Failures and signals

    /// Without --parallel, trials × threads fit the cores (NCF_CORES here), and the agent says so;
    /// an explicit --parallel that oversubscribes is obeyed with a warning.
    func testTrialsAtATimeFitTheCores() throws {
        let config = try writeConfig(parameters: grid(2, "  threads:\n    value: 2"))
        let fits = try ncf(["sweep", config, "--store", store], environment: ["NCF_CORES": "2"])
        XCTAssertEqual(fits.exitCode, 0, fits.description)
        XCTAssertTrue(fits.stdout.contains("running 1 trial at a time: 2 threads per trial on 2 cores (--parallel P to choose)"), fits.description)
        XCTAssertFalse(fits.stderr.contains("warning"), fits.description)

        let more = try ncf(["sweep", config, "--store", store, "--parallel", "2"], environment: ["NCF_CORES": "2"])
        XCTAssertEqual(more.exitCode, 0, more.description)
        XCTAssertTrue(more.stderr.contains("warning: --parallel 2 with 2 threads per trial runs 4 threads on 2 cores"), more.description)

        let one = try ncf(["sweep", try writeConfig("one.yaml", parameters: grid(2)), "--store", store], environment: ["NCF_CORES": "4"])
        XCTAssertTrue(one.stdout.contains("running 4 trials at a time: 1 thread per trial on 4 cores"), one.description)

        let bad = try ncf(["sweep", config, "--store", store], environment: ["NCF_CORES": "two"])
        XCTAssertEqual(bad.exitCode, 1, bad.description)
        XCTAssertTrue(bad.stderr.contains("NCF_CORES=two"), bad.description)
    }

    func testFailingAndNaNTrialsDoNotStopTheSweep() throws {
        let config = try writeConfig(parameters: "  x:\n    values: [0, 1]\n  mode:\n    values: [ok, fail, nan]")
        let result = try ncfSucceeds(["sweep", config, "--store", store])
        let id = try sweepID(result)
        let runs = try runs(id)
        XCTAssertEqual(runs.count, 6)
        XCTAssertEqual(runs.map(\.state), [.finished, .finished, .failed, .failed, .failed, .failed])
        XCTAssertEqual(runs[2].reason, "exit code 3: Error: boom (x=0)")
        XCTAssertEqual(runs[4].reason, "non-finite loss: Train Loss is not a finite number at epoch 2")
        let status = try ncfSucceeds(["sweep", "status", id, "--store", store])
        XCTAssertTrue(status.stdout.contains("runs: 6 (2 finished, 4 failed)"), status.description)
        XCTAssertTrue(status.stdout.contains("best so far: run \(runs[0].id), Valid Loss 0.3333: mode=ok x=0"), status.description)
        XCTAssertTrue(status.stdout.contains("exit code 3: Error: boom (x=1)"), status.description)
    }

    /// A data file its trials cannot read is refused when the sweep is created, before its
    /// fingerprint is recorded (a fixed file would then be another file to the agents).
    func testUnreadableDataIsRefusedBeforeTheSweepIsCreated() throws {
        let path = tmp.appendingPathComponent("small.yaml").path
        try "method: grid\nmetric:\n  name: Valid Loss\nparameters:\n  lr:\n    values: [0.001, 0.002]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let stderr = try ncfFails(["sweep", path, "--store", store, "--data", try writeBadRatings()])
        XCTAssertTrue(stderr.contains("bad.tsv:"), "the reader's message, with the place: \(stderr)")
        XCTAssertTrue(stderr.contains("The sweep was not created"), stderr)
        XCTAssertFalse(stderr.contains("created sweep"), stderr)
        if FileManager.default.fileExists(atPath: store) {
            XCTAssertEqual(try SQLiteRunStore(path: store, create: false).sweeps().count, 0)
        }
    }

    /// The check reads the file as the trials will: with the sweep's fixed data flags, a list of
    /// columns included (the trials get it as `--columns=uid,iid,score`).
    func testDataReadWithTheSweepsColumnsIsAccepted() throws {
        let data = tmp.appendingPathComponent("named.csv").path
        var text = "uid,iid,score\n"
        for u in 1...12 { for i in 1...6 { text += "\(u),\(i),\((u + i) % 5 + 1)\n" } }
        try text.write(toFile: data, atomically: true, encoding: .utf8)
        let path = tmp.appendingPathComponent("named.yaml").path
        try "method: grid\nmetric:\n  name: Valid Loss\nparameters:\n  columns:\n    value: [uid, iid, score]\n  epochs:\n    value: 1\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ncfSucceeds(["sweep", path, "--store", store, "--data", data, "--count", "1"])
        XCTAssertTrue(result.stdout.contains("created sweep"), result.description)
        let id = try XCTUnwrap(SQLiteRunStore(path: store, create: false).sweeps().first?.id)
        XCTAssertEqual(try runs(id).map(\.state), [.finished], result.description)
    }

    func testBrokenDataStopsTheAgentAfterThreeFastFailures() throws {
        let path = tmp.appendingPathComponent("small.yaml").path
        // A data flag that varies between runs: each trial reads the file its own way, so the
        // file is not read when the sweep is created, and the trials meet the bad lines.
        try """
            method: grid
            metric:
              name: Valid Loss
            parameters:
              lr:
                values: [0.001, 0.002, 0.003, 0.004, 0.005]
              epochs:
                value: 1
              skip_bad_lines:
                values: [false]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let stderr = try ncfFails(["sweep", path, "--store", store, "--data", try writeBadRatings()])
        XCTAssertTrue(stderr.contains("the first 3 trials all failed within seconds"), stderr)
        XCTAssertTrue(stderr.contains("bad.tsv"), "the trainer's own message is shown: \(stderr)")
        let id = try XCTUnwrap(SQLiteRunStore(path: store, create: false).sweeps().first?.id)
        XCTAssertEqual(try runs(id).map(\.state), [.failed, .failed, .failed])
        // The hint's command finds this store from any directory.
        let absolute = URL(fileURLWithPath: store).standardizedFileURL.path
        XCTAssertTrue(stderr.contains("then run `ncf agent \(id) --store \(absolute)` again"), stderr)
    }

    func testDivergingBuiltInTrialsFailWithANonFiniteLoss() throws {
        let data = try writeTinyRatings()
        let path = tmp.appendingPathComponent("diverge.yaml").path
        try """
            method: grid
            metric:
              name: Valid Loss
            parameters:
              lr:
                values: [100000000, 200000000, 300000000, 400000000]
              epochs:
                value: 1
              embed_dim:
                value: 4
              mlp_dims:
                value: "8,4"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let stderr = try ncfFails(["sweep", path, "--store", store, "--data", data])
        XCTAssertFalse(stderr.contains("probably broken"), stderr)
        XCTAssertTrue(stderr.contains("every trial this agent ran failed"), stderr)
        let id = try XCTUnwrap(SQLiteRunStore(path: store, create: false).sweeps().first?.id)
        let runs = try runs(id)
        XCTAssertEqual(runs.count, 4, "all four points ran")
        for run in runs {
            XCTAssertEqual(run.state, .failed)
            XCTAssertTrue(run.reason?.hasPrefix("non-finite loss (exit code 4): training diverged: the loss is") ?? false,
                          run.reason ?? "nil")
        }
    }

    func testCtrlCStopsTrialsAndSIGHUPIsIgnored() throws {
        let config = try writeConfig(parameters: "  x:\n    values: [0, 1, 2]\n  sleep:\n    value: 0.2\n  epochs:\n    value: 50")
        let id = try createSweep(config)
        let agent = try start(["agent", id, "--store", store, "--parallel", "2"])
        try waitUntil("both trials logged an epoch") {
            let db = try SQLiteRunStore(path: store, create: false)
            return try db.runs(sweepID: id).filter { try !db.metrics(runID: $0.id).isEmpty }.count == 2
        }
        kill(agent.process.processIdentifier, SIGHUP)
        usleep(300_000)
        XCTAssertTrue(agent.process.isRunning, "SIGHUP is ignored")
        kill(agent.process.processIdentifier, SIGINT)
        XCTAssertEqual(finish(agent), 130, agent.output)
        let runs = try runs(id)
        XCTAssertEqual(runs.map(\.state), [.stopped, .stopped], agent.output)
        XCTAssertTrue(runs.allSatisfy { $0.givenBack && ($0.reason ?? "").hasPrefix("interrupted") })
        XCTAssertTrue(agent.output.contains("will finish the current epoch"), agent.output)
    }

    // MARK: - Inspecting

    func testStatusListAndBestExports() throws {
        let config = try writeConfig(parameters: "  x:\n    values: [3, 1, 2]\n  tag:\n    value: a b")
        let id = try sweepID(ncfSucceeds(["sweep", config, "--store", store]))
        let list = try ncfSucceeds(["sweep", "list", "--store", store])
        XCTAssertTrue(list.stdoutLines.first?.hasPrefix("ID") ?? false, list.description)
        XCTAssertTrue(list.stdout.contains(id) && list.stdout.contains("finished") && list.stdout.contains("Valid Loss 1.3333"), list.description)

        let best = try ncfSucceeds(["sweep", "best", id, "--store", store])
        XCTAssertTrue(best.stdout.contains("Valid Loss: 1.3333"), best.description)
        XCTAssertTrue(best.stdout.contains("Test RMSE: 1"), best.description)
        XCTAssertTrue(best.stdout.contains("x: 1"), best.description)
        XCTAssertEqual(try ncfSucceeds(["sweep", "best", id, "--store", store, "--export", "json"]).stdout,
                       #"{"tag":"a b","x":1}"# + "\n")
        XCTAssertEqual(try ncfSucceeds(["sweep", "best", id, "--store", store, "--export", "flags"]).stdout,
                       "'--tag=a b' --x=1\n")
        let yaml = try ncfSucceeds(["sweep", "best", id, "--store", store, "--export", "yaml"]).stdoutLines
        XCTAssertEqual(Array(yaml.dropFirst()), [#"tag: "a b""#, "x: 1"])
        XCTAssertTrue(yaml.first?.hasPrefix("# best run") ?? false)
    }

    // MARK: - End to end with the built-in trainer

    func testEndToEndOnTheBundledData() throws {
        let path = tmp.appendingPathComponent("ncf-small.yaml").path
        try """
            # A small copy of Sweeps/ncf.yaml: 2 epochs, small layers.
            program: ncf
            method: bayes
            metric:
              name: Valid Loss
              goal: minimize
            parameters:
              lr:
                distribution: uniform
                min: 0.001
                max: 0.01
              batch_size:
                values: [256, 512]
              embed_dim:
                values: [4, 8]
              mlp_dims:
                values: ["8,4", "16,8"]
              epochs:
                value: 2
              model:
                value: NCF
            """.write(toFile: path, atomically: true, encoding: .utf8)
        // The default data, Data/ratings.tsv in the working directory: the bundled set, as
        // `ncf data synth` writes it.
        try ncfSucceeds(["data", "synth"])
        let result = try ncfSucceeds(["sweep", path, "--count", "3", "--store", store, "--parallel", "2"])
        XCTAssertTrue(result.stdout.contains("data: Data/ratings.tsv (2.0 MB, sha256:"), result.description)
        let id = try sweepID(result)
        let runs = try runs(id)
        XCTAssertEqual(runs.count, 3, result.description)
        XCTAssertTrue(runs.allSatisfy { $0.state == .finished }, result.description)
        XCTAssertTrue(result.stdout.contains("agent stops: started its 3 runs (--count)"), result.description)
        let db = try SQLiteRunStore(path: store, create: false)
        for run in runs {
            let epochs = try db.metrics(runID: run.id).filter { $0.name == "epoch" }.compactMap(\.value)
            XCTAssertEqual(epochs, [1, 2], "two epochs logged for run \(run.id)")
            XCTAssertNotNil(run.summary)
        }
        let best = try ncfSucceeds(["sweep", "best", id, "--store", store])
        XCTAssertTrue(best.stdout.contains("Test RMSE: "), best.description)
        XCTAssertTrue(best.stdout.contains("protocol: "), best.description)
        let flags = try ncfSucceeds(["sweep", "best", id, "--store", store, "--export", "flags"])
        // The shell reads the exported text back into the words the trial got.
        let words = try shellWords(flags.stdout)
        XCTAssertTrue(words.contains("--epochs=2") && words.contains("--model=NCF") && words.contains { $0.hasPrefix("--seed=") }
                      && words.contains { $0.hasPrefix("--data=/") && $0.hasSuffix("/Data/ratings.tsv") } && words.contains("--select_metric=Valid Loss")
                      && words.contains("--select_goal=minimize"), flags.description)
        // The exported flags train the same model again.
        let again = try ncfSucceeds(["train", "--json"] + words)
        let validLoss = trainingRecords(again).epochs.compactMap { number($0, "Valid Loss") }.min()
        let stored = try XCTUnwrap(db.bestRun(sweepID: id, metric: .init(name: "Valid Loss")))
        XCTAssertEqual(validLoss ?? .nan, stored.value, accuracy: 1e-9, "the exported config and seed reproduce the run")
    }

    func testCanonicalSweepFileLoads() throws {
        let canonical = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sweeps/ncf.yaml").path
        let bundled = URL(fileURLWithPath: canonical).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Data/ratings.tsv").path
        let result = try ncfSucceeds(["sweep", canonical, "--count", "0", "--store", store, "--data", bundled])
        XCTAssertTrue(result.stdout.contains("bayes, metric Valid Loss (minimize)"), result.description)
    }

    /// `ncf sweep Sweeps/ncf.yaml --count 3` on the bundled data, end to end: three real trials
    /// (up to 100 epochs each; the numeric targets are optimised in debug builds too), then
    /// `sweep best` with the best run's held-out test metrics.
    func testCanonicalSweepRunsThreeTrials() throws {
        let canonical = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sweeps/ncf.yaml").path
        let bundled = URL(fileURLWithPath: canonical).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Data/ratings.tsv").path
        let result = try ncfSucceeds(["sweep", canonical, "--count", "3", "--parallel", "2", "--store", store, "--data", bundled])
        let id = try sweepID(result)
        let all = try runs(id)
        XCTAssertEqual(all.map(\.state), [.finished, .finished, .finished], result.description)
        XCTAssertEqual(Set(all.map { ParamValue.canonicalJSON($0.config) }).count, 3, "three different configs")
        let best = try ncfSucceeds(["sweep", "best", id, "--store", store])
        XCTAssertTrue(best.stdout.contains("Test RMSE"), best.description)
        XCTAssertTrue(best.stdout.contains("model: NCF"), best.description)
    }

    // MARK: - The sweep's data

    /// A tiny built-in-trainer sweep config: 1 epoch, small layers, a 3-point grid.
    private func builtInConfig() throws -> String {
        let path = tmp.appendingPathComponent("builtin.yaml").path
        try """
            method: grid
            metric:
              name: Valid Loss
            parameters:
              lr:
                values: [0.001, 0.002, 0.003]
              epochs:
                value: 1
              embed_dim:
                value: 4
              mlp_dims:
                value: "8,4"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The sweep records its --data; an agent started elsewhere with only the printed join
    /// command trains on it; the data is named by the agent, status, best and the export.
    func testTheSweepRecordsItsDataAndEveryAgentTrainsOnIt() throws {
        let data = try writeTinyRatings(name: "tiny.tsv")
        let created = try ncfSucceeds(["sweep", try builtInConfig(), "--count", "0", "--store", store, "--data", "tiny.tsv"])
        let id = try sweepID(created)
        XCTAssertTrue(created.stdout.contains("data: tiny.tsv ("), created.description)
        XCTAssertTrue(created.stdout.contains("to join: ncf agent \(id) --store \(store)"), "the join hint names the absolute store:\n\(created)")
        XCTAssertEqual(try openStore().sweep(id: id).data?.absolutePath, data)

        // From another directory (no Data/ there): exactly the printed join command.
        let elsewhere = tmp.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let agent = try CLIRunner(executableNamed: "ncf").run(["agent", id, "--store", store], in: elsewhere)
        XCTAssertEqual(agent.exitCode, 0, agent.description)
        XCTAssertTrue(agent.stdout.contains("data: tiny.tsv ("), agent.description)
        XCTAssertEqual(try runs(id).map(\.state), [.finished, .finished, .finished], agent.description)
        XCTAssertEqual(try runs(id).map(\.dataOverride), [nil, nil, nil])

        let status = try ncfSucceeds(["sweep", "status", id, "--store", store])
        XCTAssertTrue(status.stdout.contains("data: tiny.tsv ("), status.description)
        let flags = try ncfSucceeds(["sweep", "best", id, "--store", store, "--export", "flags"])
        // A truncated or mistyped id is named with the one it meant.
        let truncated = try ncfFails(["sweep", "status", String(id.prefix(6)), "--store", store])
        XCTAssertTrue(truncated.contains("no sweep \(id.prefix(6)) in") && truncated.contains("Did you mean \(id)?"), truncated)
        let typo = String(id.dropLast()) + (id.last == "a" ? "b" : "a")
        XCTAssertTrue(try ncfFails(["sweep", "pause", typo, "--store", store]).contains("Did you mean \(id)?"))
        XCTAssertFalse(try ncfFails(["agent", "zzzzzzzz", "--store", store]).contains("Did you mean"), "no id is near")
        // The recorded absolute path, so the flags work from any directory.
        XCTAssertTrue(flags.stdout.contains("--data=/") && flags.stdout.contains("/tiny.tsv"), flags.description)
        XCTAssertFalse(flags.stdout.contains("--data=tiny.tsv"), flags.description)
    }

    /// Another --data is refused unless --override_data, which each run then records; a data
    /// file changed since the sweep was created is refused too.
    func testAnAgentWithOtherDataRefusesUnlessTold() throws {
        _ = try writeTinyRatings(name: "tiny.tsv")
        let other = try writeTinyRatings(name: "other.tsv")
        let id = try createSweep(try builtInConfig(), ["--data", "tiny.tsv"])
        let refused = try ncfFails(["agent", id, "--store", store, "--data", "other.tsv"])
        for fragment in ["sweep \(id) trains on", "tiny.tsv", "--data other.tsv", "--override_data"] {
            XCTAssertTrue(refused.contains(fragment), "message lacks \"\(fragment)\":\n\(refused)")
        }
        XCTAssertEqual(try runs(id).count, 0, "nothing ran")

        try ncfSucceeds(["agent", id, "--store", store, "--data", "other.tsv", "--override_data", "--count", "1"])
        XCTAssertEqual(try runs(id).map(\.dataOverride), [other])
        let status = try ncfSucceeds(["sweep", "status", id, "--store", store])
        XCTAssertTrue(status.stdout.contains("data overridden"), status.description)

        // The recorded file changes: the next agent refuses.
        try (TinyRatings.lines.dropLast().joined(separator: "\n") + "\n").write(toFile: tmp.appendingPathComponent("tiny.tsv").path,
                                                                              atomically: true, encoding: .utf8)
        let changed = try ncfFails(["agent", id, "--store", store])
        XCTAssertTrue(changed.contains("changed since the sweep was created"), changed)
    }

    // MARK: - Steering

    func testStopPauseResumeCancelAndDeleteFromTheCommandLine() throws {
        let id = try createSweep(try writeConfig(parameters: grid(3)))
        // Created with --count 0: running, but nobody works on it, and status and report say so.
        let idle = try ncfSucceeds(["sweep", "status", id, "--store", store])
        XCTAssertTrue(idle.stdout.contains("— running, but no agent is working on it now"), idle.description)
        try ncfSucceeds(["sweep", "report", id, "--store", store, "-o", "idle.html"])
        let page = try String(contentsOf: tmp.appendingPathComponent("idle.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("sweep <b id=\"sweep-state\" class=\"sweep-running\">running, but no agent is working on it now</b>"),
                      "the report's header says no agent is running")
        let paused = try ncfSucceeds(["sweep", "pause", id, "--store", store])
        XCTAssertTrue(paused.stdout.contains("running → paused"), paused.description)
        XCTAssertTrue(try ncfSucceeds(["sweep", "status", id, "--store", store]).stdout.contains("— paused"))
        XCTAssertTrue(try ncfSucceeds(["sweep", "list", "--store", store]).stdout.contains("paused"))
        // A paused sweep's agent waits; --count 0 agents are not a thing, so check the claim through stop instead.
        try ncfSucceeds(["sweep", "stop", id, "--store", store])
        let stopped = try ncfSucceeds(["agent", id, "--store", store])
        XCTAssertTrue(stopped.stdout.contains("the sweep was stopped"), stopped.description)
        XCTAssertEqual(try runs(id).count, 0)
        try ncfSucceeds(["sweep", "resume", id, "--store", store])
        try ncfSucceeds(["agent", id, "--store", store])
        XCTAssertEqual(try runs(id).map(\.state), [.finished, .finished, .finished])
        try ncfSucceeds(["sweep", "cancel", id, "--store", store])
        XCTAssertEqual(try openStore().sweep(id: id).state, .cancelled)

        // A run still running (its agent busy elsewhere): delete refuses and says to cancel first.
        let db = try openStore()
        let sweep = try db.sweep(id: id)
        var config = try SweepConfig.parseStored(yaml: sweep.configText, sweepID: id)
        config.parameters = [Parameter(name: "x", spec: .categorical([.int(9)], probabilities: nil))]
        _ = try db.setState(sweepID: id, .running)
        guard case .claimed(let busy) = try db.claimRun(ClaimRequest(
            sweepID: id, config: config, sampler: GridSampler(), agent: "elsewhere:1",
            heartbeatEvery: 10, now: Date())) else { return XCTFail("no claim") }
        db.close()
        let whileRunning = try ncfFails(["sweep", "delete", id, "--store", store, "--yes"])
        XCTAssertTrue(whileRunning.contains("ncf sweep cancel \(id)"), whileRunning)
        let closing = try openStore()
        XCTAssertTrue(try closing.finishRun(id: busy.id, state: .stopped, reason: "test", exitCode: 0, summary: nil, givenBack: false, at: Date()))
        closing.close()
        try ncfSucceeds(["sweep", "cancel", id, "--store", store])

        let unconfirmed = try ncfFails(["sweep", "delete", id, "--store", store])
        XCTAssertTrue(unconfirmed.contains("--yes"), unconfirmed)
        XCTAssertEqual(try openStore().sweeps().count, 1)
        try ncfSucceeds(["sweep", "delete", id, "--store", store, "--yes"])
        XCTAssertEqual(try openStore().sweeps().count, 0)
        XCTAssertEqual(try runs(id).count, 0)
        let gone = try ncfFails(["sweep", "pause", id, "--store", store])
        XCTAssertTrue(gone.contains("no sweep \(id)"), gone)
    }

    func testAMistypedSubcommandIsNamed() throws {
        let stderr = try ncfFails(["sweep", "stauts", "abcd1234"])
        XCTAssertTrue(stderr.contains("unknown subcommand `stauts`; did you mean `ncf sweep status`?"), stderr)
    }

    /// The words bash reads from `text` (one per line out of `printf`).
    private func shellWords(_ text: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "printf '%s\\n' " + text.trimmingCharacters(in: .whitespacesAndNewlines)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
