import NCFData
import NCFModel

// How much memory a training run will take, computed from the config and the data's size before
// anything is allocated, so an absurd config (`--embed_dim 1000000`) is refused with a number
// instead of being killed by the kernel half-way through allocating.

/// The memory a training run needs, by part, in bytes (Float = 4 bytes).
public struct MemoryEstimate: Sendable, Equatable {
    /// Parameters P (`ModelConfig.makeLayout().totalCount`, saturating).
    public var parameterCount: Int
    /// P floats each for the parameters, their gradients, the best epoch's copy (taken only when a
    /// later epoch would change the best: from the second epoch on, or at the first for a run from
    /// pre-trained parts; counted as the worst case), and Adam's two moments (not for SGD):
    /// `P · 4 · (3 or 5)`.
    public var parameterBytes: Int
    /// The model's activation workspace for `capacity` rows: per row `d` (GMF) + `4d` (MLP input
    /// and its gradient) + `3 · Σ mlp_dims` (activation, ReLU·dropout mask and gradient per
    /// layer) + 2 (logit and its gradient) floats, plus row bookkeeping; and the evaluation
    /// scorer's buffers, when counted (`TrainConfig.memoryEstimate(dataset:)`).
    public var workspaceBytes: Int
    /// The workspace's rows: one batch.
    public var capacity: Int

    /// Everything above (the data itself comes on top and is already loaded).
    public var totalBytes: Int { parameterBytes.addingReportingOverflow(workspaceBytes).overflow ? .max : parameterBytes + workspaceBytes }

    /// `parameters 2.1 GB (…), activations for 4096 rows 164.0 GB`.
    public var breakdown: String {
        "\(formatBytes(parameterBytes)) for \(parameterCount) parameters with their gradients and optimizer state, "
            + "\(formatBytes(workspaceBytes)) for activations (a batch of \(capacity) rows) and evaluation"
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
        if kind.usesGMF { perRow = perRow.saturatingAdd(d) }
        if kind.usesMLP {
            perRow = perRow.saturatingAdd(d.saturatingMultiply(4))
            for n in mlpDims { perRow = perRow.saturatingAdd(n.saturatingMultiply(3)) }
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
    /// The model's workspace holds one batch, as `Trainer.init` sizes it; evaluation adds a
    /// `BatchScorer`: the first tower layer's user and item halves `(U + I)·n₁`, the users' GMF
    /// rows `U·d`, and tiles of `BatchScorer.defaultTileRows` pairs through the tower.
    ///
    /// With `threads` N ≥ 2, each of the N − 1 replicas (`DataParallel`) adds a gradient buffer of
    /// P floats, a workspace for ⌈batch/N⌉ rows, and its per-slice row marks (an Int per user and item).
    public func memoryEstimate(dataset: Dataset) -> MemoryEstimate {
        let model = modelConfig(task: dataset.task, numUsers: dataset.numUsers, numItems: dataset.numItems)
        var estimate = model.memoryEstimate(capacity: batch_size, optimizer: optimizer)
        estimate.workspaceBytes = estimate.workspaceBytes.saturatingAdd(model.scorerBytes)
        if threads > 1 {
            let slice = model.memoryEstimate(capacity: (batch_size + threads - 1) / threads, optimizer: .sgd)
            let marks = (model.numUsers + model.numItems).saturatingMultiply(8)
            let replica = estimate.parameterCount.saturatingMultiply(4).saturatingAdd(slice.workspaceBytes).saturatingAdd(marks)
            estimate.workspaceBytes = estimate.workspaceBytes.saturatingAdd(replica.saturatingMultiply(threads - 1))
                .saturatingAdd(marks)
        }
        return estimate
    }
}

extension ModelConfig {
    /// The evaluation scorer's buffers (`BatchScorer`), in bytes, saturating: the first tower
    /// layer's user and item halves `(U + I)·n₁`, the users' GMF rows `U·d`, and tiles of
    /// `BatchScorer.defaultTileRows` pairs through the tower.
    public var scorerBytes: Int {
        var scorer = 0
        if kind.usesGMF { scorer = scorer.saturatingAdd(numUsers.saturatingMultiply(embedDim)) }
        if kind.usesMLP, let first = mlpDims.first {
            scorer = scorer.saturatingAdd(numUsers.saturatingAdd(numItems).saturatingMultiply(first))
            for n in mlpDims { scorer = scorer.saturatingAdd(BatchScorer.defaultTileRows.saturatingMultiply(n)) }
        }
        return scorer.saturatingMultiply(4)
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
