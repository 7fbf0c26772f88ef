import Foundation
import NCFSweep

// The report's server-drawn charts, each from a `ReportModel` as one inline SVG: the metric of
// every run with the best-so-far line and the learning curves. The interactive views (parallel
// coordinates, scatters, distribution, two parameters) are drawn in the page by `PageScript`.
// Values with no position (NaN, missing, ≤ 0 on a log axis) are left out; values far off the
// metric's robust range are drawn as triangles at the edge.

enum ReportCharts {
    /// The chart CSS class of a run's state.
    static func stateClass(_ state: RunState) -> String { state.rawValue }

    /// Point radius for `n` points: large for a few runs, small for thousands.
    static func radius(_ n: Int) -> Double { n <= 60 ? 4 : n <= 400 ? 3 : 2 }

    /// The scale of a parameter's axis between `start` and `end`.
    static func scale(for parameter: ReportModel.Parameter, values: [Double], from start: Double, to end: Double) -> Scale {
        switch parameter.axis {
        case .linear: return .linear(covering: values, from: start, to: end)
        case .log: return .log(covering: values, from: start, to: end)
        case .categorical(let labels): return .categorical(labels, from: start, to: end)
        }
    }

    /// The metric axis: the robust range of the runs' values (see `robustRange`).
    static func metricScale(_ values: [Double], from start: Double, to end: Double, curves: Bool = false) -> Scale {
        guard let r = curves ? robustRange(values, k: 10, minCount: 20) : robustRange(values) else {
            return .linear(covering: [], from: start, to: end)
        }
        return .linear(covering: [r.lo, r.hi], from: start, to: end)
    }

    /// "Valid Loss (minimize: lower is better)".
    static func metricTitle(_ metric: SweepConfig.Metric) -> String {
        "\(metric.name) (\(metric.goal == .minimize ? "lower" : "higher") is better)"
    }

    /// Draws a run's metric point: a shape by state, or a triangle at the edge when off the scale.
    static func point(_ svg: inout SVG, x: Double, value: Double, yScale: Scale, state: RunState, r: Double, title: String, run: Int? = nil) {
        guard let raw = yScale.position(value), let y = yScale.clampedPosition(value) else { return }
        if raw != y {
            svg.marker("tri", x, y, r + 1, "pt out", title: title + " (off the scale)", up: raw < y, run: run)
        } else if state == .failed {
            svg.marker("x", x, y, r, "pt failed", title: title, run: run)
        } else {
            svg.circle(x, y, r, "pt \(stateClass(state))", title: title, run: run)
        }
    }

    // MARK: - Metric of every run

    /// The metric of every run in order of start (by state), with the best-so-far step line and
    /// the best run ringed.
    static func metricByRun(_ model: ReportModel, width: Double = 1100, height: Double = 330) -> String? {
        guard let metric = model.metric else { return nil }
        let plotted = model.runs.filter { $0.metric != nil }
        guard !plotted.isEmpty else { return nil }
        var svg = SVG(width: width, height: height)
        let area = PlotArea(width: width, height: height, left: 70, right: 20, top: 16, bottom: 42)
        let x = Scale.fixed(0.5, Double(model.runs.count) + 0.5, from: area.x0, to: area.x1)
        let y = metricScale(plotted.compactMap(\.metric), from: area.y0, to: area.y1)
        svg.leftAxis(y, x: area.x0, gridRight: area.x1, title: metricTitle(metric))
        svg.bottomAxis(x, y: area.y0, gridTop: nil, title: "run, in order of start", integers: true)

        var line = PathBuilder()
        var lastY: Double?
        for step in model.bestSoFar {
            guard let px = x.position(Double(step.number)), let py = y.clampedPosition(step.value) else { continue }
            if let lastY { line.step(px, py, lastY: lastY) } else { line.add(px, py) }
            lastY = py
        }
        if let lastY, let px = x.position(Double(model.runs.count) + 0.5) { line.add(px, lastY) }
        svg.path(line.d, "best-line")

        let r = radius(plotted.count)
        for run in plotted {
            guard let px = x.position(Double(run.number)), let v = run.metric else { continue }
            point(&svg, x: px, value: v, yScale: y, state: run.state, r: r,
                  title: "run \(run.id) (\(run.state.rawValue)): \(metric.name) \(formatValue(v))", run: run.id)
        }
        if let b = model.bestIndex, let v = model.runs[b].metric, let px = x.position(Double(model.runs[b].number)),
           let py = y.clampedPosition(v) {
            svg.circle(px, py, r + 4, "best-ring")
            let label = "best: run \(model.runs[b].id), \(formatValue(v))"
            let anchorEnd = px > (area.x0 + area.x1) / 2
            let ty = metric.goal == .minimize ? min(py + r + 16, area.y0 - 4) : max(py - r - 8, area.y1 + 10)
            svg.text(px + (anchorEnd ? -8 : 8), ty, label, "label", anchor: anchorEnd ? .end : .start)
        }
        return svg.render(label: "\(metric.name) of every run in order of start, with the best so far")
    }

    // MARK: - Learning curves

    /// The CSS class of a curve's line.
    static func curveClass(_ role: ReportModel.Curve.Role) -> String {
        switch role {
        case .best(let rank): return "curve best\(min(rank, 4))"
        case .stopped: return "curve stopped-curve"
        }
    }

    /// One learning-curve chart: `name` per epoch for the best runs (solid) and stopped runs
    /// (dashed), other runs faint behind (sweep metric only), hyperband's rungs as dashed
    /// verticals with their thresholds as diamonds.
    /// Lines leave the plot at its edges (clipped to `clipID`, unique in the page) rather than
    /// being flattened against them.
    static func learningCurve(_ model: ReportModel, name: String, clipID: String, width: Double = 540, height: Double = 300) -> String? {
        let isMetric = model.metric?.name == name
        let curves = model.curves.compactMap { c in c.series[name].map { (c, $0) } }.filter { !$0.1.isEmpty }
        let background = isMetric ? model.background.filter { id, _ in !model.curves.contains { $0.runID == id } } : [:]
        guard !curves.isEmpty || !background.isEmpty else { return nil }
        var svg = SVG(width: width, height: height)
        let area = PlotArea(width: width, height: height, left: 62, right: 14, top: 18, bottom: 40)

        var epochs: [Double] = [1]
        var values: [Double] = []
        for (_, points) in curves {
            epochs += points.map(\.epoch)
            values += points.map(\.value)
        }
        for (id, h) in background {
            epochs.append(Double(h.count - 1 + (model.backgroundFirstEpoch[id] ?? 1)))
            values += h
        }
        if isMetric { epochs += model.rungs.map { Double($0.band) } }
        let x = Scale.linear(covering: epochs, from: area.x0, to: area.x1)
        let yValues = curves.isEmpty ? values : curves.flatMap { $0.1.map(\.value) }
        let y = metricScale(yValues, from: area.y0, to: area.y1, curves: true)
        svg.leftAxis(y, x: area.x0, gridRight: area.x1, title: name, target: 5)
        svg.bottomAxis(x, y: area.y0, gridTop: nil, title: "epoch", target: 6, integers: true)
        svg.clipRect(id: clipID, area.x0, area.y1, area.x1 - area.x0, area.y0 - area.y1)
        svg.open("lines", clip: clipID)
        for (id, h) in background.sorted(by: { $0.key < $1.key }) {
            var path = PathBuilder()
            let first = model.backgroundFirstEpoch[id] ?? 1  // 0: the run's start came first
            for (k, v) in h.enumerated() { path.add(x.position(Double(k + first)), y.position(v)) }
            svg.path(path.d, "curve bg-curve", run: id)
        }
        if isMetric {
            for (k, rung) in model.rungs.enumerated() {
                guard let px = x.position(Double(rung.band)), px <= area.x1 + 0.5 else { continue }
                svg.line(px, area.y0, px, area.y1, "rung")
                svg.text(px + 3, area.y1 + 10, "rung \(k + 1)", "tick rung-label")
                if let t = rung.threshold, let py = y.clampedPosition(t) {
                    svg.marker("diamond", px, py, 5, "threshold",
                               title: "rung \(k + 1) after \(rung.band) trained epoch\(rung.band == 1 ? "" : "s"): runs worse than \(formatValue(t)) are stopped")
                }
            }
        }
        // Stopped first, the best last (on top).
        let ordered = curves.sorted { a, b in
            switch (a.0.role, b.0.role) {
            case (.stopped, .best): return true
            case (.best, .stopped): return false
            case let (.best(ra), .best(rb)): return ra > rb
            default: return a.0.runID < b.0.runID
            }
        }
        for (curve, points) in ordered {
            var path = PathBuilder()
            for p in points { path.add(x.position(p.epoch), y.position(p.value)) }
            svg.path(path.d, curveClass(curve.role), title: "run \(curve.runID)", run: curve.runID)
            if let last = points.last, let px = x.position(last.epoch), let py = y.position(last.value) {
                if case .stopped = curve.role {
                    svg.circle(px, py, 2.5, "stop-dot", title: "run \(curve.runID) stopped at epoch \(formatValue(last.epoch))", run: curve.runID)
                } else if points.count == 1, case .best(let rank) = curve.role {
                    // One epoch is no line: a dot in the run's colour.
                    svg.circle(px, py, 3, "dot best\(min(rank, 4))-dot", title: "run \(curve.runID): \(formatValue(last.value))", run: curve.runID)
                }
            }
        }
        svg.close()
        return svg.render(label: "\(name) per epoch")
    }

    // MARK: - A single run's curves

    /// Learning curves of one training run: each series per epoch, the best epoch marked.
    static func runCurves(title: String, series: [(name: String, points: [ReportModel.CurvePoint])], bestEpoch: Double?,
                          clipID: String, width: Double = 540, height: Double = 300) -> String? {
        let drawn = series.filter { !$0.points.isEmpty }
        guard !drawn.isEmpty else { return nil }
        var svg = SVG(width: width, height: height)
        let area = PlotArea(width: width, height: height, left: 62, right: 14, top: 18, bottom: 40)
        let x = Scale.linear(covering: [1] + drawn.flatMap { $0.points.map(\.epoch) }, from: area.x0, to: area.x1)
        let y = metricScale(drawn.flatMap { $0.points.map(\.value) }, from: area.y0, to: area.y1, curves: true)
        svg.leftAxis(y, x: area.x0, gridRight: area.x1, title: title, target: 5)
        svg.bottomAxis(x, y: area.y0, gridTop: nil, title: "epoch", target: 6, integers: true)
        if let bestEpoch, let px = x.position(bestEpoch) {
            svg.line(px, area.y0, px, area.y1, "rung")
            svg.text(px + 3, area.y1 + 10, "best epoch \(formatValue(bestEpoch))", "tick rung-label")
        }
        svg.clipRect(id: clipID, area.x0 - 4, area.y1 - 4, area.x1 - area.x0 + 8, area.y0 - area.y1 + 8)
        svg.open("lines", clip: clipID)
        for (k, s) in drawn.enumerated() {
            var path = PathBuilder()
            for p in s.points { path.add(x.position(p.epoch), y.position(p.value)) }
            svg.path(path.d, "curve best\(min(k, 4))", title: s.name)
            if s.points.count <= 60 {
                for p in s.points {
                    if let px = x.position(p.epoch), let py = y.position(p.value) {
                        svg.circle(px, py, 2.5, "dot best\(min(k, 4))-dot", title: "\(s.name) at epoch \(formatValue(p.epoch)): \(formatValue(p.value))")
                    }
                }
            }
        }
        svg.close()
        return svg.render(label: "\(title) per epoch")
    }
}
