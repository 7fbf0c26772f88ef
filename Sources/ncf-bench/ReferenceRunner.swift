#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// MARK: - The reference trainers

/// A reference trainer from the bench directory, run as a child process.
enum ReferenceImpl: String, Sendable, CaseIterable {
    case torch
    case torchFused = "torch-fused"
    case numpy

    var script: String { self == .numpy ? "numpy_ncf.py" : "torch_ncf.py" }
    var extraArguments: [String] { self == .torchFused ? ["--fused_adam"] : [] }
    /// Variables removed from the child's environment: on this machine they slow the array
    /// trainer's bundled BLAS (see the bench README).
    var unsetVariables: [String] { self == .numpy ? ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] : [] }
    /// The optimizer the script uses, for labels.
    var optimizerLabel: String { self == .torchFused ? "dense Adam, fused" : "dense Adam" }
}

/// What a reference trainer printed (its one JSON line), with the figures the report uses.
struct ReferenceRun: Sendable {
    var impl: ReferenceImpl
    var samplesPerSecond: Double
    /// Samples per second of the script's own CPU time (its `samples_per_cpu_s`; the interpreter's
    /// CPU clock ticks every 10 ms, so short epochs are coarse).
    var samplesPerCPUSecond: Double?
    var microsecondsPerStep: Double?
    var medianEpochSeconds: Double?
    var epochLosses: [Double]
    var negSamplingSeconds: Double?
    var samplesPerEpoch: Int?
    var trainPositives: Int?
    var peakRSSMB: Double?
    var foreignCoresMax: Double?
    /// The trainer's library and version as it reports them (with its BLAS, when it names one).
    var version: String
    /// Own CPU seconds over wall seconds of the median timed epoch (the interpreter's CPU clock is coarse).
    var cpuShare: Double? {
        guard let cpu = raw["epoch_cpu_s"]?.doubles, let wall = raw["epoch_times_s"]?.doubles, !cpu.isEmpty,
              cpu.count == wall.count else { return nil }
        return zip(cpu, wall).map { $0 / max($1, 1e-12) }.min()
    }
    /// The whole JSON object as printed.
    var raw: JSONValue
    /// Wall seconds of the child process, start to exit (imports and data loading included).
    var processSeconds: Double
}

/// Runs the reference trainers with the same data, model and loop flags as ncf's measurement.
struct ReferenceRunner {
    var python: String
    var benchDirectory: URL
    var timeoutSeconds: Double

    /// The command-line flags shared by both scripts for one configuration.
    func arguments(config: BenchConfig, workload: Workload, settings: RunSettings) -> [String] {
        var args = ["--task", config.referenceTask] + workload.referenceDataArgs
        args += ["--batch_size", String(config.batch), "--embed_dim", String(config.embedDim),
                 "--mlp_dims", config.mlpText, "--dropout", String(settings.dropout),
                 "--threads", String(settings.threads), "--epochs", String(settings.epochs),
                 "--warmup_epochs", String(settings.warmupEpochs), "--max_steps", String(settings.maxSteps),
                 "--seed", String(settings.seed), "--lr", String(settings.lr)]
        if config.implicit { args += ["--neg", String(settings.negatives)] }
        return args
    }

    /// Runs one reference trainer to completion and parses its JSON line.
    /// - Throws: `BenchError` when the script fails, times out or prints no result.
    func run(_ impl: ReferenceImpl, config: BenchConfig, workload: Workload, settings: RunSettings,
             scratchDirectory: URL) throws -> ReferenceRun {
        let script = benchDirectory.appendingPathComponent(impl.script).path
        let args = [script] + arguments(config: config, workload: workload, settings: settings) + impl.extraArguments
        let command = ([python] + args).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")

        let outURL = scratchDirectory.appendingPathComponent("\(impl.rawValue).out")
        let errURL = scratchDirectory.appendingPathComponent("\(impl.rawValue).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for name in impl.unsetVariables { environment.removeValue(forKey: name) }
        process.environment = environment
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice

        let start = monotonicSeconds()
        do {
            try process.run()
        } catch {
            throw BenchError.referenceFailed(script: impl.script, status: -1,
                                             stderrTail: "cannot start \(python): \(error.localizedDescription)",
                                             command: command)
        }
        // Poll rather than block, so that a hung child can be stopped.
        while process.isRunning {
            if monotonicSeconds() - start > timeoutSeconds {
                process.terminate()
                process.waitUntilExit()
                throw BenchError.referenceTimeout(script: impl.script, seconds: timeoutSeconds)
            }
            usleep(20_000)
        }
        let elapsed = monotonicSeconds() - start
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        if process.terminationStatus != 0 {
            throw BenchError.referenceFailed(script: impl.script, status: process.terminationStatus,
                                             stderrTail: Self.tail(stderr, lines: 15), command: command)
        }
        let lines = stdout.split(separator: "\n").reversed()
        guard let raw = lines.lazy.compactMap({ JSONValue.parse(String($0)) }).first(where: { $0["samples_per_s"]?.double != nil }),
              let rate = raw["samples_per_s"]?.double else {
            throw BenchError.referenceOutput(script: impl.script, stdoutTail: Self.tail(stdout + stderr, lines: 10))
        }
        return ReferenceRun(
            impl: impl, samplesPerSecond: rate, samplesPerCPUSecond: raw["samples_per_cpu_s"]?.double,
            microsecondsPerStep: raw["us_per_step"]?.double,
            medianEpochSeconds: raw["median_epoch_s"]?.double,
            epochLosses: raw["epoch_losses"]?.doubles ?? [],
            negSamplingSeconds: raw["neg_sampling_s"]?.double,
            samplesPerEpoch: raw["samples_per_epoch"]?.double.map { Int($0) },
            trainPositives: raw["n_train_pos"]?.double.map { Int($0) },
            peakRSSMB: raw["peak_rss_mb"]?.double,
            foreignCoresMax: raw["foreign_cores_max"]?.double,
            version: Self.version(of: raw, impl: impl),
            raw: raw, processSeconds: elapsed)
    }

    private static func version(of raw: JSONValue, impl: ReferenceImpl) -> String {
        if impl == .numpy {
            var text = "numpy \(raw["numpy"]?.string ?? "?")"
            if let blas = raw["blas"], case .object = blas {
                let api = blas["internal_api"]?.string ?? "blas"
                let version = blas["version"]?.string ?? "?"
                let arch = blas["architecture"]?.string.map { "\($0), " } ?? ""
                let threads = blas["num_threads"]?.double.map { "\(Int($0)) thread\($0 == 1 ? "" : "s")" } ?? "? threads"
                text += " with \(api) \(version) (\(arch)\(threads))"
            }
            return text
        }
        return "torch \(raw["torch"]?.string ?? "?")"
    }

    private static func tail(_ text: String, lines: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
