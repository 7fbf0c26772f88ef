import Foundation
import NCFAgent
import NCFReport
import NCFSweep

/// Where human-readable output goes, and whether it may redraw a progress bar.
///
/// Human output goes to stdout, or to stderr when `--json` owns stdout. A progress bar (with
/// rate and ETA) is drawn only on a terminal; redirected output (`nohup`, a pipe) gets a plain
/// line every 30 seconds instead. Colour is used on terminals unless `NO_COLOR` is set.
final class Console {
    let json: Bool
    let interactive: Bool
    let color: Bool
    private var barShown = false
    private var lastPlain = Date()

    init(json: Bool) {
        self.json = json
        let fd = json ? STDERR_FILENO : STDOUT_FILENO
        interactive = isatty(fd) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        color = interactive && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    /// A line of human output.
    func say(_ line: String) {
        clearBar()
        write(line + "\n")
    }

    /// Emphasised (bold on colour terminals).
    func bold(_ s: String) -> String { color ? "\u{1B}[1m\(s)\u{1B}[0m" : s }

    /// A line of JSON Lines on stdout (only with --json; the line is not even made otherwise).
    func emit(_ object: @autoclosure () -> String) {
        guard json else { return }
        FileHandle.standardOutput.write((object() + "\n").data(using: .utf8)!)
    }

    /// Redraws the progress bar (terminal) or prints a plain progress line every 30 s.
    func progress(epoch: Int, epochs: Int, step: Int, steps: Int, seconds: Double, samplesPerSecond: Double, loss: Double) {
        let fraction = steps > 0 ? Double(step) / Double(steps) : 0
        let eta = fraction > 0 ? seconds / fraction - seconds : 0
        let info = "epoch \(epoch)/\(epochs) \(percent(fraction)) \(rate(samplesPerSecond)) samples/s, loss \(fixed(loss, 4)), ETA \(formatDuration(eta))"
        if interactive {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write("\r\u{1B}[2K" + bar + " " + info)
            barShown = true
        } else if Date().timeIntervalSince(lastPlain) >= 30 {
            lastPlain = Date()
            write(info + "\n")
        }
    }

    func clearBar() {
        if barShown { write("\r\u{1B}[2K"); barShown = false }
    }

    private func write(_ s: String) {
        let handle = json ? FileHandle.standardError : FileHandle.standardOutput
        handle.write(s.data(using: .utf8)!)
    }
}

// MARK: - Number formatting

func fixed(_ x: Double, _ digits: Int) -> String {
    x.isFinite ? String(format: "%.\(digits)f", x) : String(x)
}

func percent(_ f: Double) -> String { String(format: "%3.0f%%", f * 100) }

/// 1234567 → "1.23M", 81234 → "81.2k".
func rate(_ x: Double) -> String {
    if x >= 1e6 { return String(format: "%.2fM", x / 1e6) }
    if x >= 1e3 { return String(format: "%.1fk", x / 1e3) }
    return String(format: "%.0f", x)
}

/// 6040 → "6,040".
func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}

// MARK: - JSON Lines

/// A JSON object with keys in insertion order (the metric names read best in training order).
struct JSONObject {
    private var parts: [String] = []

    mutating func add(_ key: String, _ value: Double) {
        parts.append("\(quote(key)): \(value.isFinite ? jsonNumber(value) : "null")")
    }
    mutating func add(_ key: String, _ value: Int) { parts.append("\(quote(key)): \(value)") }
    mutating func add(_ key: String, _ value: Bool) { parts.append("\(quote(key)): \(value)") }
    mutating func add(_ key: String, _ value: String) { parts.append("\(quote(key)): \(quote(value))") }
    mutating func add(_ key: String, object: JSONObject) { parts.append("\(quote(key)): \(object.text)") }

    var text: String { "{" + parts.joined(separator: ", ") + "}" }
}

private func jsonNumber(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
    return String(x)
}

/// `s` as a JSON string literal (the sweep engine's escaping, so every JSON ncf writes agrees).
func quote(_ s: String) -> String { ParamValue.string(s).canonicalJSON }

/// A number for people: 4 significant digits (`0.007900491811886342` → `0.0079`, `64` → `64`).
/// Exports and JSON keep the exact value.
func significant(_ x: Double, _ digits: Int = 4) -> String {
    x.isFinite ? String(format: "%.\(digits)g", x) : String(x)
}

// MARK: - Text from trials and configs

/// `text` as a terminal may show it: every control character a terminal would act on is written
/// as visible text instead, so a trial's output or a config's value can never move the cursor,
/// retitle the window, clear the screen or hide what follows. Line breaks are kept.
///
/// ESC → `\e` (which turns any escape sequence into plain text: `\e]0;title\a`, `\e[2J`), BEL →
/// `\a`, BS → `\b`, TAB → `\t`, CR → `\r`, VT → `\v`, FF → `\f`, any other C0 control and DEL →
/// `\xHH`, C1 controls (U+0080–U+009F, which some terminals obey as 8-bit escapes) → `\u{HH}`.
/// Every line ncf prints that holds text from a trial (its reasons, log lines) or a config
/// (names, values) passes through here: `say`, `out`, the live display and `CLIError`.
/// - Complexity: O(length); the text is returned as is when it holds nothing to escape.
func terminalSafe(_ text: String) -> String {
    func unsafe(_ s: Unicode.Scalar) -> Bool { (s.value < 0x20 && s != "\n") || (0x7F...0x9F).contains(s.value) }
    guard text.unicodeScalars.contains(where: unsafe) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        guard unsafe(scalar) else { out.append(scalar); continue }
        let visible: String
        switch scalar.value {
        case 0x1B: visible = "\\e"
        case 0x07: visible = "\\a"
        case 0x08: visible = "\\b"
        case 0x09: visible = "\\t"
        case 0x0D: visible = "\\r"
        case 0x0B: visible = "\\v"
        case 0x0C: visible = "\\f"
        case 0x80...: visible = "\\u{" + String(scalar.value, radix: 16) + "}"
        default: visible = "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
        }
        out.append(contentsOf: visible.unicodeScalars)
    }
    return String(out)
}

/// JSON text (whose C0 controls are already `\u00XX` escapes) with C1 controls escaped the same
/// way: the same JSON value, safe on a terminal.
func terminalSafeJSON(_ json: String) -> String {
    guard json.unicodeScalars.contains(where: { (0x7F...0x9F).contains($0.value) }) else { return json }
    var out = String.UnicodeScalarView()
    for scalar in json.unicodeScalars {
        if (0x7F...0x9F).contains(scalar.value) {
            out.append(contentsOf: ("\\u00" + String(scalar.value, radix: 16)).unicodeScalars)
        } else {
            out.append(scalar)
        }
    }
    return String(out)
}

/// `print`, for lines holding text from a trial or a config (see `terminalSafe`).
func out(_ line: String) {
    print(terminalSafe(line))
}
