import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFSweep

// `ncf sweep status | list | best`: read a sweep store without changing it.

/// `ncf sweep status ID`: counts by state, the best run so far, and what is running now.
struct SweepStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a sweep's runs by state, its best run so far and the runs going on now.")

    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String
    @OptionGroup var store: StoreOption

    func run() throws {
        let db = try openStore(store.store, create: false)
        let (sweep, config) = try loadSweep(db, id: sweepID)
        let runs = try db.runs(sweepID: sweep.id)
        print("sweep \(sweep.id)\(config?.name.map { " \"\($0)\"" } ?? "") — \(sweep.state.rawValue)")
        print("  \(config.map(describe) ?? "config unreadable"); seed \(sweep.seed); created \(timestamp(sweep.created))")
        if let data = sweep.data { print("  data: \(describe(data))") }
        let overrides = Set(runs.compactMap(\.dataOverride))
        if !overrides.isEmpty { print("  data overridden by an agent (--override_data) on some runs: \(overrides.sorted().joined(separator: ", "))") }
        let counts = Dictionary(grouping: runs, by: \.state).mapValues(\.count)
        let tally = RunState.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        print("  runs: \(runs.count)\(tally.isEmpty ? "" : " (\(tally))")")
        if let config, config.method == .grid, let total = GridSampler.pointCount(config.parameters) {
            let done = Set(runs.filter { $0.counts && $0.state.isFinished }.map { ParamValue.canonicalJSON($0.config) }).count
            print("  grid: \(done) of \(total) points done")
        }
        guard let metric = config?.metric else { return }
        if let best = try db.bestRun(sweepID: sweep.id, metric: metric) {
            print("  best so far: run \(best.run.id), \(metric.name) \(formatMetric(best.value)): \(flagList(best.run.config))")
        } else {
            print("  best so far: none (no finished run has logged \(metric.name) yet)")
        }
        let histories = try db.histories(sweepID: sweep.id, metric: metric.name)
        let silent = runs.filter { $0.state != .pending && $0.state != .running && (histories[$0.id] ?? []).isEmpty }.count
        if silent > 0 {
            print("  \(silent) run\(silent == 1 ? "" : "s") ended without logging \(metric.name) (left out of best and charts)")
        }
        let running = runs.filter { $0.state == .running }
        if !running.isEmpty {
            print("  running:")
            let now = Date()
            for run in running {
                let progress = RunProgress(run: run, points: try db.metrics(runID: run.id), metric: metric, now: now)
                let heard = Int(now.timeIntervalSince(run.heartbeatAt).rounded())
                print("    \(progress.line(metricName: metric.name)), agent \(run.agent), heartbeat \(heard) s ago")
            }
        }
        let failed = runs.filter { $0.state == .failed }.suffix(3)
        if !failed.isEmpty {
            print("  last failures:")
            for run in failed { print("    run \(run.id): \(run.reason ?? "no reason recorded")") }
        }
        print("  charts: ncf sweep report \(sweep.id) --store \(store.shownStore)")
    }
}

/// `ncf sweep list`: every sweep in the store.
struct SweepList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the sweeps in a store with their state, runs and best value.")

    @OptionGroup var store: StoreOption

    func run() throws {
        let db = try openStore(store.store, create: false)
        let sweeps = try db.sweeps()
        if sweeps.isEmpty {
            print("no sweeps in \(store.shownStore). Start one with `ncf sweep FILE.yaml --store \(store.shownStore)`.")
            return
        }
        var rows = [["ID", "STATE", "METHOD", "RUNS", "BEST", "CREATED", "NAME"]]
        for sweep in sweeps {
            let config = try? SweepConfig.parse(yaml: sweep.configText, file: "sweep \(sweep.id)", trainerFlags: nil).config
            let runs = try db.runs(sweepID: sweep.id)
            var best = "—"
            if let metric = config?.metric, let b = try db.bestRun(sweepID: sweep.id, metric: metric) {
                best = "\(metric.name) \(formatMetric(b.value))"
            }
            rows.append([sweep.id, sweep.state.rawValue, config?.method.rawValue ?? "?", String(runs.count), best,
                         timestamp(sweep.created), config?.name ?? ""])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }
}

/// `ncf sweep best ID`: the best run's config, its validation metric and its held-out test metrics.
struct SweepBest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "best",
        abstract: "Print a sweep's best run: its config, validation metric and held-out test metrics.",
        discussion: """
            With --export, print only the config, for reuse: `yaml` (name: value lines), `json` (one \
            object) or `flags` (`--name=value ...` for `ncf train`). The run's training seed is \
            included for the built-in trainer, so the run can be reproduced exactly.
            """)

    enum Export: String, ExpressibleByArgument, CaseIterable { case yaml, json, flags }

    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String
    @Option(name: .customLong("export"), help: ArgumentHelp("Print only the config: yaml, json or flags.", valueName: "format"))
    var export: Export?
    @OptionGroup var store: StoreOption

    func run() throws {
        let db = try openStore(store.store, create: false)
        let (sweep, config) = try loadSweep(db, id: sweepID)
        guard let config, let metric = config.metric else {
            throw CLIError(message: "sweep \(sweep.id) has no `metric`, so no run is best. Hint: `ncf sweep status \(sweep.id)` lists its runs.")
        }
        guard let best = try db.bestRun(sweepID: sweep.id, metric: metric) else {
            throw CLIError(message: "sweep \(sweep.id) has no finished run with a \(metric.name) yet. Hint: `ncf sweep status \(sweep.id) --store \(store.shownStore)` shows its runs.")
        }
        var values = best.run.config
        if config.usesBuiltInTrainer && values["seed"] == nil { values["seed"] = .int(Int(best.run.seed)) }
        // The data it trained on: an agent's override, else the sweep's, as the user gave it.
        if config.usesBuiltInTrainer && values["data"] == nil, let data = best.run.dataOverride ?? sweep.data?.path {
            values["data"] = .string(data)
        }
        switch export {
        case .json:
            print(ParamValue.canonicalJSON(values))
        case .yaml:
            print("# best run \(best.run.id) of sweep \(sweep.id): \(metric.name) \(formatMetric(best.value))")
            for name in values.keys.sorted() { print("\(name): \(values[name]!.canonicalJSON)") }
        case .flags:
            print(flagList(values, hyphens: true))
        case nil:
            print("best run of sweep \(sweep.id): run \(best.run.id) (\(best.run.state.rawValue))")
            print("  \(metric.name): \(formatMetric(best.value)) (\(metric.goal.rawValue), best epoch)")
            print("  config:")
            for name in values.keys.sorted() { print("    \(name): \(TrialCommand.flagText(values[name]!))") }
            guard let text = best.run.summary, case .map(let summary)? = try? ParamValue.parseJSON(text) else {
                print("  test metrics: none (the trial printed no summary)")
                return
            }
            let tests = summary.keys.filter { $0.hasPrefix("Test ") }.sorted()
            if tests.isEmpty {
                print("  test metrics: none in the trial's summary")
            } else {
                print("  test metrics (held-out split, best epoch):")
                for name in tests { print("    \(name): \(summary[name].map(numberText) ?? "—")") }
            }
            if case .string(let p)? = summary["protocol"] { print("  protocol: \(p)") }
        }
    }
}

// MARK: - Helpers

/// The sweep and its parsed config (nil when the stored YAML no longer parses).
private func loadSweep(_ db: any RunStore, id: String) throws -> (SweepRecord, SweepConfig?) {
    let sweep: SweepRecord
    do { sweep = try db.sweep(id: id) } catch { throw CLIError(error) }
    let config = try? SweepConfig.parse(yaml: sweep.configText, file: "sweep \(sweep.id)", trainerFlags: nil).config
    return (sweep, config)
}

/// `batch_size=64 lr=0.003` (or `--batch_size=64 --lr=0.003`, a true boolean as a bare flag).
func flagList(_ config: [String: ParamValue], hyphens: Bool = false) -> String {
    if hyphens { return commandLineFlags(config) }
    return config.keys.sorted().map { "\($0)=\(TrialCommand.flagText(config[$0]!))" }.joined(separator: " ")
}

private func numberText(_ v: ParamValue) -> String {
    switch v {
    case .int(let i): return String(i)
    case .double(let d): return formatMetric(d)
    default: return v.canonicalJSON
    }
}

/// `2025-11-29 09:43` in local time.
private func timestamp(_ date: Date) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm"
    return f.string(from: date)
}
