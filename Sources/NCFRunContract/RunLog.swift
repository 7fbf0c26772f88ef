import Foundation

// The JSON Lines a trial writes on stdout (`ncf train --json`, or any sweep `program`):
//
//   {"config": {"parameters": {...}, "seed": 0, "data": {"path": ..., "format": ..., "fingerprint": ...}, "ncf_version": "0.1.0"}}
//   {"epoch": 1, "Train Loss": 0.91, "Valid Loss": 0.95, ..., "seconds": 0.4, "samples_per_second": 200000}
//   ...
//   {"summary": {"Test RMSE": 0.9, ..., "best_epoch": 3, "select_metric": "Valid Loss", ...}}
//
// `RunLogRecord.line` is the one writer and `TrialLine.parse` the one reader. An external program
// needs to write only the epoch lines (any numeric keys); the config record and the summary are
// optional for it.

// MARK: - The records

/// The first line: what the run was (every hyperparameter, the data, the seed, the version).
public struct RunConfigRecord: Sendable, Equatable {
    /// Every training option by its flag name, in the trainer's order.
    public var parameters: [(key: String, value: JSONValue)]
    /// The training seed.
    public var seed: UInt64?
    public var data: DataRecord?
    /// The trainer's version (`ncf_version`).
    public var version: String?

    public init(parameters: [(key: String, value: JSONValue)], seed: UInt64?, data: DataRecord?, version: String?) {
        self.parameters = parameters
        self.seed = seed
        self.data = data
        self.version = version
    }

    /// Equal parameters (in any order: a reader sees them sorted), seed, data and version.
    public static func == (a: RunConfigRecord, b: RunConfigRecord) -> Bool {
        JSONValue.object(a.parameters).canonicalText == JSONValue.object(b.parameters).canonicalText && a.seed == b.seed
            && a.data == b.data && a.version == b.version
    }

    /// The value of parameter `name`, if recorded.
    public func parameter(_ name: String) -> JSONValue? { parameters.last { $0.key == name }?.value }

    var json: JSONValue {
        var entries: [(key: String, value: JSONValue)] = [("parameters", .object(parameters))]
        if let seed { entries.append(("seed", seed <= UInt64(Int.max) ? .int(Int(seed)) : .double(Double(seed)))) }
        if let data { entries.append(("data", data.json)) }
        if let version { entries.append(("ncf_version", .string(version))) }
        return .object(entries)
    }

    init(json: JSONValue) {
        if case .object(let entries)? = json["parameters"] { parameters = entries } else { parameters = [] }
        switch json["seed"] {
        case .int(let i)? where i >= 0: seed = UInt64(i)
        case .double(let d)? where d >= 0 && d < 18_446_744_073_709_551_616.0: seed = UInt64(d)
        default: seed = nil
        }
        data = json["data"].flatMap(DataRecord.init(json:))
        if case .string(let v)? = json["ncf_version"] { version = v } else { version = nil }
    }
}

/// The data a run read.
public struct DataRecord: Sendable, Equatable {
    /// As given on the command line.
    public var path: String
    /// The detected or given format (`tsv`, `csv`, `dat`, `ncf`).
    public var format: String?
    /// The content fingerprint (`sha256:…`, `DataFingerprint`: the same digest a sweep records for
    /// its data), when the file could be read.
    public var fingerprint: String?

    public init(path: String, format: String?, fingerprint: String?) {
        self.path = path
        self.format = format
        self.fingerprint = fingerprint
    }

    var json: JSONValue {
        var entries: [(key: String, value: JSONValue)] = [("path", .string(path))]
        if let format { entries.append(("format", .string(format))) }
        if let fingerprint { entries.append(("fingerprint", .string(fingerprint))) }
        return .object(entries)
    }

    init?(json: JSONValue) {
        guard case .string(let p)? = json["path"] else { return nil }
        path = p
        if case .string(let f)? = json["format"] { format = f } else { format = nil }
        if case .string(let f)? = json["fingerprint"] { fingerprint = f } else { fingerprint = nil }
    }
}

/// One epoch's line.
public struct EpochLine: Sendable, Equatable {
    public var epoch: Int
    /// `Train Loss` and the validation metrics, in print order (names from `MetricCatalog`).
    public var metrics: [(name: String, value: Double)]
    public var seconds: Double
    public var samplesPerSecond: Double

    public init(epoch: Int, metrics: [(name: String, value: Double)], seconds: Double, samplesPerSecond: Double) {
        self.epoch = epoch
        self.metrics = metrics
        self.seconds = seconds
        self.samplesPerSecond = samplesPerSecond
    }

    public static func == (a: EpochLine, b: EpochLine) -> Bool {
        a.epoch == b.epoch && a.metrics.map(\.name) == b.metrics.map(\.name) && a.metrics.map(\.value) == b.metrics.map(\.value)
            && a.seconds == b.seconds && a.samplesPerSecond == b.samplesPerSecond
    }
}

/// The closing line: the selected epoch, its validation and test metrics, and how the run went.
public struct RunSummaryRecord: Sendable, Equatable {
    /// Held-out test metrics of the selected epoch.
    public var testMetrics: [(name: String, value: Double)]
    /// Validation metrics of the selected epoch.
    public var validMetrics: [(name: String, value: Double)]
    /// The epoch whose weights were kept and tested (1-based).
    public var bestEpoch: Int
    public var epochsRun: Int
    public var stoppedEarly: Bool
    /// The metric and goal that selected `bestEpoch`.
    public var selectMetric: String
    public var selectGoal: MetricGoal
    /// How the metrics were computed.
    public var protocolDescription: String
    public var trainSeconds: Double
    public var samplesPerSecond: Double
    public var peakMemoryBytes: Int
    /// The OpenBLAS kernels the run used (`Cooperlake`, `Haswell`, …) and the CPU, so speed
    /// figures can be read beside them; nil when not known.
    public var blasCore: String?
    public var cpu: String?
    /// The content fingerprint of the data the run trained on (`sha256:…`, as in the config
    /// record), so that a stored run says which data it saw; nil when not known.
    public var dataFingerprint: String?

    public init(testMetrics: [(name: String, value: Double)], validMetrics: [(name: String, value: Double)], bestEpoch: Int,
                epochsRun: Int, stoppedEarly: Bool, selectMetric: String, selectGoal: MetricGoal, protocolDescription: String,
                trainSeconds: Double, samplesPerSecond: Double, peakMemoryBytes: Int, blasCore: String? = nil, cpu: String? = nil,
                dataFingerprint: String? = nil) {
        self.testMetrics = testMetrics
        self.validMetrics = validMetrics
        self.bestEpoch = bestEpoch
        self.epochsRun = epochsRun
        self.stoppedEarly = stoppedEarly
        self.selectMetric = selectMetric
        self.selectGoal = selectGoal
        self.protocolDescription = protocolDescription
        self.trainSeconds = trainSeconds
        self.samplesPerSecond = samplesPerSecond
        self.peakMemoryBytes = peakMemoryBytes
        self.blasCore = blasCore
        self.cpu = cpu
        self.dataFingerprint = dataFingerprint
    }

    /// The summary key of `dataFingerprint`.
    public static let dataFingerprintKey = "data_fingerprint"

    public static func == (a: RunSummaryRecord, b: RunSummaryRecord) -> Bool {
        RunLogRecord.summary(a).line == RunLogRecord.summary(b).line
    }
}

/// Any record of a run log.
public enum RunLogRecord: Sendable {
    case config(RunConfigRecord)
    case epoch(EpochLine)
    case summary(RunSummaryRecord)

    /// The fields of an epoch line that are bookkeeping, not metrics.
    public static let bookkeepingKeys: Set<String> = ["epoch", "seconds", "samples_per_second", "step", "peak_memory_bytes"]

    /// The record as one JSON line (no newline). Numbers are exact; a non-finite value is `null`.
    public var line: String {
        switch self {
        case .config(let c):
            return JSONValue.object([("config", c.json)]).text
        case .epoch(let e):
            var entries: [(key: String, value: JSONValue)] = [("epoch", .int(e.epoch))]
            entries += e.metrics.map { ($0.name, .double($0.value)) }
            entries += [("seconds", .double(e.seconds)), ("samples_per_second", .double(e.samplesPerSecond))]
            return JSONValue.object(entries).text
        case .summary(let s):
            var entries: [(key: String, value: JSONValue)] = s.testMetrics.map { ($0.name, .double($0.value)) }
            entries += s.validMetrics.map { ($0.name, .double($0.value)) }
            entries += [
                ("best_epoch", .int(s.bestEpoch)), ("epochs_run", .int(s.epochsRun)), ("stopped_early", .bool(s.stoppedEarly)),
                ("select_metric", .string(s.selectMetric)), ("select_goal", .string(s.selectGoal.rawValue)),
                ("protocol", .string(s.protocolDescription)), ("train_seconds", .double(s.trainSeconds)),
                ("samples_per_second", .double(s.samplesPerSecond)), ("peak_memory_bytes", .int(s.peakMemoryBytes)),
            ]
            if let core = s.blasCore { entries.append(("blas_core", .string(core))) }
            if let cpu = s.cpu { entries.append(("cpu", .string(cpu))) }
            if let data = s.dataFingerprint { entries.append((RunSummaryRecord.dataFingerprintKey, .string(data))) }
            return JSONValue.object([("summary", .object(entries))]).text
        }
    }
}

// MARK: - Reading

/// One line of a trial's stdout, read as JSON Lines.
public enum TrialLine: Sendable, Equatable {
    /// The opening `{"config": {...}}`.
    case config(RunConfigRecord)
    /// Logged values (`{"epoch": 3, "Train Loss": 0.91, ...}`); nil for a non-finite value
    /// (`NaN`, `Infinity` or `null`). Non-numeric values are dropped.
    case metrics([String: Double?])
    /// The closing `{"summary": {...}}`: its canonical JSON text and its numeric values.
    case summary(text: String, values: [String: Double?])

    /// Reads one line; nil for anything that is not a JSON object (programs may print other text).
    ///
    /// `NaN`, `Infinity` and `-Infinity` outside strings (as some JSON writers emit them) are read
    /// as non-finite values.
    public static func parse(_ line: String) -> TrialLine? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{"), case .object(let entries)? = JSONValue.parse(trimmed) else { return nil }
        if entries.count == 1, let only = entries.first, case .object(let inner) = only.value {
            if only.key == "summary" { return .summary(text: only.value.canonicalText, values: numbers(inner)) }
            if only.key == "config" { return .config(RunConfigRecord(json: only.value)) }
        }
        return .metrics(numbers(entries))
    }

    private static func numbers(_ entries: [(key: String, value: JSONValue)]) -> [String: Double?] {
        var out: [String: Double?] = [:]
        for (key, value) in entries {
            switch value {
            case .int(let i): out[key] = Double(i)
            case .double(let d): out[key] = d.isFinite ? d : nil
            case .null: out[key] = .some(nil)
            default: continue
            }
        }
        return out
    }
}
