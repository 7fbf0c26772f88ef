import Foundation
import NCFRunContract

// MARK: - A fake sweep trial

/// A tiny trial program for sweep tests: a bash script that prints JSON Lines like `ncf train
/// --json` in milliseconds, so agent and store tests run in seconds. Its metric names, divergence
/// message and exit status come from the run contract.
///
/// Flags (`--name=value`, as `${args}` renders them; unknown flags are ignored):
/// - `--x=N`: the metric is `Valid Loss = x + 1/epoch` (so smaller x is better);
/// - `--epochs=N` (default 3), `--sleep=S` seconds before each epoch (default 0);
/// - `--first_epoch=N` (default 1): the number its first epoch line carries (0 for a program that
///   counts from 0); it logs `--epochs` lines either way;
/// - `--data=PATH`: its summary carries the file's `data_fingerprint` (`sha256:…`), as `ncf train`'s does;
/// - `--mode=ok|fail|diverge|nan|crash|hang|stubborn`: `fail` writes `Error: boom` to stderr and
///   exits 3; `diverge` writes the run contract's divergence message and exits with its status;
///   `nan` logs a NaN loss at epoch 2 and then waits 10 s (the agent must stop it); `crash` kills
///   itself with SIGKILL; `hang` sleeps 30 s before its first epoch; `stubborn` does too, ignoring
///   SIGINT and SIGTERM (only SIGKILL ends it early); `complete` notes SIGINT/SIGTERM but trains
///   every epoch and exits 0 (a trial whose last epoch was ending when the signal came).
///
/// SIGINT/SIGTERM make it finish the current epoch, print its summary and exit 130, as `ncf
/// train` does. Each start appends `x` to `$FAKE_TRIAL_LOG` when that is set.
public enum FakeTrial {
    private static let train = MetricName.trainLoss.description
    private static let valid = MetricName.validLoss.description

    public static let script = #"""
        #!/bin/bash
        x=0; epochs=3; sleep_s=0; mode=ok; first=1; data=
        for a in "$@"; do
          case "$a" in
            --x=*) x="${a#*=}";;
            --epochs=*) epochs="${a#*=}";;
            --sleep=*) sleep_s="${a#*=}";;
            --mode=*) mode="${a#*=}";;
            --first_epoch=*) first="${a#*=}";;
            --data=*) data="${a#*=}";;
          esac
        done
        [ -n "$FAKE_TRIAL_LOG" ] && echo "$x" >> "$FAKE_TRIAL_LOG"
        stop=0
        trap 'stop=1' INT TERM
        case "$mode" in
          fail) echo "starting" >&2; echo "Error: boom (x=$x)" >&2; exit 3;;
          diverge) echo "Error: \#(RunExitCode.divergenceMessage(epoch: 1, step: 3, value: .nan))" >&2; exit \#(RunExitCode.diverged);;
          crash) kill -9 $$;;
          hang) sleep 30;;
          stubborn) trap '' INT TERM; sleep 30;;
        esac
        for ((e = 1; e <= epochs; e++)); do
          if [ "$sleep_s" != "0" ]; then sleep "$sleep_s"; fi
          if [ "$mode" = "nan" ] && [ "$e" = "2" ]; then
            echo "{\"epoch\": $e, \"\#(train)\": NaN, \"\#(valid)\": NaN}"
            for ((i = 0; i < 200 && stop == 0; i++)); do sleep 0.05; done
            exit 0
          fi
          loss=$(awk -v x="$x" -v e="$e" 'BEGIN { printf "%.6f", x + 1 / e }')
          echo "{\"epoch\": $((e - 1 + first)), \"\#(train)\": $loss, \"\#(valid)\": $loss}"
          if [ "$stop" = "1" ] && [ "$mode" != "complete" ]; then break; fi
        done
        fingerprint=""
        if [ -n "$data" ]; then fingerprint=", \"\#(RunSummaryRecord.dataFingerprintKey)\": \"sha256:$(sha256sum "$data" | cut -c1-64)\""; fi
        echo "{\"summary\": {\"\#(MetricName(.test, .rmse))\": $x, \"\#(MetricName(.test, .mae))\": 0.5, \"protocol\": \"fake\"$fingerprint}}"
        if [ "$stop" = "1" ] && [ "$mode" != "complete" ]; then exit 130; fi
        exit 0
        """#

    /// Writes the script as `fake-trial.sh` (executable) into `directory` and returns its path.
    public static func write(into directory: URL) throws -> String {
        let url = directory.appendingPathComponent("fake-trial.sh")
        try script.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url.path
    }

    /// A sweep YAML running the fake trial through `command` (`${program} ${args}`).
    /// - Parameters:
    ///   - parameters: the YAML of the `parameters:` mapping's entries, indented by two spaces.
    ///   - extra: more top-level YAML (e.g. `run_cap: 5`).
    public static func sweepYAML(program: String, method: String = "grid", parameters: String, extra: String = "") -> String {
        """
        name: fake
        method: \(method)
        program: \(program)
        command:
          - ${program}
          - ${args}
        metric:
          name: \(MetricName.validLoss)
          goal: minimize
        \(extra)
        parameters:
        \(parameters)
        """
    }
}
