import NCFData
import NCFModel

// How much memory a training run will take, computed from the config and the data's size before
// anything is allocated, so an absurd config (`--embed_dim 1000000`) is refused with a number
// instead of being killed by the kernel half-way through allocating.

/// The memory a training run needs, by part, in bytes (Float = 4 bytes).
public struct MemoryEstimate: Sendable, Equatable {
    /// Parameters P (`ModelConfig.makeLayout().totalCount`, saturating).
    public var parameterCount: Int
    /// P floats each for the parameters, their gradients, the best epoch's copy, and Adam's two
    /// moments (not for SGD): `P · 4 · (3 or 5)`.
    public var parameterBytes: Int
    /// The model's activation workspace for `capacity` rows: per row `6d` (GMF) + `4d` (MLP input
    /// and its gradient) + `5 · Σ mlp_dims` (pre-activation, activation, dropout mask and two
    /// gradients per layer) + 2 (logit and its gradient) floats, plus row bookkeeping.
    public var workspaceBytes: Int
    /// The workspace's rows: the larger of a batch and the evaluation chunk.
    public var capacity: Int

    /// Everything above (the data itself comes on top and is already loaded).
    public var totalBytes: Int { parameterBytes.addingReportingOverflow(workspaceBytes).overflow ? .max : parameterBytes + workspaceBytes }

    /// `parameters 2.1 GB (…), activations for 4096 rows 164.0 GB`.
    public var breakdown: String {
        "\(formatBytes(parameterBytes)) for \(parameterCount) parameters with their gradients and optimizer state, "
            + "\(formatBytes(workspaceBytes)) for activations of \(capacity) rows"
    }
}

extension ModelConfig {
    /// The memory of this model trained with `optimizer`, its workspace holding `capacity` rows.
    ///
    /// Counts the same buffers `NeuMF.init`, `Optimizer.init` and `Trainer.run` allocate; every
    /// product and sum saturates at `Int.max` rather than overflow.
    /// - Complexity: O(layers).
    public func memoryEstimate(capacity: Int, optimizer: OptimizerKind) -> MemoryEstimate {
        let p = saturatingParameterCount
        let copies = optimizer == .sgd ? 3 : 5
        let d = embedDim
        var perRow = 2
        if kind.usesGMF { perRow = perRow.saturatingAdd(d.saturatingMultiply(6)) }
        if kind.usesMLP {
            perRow = perRow.saturatingAdd(d.saturatingMultiply(4))
            for n in mlpDims { perRow = perRow.saturatingAdd(n.saturatingMultiply(5)) }
        }
        // Floats, plus two Int32 "touched row" lists of `capacity` and one UInt32 stamp per user and item.
        let workspace = perRow.saturatingMultiply(capacity).saturatingMultiply(4)
            .saturatingAdd(capacity.saturatingMultiply(8)).saturatingAdd((numUsers + numItems).saturatingMultiply(4))
        return MemoryEstimate(parameterCount: p, parameterBytes: p.saturatingMultiply(4 * copies),
                              workspaceBytes: workspace, capacity: capacity)
    }
}

extension ModelConfig {
    /// `makeLayout().totalCount`, computed without building the layout and saturating at
    /// `Int.max`, so it is safe for absurd sizes (the layout's own arithmetic would trap):
    /// GMF `(U + I)·d + d`, MLP `(U + I)·d + Σ (in·out + out) + last`, plus the head bias.
    public var saturatingParameterCount: Int {
        let d = embedDim
        let tables = (numUsers + numItems).saturatingMultiply(d)
        var p = 1
        if kind.usesGMF { p = p.saturatingAdd(tables).saturatingAdd(d) }
        if kind.usesMLP {
            p = p.saturatingAdd(tables)
            var inDim = d.saturatingMultiply(2)
            for n in mlpDims {
                p = p.saturatingAdd(n.saturatingMultiply(inDim)).saturatingAdd(n)
                inDim = n
            }
            p = p.saturatingAdd(mlpDims.last ?? d.saturatingMultiply(2))
        }
        return p
    }
}

extension TrainConfig {
    /// The memory `Trainer(config: self, dataset:)` and its `run` will need.
    ///
    /// The workspace holds the larger of a batch and the evaluation chunk (4,096 rows, or every
    /// item with `--eval_negatives all`), as `Trainer.init` sizes it.
    public func memoryEstimate(dataset: Dataset) -> MemoryEstimate {
        let evalRows = dataset.validRanking?.evalNegatives == .all ? dataset.numItems : 4096
        let model = modelConfig(task: dataset.task, numUsers: dataset.numUsers, numItems: dataset.numItems)
        return model.memoryEstimate(capacity: max(batch_size, evalRows), optimizer: optimizer)
    }
}

extension Int {
    fileprivate func saturatingMultiply(_ other: Int) -> Int {
        let (r, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : r
    }

    fileprivate func saturatingAdd(_ other: Int) -> Int {
        let (r, overflow) = addingReportingOverflow(other)
        return overflow ? .max : r
    }
}
