// `ncf-bench scale`: how ncf's time and memory grow with the data. For ncf's synthetic ratings in the
// shapes of MovieLens 100K, 1M, 10M and 20M it prints, per size: reading the file, its SHA-256
// fingerprint, the split, one training epoch, a full-ranking evaluation of every user, and the peak
// resident memory of loading and of training.
//
// Each size runs in a fresh child process (`--worker FILE`), so every peak is that size's own and
// no size inherits another's heap. The files are written once into --dir and reused.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFRunContract
import NCFTraining

struct ScaleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Time and memory of reading, splitting, one epoch and full-ranking evaluation at 100k, 1M, 10M and 20M ratings.",
        discussion: """
            Data: ncf's synthetic ratings (`ncf data synth`) in MovieLens shapes: 100k = 943 × 1,682, \
            1M = 6,040 × 3,706, 10M = 69,878 × 10,677, 20M = 138,000 × 27,000 users × items, written \
            into --dir once (20M is a 475 MB file) and reused. Each size runs in its own process: read \
            the file, its SHA-256 (the fingerprint `ncf train` records), the rating task's random \
            80/10/10 split, one epoch of the default NeuMF at --batch_size (with the Valid and Test \
            RMSE that `ncf train` computes), then HR@10 by full ranking: every user with a test rating \
            against every item not in their train set, on --scale_threads threads. Peaks are the process's \
            resident set (VmHWM) up to the end of the split and, reset there, during training and \
            evaluation. Examples:
              ncf-bench scale
              ncf-bench scale --max 1M
              ncf-bench scale --eval_max 10M --scale_threads 1
            """)

    @Option(name: .customLong("max"), help: ArgumentHelp("The largest size to run: 100k, 1M, 10M or 20M.", valueName: "size"))
    var max = "20M"

    // Not --threads: the parser gives a parent command's option names to the parent.
    @Option(name: [.customLong("scale_threads"), .customLong("scale-threads")], help: ArgumentHelp(
        "Threads for training (--threads of ncf train) and for the evaluation.", valueName: "n"))
    var threads = 2

    @Option(name: [.customLong("batch_size"), .customLong("batch-size")], help: ArgumentHelp("Training batch size.", valueName: "n"))
    var batchSize = 1024

    @Option(name: .customLong("dir"), help: ArgumentHelp("Where the synthetic files are written and reused.", valueName: "path"))
    var dir = "/tmp/ncf-scale"

    @Option(name: [.customLong("eval_max"), .customLong("eval-max")], help: ArgumentHelp(
        "Run the full-ranking evaluation only up to this size (it grows with users × items: 3.7G pairs at 20M); 0 leaves it out.",
        valueName: "size"))
    var evalMax = "20M"

    @Flag(name: [.customLong("skip_eval"), .customLong("skip-eval")], help: .hidden)
    var skipEval = false

    /// The worker stops after the split (to time the data stages alone).
    @Flag(name: [.customLong("data_only"), .customLong("data-only")], help: .hidden)
    var dataOnly = false

    @Flag(name: .customLong("jsonl"), help: ArgumentHelp("Also print one JSON object per size on stdout (the table goes to stderr)."))
    var json = false

    @Option(name: .customLong("worker"), help: .hidden)
    var worker: String?

    /// (ratings, users, items): MovieLens 100K, 1M, 10M and 20M's shapes (20M rounded as in issue 14).
    static let shapes: [(ratings: Int, users: Int, items: Int)] = [
        (100_000, 943, 1682), (1_000_000, 6040, 3706), (10_000_000, 69878, 10677), (20_000_000, 138_000, 27000),
    ]

    static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("k"), let n = Int(t.dropLast()) { return n * 1000 }
        if t.hasSuffix("m"), let n = Int(t.dropLast()) { return n * 1_000_000 }
        return Int(t)
    }

    mutating func validate() throws {
        guard let limit = Self.parseSize(max), limit >= Self.shapes[0].ratings else {
            throw ValidationError("--max \(max): give one of 100k, 1M, 10M, 20M (or a number of ratings ≥ 100000)")
        }
        _ = limit
        if evalMax != "0" && Self.parseSize(evalMax) == nil {
            throw ValidationError("--eval_max \(evalMax): give a size such as 1M, or 0")
        }
        if threads < 1 || threads > 256 { throw ValidationError("--scale_threads \(threads): must be 1...256") }
        if batchSize < 1 { throw ValidationError("--batch_size \(batchSize): must be at least 1") }
    }

    func run() throws {
        if let worker {
            print(try Self.measure(path: worker, threads: threads, batchSize: batchSize, evaluate: !skipEval,
                                   train: !dataOnly).rendered)
            return
        }
        let console = Console(jsonMode: json)
        let limit = Self.parseSize(max) ?? 0
        for line in machineLines() { console.human(line) }
        console.human("scale: synthetic MovieLens-shaped ratings in \(dir); rating task, random 80/10/10 split, NeuMF d32 MLP 64,32,16, "
                      + "batch \(batchSize), \(threads) thread\(threads == 1 ? "" : "s"); each size in its own process")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rows: [[String]] = []
        for shape in Self.shapes where shape.ratings <= limit {
            let path = "\(dir)/synth-\(shape.ratings)-\(shape.users)x\(shape.items)-seed42.tsv"
            if !FileManager.default.fileExists(atPath: path) {
                console.progress("writing \(path) …")
                let data = SyntheticRatings.generate(users: shape.users, items: shape.items, ratings: shape.ratings, seed: 42)
                try SyntheticRatings.tsv(data).write(toFile: path, atomically: true, encoding: .utf8)
            }
            console.progress("measuring \(Self.label(shape.ratings)) …")
            let evaluate = evalMax != "0" && shape.ratings <= (Self.parseSize(evalMax) ?? 0)
            let result = try runWorker(path: path, evaluate: evaluate)
            if json { console.json(result) }
            rows.append(Self.row(result, label: Self.label(shape.ratings)))
            console.progress(rows.last!.joined(separator: "  "))
        }
        let header = ["ratings", "users × items", "file", "read", "sha256", "split", "peak load", "epoch", "samples/s",
                      "full ranking", "pairs/s", "peak train", "cpu/wall", "others"]
        var table = TextTable(headers: header, leftAligned: [0, 1])
        for row in rows { table.add(row) }
        console.human(table.render())
        console.human("Times are wall seconds, with CPU seconds in brackets where they differ by more than 20% "
                      + "(a loaded machine, or more than one thread). "
                      + "read: parse the file into ids and ratings; sha256: the file's fingerprint as ncf train records it; "
                      + "split: random 80/10/10 into train, valid and test; epoch: training only (Valid/Test RMSE "
                      + "not included); full ranking: every user with a test rating × every item; peak load: VmHWM after the "
                      + "split; peak train: VmHWM from the split's end to the end (reset there); cpu/wall: CPU seconds per wall "
                      + "second over the whole size; others: cores other processes kept busy meanwhile (0 = idle machine).")
    }

    static func label(_ ratings: Int) -> String {
        ratings >= 1_000_000 ? "\(ratings / 1_000_000)M" : "\(ratings / 1000)k"
    }

    /// Runs `ncf-bench scale --worker path` and returns its JSON line.
    private func runWorker(path: String, evaluate: Bool) throws -> JSONValue {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["scale", "--worker", path, "--scale_threads", String(threads), "--batch_size", String(batchSize)]
            + (evaluate ? [] : ["--skip_eval"])
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: bytes, as: UTF8.self)
        guard process.terminationStatus == 0,
              let value = text.split(separator: "\n").reversed().lazy.compactMap({ JSONValue.parse(String($0)) }).first else {
            throw BenchError.data(path, "the worker exited with status \(process.terminationStatus) and printed \(text.suffix(400))")
        }
        return value
    }

    private static func row(_ r: JSONValue, label: String) -> [String] {
        func d(_ key: String) -> Double { r[key]?.double ?? .nan }
        /// Wall seconds, and CPU seconds in brackets when they differ by more than 20%.
        func s(_ key: String) -> String {
            if d(key).isNaN { return "–" }
            let cpu = d(key.replacingOccurrences(of: "_s", with: "_cpu_s"))
            let wall = String(format: "%.2f s", d(key))
            return cpu.isNaN || abs(cpu - d(key)) <= 0.2 * d(key) ? wall : wall + String(format: " (%.2f)", cpu)
        }
        func mb(_ key: String) -> String { d(key).isNaN ? "–" : String(format: "%.0f MB", d(key) / 1e6) }
        func rate(_ x: Double) -> String {
            if x.isNaN { return "–" }
            return x >= 1e6 ? String(format: "%.2fM", x / 1e6) : String(format: "%.0fk", x / 1e3)
        }
        return [label, "\(Int(d("users"))) × \(Int(d("items")))", mb("file_bytes"), s("read_s"), s("sha256_s"), s("split_s"),
                mb("peak_load_bytes"), s("epoch_s"), rate(d("samples_per_s")), s("eval_s"), rate(d("pairs_per_s")),
                mb("peak_train_bytes"), String(format: "%.2f", d("cpu_share")), String(format: "%.2f", d("foreign_cores"))]
    }

    // MARK: - One size, in the worker process

    /// Reads, fingerprints, splits, trains one epoch and evaluates `path`, as `ncf train` would.
    static func measure(path: String, threads: Int, batchSize: Int, evaluate: Bool, train: Bool = true) throws -> JSONValue {
        var meter = LoadMeter()
        var whole = LoadMeter()
        whole.start()
        var fields: [(String, JSONValue)] = [("bench", .string("scale")), ("data", .string(path))]
        func stage<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            meter.start()
            let value = try body()
            let (wall, cpu, _) = meter.stop()
            fields.append(("\(name)_s", JSONValue.rounded(wall, 3)))
            fields.append(("\(name)_cpu_s", JSONValue.rounded(cpu, 3)))
            return value
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.doubleValue ?? .nan
        fields.append(("file_bytes", .number(size)))

        var file: RatingsFile? = try stage("read") { try RatingsReader.read(path: path) }
        fields.append(("ratings", .number(Double(file!.interactions.count))))
        fields.append(("users", .number(Double(file!.userIDs.count))))
        fields.append(("items", .number(Double(file!.itemIDs.count))))
        let digest = stage("sha256") { DataFingerprint.of(path: path)?.digest }
        fields.append(("sha256", digest.map { .string($0) } ?? .null))
        let options = SplitOptions(kind: .random, task: .rating)
        // As `ncf train` does: the file's rows go to the split, which then owns them.
        let dataset = try stage("split") { try DatasetBuilder.make(from: file.take()!, options: options) }
        fields.append(("peak_load_bytes", .number(Double(peakResidentBytes()))))
        if !train { return .object(fields + machineJSON()) }
        let reset = resetPeakResident()
        fields.append(("peak_reset", .bool(reset)))

        var config = TrainConfig()
        config.batch_size = batchSize
        config.epochs = 1
        config.threads = threads
        let trainer = try Trainer(config: config, dataset: dataset)
        var epochSeconds = Double.nan, samplesPerSecond = Double.nan
        let summary = try stage("train") {
            try trainer.run { event in
                if case let .epochEnded(record) = event {
                    epochSeconds = record.seconds
                    samplesPerSecond = record.samplesPerSecond
                }
                return .proceed
            }
        }
        fields.append(("epoch_s", JSONValue.rounded(epochSeconds, 3)))
        // The epoch's CPU seconds: the training stage's, less its share outside the epoch.
        let trainWall = fields.last { $0.0 == "train_s" }?.1.double ?? .nan
        let trainCPU = fields.last { $0.0 == "train_cpu_s" }?.1.double ?? .nan
        fields.append(("epoch_cpu_s", JSONValue.rounded(trainCPU * epochSeconds / trainWall, 3)))
        fields.append(("samples_per_s", JSONValue.rounded(samplesPerSecond, 0)))
        fields.append(("test_rmse", JSONValue.rounded(summary.testMetrics[metric: MetricName(.test, .rmse)] ?? .nan, 4)))

        if evaluate {
            // Every user with a test rating: one case each (their first test rating), ranked against
            // every item not among their train items.
            var first = [Int32](repeating: -1, count: dataset.numUsers)
            for k in 0..<dataset.test.count where first[Int(dataset.test.users[k])] < 0 {
                first[Int(dataset.test.users[k])] = dataset.test.items[k]
            }
            let users = (0..<Int32(dataset.numUsers)).filter { first[Int($0)] >= 0 }
            let ranking = RankingSet(users: users, positives: users.map { first[Int($0)] },
                                     negativeOffsets: [Int](repeating: 0, count: users.count + 1), negatives: [],
                                     evalNegatives: .all)
            let evaluator = Evaluator(split: .test, pairs: LabeledPairs(), ranking: ranking, dataset: dataset, k: 10)
            evaluator.threads = threads
            let metrics = stage("eval") { evaluator.evaluate(trainer.model) }
            let pairs = Double(users.count) * Double(dataset.numItems)
            fields.append(("eval_users", .number(Double(users.count))))
            fields.append(("pairs_per_s", JSONValue.rounded(pairs / (fields.last { $0.0 == "eval_s" }?.1.double ?? .nan), 0)))
            fields.append(("test_hr10", JSONValue.rounded(metrics[metric: MetricName(.test, .hitRate(k: 10))] ?? .nan, 4)))
        }
        fields.append(("peak_train_bytes", .number(Double(peakResidentBytes()))))
        let (wall, cpu, foreign) = whole.stop()
        fields.append(("cpu_share", JSONValue.rounded(cpu / Swift.max(wall, 1e-9), 3)))
        fields.append(("foreign_cores", JSONValue.rounded(foreign, 2)))
        return .object(fields + machineJSON())
    }
}
