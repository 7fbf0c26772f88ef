import ArgumentParser
import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFRunContract
import NCFSweep
import NCFTraining

/// `ncf train`: train one model, report validation metrics every epoch and test metrics once.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train one model (the default subcommand).",
        discussion: """
            Prints a line per epoch (Train Loss, Valid Loss and the validation metrics), then the \
            held-out test metrics of the best epoch: the best --select_metric (default: lowest Valid \
            Loss for ratings, highest Valid HR@K for implicit data). Ctrl-C finishes early and still \
            evaluates the best epoch; a second Ctrl-C stops at once. Exit status 0 when done, 4 when \
            the loss diverged, 130/143 after Ctrl-C/SIGTERM, 1 for any other error.
            """)

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model and training") var model: ModelOptions

    @Option(name: .customLong("save"), help: ArgumentHelp("Write the trained model (best epoch) to this file.", valueName: "path"))
    var save: String?

    @Flag(name: .customLong("json"), help: "Write JSON Lines to stdout (the run's config, one object per epoch, then a summary); human output goes to stderr.")
    var json = false

    func run() throws {
        let console = Console(json: json)
        let config = model.trainConfig
        let source = try data.source(lossNegatives: config.negatives)
        if let save { try checkWritable(save) }
        // A file-size limit or a full disk fails the model write with a message (the previous
        // model file is kept), instead of SIGXFSZ killing the process.
        signal(SIGXFSZ, SIG_IGN)

        let cpus = ProcessInfo.processInfo.activeProcessorCount
        if config.threads > cpus {
            FileHandle.standardError.write(Data(("warning: --threads \(config.threads) on \(cpus) CPU\(cpus == 1 ? "" : "s"): the threads meet twice per mini-batch, "
                + "so each step waits for a thread without a core; this trains slower than --threads \(cpus)\n").utf8))
        }
        // The data's SHA-256 for the config record, computed on another core while the file is read.
        let fingerprint = DataFingerprint.Pending(path: source.path)
        let loadStart = Date()
        let (dataset, format) = try loadDataset(source) { console.say($0) }
        console.say("data: \(source.path) (\(format.rawValue), read and split in \(fixed(Date().timeIntervalSince(loadStart), 2))s)")
        for note in dataset.notes { console.say("  \(note)") }

        // Refuse a model that cannot fit before allocating any of it.
        let estimate = config.memoryEstimate(dataset: dataset)
        let available = availableMemoryBytes()
        if estimate.totalBytes > available.bytes {
            throw CLIError(message: "this model would need \(formatBytes(estimate.totalBytes)) of memory (\(estimate.breakdown)), "
                + "more than the \(formatBytes(available.bytes)) of \(available.source). "
                + "Hint: lower --embed_dim (now \(config.embed_dim); e.g. 32), --mlp_dims or --batch_size.")
        }

        let trainer: Trainer
        do { trainer = try Trainer(config: config, dataset: dataset) } catch { throw CLIError(error) }
        console.emit(RunLogRecord.config(runConfigRecord(config: config, selection: trainer.selection, source: source,
                                                                      fingerprint: fingerprint.value)).line)
        let mc = trainer.model.config
        let shape = [mc.kind == .mf ? "biased dot product \(mc.embedDim)" : mc.kind.usesGMF ? "GMF \(mc.embedDim)" : nil,
                     mc.kind.usesMLP ? "MLP \(2 * mc.embedDim)→\(mc.mlpDims.map(String.init).joined(separator: "→"))" : nil]
            .compactMap { $0 }.joined(separator: " + ")
        console.say("model: \(mc.kind.rawValue) (\(shape)), \(grouped(trainer.model.layout.totalCount)) parameters; "
            + "\(dataset.task.rawValue) task, \(config.optimizer.rawValue) lr \(significant(config.lr)), batch \(config.batch_size), seed \(config.seed); "
            + "keeps the epoch with the \(trainer.selection.goal == .minimize ? "lowest" : "highest") \(trainer.selection.metric)")
        if let p = config.pretrained {
            console.say("pre-trained: GMF branch from \(p.gmfPath), MLP branch from \(p.mlpPath), output layer [\(significant(p.alpha))·h_GMF ; \(significant(1 - p.alpha))·h_MLP]")
        }

        Interrupts.install()
        defer { Interrupts.uninstall() }
        let summary: TrainSummary
        do {
            summary = try trainer.run { event in
                report(event, console: console, epochs: config.epochs, dataFingerprint: fingerprint.value?.digest)
                return Interrupts.requested ? .stop : .proceed
            }
        } catch TrainingError.nonFiniteLoss(let epoch, let step, let value) {
            console.clearBar()
            FileHandle.standardError.write(Data("Error: \(RunExitCode.divergenceMessage(epoch: epoch, step: step, value: value))\n".utf8))
            throw ExitCode(RunExitCode.diverged)
        } catch {
            console.clearBar()
            throw CLIError(error)
        }

        if let save {
            try saveModel(trainer: trainer, source: source, summary: summary, to: save)
            console.say("saved model to \(save)")
        }
        if Interrupts.requested { throw ExitCode(128 + Interrupts.firstSignal) }
    }

    /// - Parameter dataFingerprint: the data's, for the summary record (as in the config record).
    private func report(_ event: TrainingEvent, console: Console, epochs: Int, dataFingerprint: String?) {
        switch event {
        case .started:
            break
        case let .progress(epoch, step, steps, seconds, loss):
            let done = Double(step) * Double(model.batchSize)
            console.progress(epoch: epoch, epochs: epochs, step: step, steps: steps, seconds: seconds,
                             samplesPerSecond: done / max(seconds, 1e-9), loss: loss)
        case let .epochEnded(record):
            let width = String(epochs).count
            let num = String(repeating: " ", count: width - String(record.epoch).count) + String(record.epoch)
            let metrics = record.metrics.map { "\($0.name) \(fixed($0.value, 4))" }.joined(separator: "  ")
            if record.epoch == 0 {
                console.say("epoch \(num)/\(epochs)  \(metrics)  (the pre-trained start, before training)")
            } else {
                console.say("epoch \(num)/\(epochs)  \(metrics)  \(fixed(record.seconds, 2))s  \(rate(record.samplesPerSecond)) samples/s")
            }
            console.emit(RunLogRecord.epoch(EpochLine(epoch: record.epoch, metrics: record.metrics.named, seconds: record.seconds,
                                                      samplesPerSecond: record.samplesPerSecond)).line)
        case let .finished(summary):
            if Interrupts.requested { console.say("interrupted: evaluating the best epoch so far") }
            if summary.stoppedEarly && !Interrupts.requested {
                console.say("early stop after epoch \(summary.epochsRun): no better \(summary.selectMetric) for \(model.patience) epochs")
            }
            let valid = summary.validMetrics[metric: summary.selectMetric].map { fixed($0, 4) } ?? "n/a"
            console.say("best epoch \(summary.bestEpoch)\(summary.bestEpoch == 0 && model.trainConfig.pretrained != nil ? ", the pre-trained start" : "") (\(summary.selectMetric) \(valid)); test metrics of that epoch:")
            let test = summary.testMetrics.map { "\($0.name) \(fixed($0.value, 4))" }.joined(separator: "  ")
            console.say(console.bold("  " + (test.isEmpty ? "no test data" : test)))
            console.say("  protocol: \(summary.protocolDescription)")
            console.say("  \(fixed(summary.trainSeconds, 2))s training, \(rate(summary.samplesPerSecond)) samples/s, peak memory \(formatBytes(summary.peakMemoryBytes))")
            let blas = BLASCore.status
            console.say("  \(blas.summary)")
            if let hint = blas.decision.hint { console.say("  note: \(hint)") }
            console.emit(RunLogRecord.summary(RunSummaryRecord(
                testMetrics: summary.testMetrics.named, validMetrics: summary.validMetrics.named, bestEpoch: summary.bestEpoch,
                epochsRun: summary.epochsRun, stoppedEarly: summary.stoppedEarly, selectMetric: summary.selectMetric,
                selectGoal: summary.selectGoal, protocolDescription: summary.protocolDescription, trainSeconds: summary.trainSeconds,
                samplesPerSecond: summary.samplesPerSecond, peakMemoryBytes: summary.peakMemoryBytes,
                blasCore: blas.core, cpu: blas.cpu.model, dataFingerprint: dataFingerprint)).line)
        }
    }
}

/// The run's first JSON line: every option by its flag name (the selection as resolved for the
/// data's task), the data (path, format, content fingerprint), the seed and ncf's version.
func runConfigRecord(config: TrainConfig, selection: (metric: MetricName, goal: MetricGoal), source: DataSource,
                     fingerprint: DataFingerprint? = nil) -> RunConfigRecord {
    let split = source.split
    var parameters: [(key: String, value: JSONValue)] = [
        ("model", .string(config.model.rawValue)), ("lr", .double(config.lr)), ("batch_size", .int(config.batch_size)),
        ("embed_dim", .int(config.embed_dim)), ("mlp_dims", .string(config.mlp_dims.map(String.init).joined(separator: ","))),
        ("epochs", .int(config.epochs)), ("dropout", .double(config.dropout)), ("optimizer", .string(config.optimizer.rawValue)),
        ("weight_decay", .double(config.weight_decay)), ("embed_l2", .double(config.embed_l2)), ("lr_decay", .double(config.lr_decay)),
        ("init_std", .double(config.init_std)), ("embed_dropout", .double(config.embed_dropout)),
        ("negatives", .int(config.negatives)), ("topk", .int(config.topk)),
        ("patience", .int(config.patience)), ("threads", .int(config.threads)),
        ("select_metric", .string(selection.metric.description)), ("select_goal", .string(selection.goal.rawValue)),
        ("task", .string(split.task.rawValue)), ("split", .string(split.kind.rawValue)),
        ("valid_ratio", .double(split.validRatio)), ("test_ratio", .double(split.testRatio)),
        ("split_seed", split.seed <= UInt64(Int.max) ? .int(Int(split.seed)) : .double(Double(split.seed))),
        ("eval_negatives", .string(split.evalNegatives.description)),
        ("format", .string(source.format.rawValue)), ("skip_bad_lines", .bool(source.skipBadLines)),
    ]
    if let columns = source.columns { parameters.append(("columns", .string(columns))) }
    if let g = config.init_gmf, let m = config.init_mlp {
        parameters += [("init_gmf", .string(g)), ("init_mlp", .string(m)), ("alpha", .double(config.alpha))]
    }
    let data = DataRecord(path: source.path, format: source.format.rawValue,
                          fingerprint: (fingerprint ?? DataFingerprint.of(path: source.path))?.digest)
    return RunConfigRecord(parameters: parameters, seed: config.seed, data: data, version: NCFVersion.string)
}

/// Fails before training when the model could not be written: a missing or read-only directory
/// (or read-only file system), or a path that is a directory.
///
/// The model is written to `PATH.tmp-PID` beside `PATH` and renamed over it, so what matters is
/// that the directory is writable.
func checkWritable(_ path: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw CLIError(message: "--save \(path): the directory \(dir) does not exist. Hint: create it first.")
    }
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw CLIError(message: "--save \(path): this is a directory. Hint: name the model file, e.g. --save \(path)/model.ncf.")
    }
    guard access(dir, W_OK) == 0 else {
        let reason = String(cString: strerror(errno))
        throw CLIError(message: "--save \(path): the directory \(dir) is not writable (\(reason)), so the model could not be saved; nothing was trained. Hint: choose a path in a writable directory.")
    }
}

/// Memory the process may use: the smaller of the machine's physical memory and the cgroup
/// limit (`/sys/fs/cgroup/memory.max`, in a container), with where the number comes from.
func availableMemoryBytes() -> (bytes: Int, source: String) {
    var best = (bytes: Int(clamping: ProcessInfo.processInfo.physicalMemory), source: "physical memory on this machine")
    #if os(Linux)
    for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
        if let text = try? String(contentsOfFile: file, encoding: .utf8),
           let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0, limit < best.bytes {
            best = (limit, "memory allowed by this container's limit (\(file))")
        }
    }
    #endif
    return best
}

/// The second SIGINT/SIGTERM exits at once; the first asks the training loop to stop after the
/// current step and evaluate the best epoch (the exit code is then 128 + the first signal:
/// 130 for Ctrl-C, 143 for SIGTERM).
enum Interrupts {
    nonisolated(unsafe) private static var count: Int32 = 0
    nonisolated(unsafe) private(set) static var firstSignal: Int32 = SIGINT

    static var requested: Bool { count > 0 }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            Interrupts.count += 1
            if Interrupts.count == 1 { Interrupts.firstSignal = sig }
            if Interrupts.count > 1 { _exit(128 + sig) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    static func uninstall() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
