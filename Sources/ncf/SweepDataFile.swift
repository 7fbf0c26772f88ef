import Foundation
import NCFData
import NCFSweep

// The data a sweep trains on: recorded when the sweep is created, checked by every agent.

/// Reads the data at `path` (a ratings file, or the NCF files' prefix) into the record a sweep
/// keeps: the path as given, the absolute path, the bytes of its files and a SHA-256 of them.
/// - Throws: `CLIError` naming the path when no file is there.
/// - Complexity: reads every byte once.
func sweepData(path: String) throws -> SweepData {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    guard let print = DataFingerprint.of(path: absolute) else {
        throw CLIError(message: "data file \(path) not found or not readable (nor the NCF files \(path).train.rating, …). Hint: pass --data with a ratings file that exists.")
    }
    return SweepData(path: path, absolutePath: absolute, size: print.size, fingerprint: print.digest)
}

/// `../shared/data/ml-100k/u.data (1.9 MB, sha256:0c1d2e3f…)`.
func describe(_ data: SweepData) -> String {
    let megabytes = Double(data.size) / 1_000_000
    let size = megabytes >= 1 ? String(format: "%.1f MB", megabytes) : String(format: "%.0f kB", Double(data.size) / 1000)
    return "\(data.path) (\(size), \(data.fingerprint.prefix(15))…)"
}

/// The data path an agent's trials get, and the override it records on each run (nil when it
/// trains on the sweep's own data).
///
/// The sweep's recorded data wins. An agent given another `--data` (or finding that the recorded
/// file changed since the sweep was created) refuses, unless `--override_data` says to train on
/// its `--data` anyway; that path is then recorded on every run it claims. A sweep created before
/// ncf recorded data, or of an external program, uses the agent's `--data` as given.
func trialData(sweep: SweepRecord, given: String?, override: Bool) throws -> (path: String?, override: String?) {
    guard let recorded = sweep.data else { return (given, nil) }
    let hint = "Hint: run the agent without --data to train on the sweep's data, or pass --override_data to train on --data anyway (recorded on each run)."
    if let given {
        let absolute = URL(fileURLWithPath: given).standardizedFileURL.path
        if absolute != recorded.absolutePath {
            guard override else {
                throw CLIError(message: "sweep \(sweep.id) trains on \(recorded.absolutePath), but this agent was given --data \(given). \(hint)")
            }
            _ = try sweepData(path: given)  // exists and is readable
            return (absolute, absolute)
        }
    }
    let now: SweepData
    do { now = try sweepData(path: recorded.absolutePath) } catch {
        if override, let given {
            let absolute = URL(fileURLWithPath: given).standardizedFileURL.path
            return (absolute, absolute)
        }
        throw CLIError(message: "sweep \(sweep.id) trains on \(recorded.absolutePath), which is not there any more. Hint: restore the file, or pass --data FILE --override_data to train on another (recorded on each run).")
    }
    if now.fingerprint != recorded.fingerprint || now.size != recorded.size {
        guard override else {
            throw CLIError(message: "the data of sweep \(sweep.id), \(recorded.absolutePath), changed since the sweep was created (\(recorded.size) bytes \(recorded.fingerprint.prefix(15))…, now \(now.size) bytes \(now.fingerprint.prefix(15))…): its runs would not be comparable. Hint: restore the file, start a new sweep, or pass --override_data to go on (recorded on each run).")
        }
        return (recorded.absolutePath, recorded.absolutePath)
    }
    return (recorded.absolutePath, nil)
}

/// Reads the sweep's data once, with the data flags every run of `config` shares, so that a file
/// its trials cannot read is refused before the sweep records it (its fingerprint would make the
/// fixed file a different one). Skipped when a data flag varies between runs (each trial reads
/// the file its own way) and for the NCF files' prefix.
func checkSweepDataReads(path: String, config: SweepConfig) throws {
    // The data flags as the trials get them (`TrialCommand`), read by the trainer's own options.
    var words = ["--data", path]
    for name in ["format", "columns", "skip_bad_lines"] {
        guard let parameter = config.parameters.first(where: { $0.name == name }) else { continue }
        guard case .constant(let value) = parameter.spec else { return }
        if let word = TrialCommand.builtInWord(name, value) { words.append(word) }
    }
    do {
        let source = try DataOptions.parse(words).source(lossNegatives: 1)
        guard source.format != .ncf else { return }
        _ = try RatingsReader.read(path: path, options: source.loadOptions())
    } catch {
        throw CLIError(message: CLIError(error).message + "\nThe sweep was not created: its trials could not read this file. Hint: fix the file (or the sweep's data flags), then run `ncf sweep` again.")
    }
}
