import ArgumentParser
import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// `ncf sweep report ID`: the sweep as one self-contained HTML file (charts, importance, runs).
struct SweepReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a sweep's report: one self-contained HTML file with charts and the runs table.",
        discussion: """
            The file opens offline in any browser: the sweep's data and the page's own script are \
            inside it, nothing is loaded from the network. It shows parallel coordinates you can \
            brush, reorder and switch between log and linear, the runs table that follows them, a \
            comparison of the runs you tick, the metric of every run with the best so far, one \
            scatter per parameter, the metric's distribution, a two-parameter view, parameter \
            importance (random-forest permutation importance) and correlation, learning curves of \
            the best and the stopped runs with hyperband's rungs, the best run's test metrics and \
            the command that reproduces it. With --watch it is rewritten while the sweep runs and \
            the page reloads itself.
            """)

    @Argument(help: ArgumentHelp("The sweep's id.", valueName: "sweep-id")) var sweepID: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write. (default: sweep-ID.html)", valueName: "path"))
    var output: String?

    @Flag(name: .customLong("watch"), help: "Rewrite the report every --interval seconds until the sweep is finished.")
    var watch = false

    @Option(name: .customLong("interval"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds between rewrites with --watch.", valueName: "s"))
    var interval: Double = 5

    @OptionGroup var store: StoreOption

    func validate() throws {
        guard interval.isFinite, interval > 0 else {
            throw ValidationError("--interval must be a positive number of seconds, got \(interval).")
        }
    }

    func run() throws {
        try readingStore(store.store, write)
    }

    private func write(_ db: any RunStore) throws {
        let path = output ?? "sweep-\(sweepID).html"
        do {
            if watch {
                let end = try ReportWatch.run(store: db, sweepID: sweepID, output: path, interval: interval,
                                              storePath: store.shownStore, wrote: { model, final in
                    say("wrote \(path): \(summaryLine(model))\(final ? "" : "; next in \(formatValue(interval)) s")")
                })
                say("watching ends: \(end)")
            } else {
                let model = try ReportModel.build(store: db, sweepID: sweepID)
                try SweepReport.write(SweepReport.html(model, storePath: store.shownStore), to: path)
                out("wrote \(path): \(summaryLine(model))")
            }
        } catch let error as RunStoreError {
            throw CLIError(error)
        } catch let error as ReportError {
            throw CLIError(error)
        }
    }
}

/// `22 runs (20 finished, 2 failed), best run 7 Valid Loss 0.9123`.
func summaryLine(_ model: ReportModel) -> String {
    let tally = model.counts.map { "\($0.count) \($0.state.rawValue)" }.joined(separator: ", ")
    var line = "\(model.runs.count) run\(model.runs.count == 1 ? "" : "s")\(tally.isEmpty ? "" : " (\(tally))")"
    if let metric = model.metric, let b = model.bestIndex, let v = model.runs[b].metric {
        line += ", best run \(model.runs[b].id) \(metric.name) \(formatMetric(v))"
    }
    if model.withoutMetric > 0 { line += ", \(model.withoutMetric) without a metric" }
    return line
}
