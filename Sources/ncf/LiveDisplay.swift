import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// A live block at the bottom of the terminal, one line per running trial of this agent (run id,
/// epoch/total, latest metric, elapsed), redrawn in place from the store every second.
///
/// Only on a terminal (stdout a TTY, `TERM` not `dumb`); redirected output (`nohup`, pipes) keeps
/// the plain `say` lines and no escape codes. While it is active, `say` prints through it: the
/// block is erased, the line written, the block drawn again, all in one write under one lock, so
/// log lines appear above the block and never tear it. Lines are cut to the terminal's width so
/// none wraps (the redraw counts lines), after their control characters are made text
/// (`terminalSafe`; `say` does the same for log lines).
final class LiveDisplay: @unchecked Sendable {
    // MARK: The active display

    private static let activeLock = NSLock()
    nonisolated(unsafe) private static var current: LiveDisplay?

    /// The display `say` prints through, nil when none is running.
    static var active: LiveDisplay? {
        activeLock.lock()
        defer { activeLock.unlock() }
        return current
    }

    // MARK: State

    private let store: any RunStore
    private let sweepID: String
    private let agentID: String
    private let metric: SweepConfig.Metric?
    private let queue = DispatchQueue(label: "ncf.live-display")
    private var timer: DispatchSourceTimer?
    // Guarded by `lock`.
    private let lock = NSLock()
    private var block: [String] = []
    private var stopped = false

    private init(store: any RunStore, sweepID: String, agentID: String, metric: SweepConfig.Metric?) {
        self.store = store
        self.sweepID = sweepID
        self.agentID = agentID
        self.metric = metric
    }

    /// Starts the display for the agent `agentID` when stdout is a terminal; nil (plain lines) otherwise.
    /// - Parameter interval: seconds between polls of the store.
    static func start(store: any RunStore, sweepID: String, agentID: String, metric: SweepConfig.Metric?,
                      interval: Double = 1) -> LiveDisplay? {
        guard isatty(STDOUT_FILENO) == 1, ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return nil }
        let display = LiveDisplay(store: store, sweepID: sweepID, agentID: agentID, metric: metric)
        activeLock.lock()
        current = display
        activeLock.unlock()
        let timer = DispatchSource.makeTimerSource(queue: display.queue)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak display] in display?.refresh() }
        display.timer = timer
        timer.resume()
        return display
    }

    /// Erases the block and stops polling; later `say` lines are plain. Safe to call twice.
    func stop() {
        Self.activeLock.lock()
        if Self.current === self { Self.current = nil }
        Self.activeLock.unlock()
        timer?.cancel()
        queue.sync {} // a refresh in flight finishes first
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        write(erase())
        block = []
    }

    /// Writes `text` (whole lines, ending in a newline) above the block.
    func print(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if stopped {
            write(text)
            return
        }
        write(erase() + text + drawn(block))
        // A log line usually means a run started or ended: redraw from the store now.
        queue.async { [weak self] in self?.refresh() }
    }

    // MARK: Drawing

    /// Polls the store for this agent's running runs and redraws the block.
    private func refresh() {
        let now = Date()
        var lines: [String] = []
        if let runs = try? store.runs(sweepID: sweepID) {
            let width = max(20, Self.terminalWidth() - 1)
            for run in runs where run.state == .running && run.agent == agentID {
                let points = (try? store.metrics(runID: run.id)) ?? []
                let progress = RunProgress(run: run, points: points, metric: metric, now: now)
                // Made safe (the metric name is the config's) before it is cut to the width.
                let text = terminalSafe(progress.line(metricName: metric?.name, width: .max))
                lines.append(text.count <= width - 2 ? text : String(text.prefix(width - 3)) + "…")
            }
        }
        lock.lock()
        defer { lock.unlock() }
        guard !stopped, lines != block else { return }
        write(erase() + drawn(lines))
        block = lines
    }

    /// The escape codes that move to the block's first line and clear to the end of the screen.
    private func erase() -> String {
        block.isEmpty ? "" : "\u{1B}[\(block.count)A\r\u{1B}[J"
    }

    private func drawn(_ lines: [String]) -> String {
        lines.map { "\u{1B}[2m▸\u{1B}[0m \($0)\n" }.joined()
    }

    private func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// The terminal's width in columns (80 when unknown).
    private static func terminalWidth() -> Int {
        var size = winsize()
        #if os(Linux)
        let ok = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0
        #else
        let ok = ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0
        #endif
        return ok && size.ws_col > 0 ? Int(size.ws_col) : 80
    }
}
