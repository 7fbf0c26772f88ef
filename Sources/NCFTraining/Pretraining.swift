// NeuMF initialised from a trained GMF and a trained MLP (He et al. 2017, §3.4.1 "Pre-training").
//
// The GMF model file gives NeuMF's GMF embedding tables (`gmf.user`, `gmf.item`); the MLP file its
// MLP tables and its whole tower (`mlp.user`, `mlp.item`, `mlp.l.weight`, `mlp.l.bias`). The output
// layer is the two heads concatenated with the trade-off α:
//   head.gmf  = α · h_GMF        head.mlp = (1 − α) · h_MLP        head.bias = α·b_GMF + (1 − α)·b_MLP
// so the initial NeuMF logit is exactly α·(GMF logit) + (1 − α)·(MLP logit). (The paper's models
// have no output bias; ncf's do, and mixing them the same way keeps that identity.)
//
// Every shape is checked before anything is copied: both files must hold models of the right kind,
// trained on data with exactly the run's user and item ids in the same order (the same training
// file), with NeuMF's `embed_dim` and (MLP) `mlp_dims`. A mismatch names the file and the flag.

import Foundation
import NCFModel

/// The two model files and the output-layer trade-off of a pre-trained NeuMF.
public struct PretrainedInit: Sendable, Equatable {
    /// The trained GMF model (`--init_gmf`).
    public var gmfPath: String
    /// The trained MLP model (`--init_mlp`).
    public var mlpPath: String
    /// α in [0, 1]: the weight of the GMF head in NeuMF's output layer (`--alpha`).
    public var alpha: Double

    public init(gmfPath: String, mlpPath: String, alpha: Double) {
        self.gmfPath = gmfPath
        self.mlpPath = mlpPath
        self.alpha = alpha
    }
}

extension PretrainedInit {
    /// The only part of a model file's metadata this needs: the model's shape.
    private struct ShapeOnly: Decodable { var model: ModelConfig }

    /// Reads both files and copies their weights into `model` (a NeuMF), as described at the top
    /// of this file. `userIDs` and `itemIDs` are the run's dataset ids, in index order.
    /// - Throws: `TrainingError.invalidConfig` naming the flag, the file and the mismatch; nothing
    ///   in `model` is changed then.
    public func apply(to model: NeuMF, userIDs: [String], itemIDs: [String]) throws {
        let config = model.config
        guard config.kind == .neumf else {
            throw TrainingError.invalidConfig([
                "--init_gmf/--init_mlp: pre-training initialises a NeuMF model, but --model is \(config.kind.rawValue). Hint: add --model NeuMF.",
            ])
        }
        guard alpha >= 0 && alpha <= 1 else {
            throw TrainingError.invalidConfig(["--alpha \(alpha): must be in [0, 1], e.g. 0.5"])
        }
        let gmf = try Self.read(gmfPath, flag: "--init_gmf", kind: .gmf, into: config, userIDs: userIDs, itemIDs: itemIDs)
        let mlp = try Self.read(mlpPath, flag: "--init_mlp", kind: .mlp, into: config, userIDs: userIDs, itemIDs: itemIDs)

        // Every tensor is present with the right shape (checked in `read`): copy.
        for name in ["gmf.user", "gmf.item"] { try Self.copy(gmf, name, into: model, scale: 1, path: gmfPath, flag: "--init_gmf") }
        var mlpNames = ["mlp.user", "mlp.item"]
        for l in config.mlpDims.indices { mlpNames += ["mlp.\(l).weight", "mlp.\(l).bias"] }
        for name in mlpNames { try Self.copy(mlp, name, into: model, scale: 1, path: mlpPath, flag: "--init_mlp") }
        let a = Float(alpha)
        try Self.copy(gmf, "head.gmf", into: model, scale: a, path: gmfPath, flag: "--init_gmf")
        try Self.copy(mlp, "head.mlp", into: model, scale: 1 - a, path: mlpPath, flag: "--init_mlp")
        let bg = gmf.tensor(named: "head.bias")?.values.first ?? 0
        let bm = mlp.tensor(named: "head.bias")?.values.first ?? 0
        model.setOutputBias(a * bg + (1 - a) * bm)
    }

    /// Reads one model file and checks that it is a `kind` model whose shape fits `target`.
    private static func read(_ path: String, flag: String, kind: ModelKind, into target: ModelConfig,
                             userIDs: [String], itemIDs: [String]) throws -> Checkpoint {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.read(from: path) } catch {
            throw TrainingError.invalidConfig(["\(flag) \(path): \(error.description)"])
        }
        let shape: ModelConfig
        do {
            shape = try JSONDecoder().decode(ShapeOnly.self, from: Data(checkpoint.metadataJSON.utf8)).model
        } catch {
            throw TrainingError.invalidConfig(["\(flag) \(path): the model's metadata cannot be read. Hint: retrain it with `ncf train --model \(kind.rawValue) --save \(path)`."])
        }
        var problems: [String] = []
        if shape.kind != kind {
            problems.append("it holds a \(shape.kind.rawValue) model, \(flag) needs a \(kind.rawValue) model (train one with --model \(kind.rawValue) --save)")
        }
        if shape.task != target.task {
            problems.append("it was trained for the \(shape.task.rawValue) task, this run is \(target.task.rawValue)")
        }
        if shape.embedDim != target.embedDim {
            problems.append("its embed_dim is \(shape.embedDim), this run's --embed_dim is \(target.embedDim)")
        }
        if kind == .mlp && shape.mlpDims != target.mlpDims {
            let f = { (d: [Int]) in d.map(String.init).joined(separator: ",") }
            problems.append("its mlp_dims are \(f(shape.mlpDims)), this run's --mlp_dims are \(f(target.mlpDims))")
        }
        if checkpoint.userIDs != userIDs || checkpoint.itemIDs != itemIDs {
            problems.append("it was trained on other data (\(checkpoint.userIDs.count) users and \(checkpoint.itemIDs.count) items; "
                + "this run has \(userIDs.count) and \(itemIDs.count)\(checkpoint.userIDs.count == userIDs.count && checkpoint.itemIDs.count == itemIDs.count ? ", with other ids" : ""))")
        }
        if problems.isEmpty {
            // The tensors the copy needs, each with the shape NeuMF has for it.
            let layout = target.makeLayout()
            var names = kind == .gmf ? ["gmf.user", "gmf.item", "head.gmf"] : ["mlp.user", "mlp.item", "head.mlp"]
            if kind == .mlp { for l in target.mlpDims.indices { names += ["mlp.\(l).weight", "mlp.\(l).bias"] } }
            for name in names {
                guard let view = layout.view(named: name) else { continue }
                guard let t = checkpoint.tensor(named: name) else { problems.append("tensor \(name) is missing"); continue }
                if t.shape != [view.rows, view.cols] || t.values.count != view.count {
                    problems.append("tensor \(name) has shape \(t.shape), NeuMF needs [\(view.rows), \(view.cols)]")
                }
            }
        }
        guard problems.isEmpty else {
            throw TrainingError.invalidConfig(["\(flag) \(path): cannot initialise NeuMF from this file: " + problems.joined(separator: "; ") + "."])
        }
        return checkpoint
    }

    private static func copy(_ checkpoint: Checkpoint, _ name: String, into model: NeuMF, scale: Float,
                             path: String, flag: String) throws {
        guard let view = model.layout.view(named: name), let t = checkpoint.tensor(named: name), t.values.count == view.count else {
            throw TrainingError.invalidConfig(["\(flag) \(path): tensor \(name) does not fit NeuMF's"])
        }
        let p = view.pointer(in: model.params)
        for j in 0..<view.count { p[j] = scale * t.values[j] }
    }
}
