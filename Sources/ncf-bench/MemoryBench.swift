// `ncf-bench memory`: where a training run's memory goes. Replays what `ncf train` does on the NCF
// ML-1M files (read, split, build the trainer, one epoch, evaluate) and prints the resident set
// (VmRSS) and its peak (VmHWM) after each stage, so a change in peak memory can be traced to a stage.

import ArgumentParser
import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFTraining

struct MemoryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Print resident memory after each stage of one NCF ML-1M training epoch.",
        discussion: """
            Stages: process start, read the files, split, build the trainer (model, optimizer, \
            sampler, evaluators), train one epoch with validation, test. The model is the NCF \
            paper's (batch 256, embed 32, MLP 64,32,16, 4 negatives). Example:
              ncf-bench memory --eval_negatives all
            """
    )

    @Option(name: .customLong("prefix"), help: ArgumentHelp("The NCF files' prefix.", valueName: "prefix"))
    var prefix = "../shared/data/ncf-ml-1m/ml-1m"

    @Option(name: [.customLong("eval_negatives"), .customLong("eval-negatives")], help: ArgumentHelp(
        "99 (the file's negatives) or all (full ranking).", valueName: "N|all"))
    var evalNegatives = "99"

    func run() throws {
        var lines: [String] = []
        func stage(_ name: String) {
            let (rss, hwm) = Self.residentKB()
            lines.append(name.padding(toLength: 34, withPad: " ", startingAt: 0)
                         + String(format: "VmRSS %7.1f MB   VmHWM %7.1f MB", Double(rss) / 1024, Double(hwm) / 1024))
            FileHandle.standardError.write(Data((lines.last! + "\n").utf8))
        }
        for line in machineLines() { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        stage("start")
        let files = try RatingsReader.readNCF(prefix: prefix, options: LoadOptions(format: .ncf))
        stage("files read")
        guard let negatives = EvalNegatives(argument: evalNegatives) else {
            throw BenchError.badFlag("--eval_negatives \(evalNegatives)", "use a positive count or all.")
        }
        let options = SplitOptions(kind: .ncf, task: .implicit, seed: 0, evalNegatives: negatives, lossNegatives: 4)
        var dataset: Dataset? = try DatasetBuilder.make(from: files, options: options)
        stage("dataset split (files still held)")
        var config = TrainConfig()
        config.batch_size = 256
        config.embed_dim = 32
        config.mlp_dims = [64, 32, 16]
        config.epochs = 1
        let trainer = try Trainer(config: config, dataset: dataset!)
        dataset = nil
        stage("trainer built")
        _ = try trainer.run { event in
            switch event {
            case .started: stage("first epoch sampled")
            case .epochEnded: stage("epoch trained and validated")
            default: break
            }
            return .proceed
        }
        stage("test evaluated")
    }

    /// (VmRSS, VmHWM) in KiB from /proc/self/status; zeros elsewhere.
    static func residentKB() -> (Int, Int) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        var rss = 0, hwm = 0
        for line in text.split(separator: "\n") {
            if line.hasPrefix("VmRSS:") { rss = Int(line.filter(\.isNumber)) ?? 0 }
            if line.hasPrefix("VmHWM:") { hwm = Int(line.filter(\.isNumber)) ?? 0 }
        }
        return (rss, hwm)
    }
}
