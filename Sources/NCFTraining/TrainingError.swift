import Foundation
import NCFRunContract

/// Errors that end a training run. Each message says what happened and what to try.
public enum TrainingError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// The loss became NaN or infinite; a sweep counts the run as failed.
    case nonFiniteLoss(epoch: Int, step: Int, value: Double)
    /// The configuration's values are unusable (each problem is one line).
    case invalidConfig([String])
    /// The model would not fit in memory.
    case tooLarge(bytes: Int, limit: Int)
    /// Nothing to train on or to evaluate.
    case emptyData(String)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(epoch, step, value):
            return RunExitCode.divergenceMessage(epoch: epoch, step: step, value: value)
        case let .invalidConfig(problems):
            return problems.joined(separator: "\n")
        case let .tooLarge(bytes, limit):
            return "the model needs \(formatBytes(bytes)) (parameters, gradients and optimizer state), "
                + "more than the \(formatBytes(limit)) allowed. Hint: lower --embed_dim or --mlp_dims."
        case let .emptyData(what):
            return what
        }
    }

    public var errorDescription: String? { description }
}

/// `1.5 GB`, `12.0 MB`, `300 kB`.
public func formatBytes(_ n: Int) -> String {
    let d = Double(n)
    if d >= 1e9 { return String(format: "%.1f GB", d / 1e9) }
    if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
    if d >= 1e3 { return String(format: "%.0f kB", d / 1e3) }
    return "\(n) B"
}

/// The process's peak resident memory (VmHWM on Linux), in bytes; 0 where unknown.
public func peakResidentBytes() -> Int {
    #if os(Linux)
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.filter(\.isNumber)
        return (Int(digits) ?? 0) * 1024
    }
    return 0
    #else
    return 0
    #endif
}
