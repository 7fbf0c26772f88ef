import Foundation
import NCFData
import NCFModel

// MARK: - One benchmark configuration

/// One row of the benchmark: batch size, embedding width, MLP tower and task.
///
/// Written on the command line as `B:D:DIMS[:implicit]`, e.g. `64:8:16,16` (explicit ratings) or
/// `256:32:64,32,16:implicit` (implicit feedback with sampled negatives).
struct BenchConfig: Sendable, Equatable, CustomStringConvertible {
    var batch: Int
    var embedDim: Int
    var mlpDims: [Int]
    var implicit: Bool

    /// The rows measured when no `--config` is given: small and large batches on explicit
    /// ML-100K-sized data, and the NCF paper's implicit ML-1M setting.
    static let defaults: [BenchConfig] = [
        BenchConfig(batch: 32, embedDim: 8, mlpDims: [16, 16], implicit: false),
        BenchConfig(batch: 64, embedDim: 8, mlpDims: [16, 16], implicit: false),
        BenchConfig(batch: 32, embedDim: 32, mlpDims: [32, 64, 128], implicit: false),
        BenchConfig(batch: 128, embedDim: 32, mlpDims: [32, 64, 128], implicit: false),
        BenchConfig(batch: 1024, embedDim: 32, mlpDims: [32, 64, 128], implicit: false),
        BenchConfig(batch: 256, embedDim: 32, mlpDims: [64, 32, 16], implicit: true),
    ]

    init(batch: Int, embedDim: Int, mlpDims: [Int], implicit: Bool) {
        self.batch = batch
        self.embedDim = embedDim
        self.mlpDims = mlpDims
        self.implicit = implicit
    }

    /// Parses `B:D:DIMS[:implicit|explicit]`.
    /// - Throws: `BenchError.badConfig` naming the part that is wrong.
    init(parsing text: String) throws(BenchError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 || parts.count == 4 else {
            throw .badConfig(text, "expected 3 or 4 ':'-separated fields, found \(parts.count)")
        }
        guard let b = Int(parts[0]), b >= 1, b <= 1 << 20 else {
            throw .badConfig(text, "batch size \"\(parts[0])\" must be an integer in 1...1048576")
        }
        guard let d = Int(parts[1]), d >= 1, d <= 4096 else {
            throw .badConfig(text, "embedding size \"\(parts[1])\" must be an integer in 1...4096")
        }
        let dims = parts[2].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 65536 }) else {
            throw .badConfig(text, "MLP sizes \"\(parts[2])\" must be comma-separated integers in 1...65536")
        }
        var implicit = false
        if parts.count == 4 {
            switch parts[3].lowercased() {
            case "implicit": implicit = true
            case "explicit", "rating": implicit = false
            default: throw .badConfig(text, "task \"\(parts[3])\" must be implicit or explicit")
            }
        }
        self.init(batch: b, embedDim: d, mlpDims: dims.map { $0! }, implicit: implicit)
    }

    var task: Task { implicit ? .implicit : .rating }
    /// The references' spelling of the task.
    var referenceTask: String { implicit ? "implicit" : "explicit" }
    var mlpText: String { mlpDims.map(String.init).joined(separator: ",") }

    /// `b64 d8 16,16 explicit`.
    var description: String { "b\(batch) d\(embedDim) \(mlpText) \(referenceTask)" }

    /// The NeuMF shape this row trains on a data set of the given size.
    func modelConfig(numUsers: Int, numItems: Int, dropout: Double) -> ModelConfig {
        ModelConfig(kind: .neumf, task: task, numUsers: numUsers, numItems: numItems,
                    embedDim: embedDim, mlpDims: mlpDims, dropout: Float(dropout))
    }
}

// MARK: - Errors

/// What can go wrong in a benchmark run; each message names the flag, file or script and ends
/// with what to do.
enum BenchError: Error, CustomStringConvertible, LocalizedError {
    case badConfig(String, String)
    case badFlag(String, String)
    case data(String, String)
    case referenceFailed(script: String, status: Int32, stderrTail: String, command: String)
    case referenceOutput(script: String, stdoutTail: String)
    case referenceTimeout(script: String, seconds: Double)

    var description: String {
        switch self {
        case .badConfig(let text, let reason):
            return "--config \(text): \(reason). Hint: write B:D:DIMS[:implicit], e.g. --config 64:8:16,16 or --config 256:32:64,32,16:implicit."
        case .badFlag(let flag, let reason):
            return "\(flag): \(reason)"
        case .data(let path, let reason):
            return "\(path): \(reason)"
        case .referenceFailed(let script, let status, let tail, let command):
            return "\(script) exited with status \(status).\n--- its last stderr lines ---\n\(tail)\n---\nCommand: \(command)\n"
                + "Hint: run the command by hand; check --python (the venv needs torch, numpy and threadpoolctl) and --bench_dir."
        case .referenceOutput(let script, let tail):
            return "\(script) printed no JSON object with \"samples_per_s\" on stdout; its output ended with:\n\(tail)\n"
                + "Hint: run it by hand to see what it prints; ncf-bench expects the bench README's one-JSON-line format."
        case .referenceTimeout(let script, let seconds):
            return "\(script) ran longer than \(Int(seconds)) s and was stopped. Hint: lower --max_steps/--epochs or raise --timeout."
        }
    }

    var errorDescription: String? { description }
}
