import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFRunContract
import NCFSweep

// `ncf sweep status | list | best`: read a sweep store without changing it. Names, values and
// reasons come from configs and trials, so lines are printed through `out` (see `terminalSafe`).

/// `ncf sweep status ID`: counts by state, the best run so far, and what is running now.
struct SweepStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a sweep's runs by state, its best run so far and the runs going on now.")

    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String
    @OptionGroup var store: StoreOption

    func run() throws {
        try readingStore(store.store, show)
    }

    private func show(_ db: any RunStore) throws {
        let (sweep, loaded) = try loadSweep(db, id: sweepID)
        let config = try? loaded.get()
        let runs = try db.runs(sweepID: sweep.id)
        out("sweep \(sweep.id)\(config?.name.map { " \"\($0)\"" } ?? "") — \(sweep.state.described(anyRunRunning: runs.contains { $0.state == .running }))")
        let described: String
        switch loaded {
        case .success(let config): described = describe(config)
        case .failure(let error): described = "config unreadable (\(firstLine(error)))"
        }
        out("  \(described); seed \(sweep.seed); created \(timestamp(sweep.created))")
        if let data = sweep.data { out("  data: \(describe(data))") }
        let overrides = Set(runs.compactMap(\.dataOverride))
        if !overrides.isEmpty { out("  data overridden by an agent (--override_data) on some runs: \(overrides.sorted().joined(separator: ", "))") }
        let counts = Dictionary(grouping: runs, by: \.state).mapValues(\.count)
        let tally = RunState.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        out("  runs: \(runs.count)\(tally.isEmpty ? "" : " (\(tally))")")
        if let config, config.method == .grid, let total = GridSampler.pointCount(config.parameters) {
            let done = Set(runs.filter { $0.counts && $0.state.isFinished }.map { ParamValue.canonicalJSON($0.config) }).count
            out("  grid: \(done) of \(total) points done")
        }
        guard let metric = config?.metric else { return }
        if let best = try db.bestRun(sweepID: sweep.id, metric: metric) {
            out("  best so far: run \(best.run.id), \(metric.name) \(formatMetric(best.value)): \(flagList(best.run.config))")
        } else {
            out("  best so far: none (no finished run has logged \(metric.name) yet)")
        }
        let histories = try db.histories(sweepID: sweep.id, metric: metric.name)
        let silent = runs.filter { $0.state != .pending && $0.state != .running && (histories[$0.id] ?? []).isEmpty }.count
        if silent > 0 {
            out("  \(silent) run\(silent == 1 ? "" : "s") ended without logging \(metric.name) (left out of best and charts)")
        }
        let running = runs.filter { $0.state == .running }
        if !running.isEmpty {
            out("  running:")
            let now = Date()
            for run in running {
                let progress = RunProgress(run: run, points: try db.metrics(runID: run.id), metric: metric, now: now)
                let heard = now.timeIntervalSince(run.heartbeatAt)
                out("    \(progress.line(metricName: metric.name)), agent \(run.agent), heartbeat \(String(format: "%.0f", heard)) s ago")
            }
        }
        let failed = runs.filter { $0.state == .failed }.suffix(3)
        if !failed.isEmpty {
            out("  last failures:")
            for run in failed { out("    run \(run.id): \(run.reason ?? "no reason recorded")") }
        }
        out("  charts: ncf sweep report \(sweep.id) --store \(store.shownStore)")
    }
}

/// `ncf sweep list`: every sweep in the store.
struct SweepList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the sweeps in a store with their state, runs and best value.")

    @OptionGroup var store: StoreOption

    func run() throws {
        try readingStore(store.store, show)
    }

    private func show(_ db: any RunStore) throws {
        let sweeps = try db.sweeps()
        if sweeps.isEmpty {
            out("no sweeps in \(store.shownStore). Start one with `ncf sweep FILE.yaml --store \(store.shownStore)`.")
            return
        }
        var rows = [["ID", "STATE", "METHOD", "RUNS", "BEST", "CREATED", "NAME"]]
        for sweep in sweeps {
            let config = try? SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id)
            let runs = try db.runs(sweepID: sweep.id)
            var best = "—"
            if let metric = config?.metric, let b = try db.bestRun(sweepID: sweep.id, metric: metric) {
                best = "\(metric.name) \(formatMetric(b.value))"
            }
            // Made safe before the widths are measured, so the columns line up.
            rows.append([sweep.id, sweep.state.rawValue, config?.method.rawValue ?? "?", String(runs.count), best,
                         timestamp(sweep.created), config?.name ?? ""].map(terminalSafe))
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            out(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
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
        try readingStore(store.store, show)
    }

    private func show(_ db: any RunStore) throws {
        let (sweep, loaded) = try loadSweep(db, id: sweepID)
        let config: SweepConfig
        do { config = try loaded.get() } catch {
            throw CLIError(message: "the stored config of sweep \(sweep.id) does not load (\(firstLine(error))), so ncf does not know its metric. Hint: `ncf sweep status \(sweep.id) --store \(store.shownStore)` lists its runs.")
        }
        guard let metric = config.metric else {
            throw CLIError(message: "sweep \(sweep.id) has no `metric`, so no run is best. Hint: `ncf sweep status \(sweep.id)` lists its runs.")
        }
        guard let best = try db.bestRun(sweepID: sweep.id, metric: metric) else {
            throw CLIError(message: "sweep \(sweep.id) has no finished run with a \(metric.name) yet. Hint: `ncf sweep status \(sweep.id) --store \(store.shownStore)` shows its runs.")
        }
        var values = best.run.config
        if config.usesBuiltInTrainer {
            // What the trial got beyond its config: its seed, the data it trained on (an agent's
            // override, else the sweep's absolute path, which works from any directory) and the metric that kept its epoch.
            values = TrialCommand.reproducingConfig(values, seed: best.run.seed, data: best.run.dataOverride ?? sweep.data?.absolutePath,
                                                    metric: config.metric)
        }
        switch export {
        case .json:
            print(terminalSafeJSON(ParamValue.canonicalJSON(values)))
        case .yaml:
            out("# best run \(best.run.id) of sweep \(sweep.id): \(metric.name) \(formatMetric(best.value))")
            for name in values.keys.sorted() { print("\(name): \(terminalSafeJSON(values[name]!.canonicalJSON))") }
        case .flags:
            // Shell-quoted; control characters as `$'\e…'` escapes, so the text is safe and exact.
            print(flagList(values, hyphens: true))
        case nil:
            out("best run of sweep \(sweep.id): run \(best.run.id) (\(best.run.state.rawValue))")
            out("  \(metric.name): \(formatMetric(best.value)) (\(metric.goal.rawValue), best epoch)")
            out("  config:")
            for name in values.keys.sorted() { out("    \(name): \(TrialCommand.displayText(values[name]!))") }
            guard let text = best.run.summary, case .map(let summary)? = try? ParamValue.parseJSON(text) else {
                out("  test metrics: none (the trial printed no summary)")
                return
            }
            let tests = summary.keys.filter { MetricSplit.of($0) == .test }.sorted()
            if tests.isEmpty {
                out("  test metrics: none in the trial's summary")
            } else {
                out("  test metrics (held-out split, best epoch):")
                for name in tests { out("    \(name): \(summary[name].map(numberText) ?? "—")") }
            }
            if case .string(let p)? = summary["protocol"] { out("  protocol: \(p)") }
        }
    }
}

// MARK: - Helpers

/// The sweep and its parsed config, or why the stored YAML does not load. The config is read as
/// stored: whether its `program` exists (which depends on the working directory) is not checked.
private func loadSweep(_ db: any RunStore, id: String) throws -> (SweepRecord, Result<SweepConfig, Error>) {
    let sweep: SweepRecord
    do { sweep = try db.sweep(id: id) } catch { throw CLIError(error) }
    return (sweep, Result { try SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id) })
}

/// The first line of an error's message (a config's first problem).
private func firstLine(_ error: Error) -> String {
    let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
    return text.split(separator: "\n").first.map(String.init) ?? text
}

/// `batch_size=64 lr=0.003` for people (4 significant digits), or the exact
/// `--batch_size=64 --lr=0.003` for reuse (a true boolean as a bare flag).
func flagList(_ config: [String: ParamValue], hyphens: Bool = false) -> String {
    if hyphens { return commandLineFlags(config) }
    return config.keys.sorted().map { "\($0)=\(TrialCommand.displayText(config[$0]!))" }.joined(separator: " ")
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
