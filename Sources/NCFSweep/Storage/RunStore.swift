import Foundation
import NCFRunContract
import NCFKernels

/// Where sweeps, their runs and every logged metric live, shared by all agents of a sweep.
///
/// Two implementations pass one conformance suite: `SQLiteRunStore` (a file many agent processes
/// share) and `InMemoryRunStore` (tests).
///
/// Invariants every implementation keeps:
/// - **Claims are atomic.** `claimRun` reads the sweep's runs, asks the sampler for the next point
///   and inserts it as `running`, all in one exclusive step (one `BEGIN IMMEDIATE` transaction in
///   SQLite). So however many agents in however many processes claim at once, each grid point is
///   claimed once and `run_cap` is exact.
/// - **Given-back runs do not count.** A `stale` run, a run stopped by Ctrl-C and the failed runs
///   of an agent that judged the config broken (`givenBack`, see `giveBack(failedRunIDs:note:)`),
///   is invisible to the sampler and to `run_cap`: its grid point or slot goes to a later claim.
///   It stays in the store with its metrics, for the record.
/// - **Only `running` runs change state.** `finishRun` and `markStale` move a run out of
///   `running` once; a terminal run never changes state again. A result that arrives for a run
///   already marked `stale` (its agent was alive after all, only late with its heartbeats) is
///   still *kept*: its summary and exit code are stored and its would-be state and reason are
///   appended to the run's reason as `late result: finished (exit code 0) at …`, while the state
///   stays `stale` (its point was already given back, so counting it too would run the point
///   twice). `finishRun` returns false then, and the caller warns. Metrics may still be appended.
/// - **Returned values are snapshots.** Nothing returned changes when the store does.
/// - Times are wall-clock `Date`s passed in by the caller, so tests control them.
public protocol RunStore: Sendable {
    /// Stores a new sweep (its YAML text, seed and the data its built-in trials train on) under a
    /// fresh 8-character id, state `running`.
    func createSweep(configText: String, seed: UInt64, data: SweepData?, now: Date) throws -> SweepRecord

    /// Steers a sweep (`ncf sweep stop|cancel|pause|resume`): sets its state and returns the one it
    /// had. Claims follow the state at once (`claimRun` answers `.done(.paused)`, `.stopped` or
    /// `.cancelled`); agents read it with every heartbeat.
    /// - Throws: `RunStoreError.noSuchSweep`.
    func setState(sweepID: String, _ state: SweepState) throws -> SweepState

    /// Removes a sweep with its runs and their metrics. - Throws: `RunStoreError.noSuchSweep`.
    func deleteSweep(id: String) throws

    /// The sweep with this id. - Throws: `RunStoreError.noSuchSweep`.
    func sweep(id: String) throws -> SweepRecord

    /// Every sweep, oldest first.
    func sweeps() throws -> [SweepRecord]

    /// Atomically decides and inserts the sweep's next run (see `ClaimRequest`).
    ///
    /// In one exclusive step: answers `.done(.paused)`, `.done(.stopped)` or `.done(.cancelled)`
    /// for a steered sweep (its state unchanged); otherwise reads the runs, stops with `.done` when `metric.target` was reached,
    /// `run_cap` is used up or the sampler has nothing left (then, with no run running, the sweep
    /// becomes `finished`); otherwise calls `sampler.next(1, config:, runs:, rng:)` with
    /// `rng = SplitMix64(seed: sweepSeed, stream: number of runs so far)` and inserts its point
    /// as `running`, owned by `request.agent`, heartbeat `now`.
    func claimRun(_ request: ClaimRequest) throws -> ClaimOutcome

    /// Records that the agent owning `runIDs` is alive. Returns the ids that are no longer
    /// `running` (another agent marked them stale): their trials should stop.
    func heartbeat(runIDs: [Int], at: Date) throws -> [Int]

    /// Appends one logged line of a run: `values[name]` at `step` (nil = a non-finite value).
    /// Re-appending a (step, name) pair replaces its value.
    func appendMetrics(runID: Int, step: Int, values: [String: Double?]) throws

    /// Moves a `running` run to a terminal state. Returns false when the run is not `running`
    /// any more: a `stale` run keeps the late result (summary, exit code, and a `late result: …`
    /// note on its reason) and stays `stale`; any other terminal run is left unchanged.
    /// - Parameters:
    ///   - givenBack: whether its grid point or slot goes back to the sweep (Ctrl-C).
    ///   - summary: the trial's closing summary object as JSON text, if it printed one.
    func finishRun(id: Int, state: RunState, reason: String?, exitCode: Int32?, summary: String?,
                   givenBack: Bool, at: Date) throws -> Bool

    /// Gives back the grid points or `run_cap` slots of ended `failed` runs, so a later claim runs
    /// them again (an agent that judged the config broken does this, so fixing the data and
    /// starting a new agent loses no point). The runs keep their state and reason; `note` is
    /// appended to the reason. Runs in another state are left alone. Returns the ids changed.
    func giveBack(failedRunIDs: [Int], note: String) throws -> [Int]

    /// Marks `stale` (and gives back) every `running` run of the sweep whose last heartbeat is
    /// older than `max(grace, 3 × its agent's heartbeat interval)` at `now`. Returns their ids.
    func markStale(sweepID: String, grace: Double, now: Date) throws -> [Int]

    /// The sweep's runs in claim order.
    func runs(sweepID: String) throws -> [StoredRun]

    /// Every logged value of a run, by step then name.
    func metrics(runID: Int) throws -> [MetricPoint]

    /// The finite values of metric `name` of each run of the sweep that logged it, by step.
    func histories(sweepID: String, metric name: String) throws -> [Int: [Double]]
}

// MARK: - Values

/// A sweep as the store holds it.
public struct SweepRecord: Sendable, Equatable {
    /// 8 lowercase letters and digits, e.g. `k3v9q2xa`.
    public var id: String
    /// The sweep YAML as given.
    public var configText: String
    public var seed: UInt64
    public var state: SweepState
    public var created: Date
    /// The data its built-in trials train on, recorded when it was created (nil for a sweep of an
    /// external program, or one created before ncf recorded data).
    public var data: SweepData?

    public init(id: String, configText: String, seed: UInt64, state: SweepState, created: Date, data: SweepData? = nil) {
        self.id = id
        self.configText = configText
        self.seed = seed
        self.state = state
        self.created = created
        self.data = data
    }
}

/// The data file of a sweep, as recorded when the sweep was created: every agent trains on it,
/// and one whose `--data` differs refuses unless told to override (the override is recorded on
/// each run).
public struct SweepData: Sendable, Equatable, Codable {
    /// The path as the user gave it (`../shared/data/ml-100k/u.data`).
    public var path: String
    /// The absolute path, which agents in other directories use.
    public var absolutePath: String
    /// Bytes (of every file, for the NCF files' prefix).
    public var size: Int64
    /// A content fingerprint; an agent that finds another refuses (the file changed).
    public var fingerprint: String

    public init(path: String, absolutePath: String, size: Int64, fingerprint: String) {
        self.path = path
        self.absolutePath = absolutePath
        self.size = size
        self.fingerprint = fingerprint
    }
}

/// Where a sweep is in its life. `running`, `paused`, `stopped` and `cancelled` are set by the
/// user (`ncf sweep resume|pause|stop|cancel`, W&B's `wandb sweep --resume|--pause|--stop|--cancel`);
/// `finished` by the last claim.
public enum SweepState: String, Sendable, Codable, CaseIterable {
    /// Agents may claim runs.
    case running
    /// No new claims until `resume`; running runs go on, and agents wait instead of exiting.
    case paused
    /// No new claims; running runs finish, then agents exit.
    case stopped
    /// No new claims; agents stop their running runs within one heartbeat (each is `stopped`,
    /// with the reason), then exit.
    case cancelled
    /// Search space exhausted, `run_cap` used up or `metric.target` reached, and no run running.
    case finished

    /// Whether agents may claim runs of the sweep.
    public var acceptsClaims: Bool { self == .running || self == .finished }

    /// The state as people read it: a `running` sweep with no run in progress says that no
    /// agent is working on it now (`ncf agent ID` goes on), rather than looking busy.
    public func described(anyRunRunning: Bool) -> String {
        switch self {
        case .running where !anyRunRunning: return "running, but no agent is working on it now"
        case .paused where anyRunRunning: return "paused (runs in progress finish)"
        case .stopped where anyRunRunning: return "stopped (runs in progress finish)"
        default: return rawValue
        }
    }
}

/// One run as the store holds it: the frozen record's fields plus bookkeeping.
public struct StoredRun: Sendable, Equatable {
    public var id: Int
    public var sweepID: String
    public var state: RunState
    /// The parameter values (stored as canonical JSON).
    public var config: [String: ParamValue]
    /// The seed the trial was given (derived from the sweep seed and the config, or the config's own `seed`).
    public var seed: UInt64
    /// Why it failed or stopped: "exit code 1: …", "killed by signal 9 (SIGKILL)", "non-finite loss: …".
    public var reason: String?
    public var exitCode: Int32?
    /// The claiming agent, `host:pid`.
    public var agent: String
    /// The claiming agent's heartbeat interval in seconds.
    public var heartbeatEvery: Double
    public var startedAt: Date
    public var endedAt: Date?
    public var heartbeatAt: Date
    /// Whether its grid point or slot was given back (stale, or stopped by Ctrl-C).
    public var givenBack: Bool
    /// The trial's closing `{"summary": …}` object, as JSON text.
    public var summary: String?
    /// The data path the run trained on when its agent overrode the sweep's (`--override_data`).
    public var dataOverride: String?

    public init(id: Int, sweepID: String, state: RunState, config: [String: ParamValue], seed: UInt64,
                reason: String? = nil, exitCode: Int32? = nil, agent: String, heartbeatEvery: Double,
                startedAt: Date, endedAt: Date? = nil, heartbeatAt: Date, givenBack: Bool = false,
                summary: String? = nil, dataOverride: String? = nil) {
        self.id = id
        self.sweepID = sweepID
        self.state = state
        self.config = config
        self.seed = seed
        self.reason = reason
        self.exitCode = exitCode
        self.agent = agent
        self.heartbeatEvery = heartbeatEvery
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.heartbeatAt = heartbeatAt
        self.givenBack = givenBack
        self.summary = summary
        self.dataOverride = dataOverride
    }

    /// Whether the run counts for the sampler and `run_cap` (it was not given back).
    public var counts: Bool { !givenBack && state != .stale }

    /// The frozen view samplers and pruners see, with the run's history of the sweep metric.
    public func record(history: [Double], metric: SweepConfig.Metric?) -> RunRecord {
        var best: Double?
        if let metric {
            for v in history where v.isFinite {
                if best.map({ metric.isBetter(v, than: $0) }) ?? true { best = v }
            }
        }
        return RunRecord(id: id, config: config, state: state, history: history, metric: best, reason: reason)
    }
}

/// One logged value: a run's metric `name` at `step` (the 1-based number of the trial's JSON line).
public struct MetricPoint: Sendable, Equatable {
    public var step: Int
    public var name: String
    /// nil when the trial logged a non-finite value (NaN, ±inf or null).
    public var value: Double?

    public init(step: Int, name: String, value: Double?) {
        self.step = step
        self.name = name
        self.value = value
    }
}

/// What an agent asks of `claimRun`.
public struct ClaimRequest: Sendable {
    public var sweepID: String
    /// The sweep's parsed config (the store keeps only its text).
    public var config: SweepConfig
    public var sampler: any Sampler
    /// `host:pid` of the claiming agent.
    public var agent: String
    /// The agent's heartbeat interval in seconds (stale detection allows three missed beats).
    public var heartbeatEvery: Double
    public var now: Date
    /// The data path the agent trains on instead of the sweep's, recorded on the run.
    public var dataOverride: String?

    public init(sweepID: String, config: SweepConfig, sampler: any Sampler, agent: String,
                heartbeatEvery: Double, now: Date, dataOverride: String? = nil) {
        self.sweepID = sweepID
        self.config = config
        self.sampler = sampler
        self.agent = agent
        self.heartbeatEvery = heartbeatEvery
        self.now = now
        self.dataOverride = dataOverride
    }
}

/// The answer to a claim: a new run to start, or why there is none.
public enum ClaimOutcome: Sendable, Equatable {
    case claimed(StoredRun)
    case done(SweepDone)
}

/// Why a sweep hands out no more runs.
public enum SweepDone: Sendable, Equatable, CustomStringConvertible {
    /// The grid, or a small discrete space searched by random or bayes, has no unused point left.
    case exhausted
    /// `run_cap` runs exist (given-back runs not counted).
    case runCap(Int)
    /// A run reached `metric.target`.
    case target(runID: Int, value: Double)
    /// The user paused the sweep (`ncf sweep pause`); agents wait for `resume`.
    case paused
    /// The user stopped the sweep (`ncf sweep stop`).
    case stopped
    /// The user cancelled the sweep (`ncf sweep cancel`).
    case cancelled

    public var description: String {
        switch self {
        case .exhausted: return "every point of the search space has been run"
        case .runCap(let n): return "run_cap \(n) reached"
        case let .target(runID, value): return "run \(runID) reached the target (\(formatMetric(value)))"
        case .paused: return "the sweep is paused (`ncf sweep resume` resumes it)"
        case .stopped: return "the sweep was stopped (`ncf sweep stop`)"
        case .cancelled: return "the sweep was cancelled (`ncf sweep cancel`)"
        }
    }

    /// The answer for a sweep in `state` that takes no claims; nil when it takes them.
    public static func steered(_ state: SweepState) -> SweepDone? {
        switch state {
        case .paused: return .paused
        case .stopped: return .stopped
        case .cancelled: return .cancelled
        case .running, .finished: return nil
        }
    }
}

/// Why the store could not do what was asked. Messages name the store, sweep or run and say what to do.
public enum RunStoreError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// `near`: the id the store holds that `id` most likely meant (a prefix of it, or a typo).
    case noSuchSweep(id: String, store: String, near: String? = nil)
    case noSuchRun(id: Int)
    /// The file exists but is not an ncf store (another SQLite database, or not SQLite at all).
    case notAStore(path: String, detail: String)
    /// The store was written by a newer ncf whose schema this one does not know.
    case newerSchema(path: String)
    /// An SQLite store that is truncated or corrupt.
    case damaged(path: String, detail: String)
    /// The store (or its directory, where SQLite keeps `-wal` and `-shm` files) is read-only.
    case notWritable(path: String, detail: String)
    /// A write failed: the disk is full, a file-size limit was reached, or an I/O error.
    case writeFailed(path: String, detail: String)
    case missingStore(path: String)
    /// A store written by an older ncf, opened read-only (only a writer updates its schema).
    case olderSchema(path: String)
    /// A `--store` value that is no file path: an SQLite URI (`file:x.db`) or a URL (`postgresql://…`).
    case unsupportedLocation(value: String, detail: String)
    /// A row holds a value ncf cannot read (NULL, a wrong type, a time out of range, bad JSON).
    case badRow(path: String, problem: StoreRowProblem)
    /// The database refused an operation (disk full, I/O error, …).
    case database(path: String, detail: String)
    /// Another process held the store locked for longer than the busy timeout (SQLite's
    /// `SQLITE_BUSY`): nothing is wrong with it, the same call may succeed a moment later.
    case busy(path: String, detail: String)

    public var description: String {
        switch self {
        case let .noSuchSweep(id, store, near):
            let guess = near.map { " Did you mean \($0)?" } ?? ""
            return "no sweep \(id) in \(store).\(guess) Hint: `ncf sweep list --store \(store)` shows the sweeps it holds."
        case let .noSuchRun(id):
            return "no run \(id) in the store. Hint: `ncf sweep status SWEEP_ID` lists its runs."
        case let .notAStore(path, detail):
            return "\(path) is not an ncf sweep store (\(detail)). Hint: pass another --store path; ncf never overwrites a file it did not create."
        case let .damaged(path, detail):
            return "sweep store \(path) is damaged (\(detail)). Hint: ncf does not write to a damaged store; `ncf sweep check --store \(path)` lists what is wrong, and `ncf sweep status` and `report` still show what can be read. To go on, restore it from a backup, or copy what can be saved into a new store (`sqlite3 \(path) .recover | sqlite3 NEW.db`, or `.dump` where `.recover` is missing) and pass --store NEW.db."
        case let .olderSchema(path):
            return "\(path) was written by an older ncf, and a read-only command does not update it. Hint: `ncf agent SWEEP_ID --store \(path)` updates it (keeping its data), then look again."
        case let .unsupportedLocation(value, detail):
            return "--store \(value) is \(detail). Hint: pass the path of the store file, e.g. --store ncf-sweeps.db."
        case let .badRow(path, problem):
            return "sweep store \(path): \(problem). Hint: ncf does not write to a sweep with a row it cannot read, so that the row never decides a claim; `ncf sweep check --store \(path)` lists every such row; correct or delete it with sqlite3, or copy the store (`sqlite3 \(path) .recover | sqlite3 NEW.db`, or `.dump` where `.recover` is missing) and fix the copy."
        case let .writeFailed(path, detail):
            return "sweep store \(path): could not write (\(detail)). Hint: check the free disk space and any file-size limit (`ulimit -f`); what the store held before is intact, and a run this agent left running is marked stale and run again by the next agent."
        case let .notWritable(path, detail):
            return "sweep store \(path): \(detail). Hint: pass a --store in a directory you may write, or fix the permissions."
        case let .newerSchema(path):
            return "\(path) was written by a newer ncf (its schema is newer than this one knows). Hint: use the newer ncf, or another --store."
        case let .missingStore(path):
            return "no sweep store at \(path). Hint: create a sweep first (`ncf sweep FILE.yaml --store \(path)`), or pass the --store it was created with."
        case let .database(path, detail):
            return "sweep store \(path): \(detail). Hint: check the disk and file permissions; concurrent agents wait up to the busy timeout for each other."
        case let .busy(path, detail):
            return "sweep store \(path) is locked by another process (\(detail)). Hint: try again in a moment; a process that keeps it locked (an `sqlite3` shell inside a transaction, say) holds up every agent too."
        }
    }

    public var errorDescription: String? { description }
}

/// A metric value as ncf prints it: 4 decimals, or the value itself when it is not finite.
public func formatMetric(_ x: Double) -> String {
    x.isFinite ? String(format: "%.4f", x) : String(x)
}

// MARK: - The claim decision, shared by every store

/// The decision `claimRun` makes inside its exclusive step, the same for every store.
enum ClaimPolicy {
    enum Decision {
        case run([String: ParamValue])
        case done(SweepDone)
    }

    /// The next run's config, or why there is none.
    ///
    /// Order: `metric.target` (any counting run whose history reached it), then `run_cap`
    /// (counting runs), then the sampler over the counting runs. The rng stream is the number of
    /// runs the sweep has ever had (given back or not), so every claim draws from its own stream.
    static func decide(config: SweepConfig, sweepSeed: UInt64, runs: [StoredRun], histories: [Int: [Double]],
                       sampler: any Sampler) -> Decision {
        let counting = runs.filter(\.counts)
        if let metric = config.metric, let target = metric.target {
            for run in counting {
                for v in histories[run.id] ?? [] where v.isFinite {
                    if v == target || metric.isBetter(v, than: target) { return .done(.target(runID: run.id, value: v)) }
                }
            }
        }
        if let cap = config.runCap, counting.count >= cap { return .done(.runCap(cap)) }
        let records = counting.map { $0.record(history: histories[$0.id] ?? [], metric: config.metric) }
        var rng = SplitMix64(seed: sweepSeed, stream: UInt64(runs.count))
        guard let point = sampler.next(1, config: config, runs: records, rng: &rng).first else {
            return .done(.exhausted)
        }
        return .run(point)
    }

    /// The seed a run's trial gets: the config's own integer `seed` if it sets one, otherwise a
    /// 31-bit number derived from the sweep seed and the config's canonical JSON (so a point
    /// re-run after its agent died trains exactly as the first attempt would have).
    static func runSeed(sweepSeed: UInt64, config: [String: ParamValue]) -> UInt64 {
        if case .int(let s)? = config["seed"], s >= 0 { return UInt64(s) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a 64
        for byte in ParamValue.canonicalJSON(config).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        var rng = SplitMix64(seed: sweepSeed, stream: hash)
        return rng.next() >> 33
    }

    /// Whether a running run's agent has missed its heartbeats: silent for longer than
    /// `max(grace, 3 × its heartbeat interval)`.
    static func isStale(_ run: StoredRun, grace: Double, now: Date) -> Bool {
        run.state == .running && now.timeIntervalSince(run.heartbeatAt) > max(grace, 3 * run.heartbeatEvery)
    }

    /// A fresh sweep id: 8 characters from `a-z0-9` (about 2.8e12 ids; `attempt` varies it when
    /// the first one is taken).
    static func newSweepID(attempt: Int = 0) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let nanos = UInt64(Date().timeIntervalSince1970 * 1e9)
        var rng = SplitMix64(seed: nanos ^ UInt64(attempt), stream: UInt64(UInt32(bitPattern: getpid())))
        return String((0..<8).map { _ in alphabet[rng.nextInt(below: alphabet.count)] })
    }
}

// MARK: - Conveniences

extension RunStore {
    /// A sweep that records no data (an external program's, or in tests).
    public func createSweep(configText: String, seed: UInt64, now: Date) throws -> SweepRecord {
        try createSweep(configText: configText, seed: seed, data: nil, now: now)
    }
}

// MARK: - Reading results

extension RunStore {
    /// The sweep's best run and its value of `metric`: the best logged value under the goal,
    /// over `finished` and `stopped` runs that were not given back (ties: the earlier run).
    /// nil when no such run logged a finite value.
    public func bestRun(sweepID: String, metric: SweepConfig.Metric) throws -> (run: StoredRun, value: Double)? {
        let histories = try histories(sweepID: sweepID, metric: metric.name)
        var best: (run: StoredRun, value: Double)?
        for run in try runs(sweepID: sweepID) where run.counts && (run.state == .finished || run.state == .stopped) {
            guard let value = run.record(history: histories[run.id] ?? [], metric: metric).metric else { continue }
            if best.map({ metric.isBetter(value, than: $0.value) }) ?? true { best = (run, value) }
        }
        return best
    }
}

extension RunStore {
    /// The id of a sweep in this store that `id` most likely meant: the one it is a prefix of (a
    /// truncated id), else the nearest within two edits (a typo); nil when none is close.
    public func nearestSweepID(to id: String) -> String? {
        guard let ids = try? sweeps().map(\.id), !id.isEmpty else { return nil }
        let extended = ids.filter { $0.hasPrefix(id) }
        if extended.count == 1 { return extended[0] }
        return Spelling.suggestion(for: id, in: ids)
    }
}
