import ArgumentParser
import Foundation
import NCFData
import NCFTraining

/// Everything needed to rebuild a run's dataset: saved in the model file so `ncf eval` and
/// `ncf recommend` can re-create the same split.
struct DataSource: Codable, Equatable {
    var path: String
    var format: DataFormat
    var columns: String?
    var skipBadLines: Bool
    var split: SplitOptions
}

/// The default data set, relative to the working directory: the bundled synthetic set when ncf
/// runs from the repository root, or the one `ncf data synth` writes.
let defaultDataPath = "Data/ratings.tsv"

/// The default data set: `Data/ratings.tsv` in the working directory, whatever the path of the
/// executable (one rule, so `ncf` on `PATH` behaves as `.build/release/ncf` does); nil if absent.
func locateDefaultData() -> String? {
    FileManager.default.fileExists(atPath: defaultDataPath) ? defaultDataPath : nil
}

extension DataOptions {
    /// Resolves defaults (path, task, split) into a `DataSource`.
    func source(lossNegatives: Int) throws -> DataSource {
        let path: String
        if let data { path = data } else {
            guard let found = locateDefaultData() else {
                throw ValidationError("no --data given and there is no \(defaultDataPath) in \(FileManager.default.currentDirectoryPath). Hint: pass --data FILE, run ncf from the repository root (which holds the bundled set), or write the synthetic set here with `ncf data synth`.")
            }
            path = found
        }
        var format = format
        if format == .auto {
            do { format = try RatingsReader.detectFormat(path: path) } catch { throw CLIError(error) }
        }
        let task = task ?? (format == .ncf ? .implicit : .rating)
        let split = split ?? (format == .ncf ? .ncf : SplitKind.default(for: task))
        if split == .ncf && format != .ncf {
            throw ValidationError("--split ncf needs the NCF paper's files: pass --data PREFIX --format ncf")
        }
        if format == .ncf && split != .ncf {
            throw ValidationError("--format ncf comes with its own test split; use --split ncf (the default for that format)")
        }
        let options = SplitOptions(kind: split, task: task, validRatio: validRatio, testRatio: testRatio, seed: splitSeed,
                                   evalNegatives: evalNegatives, lossNegatives: lossNegatives)
        do { try options.validate() } catch { throw ValidationError(String(describing: error)) }
        return DataSource(path: path, format: format, columns: columns, skipBadLines: skipBadLines, split: options)
    }
}

/// An error from a lower layer, printed as its message (ArgumentParser prints `Error: <message>`).
///
/// Its message may quote a config or a trial, so its control characters are shown as text.
struct CLIError: Error, CustomStringConvertible, LocalizedError {
    let message: String
    init(_ error: Error) {
        if let e = error as? LocalizedError, let d = e.errorDescription {
            message = terminalSafe(d)
        } else {
            message = terminalSafe(String(describing: error))
        }
    }
    init(message: String) { self.message = terminalSafe(message) }
    var description: String { message }
    var errorDescription: String? { message }
}

extension DataSource {
    /// How the reader reads the file (format, columns, bad lines).
    func loadOptions() throws -> LoadOptions {
        LoadOptions(format: format, columns: try columns.map { try ColumnSpec(parsing: $0) }, skipBadLines: skipBadLines)
    }
}

/// Reads and splits the data; skipped-line reports go to `log`.
func loadDataset(_ source: DataSource, log: (String) -> Void) throws -> (Dataset, format: DataFormat) {
    do {
        let load = try source.loadOptions()
        let dataset: Dataset
        let skipped: SkippedLines
        // A cached binary copy of this exact split of these exact files, if one was written before
        // (see DatasetCache: keyed by the files' size, time and content hash and every option).
        let cacheDirectory = DatasetCache.defaultDirectory
        let cacheKey = cacheDirectory.flatMap { _ in
            DatasetCache.key(path: source.path, format: source.format, load: load, split: source.split)
        }
        if let cacheDirectory, let cacheKey, let hit = DatasetCache.load(key: cacheKey, directory: cacheDirectory) {
            dataset = hit.dataset
            skipped = hit.skipped
        } else {
            if source.format == .ncf {
                let files = try RatingsReader.readNCF(prefix: source.path, options: load)
                skipped = files.train.skipped
                dataset = try DatasetBuilder.make(from: files, options: source.split)
            } else {
                let file = try RatingsReader.read(path: source.path, options: load)
                skipped = file.skipped
                // Its last use: the split takes the rows over and divides them in place.
                dataset = try DatasetBuilder.make(from: consume file, options: source.split)
            }
            if let cacheDirectory, let cacheKey {
                try? DatasetCache.store(dataset, skipped: skipped, key: cacheKey, directory: cacheDirectory)
            }
        }
        if skipped.count > 0 {
            let lines = skipped.firstLines.map(String.init).joined(separator: ", ")
            log("skipped \(skipped.count) malformed line\(skipped.count == 1 ? "" : "s") (first at line\(skipped.firstLines.count == 1 ? "" : "s") \(lines))"
                + (skipped.firstReasons.first.map { ": \($0)" } ?? ""))
        }
        return (dataset, source.format)
    } catch {
        throw CLIError(error)
    }
}
