// How a trial's process ends, as the trainer sets it and the agent reads it.

/// The exit statuses of a trial.
public enum RunExitCode {
    /// Trained and tested.
    public static let success: Int32 = 0
    /// Any other error (bad flags, unreadable data, a model that does not fit, …).
    public static let failure: Int32 = 1
    /// The loss became NaN or infinite: a property of the point (e.g. too high a learning rate),
    /// not of the sweep's config. stderr's last line is `Error: ` + `divergenceMessage(…)`.
    public static let diverged: Int32 = 4
    /// Stopped by SIGINT (Ctrl-C) after evaluating the best epoch so far: 128 + 2.
    public static let interrupted: Int32 = 130
    /// Stopped by SIGTERM after evaluating the best epoch so far: 128 + 15.
    public static let terminated: Int32 = 143

    /// The one sentence a trainer writes when its loss diverges.
    public static func divergenceMessage(epoch: Int, step: Int, value: Double) -> String {
        "\(divergencePrefix) the loss is \(value) at epoch \(epoch), step \(step). "
            + "Hint: lower --lr (e.g. by 10×), or add --weight_decay."
    }

    /// How the divergence message starts.
    public static let divergencePrefix = "training diverged:"

    /// Whether a trial's last error line says its loss diverged: the built-in trainer's message
    /// (with exit status `diverged`), or another program's naming a non-finite loss
    /// (`non-finite loss`, `loss is nan`, `loss is inf`).
    public static func reportsDivergence(lastErrorLine line: String) -> Bool {
        let l = line.lowercased()
        return l.contains(divergencePrefix) || l.contains("non-finite loss")
            || l.contains("loss is nan") || l.contains("loss is inf") || l.contains("loss is -inf")
    }
}
