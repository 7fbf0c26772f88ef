import Foundation
import NCFModel
import NCFTraining

// MARK: - Results of one configuration

/// Every measurement of one configuration: ncf per optimizer and each reference, one per round.
struct ConfigResult {
    let config: BenchConfig
    let workload: Workload
    let modelConfig: ModelConfig
    var ncf: [OptimizerKind: [NCFRun]] = [:]
    var references: [ReferenceImpl: [ReferenceRun]] = [:]
    /// Reference runs that failed, with the reason (the run continues without them).
    var failures: [String] = []

    var flopsPerSample: Int { modelConfig.trainFlopsPerSample }

    /// Median training rate over the rounds.
    func rate(_ kind: OptimizerKind) -> Double? {
        guard let runs = ncf[kind], !runs.isEmpty else { return nil }
        return median(runs.map(\.samplesPerSecond))
    }

    func rate(_ impl: ReferenceImpl) -> Double? {
        guard let runs = references[impl], !runs.isEmpty else { return nil }
        return median(runs.map(\.samplesPerSecond))
    }

    /// Median rate per CPU second over the rounds.
    func cpuRate(_ kind: OptimizerKind) -> Double? {
        guard let runs = ncf[kind], !runs.isEmpty else { return nil }
        return median(runs.map(\.samplesPerCPUSecond))
    }

    func cpuRate(_ impl: ReferenceImpl) -> Double? {
        let rates = (references[impl] ?? []).compactMap(\.samplesPerCPUSecond)
        return rates.isEmpty ? nil : median(rates)
    }

    /// The round whose rate is the median (the lower middle one for an even count).
    func representative(_ kind: OptimizerKind) -> NCFRun? {
        guard let runs = ncf[kind], !runs.isEmpty else { return nil }
        return runs[medianIndex(runs.map(\.samplesPerSecond))]
    }

    func representative(_ impl: ReferenceImpl) -> ReferenceRun? {
        guard let runs = references[impl], !runs.isEmpty else { return nil }
        return runs[medianIndex(runs.map(\.samplesPerSecond))]
    }

    /// Rows the reference printed a different count for than ncf trains on (should never happen:
    /// same file, same split rule).
    func countMismatches(_ kind: OptimizerKind) -> [String] {
        guard let mine = representative(kind) else { return [] }
        var out: [String] = []
        for (impl, runs) in references.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let r = runs.first else { continue }
            if let pos = r.trainPositives, pos != workload.trainCount {
                out.append("\(config): \(impl.rawValue) trains on \(Fmt.grouped(pos)) positives, ncf on \(Fmt.grouped(workload.trainCount))")
            }
            if let n = r.samplesPerEpoch, n != mine.samples {
                out.append("\(config): \(impl.rawValue) times \(Fmt.grouped(n)) samples per epoch, ncf \(Fmt.grouped(mine.samples))")
            }
        }
        return out
    }
}

// MARK: - Labels

extension OptimizerKind {
    /// What this optimizer is, for the figures beside it.
    var benchLabel: String {
        switch self {
        case .adam: return "lazy Adam"
        case .denseAdam: return "dense Adam"
        case .sgd: return "lazy SGD"
        }
    }
}

// MARK: - JSON Lines

extension ConfigResult {
    /// One JSON object with everything measured for this configuration.
    func json(settings: RunSettings, peakGFLOPS: Double, optimizers: [OptimizerKind], impls: [ReferenceImpl]) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("config", .string(config.description)),
            ("batch_size", .number(Double(config.batch))),
            ("embed_dim", .number(Double(config.embedDim))),
            ("mlp_dims", .string(config.mlpText)),
            ("task", .string(config.referenceTask)),
            ("data", .string(workload.title)),
            ("data_path", .string(workload.source)),
            ("users", .number(Double(workload.dataset.numUsers))),
            ("items", .number(Double(workload.dataset.numItems))),
            ("n_train_pos", .number(Double(workload.trainCount))),
            ("threads", .number(Double(settings.threads))),
            ("epochs", .number(Double(settings.epochs))),
            ("warmup_epochs", .number(Double(settings.warmupEpochs))),
            ("max_steps", .number(Double(settings.maxSteps))),
            ("dropout", .number(settings.dropout)),
            ("seed", .number(Double(settings.seed))),
            ("flops_per_sample", .number(Double(flopsPerSample))),
            ("peak_gflops", .number(peakGFLOPS)),
        ] + machineJSON()
        var ncfFields: [(String, JSONValue)] = []
        for kind in optimizers {
            guard let run = representative(kind), let rate = rate(kind) else { continue }
            let gflops = Double(flopsPerSample) * rate / 1e9
            ncfFields.append((kind.rawValue, .object([
                ("optimizer", .string(kind.benchLabel)),
                ("samples_per_s", .rounded(rate, 1)),
                ("rounds_samples_per_s", .array(ncf[kind]!.map { .rounded($0.samplesPerSecond, 1) })),
                ("samples_per_cpu_s", .rounded(cpuRate(kind) ?? .nan, 1)),
                ("us_per_step", .rounded(run.microsecondsPerStep, 3)),
                ("gflops", .rounded(gflops, 3)),
                ("peak_fraction", .rounded(gflops / peakGFLOPS, 4)),
                ("samples_per_epoch", .number(Double(run.samples))),
                ("steps_per_epoch", .number(Double(run.steps))),
                ("median_epoch_s", .rounded(run.medianEpochSeconds, 5)),
                ("epoch_times_s", .array(run.epochSeconds.map { .rounded($0, 5) })),
                ("epoch_cpu_s", .array(run.epochCPUSeconds.map { .rounded($0, 5) })),
                ("foreign_cores_max", .rounded(run.foreignCores.max() ?? 0, 3)),
                ("prep_s", .rounded(median(run.prepSeconds), 5)),
                ("epoch_losses", .array(run.epochLosses.map { .rounded($0, 5) })),
                ("peak_rss_mb", .rounded(Double(run.peakResidentBytes) / 1_048_576, 1)),
                ("peak_rss_since_reset", .bool(run.peakWasReset)),
            ])))
        }
        fields.append(("ncf", .object(ncfFields)))
        for impl in impls {
            guard let run = representative(impl), let rate = rate(impl) else { continue }
            var r: [(String, JSONValue)] = [
                ("optimizer", .string(impl.optimizerLabel)),
                ("samples_per_s", .rounded(rate, 1)),
                ("rounds_samples_per_s", .array(references[impl]!.map { .rounded($0.samplesPerSecond, 1) })),
                ("version", .string(run.version)),
                ("process_s", .rounded(run.processSeconds, 3)),
            ]
            if !impl.unsetVariables.isEmpty { r.append(("env_unset", .array(impl.unsetVariables.map { .string($0) }))) }
            r.append(("reported", run.raw))
            fields.append((impl.rawValue, .object(r)))
        }
        var ratios: [(String, JSONValue)] = []
        for kind in optimizers {
            for impl in impls {
                if let a = rate(kind), let b = rate(impl) { ratios.append(("ncf_\(kind.rawValue)/\(impl.rawValue)", .rounded(a / b, 3))) }
                if let a = cpuRate(kind), let b = cpuRate(impl) {
                    ratios.append(("ncf_\(kind.rawValue)/\(impl.rawValue)_cpu", .rounded(a / b, 3)))
                }
            }
        }
        if !ratios.isEmpty { fields.append(("ratios", .object(ratios))) }
        if !failures.isEmpty { fields.append(("failures", .array(failures.map { .string($0) }))) }
        return .object(fields)
    }
}

// MARK: - Tables

/// The human-readable report: ncf's figures, the side-by-side comparison, and the losses.
struct Report {
    var results: [ConfigResult]
    var settings: RunSettings
    var peakGFLOPS: Double
    var optimizers: [OptimizerKind]
    var impls: [ReferenceImpl]
    /// A run that got less than this share of a core during its timed epochs is flagged: it waited
    /// for the CPU and its wall-clock rate understates it.
    static let cpuShareThreshold = 0.9

    static func flag(_ share: Double?) -> String {
        guard let share, share.isFinite else { return "" }
        return share < cpuShareThreshold ? " *" : ""
    }

    /// ncf's own figures, one row per configuration and optimizer.
    func ncfTable() -> String {
        var table = TextTable(headers: [
            "config", "optimizer", "samples/s", "samples/cpu-s", "µs/step", "FLOP/sample", "GFLOP/s", "% peak",
            "epoch s", "prep s", "final loss", "VmHWM MB", "cpu/wall", "others busy",
        ], leftAligned: [0, 1])
        for result in results {
            for kind in optimizers {
                guard let run = result.representative(kind), let rate = result.rate(kind) else { continue }
                let gflops = Double(result.flopsPerSample) * rate / 1e9
                let busy = run.foreignCores.max() ?? 0
                table.add([
                    result.config.description, "\(kind.rawValue) (\(kind.benchLabel))", Fmt.grouped(rate),
                    result.cpuRate(kind).map(Fmt.grouped) ?? "—", Fmt.sig3(run.microsecondsPerStep), Fmt.grouped(result.flopsPerSample), Fmt.sig3(gflops),
                    Fmt.fixed(100 * gflops / peakGFLOPS, 2), Fmt.seconds(run.medianEpochSeconds),
                    Fmt.seconds(median(run.prepSeconds)), Fmt.fixed(run.epochLosses.last ?? .nan, 4),
                    Fmt.fixed(Double(run.peakResidentBytes) / 1_048_576, 0),
                    Fmt.fixed(run.cpuShare, 2) + Self.flag(run.cpuShare), Fmt.fixed(busy, 2),
                ])
            }
        }
        return table.render()
    }

    /// Samples per second side by side, and ncf's ratio to each reference.
    func comparisonTable() -> String {
        var headers = ["config"]
        headers += optimizers.map { "ncf \($0.rawValue)" }
        headers += impls.map(\.rawValue)
        for kind in optimizers {
            for impl in impls { headers.append("\(kind.rawValue)/\(impl.rawValue)") }
        }
        headers.append("others busy")
        var table = TextTable(headers: headers)
        for result in results {
            var row = [result.config.description]
            row += optimizers.map { result.rate($0).map(Fmt.grouped) ?? "—" }
            row += impls.map { result.rate($0).map(Fmt.grouped) ?? "failed" }
            for kind in optimizers {
                for impl in impls {
                    if let a = result.rate(kind), let b = result.rate(impl) { row.append(Fmt.ratio(a / b)) } else { row.append("—") }
                }
            }
            var busy = optimizers.compactMap { result.representative($0)?.foreignCores.max() }
            busy += impls.compactMap { result.representative($0)?.foreignCoresMax }
            var shares = optimizers.compactMap { result.representative($0)?.cpuShare }
            shares += impls.compactMap { result.representative($0)?.cpuShare }
            row.append(Fmt.fixed(busy.max() ?? 0, 2) + Self.flag(shares.min()))
            table.add(row)
        }
        return table.render()
    }

    /// The same ratios computed from samples per CPU-second of each trainer's own process.
    func cpuRatioTable() -> String {
        var headers = ["config"]
        for kind in optimizers {
            for impl in impls { headers.append("\(kind.rawValue)/\(impl.rawValue) cpu") }
        }
        var table = TextTable(headers: headers)
        for result in results {
            var row = [result.config.description]
            for kind in optimizers {
                for impl in impls {
                    if let a = result.cpuRate(kind), let b = result.cpuRate(impl) { row.append(Fmt.ratio(a / b)) } else { row.append("—") }
                }
            }
            table.add(row)
        }
        return table.render()
    }

    /// First (warm-up) and last epoch's mean training loss of every trainer.
    func lossTable() -> String {
        var headers = ["config"]
        headers += optimizers.map { "ncf \($0.rawValue)" }
        headers += impls.map(\.rawValue)
        var table = TextTable(headers: headers)
        func cell(_ losses: [Double]) -> String {
            guard let first = losses.first, let last = losses.last else { return "—" }
            return "\(Fmt.fixed(first, 4)) → \(Fmt.fixed(last, 4))"
        }
        for result in results {
            var row = [result.config.description]
            row += optimizers.map { result.representative($0).map { cell($0.epochLosses) } ?? "—" }
            row += impls.map { result.representative($0).map { cell($0.epochLosses) } ?? "—" }
            table.add(row)
        }
        return table.render()
    }

    /// Reference details: µs per step, epoch preparation, peak memory.
    func referenceDetailTable() -> String {
        var table = TextTable(headers: ["config", "trainer", "samples/s", "samples/cpu-s", "µs/step", "epoch s", "prep s", "peak RSS MB", "process s"],
                              leftAligned: [0, 1])
        for result in results {
            for impl in impls {
                guard let run = result.representative(impl), let rate = result.rate(impl) else { continue }
                table.add([
                    result.config.description, "\(impl.rawValue) (\(impl.optimizerLabel))", Fmt.grouped(rate),
                    result.cpuRate(impl).map(Fmt.grouped) ?? "—", run.microsecondsPerStep.map(Fmt.sig3) ?? "—", run.medianEpochSeconds.map(Fmt.seconds) ?? "—",
                    run.negSamplingSeconds.map(Fmt.seconds) ?? "—", run.peakRSSMB.map { Fmt.fixed($0, 0) } ?? "—",
                    Fmt.fixed(run.processSeconds, 1),
                ])
            }
        }
        return table.render()
    }
}
