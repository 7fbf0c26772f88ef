import Foundation
import NCFSweep

// `ncf sweep report ID --watch`: rewrite the report while the sweep runs.

/// Writes a sweep's report again and again while the sweep runs.
public enum ReportWatch {
    /// Why watching ended.
    public enum End: Sendable, Equatable, CustomStringConvertible {
        /// The store marked the sweep finished.
        case finished
        /// No run was running or pending for `seconds` (the agents stopped; the sweep may be joined later).
        case idle(seconds: Double)
        /// `shouldStop` said so.
        case stopped

        public var description: String {
            switch self {
            case .finished: return "the sweep is finished"
            case .idle(let s): return "no run has been running for \(formatDuration(s)) (start `ncf agent` and watch again)"
            case .stopped: return "stopped"
            }
        }
    }

    /// Writes the report to `output` every `interval` seconds until the sweep is finished, or no
    /// run has been running or pending for two polls and at least `idleLimit` seconds. While it
    /// runs the page reloads itself every `interval` seconds; the last write has no reload.
    /// Each write is atomic (`SweepReport.write`).
    ///
    /// - Parameters:
    ///   - wrote: called after each write with the model written (for a progress line).
    ///   - shouldStop: polled before each sleep; true ends watching after a final write.
    ///   - now/sleep: the clock, for tests.
    /// - Returns: why it ended.
    /// - Throws: store errors and `ReportError.write`.
    @discardableResult
    public static func run(store: any RunStore, sweepID: String, output: String, interval: Double,
                           idleLimit: Double = 10, storePath: String? = nil,
                           options: ReportModel.Options = ReportModel.Options(),
                           wrote: (ReportModel, _ final: Bool) -> Void = { _, _ in },
                           shouldStop: () -> Bool = { false },
                           now: () -> Date = Date.init,
                           sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }) throws -> End {
        var idleSince: Date?
        var idlePolls = 0
        while true {
            let model = try ReportModel.build(store: store, sweepID: sweepID, now: now(), options: options)
            var end: End?
            if model.sweep.state == .finished && !model.live {
                end = .finished
            } else if model.live {
                idleSince = nil
                idlePolls = 0
            } else {
                idlePolls += 1
                let since = idleSince ?? model.generated
                idleSince = since
                let idle = model.generated.timeIntervalSince(since)
                if idlePolls >= 2 && idle >= idleLimit { end = .idle(seconds: idle) }
            }
            if end == nil && shouldStop() { end = .stopped }
            let html = SweepReport.html(model, refreshSeconds: end == nil ? interval : nil, storePath: storePath)
            try SweepReport.write(html, to: output)
            wrote(model, end != nil)
            if let end { return end }
            sleep(interval)
        }
    }
}
