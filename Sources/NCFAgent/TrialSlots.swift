import NCFSweep

/// How many trials an agent runs at once, so that trials × threads per trial fit the cores.
///
/// A trial of the built-in trainer with `threads: 2` trains on two threads (`ncf train --threads`);
/// two such trials on a 2-core machine would each get about half the CPU they wait for at every
/// mini-batch, and both would run slower than one at a time. So without `--parallel` an agent runs
/// ⌊cores / threads⌋ trials at a time (at least one), and an explicit `--parallel` that asks for more
/// threads than cores is obeyed with a warning.
public struct TrialSlots: Sendable, Equatable {
    /// Trials run at the same time.
    public var parallel: Int
    /// The most threads one trial of the sweep can use.
    public var threadsPerTrial: Int
    /// A line for the agent's log that says what was chosen and why (nil when there is nothing to say).
    public var note: String?
    /// A warning for the oversubscribing `--parallel` (nil otherwise).
    public var warning: String?

    public init(parallel: Int, threadsPerTrial: Int, note: String? = nil, warning: String? = nil) {
        self.parallel = parallel
        self.threadsPerTrial = threadsPerTrial
        self.note = note
        self.warning = warning
    }

    /// The choice for `requested` (`--parallel`, nil when not given), trials of `threadsPerTrial`
    /// threads and a machine of `cores` cores.
    public static func choose(requested: Int?, threadsPerTrial: Int, cores: Int) -> TrialSlots {
        let threads = min(max(1, threadsPerTrial), maxThreads), cores = max(1, cores)
        let fitting = max(1, cores / threads)
        let perTrial = threads == 1 ? "1 thread" : "\(threads) threads"
        guard let requested else {
            var note = "running \(fitting) trial\(fitting == 1 ? "" : "s") at a time: \(perTrial) per trial on \(cores) core\(cores == 1 ? "" : "s") (--parallel P to choose)"
            if threads > cores { note += "; a trial's \(threads) threads already exceed the cores" }
            return TrialSlots(parallel: fitting, threadsPerTrial: threads, note: note)
        }
        let (total, overflow) = requested.multipliedReportingOverflow(by: threads)
        guard overflow || total > cores else { return TrialSlots(parallel: requested, threadsPerTrial: threads) }
        let warning = "--parallel \(requested) with \(perTrial) per trial runs \(overflow ? "more than \(Int.max)" : String(total)) threads on \(cores) core\(cores == 1 ? "" : "s"): "
            + "the trials compete for the CPU and each trains slower; --parallel \(fitting) fits the cores"
        return TrialSlots(parallel: requested, threadsPerTrial: threads, warning: warning)
    }

    /// The most threads a trial may use (`ncf train --threads` takes 1...256).
    public static let maxThreads = 256

    /// The most threads a trial of `config` can be given: the largest value of its `threads`
    /// parameter, else a `--threads N` (or `--threads=N`) written in its `command`, else 1; at
    /// most `maxThreads`.
    public static func threadsPerTrial(_ config: SweepConfig) -> Int {
        func bounded(_ n: Int) -> Int { min(max(1, n), maxThreads) }
        if let parameter = config.parameters.first(where: { $0.name == "threads" }) {
            return bounded(largest(parameter.spec) ?? 1)
        }
        let words = config.command ?? []
        for (i, word) in words.enumerated() {
            if word.hasPrefix("--threads="), let n = Int(word.dropFirst("--threads=".count)) { return bounded(n) }
            if word == "--threads", i + 1 < words.count, let n = Int(words[i + 1]) { return bounded(n) }
        }
        return 1
    }

    /// The largest whole value a parameter can take (nil when it is not a bounded number).
    private static func largest(_ spec: ParameterSpec) -> Int? {
        func whole(_ value: ParamValue) -> Int? {
            switch value {
            case .int(let n): return n
            case .double(let x) where x.isFinite && x.rounded() == x && abs(x) < 1e9: return Int(x)
            case .string(let s): return Int(s)
            default: return nil
            }
        }
        switch spec {
        case .constant(let value): return whole(value)
        case .categorical(let values, _): return values.compactMap(whole).max()
        case .intUniform(_, let hi): return hi
        case .uniform(_, let hi), .qUniform(_, let hi, _, _), .logUniformValues(_, let hi), .qLogUniformValues(_, let hi, _, _),
             .invLogUniformValues(_, let hi):
            return hi.isFinite && abs(hi) < 1e9 ? Int(hi.rounded(.up)) : nil
        default: return nil
        }
    }
}
