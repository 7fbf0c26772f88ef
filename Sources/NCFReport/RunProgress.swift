import Foundation
import NCFSweep

// One running run in one line, for the terminal: the agent's live block and `ncf sweep status`.

/// Where a running run is: its epoch, latest and best metric, and how long it has run.
public struct RunProgress: Sendable, Equatable {
    public var runID: Int
    /// The last logged `epoch` (else the number of logged lines); nil before the first line. A
    /// run from pre-trained parts logs its start as epoch 0.
    public var epoch: Int?
    /// The config's `epochs`, when it sets one.
    public var totalEpochs: Int?
    /// The latest logged value of the sweep metric (nil: none yet, or non-finite).
    public var latest: Double?
    /// The best finite value of the sweep metric so far under the goal.
    public var best: Double?
    public var elapsed: Double

    /// The progress of `run` from its logged points.
    /// - Complexity: O(points).
    public init(run: StoredRun, points: [MetricPoint], metric: SweepConfig.Metric?, now: Date) {
        runID = run.id
        // Checked conversions: the values come from the store, where any number may stand.
        epoch = points.last { $0.name == "epoch" }?.value.flatMap { Int(exactly: $0.rounded(.towardZero)) } ?? points.map(\.step).max()
        totalEpochs = run.config["epochs"]?.numericValue.flatMap { $0.isFinite ? Int(exactly: $0.rounded(.towardZero)) : nil }
        elapsed = max(0, now.timeIntervalSince(run.startedAt))
        latest = nil
        best = nil
        if let metric {
            let values = points.filter { $0.name == metric.name }
            latest = values.last?.value
            for v in values.compactMap(\.value) where v.isFinite {
                if best.map({ metric.isBetter(v, than: $0) }) ?? true { best = v }
            }
        }
    }

    /// `run 12  epoch 3/30  Valid Loss 0.9312 (best 0.9210)  1m02s`, cut to `width` characters.
    public func line(metricName: String?, width: Int = 200) -> String {
        var parts = ["run \(runID)"]
        if let epoch {
            parts.append("epoch \(epoch)" + (totalEpochs.map { "/\($0)" } ?? ""))
        } else {
            parts.append("starting")
        }
        if let metricName, epoch != nil {
            var m = "\(metricName) \(latest.map(formatMetric) ?? "—")"
            if let best, best != latest { m += " (best \(formatMetric(best)))" }
            parts.append(m)
        }
        parts.append(formatDuration(elapsed))
        let text = parts.joined(separator: "  ")
        return text.count <= width ? text : String(text.prefix(max(1, width - 1))) + "…"
    }
}
