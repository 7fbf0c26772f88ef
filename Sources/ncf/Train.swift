import ArgumentParser
import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFTraining

/// `ncf train`: train one model, report validation metrics every epoch and test metrics once.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model (the default subcommand).",
        discussion: """
            Prints a line per epoch (Train Loss, Valid Loss and the validation metrics), then the \
            held-out test metrics of the best epoch (lowest Valid Loss). Ctrl-C finishes early and \
            still evaluates the best epoch; a second Ctrl-C stops at once.
            """)

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model and training") var model: ModelOptions

    @Option(name: .customLong("save"), help: ArgumentHelp("Write the trained model (best epoch) to this file.", valueName: "path"))
    var save: String?

    @Flag(name: .customLong("json"), help: "Write JSON Lines to stdout (one object per epoch, then a summary); human output goes to stderr.")
    var json = false

    func run() throws {
        let console = Console(json: json)
        let config = model.trainConfig
        let source = try data.source(lossNegatives: config.negatives)
        if let save { try checkWritable(save) }
        // A file-size limit or a full disk fails the model write with a message (the previous
        // model file is kept), instead of SIGXFSZ killing the process.
        signal(SIGXFSZ, SIG_IGN)

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
        let mc = trainer.model.config
        let shape = [mc.kind.usesGMF ? "GMF \(mc.embedDim)" : nil,
                     mc.kind.usesMLP ? "MLP \(2 * mc.embedDim)→\(mc.mlpDims.map(String.init).joined(separator: "→"))" : nil]
            .compactMap { $0 }.joined(separator: " + ")
        console.say("model: \(mc.kind.rawValue) (\(shape)), \(grouped(trainer.model.layout.totalCount)) parameters; "
            + "\(dataset.task.rawValue) task, \(config.optimizer.rawValue) lr \(config.lr), batch \(config.batch_size), seed \(config.seed)")

        Interrupts.install()
        defer { Interrupts.uninstall() }
        let summary: TrainSummary
        do {
            summary = try trainer.run { event in
                report(event, console: console, epochs: config.epochs)
                return Interrupts.requested ? .stop : .proceed
            }
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

    private func report(_ event: TrainingEvent, console: Console, epochs: Int) {
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
            console.say("epoch \(num)/\(epochs)  \(metrics)  \(fixed(record.seconds, 2))s  \(rate(record.samplesPerSecond)) samples/s")
            var o = JSONObject()
            o.add("epoch", record.epoch)
            for m in record.metrics { o.add(m.name, m.value) }
            o.add("seconds", record.seconds)
            o.add("samples_per_second", record.samplesPerSecond)
            console.emit(o.text)
        case let .finished(summary):
            if Interrupts.requested { console.say("interrupted: evaluating the best epoch so far") }
            if summary.stoppedEarly && !Interrupts.requested {
                console.say("early stop after epoch \(summary.epochsRun): no better Valid Loss for \(model.patience) epochs")
            }
            let valid = summary.validMetrics[metric: "Valid Loss"].map { fixed($0, 4) } ?? "n/a"
            console.say("best epoch \(summary.bestEpoch) (Valid Loss \(valid)); test metrics of that epoch:")
            let test = summary.testMetrics.map { "\($0.name) \(fixed($0.value, 4))" }.joined(separator: "  ")
            console.say(console.bold("  " + (test.isEmpty ? "no test data" : test)))
            console.say("  protocol: \(summary.protocolDescription)")
            console.say("  \(fixed(summary.trainSeconds, 2))s training, \(rate(summary.samplesPerSecond)) samples/s, peak memory \(formatBytes(summary.peakMemoryBytes))")
            let blas = BLASCore.status
            console.say("  \(blas.summary)")
            if let hint = blas.decision.hint { console.say("  note: \(hint)") }
            var s = JSONObject()
            for m in summary.testMetrics { s.add(m.name, m.value) }
            for m in summary.validMetrics { s.add(m.name, m.value) }
            s.add("best_epoch", summary.bestEpoch)
            s.add("epochs_run", summary.epochsRun)
            s.add("stopped_early", summary.stoppedEarly)
            s.add("protocol", summary.protocolDescription)
            s.add("train_seconds", summary.trainSeconds)
            s.add("samples_per_second", summary.samplesPerSecond)
            s.add("peak_memory_bytes", summary.peakMemoryBytes)
            s.add("blas_core", blas.core)
            s.add("cpu", blas.cpu.model)
            var o = JSONObject()
            o.add("summary", object: s)
            console.emit(o.text)
        }
    }
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
