#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NCFData
import NCFKernels
import NCFModel
import NCFTraining

// MARK: - Settings shared by every measurement

/// The flags every trainer (ncf and the references) runs with.
struct RunSettings: Sendable {
    var threads: Int
    var epochs: Int
    var warmupEpochs: Int
    /// 0: whole epochs; else at most this many steps per epoch.
    var maxSteps: Int
    var dropout: Double
    var seed: UInt64
    /// Implicit task: negatives per positive.
    var negatives: Int
    var lr: Double = 1e-3
}

// MARK: - Clocks and load

/// Seconds on the monotonic clock.
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Wall time, this process's CPU time and other processes' load over a region, like the
/// references' `Meter`: `foreignCores ≈ 0` means the machine was otherwise idle, `≈ 1` that another
/// process kept a whole core busy (the figure is then suspect).
struct LoadMeter {
    private var wall0 = 0.0, cpu0 = 0.0, busy0 = 0.0

    mutating func start() {
        busy0 = Self.machineBusySeconds()
        cpu0 = Self.ownCPUSeconds()
        wall0 = monotonicSeconds()
    }

    /// - Returns: wall seconds, own CPU seconds, and the average number of cores other processes kept busy.
    func stop() -> (wall: Double, cpu: Double, foreignCores: Double) {
        let wall = monotonicSeconds() - wall0
        let cpu = Self.ownCPUSeconds() - cpu0
        let busy = Self.machineBusySeconds() - busy0
        let foreign = wall > 0 && busy.isFinite ? max(0, (busy - cpu) / wall) : 0
        return (wall, cpu, foreign)
    }

    /// User + system CPU seconds of this process.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    }

    /// Busy CPU seconds of the whole machine (all cores), from the first line of /proc/stat; NaN
    /// where that file does not exist.
    static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return .nan }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard v.count >= 4 else { return .nan }
        let idle = v[3] + (v.count > 4 ? v[4] : 0)
        let total = v.prefix(8).reduce(0, +)
        return (total - idle) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Resets this process's peak resident set size (VmHWM) to the current one, so that the next
/// `peakResidentBytes()` reports the peak of what follows. Linux only (`/proc/self/clear_refs`).
/// - Returns: whether the reset worked.
func resetPeakResident() -> Bool {
    #if os(Linux)
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    if fd < 0 { return false }
    defer { close(fd) }
    return write(fd, "5", 1) == 1
    #else
    return false
    #endif
}

// MARK: - ncf's own measurement

/// One ncf training run: per-epoch timings and losses.
struct NCFRun: Sendable {
    var optimizer: OptimizerKind
    /// Timed epochs only.
    var epochSeconds: [Double] = []
    var epochCPUSeconds: [Double] = []
    var foreignCores: [Double] = []
    /// Every epoch (warm-up included): seconds to shuffle the epoch and draw its negatives.
    var prepSeconds: [Double] = []
    /// Every epoch (warm-up included): mean of the batch losses (MSE or binary cross-entropy).
    var epochLosses: [Double] = []
    /// Samples and steps of one timed epoch.
    var samples = 0
    var steps = 0
    /// VmHWM after the run (since the reset before it, when `peakWasReset`).
    var peakResidentBytes = 0
    var peakWasReset = false
    /// Loss became NaN or infinite in some epoch.
    var nonFinite = false

    var medianEpochSeconds: Double { median(epochSeconds) }
    var samplesPerSecond: Double { Double(samples) / medianEpochSeconds }
    /// Samples per second of this process's CPU time: less sensitive to other processes' load
    /// than the wall-clock rate.
    var samplesPerCPUSecond: Double { Double(samples) / median(epochCPUSeconds) }
    var microsecondsPerStep: Double { 1e6 * medianEpochSeconds / Double(max(steps, 1)) }
    /// The smallest share of wall time the process spent on a CPU over the timed epochs
    /// (1: never descheduled; lower: it waited for a core and its wall-clock figure is low).
    var cpuShare: Double {
        zip(epochCPUSeconds, epochSeconds).map { $0 / max($1, 1e-12) }.min() ?? .nan
    }
}

/// Trains a fresh NeuMF on `workload` for `warmupEpochs + epochs` epochs and times each epoch's
/// training steps (forward, loss, backward, optimizer step); shuffling and negative sampling
/// (`NegativeSampler.fillEpoch`) happen before the clock starts and are timed apart.
///
/// As in the references: learning rate 1e-3, the epoch capped at `maxSteps` steps, the loss of an
/// epoch the mean of its batch losses. As in ncf's trainer: on the rating task the output bias
/// starts at the mean training rating.
/// - Complexity: O((warmup + epochs) · samples per epoch · trainFlopsPerSample).
func measureNCF(config: BenchConfig, workload: Workload, optimizer kind: OptimizerKind, settings: RunSettings) -> NCFRun {
    BLAS.setThreads(settings.threads)
    var run = NCFRun(optimizer: kind)
    run.peakWasReset = resetPeakResident()

    let dataset = workload.dataset
    let modelConfig = config.modelConfig(numUsers: dataset.numUsers, numItems: dataset.numItems, dropout: settings.dropout)
    let model = NeuMF(config: modelConfig, capacity: config.batch, seed: settings.seed)
    if !config.implicit { model.setOutputBias(dataset.meanTrainRating) }
    let optimizer = Optimizer(kind: kind, lr: settings.lr, weightDecay: 0, model: model)
    var sampler = NegativeSampler(dataset: dataset, negatives: settings.negatives)
    var epochRng = SplitMix64(seed: settings.seed, stream: 0xE90C)
    var dropoutRng = SplitMix64(seed: settings.seed, stream: 0xD209)
    var pairs = LabeledPairs()
    var meter = LoadMeter()
    let batch = config.batch
    let maxSteps = settings.maxSteps

    for epoch in 0..<(settings.warmupEpochs + settings.epochs) {
        let prepStart = monotonicSeconds()
        sampler.fillEpoch(&pairs, rng: &epochRng)
        run.prepSeconds.append(monotonicSeconds() - prepStart)

        var lossSum = 0.0
        var steps = 0, seen = 0
        let n = pairs.count
        meter.start()
        pairs.users.withUnsafeBufferPointer { users in
            pairs.items.withUnsafeBufferPointer { items in
                pairs.targets.withUnsafeBufferPointer { targets in
                    let u0 = users.baseAddress!, i0 = items.baseAddress!, t0 = targets.baseAddress!
                    while seen < n && (maxSteps == 0 || steps < maxSteps) {
                        let b = min(batch, n - seen)
                        model.forward(users: u0 + seen, items: i0 + seen, count: b, training: true, rng: &dropoutRng)
                        lossSum += Double(model.loss(targets: t0 + seen, count: b))
                        model.backward(users: u0 + seen, items: i0 + seen, count: b)
                        optimizer.step(model)
                        seen += b
                        steps += 1
                    }
                }
            }
        }
        let (wall, cpu, foreign) = meter.stop()
        let meanLoss = lossSum / Double(max(steps, 1))
        if !meanLoss.isFinite { run.nonFinite = true }
        run.epochLosses.append(meanLoss)
        if epoch >= settings.warmupEpochs {
            run.epochSeconds.append(wall)
            run.epochCPUSeconds.append(cpu)
            run.foreignCores.append(foreign)
            run.samples = seen
            run.steps = steps
        }
    }
    run.peakResidentBytes = peakResidentBytes()
    return run
}

// MARK: - Small statistics

/// The median (mean of the middle two for an even count); NaN for an empty list.
func median(_ values: [Double]) -> Double {
    if values.isEmpty { return .nan }
    let s = values.sorted()
    let m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// The index of the element closest to the median (the lower middle for an even count).
func medianIndex(_ values: [Double]) -> Int {
    let order = values.indices.sorted { values[$0] < values[$1] }
    return order[(order.count - 1) / 2]
}
