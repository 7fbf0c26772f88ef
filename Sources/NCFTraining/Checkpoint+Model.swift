// Rebuilding a model from a checkpoint: every size in the metadata is checked against the tensors
// actually in the file, and against the trainer's own limits, before anything is allocated.
//
// A file's checksum only says the bytes are the ones written; it says nothing about whether the
// writer was honest. So the model's shape (`ModelConfig`, from the metadata) is trusted only as
// far as the file proves it: the id maps must have `numUsers` and `numItems` entries, every
// dimension must be within what `TrainConfig` lets a run train, and every tensor the shape implies
// must be present with exactly that shape. The parameters of a model built this way therefore fit
// in the file itself, and its activation workspace is held to `inferenceWorkspaceBytes`.

import NCFModel

extension Checkpoint {
    /// The most a loaded model's activation workspace may take (64 MiB). `capacity` is lowered to
    /// fit: scoring splits longer inputs into chunks, so a smaller workspace only costs calls.
    public static let inferenceWorkspaceBytes = 64 << 20

    /// Limits on a loaded model's shape: the same as `TrainConfig.problems()` puts on a run.
    public static let maximumEmbedDim = 4096
    public static let maximumLayerWidth = 65536

    /// Builds the model `config` describes and fills it with this checkpoint's tensors.
    ///
    /// Checks, in order, before any allocation that depends on them: the id maps hold `numUsers`
    /// and `numItems` ids; `embedDim` is in 1...4096 and every tower width in 1...65536 (and an
    /// MLP has at least one layer); `dropout` is in [0, 1); then every tensor of the layout is in
    /// the file with shape `[rows, cols]`. The workspace gets `capacity` rows, or fewer, so that it
    /// stays within `inferenceWorkspaceBytes`.
    /// - Parameters:
    ///   - config: the shape from the file's metadata (not trusted).
    ///   - capacity: the rows the caller would like to score at once (at least 1 is used).
    ///   - path: the file, for messages.
    /// - Throws: `CheckpointError.corrupt` naming every problem found.
    /// - Complexity: O(parameters + tensors · layers).
    public func makeModel(config: ModelConfig, capacity: Int, path: String) throws(CheckpointError) -> NeuMF {
        let problems = shapeProblems(config)
        guard problems.isEmpty else {
            throw .corrupt(path: path, reason: "its metadata does not match its contents (" + problems.joined(separator: "; ") + ")")
        }
        // Safe now: every count is bounded by the file or by the limits above.
        let layout = config.makeLayout()
        var missing: [String] = []
        var found: [(view: TensorView, tensor: NamedTensor)] = []
        for view in layout.views {
            guard let tensor = tensor(named: view.name) else {
                missing.append("tensor \(view.name) is missing")
                continue
            }
            guard tensor.shape == [view.rows, view.cols], tensor.values.count == view.count else {
                missing.append("tensor \(view.name) has shape \(tensor.shape), the model needs [\(view.rows), \(view.cols)]")
                continue
            }
            found.append((view, tensor))
        }
        guard missing.isEmpty else {
            let shown = missing.prefix(3).joined(separator: "; ") + (missing.count > 3 ? "; and \(missing.count - 3) more" : "")
            throw .corrupt(path: path, reason: "its tensors do not match the model in its metadata (\(shown))")
        }
        let model = NeuMF(config: config, capacity: Self.fittedCapacity(config, requested: capacity), seed: 0)
        for (view, tensor) in found {
            tensor.values.withUnsafeBufferPointer {
                view.pointer(in: model.params).update(from: $0.baseAddress!, count: view.count)
            }
        }
        return model
    }

    /// What is wrong with `config` for this checkpoint, one phrase each; empty when it fits.
    /// Checks only numbers, so it is safe for any value.
    func shapeProblems(_ config: ModelConfig) -> [String] {
        var out: [String] = []
        if config.numUsers != userIDs.count {
            out.append("numUsers is \(config.numUsers) but the file lists \(userIDs.count) user ids")
        }
        if config.numItems != itemIDs.count {
            out.append("numItems is \(config.numItems) but the file lists \(itemIDs.count) item ids")
        }
        if !(1...Self.maximumEmbedDim).contains(config.embedDim) {
            out.append("embedDim \(config.embedDim) is outside 1...\(Self.maximumEmbedDim)")
        }
        if config.kind.usesMLP && config.mlpDims.isEmpty {
            out.append("mlpDims is empty but the \(config.kind.rawValue) model needs a tower")
        }
        // Checked for every kind: the model checks them even where it does not use them.
        if let bad = config.mlpDims.first(where: { !(1...Self.maximumLayerWidth).contains($0) }) {
            out.append("mlpDims holds \(bad), outside 1...\(Self.maximumLayerWidth)")
        }
        // Two tensors per layer, so a longer list cannot be in the file.
        if config.mlpDims.count > tensors.count {
            out.append("mlpDims has \(config.mlpDims.count) layers but the file holds \(tensors.count) tensors")
        }
        if !(config.dropout >= 0 && config.dropout < 1) {
            out.append("dropout \(config.dropout) is outside [0, 1)")
        }
        return out
    }

    /// `requested` rows (at least 1), lowered so the workspace of `NeuMF` stays within
    /// `inferenceWorkspaceBytes`. `config` must already have passed `shapeProblems`.
    static func fittedCapacity(_ config: ModelConfig, requested: Int) -> Int {
        let perRow = config.memoryEstimate(capacity: 1, optimizer: .sgd).workspaceBytes
            - (config.numUsers + config.numItems) * 4  // the per-user/item stamps do not grow with rows
        let fit = max(1, inferenceWorkspaceBytes / max(1, perRow))
        return max(1, min(requested, fit))
    }
}
