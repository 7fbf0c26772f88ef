import Foundation
import NCFRunContract
import NCFSweep

// What a sweep report shows, computed once from the store's values: every run with its parameter
// values on their axes and its metric, the best runs, the best-so-far line, the learning curves to
// draw, hyperband's rungs, parameter importance and the counts. `SweepReport.swift` renders it.

/// Everything a sweep report shows, as plain values (no store access after `build`).
public struct ReportModel: Sendable {
    // MARK: - Values

    /// How a parameter's axis is drawn.
    public enum Axis: Sendable, Equatable {
        case linear
        /// Log-uniform, log-normal and their quantised forms.
        case log
        /// A `values:` list: one band per value, in the order written.
        case categorical([String])
    }

    /// One searched parameter (a leaf of the config; constants are left out).
    public struct Parameter: Sendable, Equatable {
        /// The dotted name (`model.dropout` for nested groups).
        public var name: String
        public var path: [String]
        public var axis: Axis
        /// The distribution as the config states it, e.g. `log_uniform_values 1e-4 … 0.01`.
        public var distribution: String
    }

    /// One run as the report shows it.
    public struct Run: Sendable, Equatable {
        public var id: Int
        /// 1-based position in order of start.
        public var number: Int
        public var state: RunState
        public var givenBack: Bool
        public var config: [String: ParamValue]
        public var seed: UInt64
        /// Per parameter: the number on its axis (the category index for categorical axes), nil
        /// when the run has no value for it.
        public var values: [Double?]
        /// Per parameter: the value as text.
        public var labels: [String]
        /// The run's best logged value of the sweep metric under the goal; nil when it logged none.
        public var metric: Double?
        /// How many finite values of the sweep metric it logged.
        public var logged: Int
        /// The epoch of its first logged value of the sweep metric: 0 when the run logs its start
        /// before training and the start holds the metric (`SweepConfig.runLogsStart(_:of:)`), else 1.
        public var firstEpoch = 1
        /// How many of those values trained epochs logged (the start's is not one): the runs
        /// table's `epochs`, and hyperband's unit.
        public var epochs: Int { max(0, logged - (firstEpoch == 0 ? 1 : 0)) }
        public var startedAt: Date
        public var endedAt: Date?
        /// Seconds from start to end (to `now` while running).
        public var duration: Double
        public var reason: String?
        /// The trial's closing summary (test metrics, `protocol`, `best_epoch`, …); empty when none.
        public var summary: [String: ParamValue]
        /// The data its agent trained on instead of the sweep's (`--override_data`), if any.
        public var dataOverride: String? = nil
        /// Its finite values of the sweep metric, in order of logging (the page overlays these
        /// when runs are compared).
        public var history: [Double] = []

        /// The held-out test metrics of its summary, by name.
        public var testMetrics: [(name: String, value: Double)] {
            summary.keys.filter { MetricSplit.of($0) == .test }.sorted().compactMap { name in
                summary[name]?.numericValue.map { (name, $0) }
            }
        }
    }

    /// One point of a learning curve.
    public struct CurvePoint: Sendable, Equatable {
        public var epoch: Double
        public var value: Double
    }

    /// The per-epoch values of one run drawn in the learning-curve charts.
    public struct Curve: Sendable, Equatable {
        public enum Role: Sendable, Equatable {
            /// Among the best runs (0 = the best).
            case best(rank: Int)
            /// Stopped early by hyperband (or interrupted).
            case stopped
        }

        public var runID: Int
        public var role: Role
        /// Metric name → its finite values by epoch.
        public var series: [String: [CurvePoint]]
    }

    /// A step of the best-so-far line: after the run numbered `number`, the best value was `value`.
    public struct BestStep: Sendable, Equatable {
        public var number: Int
        public var value: Double
    }

    /// A parameter's importance and correlation with the metric.
    public struct Importance: Sendable, Equatable {
        /// Share of the forest's permutation importance, 0…1 (nil: too few runs).
        public var share: Double?
        /// Spearman's ρ of the value and the metric (nil for non-numeric categories or too few runs).
        public var spearman: Double?
    }

    /// What the report is allowed to spend.
    public struct Options: Sendable, Equatable {
        /// Best runs highlighted and drawn as learning curves.
        public var topK: Int
        /// Stopped runs drawn as learning curves, at most (spread over their metric ranking).
        public var stoppedCurves: Int
        /// Other runs' metric histories drawn faintly behind the curves, at most.
        public var backgroundCurves: Int
        public var importance: ParameterImportance.Options

        public init(topK: Int = 5, stoppedCurves: Int = 8, backgroundCurves: Int = 300,
                    importance: ParameterImportance.Options = ParameterImportance.Options()) {
            self.topK = topK
            self.stoppedCurves = stoppedCurves
            self.backgroundCurves = backgroundCurves
            self.importance = importance
        }
    }

    // MARK: - Contents

    public var sweep: SweepRecord
    /// The parsed config; nil when the stored YAML no longer parses (the report still shows runs).
    public var config: SweepConfig?
    public var metric: SweepConfig.Metric?
    public var parameters: [Parameter]
    /// Every run, in order of start.
    public var runs: [Run]
    /// Index into `runs` of the best run (finished or stopped, not given back, best metric; ties: the earlier run).
    public var bestIndex: Int?
    /// Indices into `runs` of the best runs, best first (at most `topK`).
    public var topIndices: [Int]
    /// The best-so-far line over runs in order of start (finished and stopped runs count).
    public var bestSoFar: [BestStep]
    /// Learning curves of the best and some stopped runs (filled by `build`).
    public var curves: [Curve]
    /// The metrics the learning-curve charts show: `Train Loss`, `Valid Loss` and the sweep metric.
    public var curveMetrics: [String]
    /// Sweep-metric histories of other runs, drawn faintly (run id → values by epoch).
    public var background: [Int: [Double]]
    /// The epoch of each background history's first value (0 or 1, as `Run.firstEpoch`).
    public var backgroundFirstEpoch: [Int: Int] = [:]
    /// Hyperband's rungs (numbers of trained epochs) and the threshold at each, in metric units
    /// (nil where no run has got that far).
    public var rungs: [(band: Int, threshold: Double?)]
    /// Per parameter, parallel to `parameters`.
    public var importance: [Importance]
    /// How many runs the importance was computed over, and which.
    public var importanceBasis: String
    /// How many runs that is.
    public var importanceCount: Int
    /// The evaluation protocols the runs' summaries name (usually one).
    public var protocols: [String]
    public var generated: Date
    /// Whether the sweep is still going (running or pending runs, and the sweep not finished).
    public var live: Bool

    /// Runs that ended without logging a finite value of the metric (left out of the metric
    /// charts); running runs that have not logged one yet are not counted.
    public var withoutMetric: Int {
        metric == nil ? 0 : runs.filter { $0.metric == nil && $0.state.isFinished }.count
    }

    /// Whether parameter `p` took at least two values among the runs (a parameter every run has
    /// the same value of gets no axis or scatter: it explains nothing).
    public func varies(_ p: Int) -> Bool {
        var first: String?
        for run in runs where run.values[p] != nil {
            if let f = first { if run.labels[p] != f { return true } } else { first = run.labels[p] }
        }
        return false
    }

    /// Counts by state, in `RunState.allCases` order, states with no run left out.
    public var counts: [(state: RunState, count: Int)] {
        RunState.allCases.compactMap { s in
            let n = runs.filter { $0.state == s }.count
            return n > 0 ? (s, n) : nil
        }
    }

    // MARK: - Building

    /// Reads the sweep from `store` and computes the report's contents.
    ///
    /// Store reads: the sweep, its runs, the sweep metric's histories (one query), and the
    /// per-epoch metrics of the runs drawn as learning curves (at most `topK + stoppedCurves`).
    /// - Throws: the store's errors (`RunStoreError.noSuchSweep`, …).
    /// - Complexity: O(runs · parameters + forest), see `ParameterImportance.permutation`.
    public static func build(store: any RunStore, sweepID: String, now: Date = Date(),
                             options: Options = Options()) throws -> ReportModel {
        let sweep = try store.sweep(id: sweepID)
        let config = try? SweepConfig.parseStored(yaml: sweep.configText, sweepID: sweep.id)
        let runs = try store.runs(sweepID: sweep.id)
        let histories = try config?.metric.map { try store.histories(sweepID: sweep.id, metric: $0.name) } ?? [:]
        var model = ReportModel(sweep: sweep, config: config, runs: runs, histories: histories, now: now, options: options)
        var points: [Int: [MetricPoint]] = [:]
        for id in model.curveRunIDs(options) { points[id] = try store.metrics(runID: id) }
        model.attachCurves(points, options)
        return model
    }

    /// The report's contents from store values (no curves until `attachCurves`).
    /// - Parameters:
    ///   - runs: the sweep's runs, any order.
    ///   - histories: the finite values of the sweep metric per run id, by step.
    public init(sweep: SweepRecord, config: SweepConfig?, runs stored: [StoredRun], histories: [Int: [Double]],
                now: Date, options: Options = Options()) {
        self.sweep = sweep
        self.config = config
        self.metric = config?.metric
        self.generated = now
        self.curves = []
        self.protocols = []
        let ordered = stored.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
        var parameters = Self.parameters(config: config, runs: ordered)

        // Runs, with their values on each parameter's axis.
        var runs: [Run] = []
        runs.reserveCapacity(ordered.count)
        for (k, s) in ordered.enumerated() {
            var values: [Double?] = []
            var labels: [String] = []
            for p in parameters.indices {
                let value = leafValue(in: s.config, at: parameters[p].path)
                labels.append(value.map(Self.displayText) ?? "—")
                values.append(Self.axisValue(value, parameter: &parameters[p]))
            }
            let history = histories[s.id] ?? []
            let best = metric.flatMap { s.record(history: history, metric: $0).metric }
            var summary: [String: ParamValue] = [:]
            if let text = s.summary, case .map(let map)? = try? ParamValue.parseJSON(text) { summary = map }
            let end = s.endedAt ?? (s.state.isFinished ? s.heartbeatAt : now)
            runs.append(Run(id: s.id, number: k + 1, state: s.state, givenBack: s.givenBack, config: s.config, seed: s.seed,
                            values: values, labels: labels, metric: best, logged: history.filter(\.isFinite).count,
                            startedAt: s.startedAt, endedAt: s.endedAt, duration: max(0, end.timeIntervalSince(s.startedAt)),
                            reason: s.reason, summary: summary, dataOverride: s.dataOverride,
                            history: history.filter(\.isFinite)))
            if let metric, config?.runLogsStart(s.config, of: metric.name) == true { runs[runs.count - 1].firstEpoch = 0 }
        }
        self.parameters = parameters
        self.runs = runs
        self.live = sweep.state == .running && runs.contains { $0.state == .running || $0.state == .pending }
        var seen = Set<String>()
        for run in runs {
            if case .string(let p)? = run.summary["protocol"], seen.insert(p).inserted { protocols.append(p) }
        }

        // Best runs and the best-so-far line (finished and stopped runs that were not given back).
        var ranked: [Int] = []
        var steps: [BestStep] = []
        if let metric {
            ranked = runs.indices.filter { Self.countsAsResult(runs[$0]) && runs[$0].metric != nil }
            ranked.sort { a, b in
                let va = runs[a].metric!, vb = runs[b].metric!
                if va != vb { return metric.isBetter(va, than: vb) }
                return runs[a].id < runs[b].id
            }
            var best: Double?
            for run in runs where Self.countsAsResult(run) {
                guard let v = run.metric else { continue }
                if best.map({ metric.isBetter(v, than: $0) }) ?? true { best = v }
                steps.append(BestStep(number: run.number, value: best!))
            }
        }
        self.bestIndex = ranked.first
        self.topIndices = Array(ranked.prefix(max(1, options.topK)))
        self.bestSoFar = steps
        let losses = MetricName.lossCurves.map(\.description)
        self.curveMetrics = losses + (metric.map { losses.contains($0.name) ? [] : [$0.name] } ?? [])

        // Hyperband's rungs and their thresholds from the histories, as the pruner computes them.
        var rungs: [(band: Int, threshold: Double?)] = []
        if let config, let hb = config.earlyTerminate, let metric {
            let pruner = HyperbandPruner(hb)
            let records = stored.filter(\.counts).map {
                $0.record(history: config.trainedHistory(histories[$0.id] ?? [], runConfig: $0.config, metric: metric.name), metric: metric)
            }
            let thresholds = pruner.thresholds(records, metric: metric)
            let maxEpochs = runs.map(\.epochs).max() ?? 0
            for (band, t) in zip(pruner.bands, thresholds) where band <= max(maxEpochs, pruner.bands.first ?? 0) {
                rungs.append((band, t.isFinite ? (metric.goal == .maximize ? -t : t) : nil))
            }
        }
        self.rungs = rungs

        // Faint background: other runs' metric histories (evenly spread when there are many).
        var background: [Int: [Double]] = [:]
        let others = runs.filter { histories[$0.id]?.isEmpty == false }
        let every = max(1, Int((Double(others.count) / Double(max(1, options.backgroundCurves))).rounded(.up)))
        for (k, run) in others.enumerated() where k % every == 0 {
            background[run.id] = histories[run.id]
            backgroundFirstEpoch[run.id] = run.firstEpoch
        }
        self.background = background

        // Importance over finished runs (finished and stopped when fewer than 5 finished).
        var basis = runs.indices.filter { runs[$0].state == .finished && !runs[$0].givenBack && runs[$0].metric != nil }
        var basisText = "the \(basis.count) finished run\(basis.count == 1 ? "" : "s") with a \(metric?.name ?? "metric")"
        if basis.count < 5 {
            basis = runs.indices.filter { Self.countsAsResult(runs[$0]) && runs[$0].metric != nil }
            basisText = "the \(basis.count) finished and stopped run\(basis.count == 1 ? "" : "s") with a \(metric?.name ?? "metric")"
        }
        self.importanceBasis = basisText
        self.importanceCount = basis.count
        self.importance = Self.importance(runs: basis.map { runs[$0] }, parameters: parameters, options: options.importance)
    }

    /// Finished or stopped, and not given back: a run whose metric is a result (as `bestRun` counts).
    static func countsAsResult(_ run: Run) -> Bool {
        (run.state == .finished || run.state == .stopped) && !run.givenBack
    }

    // MARK: - Learning curves

    /// The runs whose per-epoch metrics the curves need: the best `topK`, then up to
    /// `stoppedCurves` stopped runs spread evenly over their ranking by metric.
    public func curveRunIDs(_ options: Options = Options()) -> [Int] {
        var ids = topIndices.map { runs[$0].id }
        var stopped = runs.filter { $0.state == .stopped && !ids.contains($0.id) }
        if let metric {
            stopped.sort { a, b in
                switch (a.metric, b.metric) {
                case let (x?, y?): return x != y ? metric.isBetter(x, than: y) : a.id < b.id
                case (.some, nil): return true
                case (nil, .some): return false
                default: return a.id < b.id
                }
            }
        }
        let k = max(0, options.stoppedCurves)
        if stopped.count <= k {
            ids += stopped.map(\.id)
        } else if k > 0 {
            for i in 0..<k { ids.append(stopped[i * (stopped.count - 1) / max(1, k - 1)].id) }
        }
        var seen = Set<Int>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// Fills `curves` from the runs' logged metrics (x: the logged `epoch` where present, else the step).
    public mutating func attachCurves(_ points: [Int: [MetricPoint]], _ options: Options = Options()) {
        let top = topIndices.map { runs[$0].id }
        curves = curveRunIDs(options).compactMap { id in
            guard let list = points[id] else { return nil }
            var epochAt: [Int: Double] = [:]
            // A logged epoch is drawn at its value when it is a plausible epoch number (else at
            // its step): any number may stand in the store, and the axes count in Ints.
            for p in list where p.name == "epoch" { if let v = p.value, v >= 0, v <= 1e9 { epochAt[p.step] = v } }
            var series: [String: [CurvePoint]] = [:]
            for p in list where curveMetrics.contains(p.name) {
                guard let v = p.value, v.isFinite else { continue }
                series[p.name, default: []].append(CurvePoint(epoch: epochAt[p.step] ?? Double(p.step), value: v))
            }
            let role: Curve.Role = top.firstIndex(of: id).map { .best(rank: $0) } ?? .stopped
            return Curve(runID: id, role: role, series: series)
        }
    }

    // MARK: - Parameters and their axes

    /// A parameter value for people: doubles to 4 significant digits (`0.2320`, `4.766e-3`), the
    /// rest as the flag text (`16,32,64`).
    public static func displayText(_ value: ParamValue) -> String {
        if case .double(let d) = value { return formatValue(d) }
        return TrialCommand.flagText(value)
    }

    /// The searched leaves of the config (constants left out), or, without a readable config,
    /// every key the runs' configs hold (numbers on linear axes, anything else categorical).
    static func parameters(config: SweepConfig?, runs: [StoredRun]) -> [Parameter] {
        if let config {
            return flattenParameters(config.parameters).compactMap { leaf in
                if case .constant = leaf.spec { return nil }
                return Parameter(name: leaf.dottedName, path: leaf.path, axis: axis(of: leaf.spec),
                                 distribution: describe(leaf.spec))
            }
        }
        let names = Set(runs.flatMap(\.config.keys)).sorted()
        return names.compactMap { name in
            let values = runs.compactMap { $0.config[name] }
            let distinct = Set(values.map(\.canonicalJSON))
            if distinct.count <= 1 { return nil }
            if values.allSatisfy({ $0.numericValue != nil }) {
                return Parameter(name: name, path: [name], axis: .linear, distribution: "as logged")
            }
            var labels: [String] = []
            for v in values where !labels.contains(TrialCommand.flagText(v)) { labels.append(TrialCommand.flagText(v)) }
            return Parameter(name: name, path: [name], axis: .categorical(labels.sorted()), distribution: "as logged")
        }
    }

    /// The axis a parameter form is drawn on: its own scale.
    static func axis(of spec: ParameterSpec) -> Axis {
        switch spec {
        case .categorical(let values, _):
            var labels: [String] = []
            for v in values where !labels.contains(TrialCommand.flagText(v)) { labels.append(TrialCommand.flagText(v)) }
            return .categorical(labels)
        case .logUniformValues, .qLogUniformValues, .invLogUniformValues, .logNormal, .qLogNormal:
            return .log
        default:
            return .linear
        }
    }

    /// The run's value on the parameter's axis; a category missing from the list is appended to it.
    static func axisValue(_ value: ParamValue?, parameter: inout Parameter) -> Double? {
        guard let value else { return nil }
        switch parameter.axis {
        case .linear:
            return value.numericValue
        case .log:
            return value.numericValue.flatMap { $0 > 0 ? $0 : nil }
        case .categorical(var labels):
            let label = TrialCommand.flagText(value)
            if let i = labels.firstIndex(of: label) { return Double(i) }
            labels.append(label)
            parameter.axis = .categorical(labels)
            return Double(labels.count - 1)
        }
    }

    /// `uniform 0.0001 … 0.01`, `values [32, 64, 128]`, `log_uniform_values 1e-5 … 0.1`.
    static func describe(_ spec: ParameterSpec) -> String {
        func r(_ a: Double, _ b: Double) -> String { "\(formatValue(a)) … \(formatValue(b))" }
        switch spec {
        case .constant(let v): return "value \(TrialCommand.flagText(v))"
        case .categorical(let values, let p):
            let list = values.map(TrialCommand.flagText).joined(separator: ", ")
            return "values [\(list)]" + (p == nil ? "" : " with probabilities")
        case let .intUniform(lo, hi): return "int_uniform \(lo) … \(hi)"
        case let .uniform(lo, hi): return "uniform \(r(lo, hi))"
        case let .qUniform(lo, hi, q, _): return "q_uniform \(r(lo, hi)), q \(formatValue(q))"
        case let .logUniformValues(lo, hi): return "log_uniform_values \(r(lo, hi))"
        case let .qLogUniformValues(lo, hi, q, _): return "q_log_uniform_values \(r(lo, hi)), q \(formatValue(q))"
        case let .invLogUniformValues(lo, hi): return "inv_log_uniform_values \(r(lo, hi))"
        case let .normal(mu, sigma): return "normal μ \(formatValue(mu)), σ \(formatValue(sigma))"
        case let .qNormal(mu, sigma, q, _): return "q_normal μ \(formatValue(mu)), σ \(formatValue(sigma)), q \(formatValue(q))"
        case let .logNormal(mu, sigma): return "log_normal μ \(formatValue(mu)), σ \(formatValue(sigma))"
        case let .qLogNormal(mu, sigma, q, _): return "q_log_normal μ \(formatValue(mu)), σ \(formatValue(sigma)), q \(formatValue(q))"
        case let .beta(a, b): return "beta a \(formatValue(a)), b \(formatValue(b))"
        case let .qBeta(a, b, q, _): return "q_beta a \(formatValue(a)), b \(formatValue(b)), q \(formatValue(q))"
        case .nested: return "nested"
        }
    }

    // MARK: - Importance

    /// Permutation importance of a forest fitted to the metric's rank (0 best … 1 worst, so a few
    /// diverged runs do not dominate), and Spearman's ρ of each numeric parameter with the metric.
    /// Categories are ordered by their mean rank for the forest (the best order for a regression
    /// tree's splits); a missing value is the column's median.
    static func importance(runs: [Run], parameters: [Parameter], options: ParameterImportance.Options) -> [Importance] {
        let values = runs.compactMap(\.metric)
        guard values.count == runs.count, !parameters.isEmpty else {
            return parameters.map { _ in Importance(share: nil, spearman: nil) }
        }
        let ranks = ParameterImportance.ranks(values)
        let n = Double(max(1, runs.count - 1))
        let target = ranks.map { ($0 - 1) / n }
        var columns: [[Double]] = []
        var spearman: [Double?] = []
        for (p, parameter) in parameters.enumerated() {
            let raw = runs.map { $0.values[p] }
            switch parameter.axis {
            case .categorical(let labels):
                var sum = [Double](repeating: 0, count: labels.count), count = sum
                for (i, v) in raw.enumerated() { if let v { sum[Int(v)] += target[i]; count[Int(v)] += 1 } }
                let order = labels.indices.sorted { a, b in
                    let ma = count[a] > 0 ? sum[a] / count[a] : 2, mb = count[b] > 0 ? sum[b] / count[b] : 2
                    return ma != mb ? ma < mb : a < b
                }
                var position = [Double](repeating: 0, count: labels.count)
                for (k, c) in order.enumerated() { position[c] = Double(k) }
                columns.append(raw.map { $0.map { position[Int($0)] } ?? -1 })
                // ρ only when every category is a number (then by the number, e.g. batch size).
                let numbers = labels.map { Double($0) }
                if numbers.allSatisfy({ $0 != nil }) {
                    let pairs = raw.enumerated().compactMap { i, v in v.map { (numbers[Int($0)]!, values[i]) } }
                    spearman.append(ParameterImportance.spearman(pairs.map(\.0), pairs.map(\.1)))
                } else {
                    spearman.append(nil)
                }
            case .linear, .log:
                let present = raw.compactMap { $0 }.sorted()
                let median = present.isEmpty ? 0 : present[present.count / 2]
                columns.append(raw.map { $0.map { parameter.axis == .log ? log10($0) : $0 } ?? (parameter.axis == .log ? log10(max(median, 1e-300)) : median) })
                let pairs = raw.enumerated().compactMap { i, v in v.map { ($0, values[i]) } }
                spearman.append(ParameterImportance.spearman(pairs.map(\.0), pairs.map(\.1)))
            }
        }
        let shares: [Double?] = runs.count >= 5
            ? ParameterImportance.permutation(features: columns, target: target, options: options).map { $0 }
            : parameters.map { _ in nil }
        return parameters.indices.map { Importance(share: shares[$0], spearman: spearman[$0]) }
    }
}
