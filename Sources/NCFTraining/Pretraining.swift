// NeuMF initialised from a trained GMF and a trained MLP (He et al. 2017, §3.4.1 "Pre-training").
//
// The GMF model file gives NeuMF's GMF embedding tables (`gmf.user`, `gmf.item`); the MLP file its
// MLP tables and its whole tower (`mlp.user`, `mlp.item`, `mlp.l.weight`, `mlp.l.bias`). The output
// layer is the two heads concatenated with the trade-off α:
//   head.gmf  = α · h_GMF        head.mlp = (1 − α) · h_MLP        head.bias = α·b_GMF + (1 − α)·b_MLP
// so the initial NeuMF logit is exactly α·(GMF logit) + (1 − α)·(MLP logit). (The paper's models
// have no output bias; ncf's do, and mixing them the same way keeps that identity.)
//
//
// `--init_gmf` also takes an MF model (the biased dot product b + b_u + b_i + P_u·Q_i) of width
// `embed_dim` − 2: a GMF branch with two more factors holds it exactly,
//   gmf.user[u] = [P_u, 1, b_u]    gmf.item[i] = [Q_i, b_i, 1]    h_GMF = (1, …, 1)    b_GMF = b
// so NeuMF can start from the stronger of the two factor models the sweep found.
//
// Every shape is checked before anything is copied: both files must hold models of the right kind,
// trained on data with exactly the run's user and item ids in the same order (the same training
// file), with NeuMF's `embed_dim` (MF: `embed_dim` − 2) and (MLP) `mlp_dims`. A mismatch names the
// file and the flag.

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
        let (gmf, gmfKind) = try Self.read(gmfPath, flag: "--init_gmf", kinds: [.gmf, .mf], into: config, userIDs: userIDs, itemIDs: itemIDs)
        let (mlp, _) = try Self.read(mlpPath, flag: "--init_mlp", kinds: [.mlp], into: config, userIDs: userIDs, itemIDs: itemIDs)

        // Every tensor is present with the right shape (checked in `read`): copy.
        let a = Float(alpha)
        if gmfKind == .mf {
            try Self.copyMF(gmf, into: model, alpha: a, path: gmfPath)
        } else {
            for name in ["gmf.user", "gmf.item"] { try Self.copy(gmf, name, into: model, scale: 1, path: gmfPath, flag: "--init_gmf") }
            try Self.copy(gmf, "head.gmf", into: model, scale: a, path: gmfPath, flag: "--init_gmf")
        }
        var mlpNames = ["mlp.user", "mlp.item"]
        for l in config.mlpDims.indices { mlpNames += ["mlp.\(l).weight", "mlp.\(l).bias"] }
        for name in mlpNames { try Self.copy(mlp, name, into: model, scale: 1, path: mlpPath, flag: "--init_mlp") }
        try Self.copy(mlp, "head.mlp", into: model, scale: 1 - a, path: mlpPath, flag: "--init_mlp")
        let bg = gmf.tensor(named: "head.bias")?.values.first ?? 0
        let bm = mlp.tensor(named: "head.bias")?.values.first ?? 0
        model.setOutputBias(a * bg + (1 - a) * bm)
    }

    /// The shape a `kind` model file must have to initialise its branch of `target`.
    private static func sourceShape(_ kind: ModelKind, for target: ModelConfig) -> ModelConfig {
        var shape = target
        shape.kind = kind
        if kind == .mf { shape.embedDim = target.embedDim - 2 }
        if kind != .mlp && kind != .neumf { shape.mlpDims = [] }
        return shape
    }

    /// The tensors of a `kind` model file that the copy reads.
    private static func sourceTensors(_ kind: ModelKind, mlpLayers: Int) -> [String] {
        switch kind {
        case .mf: return ["mf.user", "mf.item", "bias.user", "bias.item"]
        case .mlp: return ["mlp.user", "mlp.item", "head.mlp"] + (0..<mlpLayers).flatMap { ["mlp.\($0).weight", "mlp.\($0).bias"] }
        default: return ["gmf.user", "gmf.item", "head.gmf"]
        }
    }

    /// Reads one model file and checks that it is a model of one of `kinds` whose shape fits
    /// `target`; returns it with the kind it holds.
    private static func read(_ path: String, flag: String, kinds: [ModelKind], into target: ModelConfig,
                             userIDs: [String], itemIDs: [String]) throws -> (Checkpoint, ModelKind) {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.read(from: path) } catch {
            throw TrainingError.invalidConfig(["\(flag) \(path): \(error.description)"])
        }
        let shape: ModelConfig
        do {
            shape = try JSONDecoder().decode(ShapeOnly.self, from: Data(checkpoint.metadataJSON.utf8)).model
        } catch {
            throw TrainingError.invalidConfig(["\(flag) \(path): the model's metadata cannot be read. Hint: retrain it with `ncf train --model \(kinds[0].rawValue) --save \(path)`."])
        }
        var problems: [String] = []
        let kind = kinds.contains(shape.kind) ? shape.kind : kinds[0]
        let expected = sourceShape(kind, for: target)
        if shape.kind != kind {
            let names = kinds.map(\.rawValue).joined(separator: " or ")
            problems.append("it holds a \(shape.kind.rawValue) model, \(flag) needs a \(names) model (train one with --model \(kind.rawValue) --save)")
        }
        if shape.task != target.task {
            problems.append("it was trained for the \(shape.task.rawValue) task, this run is \(target.task.rawValue)")
        }
        if shape.embedDim != expected.embedDim {
            problems.append(kind == .mf
                ? "its embed_dim is \(shape.embedDim); an MF model initialises a NeuMF two factors wider (its bias terms become two more factors), so this run's --embed_dim \(target.embedDim) needs an MF model trained with --embed_dim \(expected.embedDim)"
                : "its embed_dim is \(shape.embedDim), this run's --embed_dim is \(target.embedDim)")
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
            // The tensors the copy needs, each with the shape a model of `expected`'s shape has.
            let layout = expected.makeLayout()
            for name in sourceTensors(kind, mlpLayers: target.mlpDims.count) {
                guard let view = layout.view(named: name) else { continue }
                guard let t = checkpoint.tensor(named: name) else { problems.append("tensor \(name) is missing"); continue }
                if t.shape != [view.rows, view.cols] || t.values.count != view.count {
                    problems.append("tensor \(name) has shape \(t.shape), it must be [\(view.rows), \(view.cols)]")
                }
            }
        }
        guard problems.isEmpty else {
            throw TrainingError.invalidConfig(["\(flag) \(path): cannot initialise NeuMF from this file: " + problems.joined(separator: "; ") + "."])
        }
        return (checkpoint, kind)
    }

    /// An MF model into NeuMF's GMF branch, two factors wider (the table at the top of this file).
    /// `read` has checked every tensor's shape.
    private static func copyMF(_ checkpoint: Checkpoint, into model: NeuMF, alpha: Float, path: String) throws {
        let e = model.config.embedDim, d = e - 2
        guard let gu = model.layout.view(named: "gmf.user"), let gi = model.layout.view(named: "gmf.item"),
              let head = model.layout.view(named: "head.gmf"),
              let pu = checkpoint.tensor(named: "mf.user"), let qi = checkpoint.tensor(named: "mf.item"),
              let bu = checkpoint.tensor(named: "bias.user"), let bi = checkpoint.tensor(named: "bias.item"),
              pu.values.count == gu.rows * d, qi.values.count == gi.rows * d,
              bu.values.count == gu.rows, bi.values.count == gi.rows
        else {
            throw TrainingError.invalidConfig(["--init_gmf \(path): the MF model's tensors do not fit NeuMF's GMF branch"])
        }
        let user = gu.pointer(in: model.params), item = gi.pointer(in: model.params)
        for u in 0..<gu.rows {
            for j in 0..<d { user[u * e + j] = pu.values[u * d + j] }
            user[u * e + d] = 1
            user[u * e + d + 1] = bu.values[u]
        }
        for i in 0..<gi.rows {
            for j in 0..<d { item[i * e + j] = qi.values[i * d + j] }
            item[i * e + d] = bi.values[i]
            item[i * e + d + 1] = 1
        }
        let h = head.pointer(in: model.params)
        for j in 0..<head.count { h[j] = alpha }
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
