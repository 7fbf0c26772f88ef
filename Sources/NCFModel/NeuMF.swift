// Neural Collaborative Filtering: GMF, MLP and NeuMF.
//
// Xiangnan He, Lizi Liao, Hanwang Zhang, Liqiang Nie, Xia Hu, Tat-Seng Chua.
// "Neural Collaborative Filtering", WWW 2017. https://arxiv.org/abs/1708.05031
//
// For a user u and item i (B pairs per batch, d = embed_dim, n_1…n_L = mlp_dims):
//   GMF:    g = P_u ⊙ Q_i                                   [B, d]
//   MLP:    h_0 = [U_u ; V_i]                               [B, 2d]
//           h_l = dropout(relu(h_{l−1} W_lᵀ + b_l))         [B, n_l]
//   NeuMF:  ŷ = [g ; h_L] · w + b                           [B]
// GMF alone drops the MLP branch, MLP alone drops the GMF branch. GMF and MLP have separate
// embedding tables (P, Q for GMF; U, V for MLP), as in the paper. The rating task reads ŷ as the
// rating (MSE); the implicit task reads it as a logit (sigmoid + binary cross-entropy).
//
// MF (not in the paper) is the biased dot product that Rendle et al. tuned against NeuMF
// ("Neural Collaborative Filtering vs. Matrix Factorization Revisited", RecSys 2020):
//   MF:     ŷ = b + b_u + b_i + P_u · Q_i                   [B]
// It runs through the GMF branch with the head weights fixed to 1 (not parameters), plus the
// per-user and per-item bias tables (`bias.user`, `bias.item`, one column each).
//
// Optional L2 on the embedding rows (`embedL2` = λ): each step adds λ·p to the gradient of every
// row of every user/item table (bias tables included) that occurs in the batch, once per unique
// row however often it occurs. It is the gradient of (λ/2)·Σ_{rows in the batch} ‖p‖² (`penalty`),
// added to the batch-mean data loss; rows outside the batch are not touched (lazy, like their gradient).
//
// Optional embedding dropout (`embedDropout` = p, training only): every entry of every looked-up
// user/item row (P_u, Q_i, U_u, V_i; not the bias tables) is kept with probability 1 − p and then
// scaled by 1/(1 − p) (inverted dropout), a fresh draw per batch row. For the product branch,
//   g = (m_P ⊙ P_u) ⊙ (m_Q ⊙ Q_i) = (m_P ⊙ m_Q) ⊙ P_u ⊙ Q_i,
// so one combined mask per entry of g is stored; for the tower, the mask of [U_u ; V_i].
//
// Pre-training (the paper's NeuMF initialised from a trained GMF and MLP) lives in NCFTraining
// (`PretrainedInit`): it only writes this model's parameters. Left out: bias terms for GMF, MLP and
// NeuMF (not in the paper's model).

import NCFData
import NCFKernels

/// Which of the paper's three models to build.
public enum ModelKind: String, Sendable, Codable, CaseIterable {
    case gmf = "GMF"
    case mlp = "MLP"
    case neumf = "NeuMF"
    /// Rendle et al.'s biased dot product ŷ = b + b_u + b_i + P_u·Q_i (not in the NCF paper).
    case mf = "MF"

    /// Parses a `--model` value, case-insensitively; `NCF` is NeuMF.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "gmf": self = .gmf
        case "mlp": self = .mlp
        case "neumf", "ncf": self = .neumf
        case "mf": self = .mf
        default: return nil
        }
    }

    /// Whether the model has the element-wise product branch (GMF, NeuMF; MF with unit head weights).
    public var usesGMF: Bool { self != .mlp }
    public var usesMLP: Bool { self == .mlp || self == .neumf }
    /// Whether the product branch has learned head weights (`head.gmf`); MF's are fixed at 1.
    public var hasGMFHead: Bool { self == .gmf || self == .neumf }
    /// Whether the model has per-user and per-item bias tables (MF only).
    public var usesBiases: Bool { self == .mf }
}

/// The model's shape: everything needed to allocate it and to read a checkpoint back.
public struct ModelConfig: Sendable, Codable, Equatable {
    public var kind: ModelKind
    public var task: Task
    public var numUsers: Int
    public var numItems: Int
    /// Width of each embedding table (GMF and MLP tables alike).
    public var embedDim: Int
    /// Hidden sizes of the MLP tower, first to last; its input is `2·embedDim`.
    public var mlpDims: [Int]
    /// Drop probability after every ReLU of the tower, in [0, 1).
    public var dropout: Float

    public init(kind: ModelKind, task: Task, numUsers: Int, numItems: Int, embedDim: Int, mlpDims: [Int], dropout: Float) {
        self.kind = kind
        self.task = task
        self.numUsers = numUsers
        self.numItems = numItems
        self.embedDim = embedDim
        self.mlpDims = mlpDims
        self.dropout = dropout
    }

    /// The parameter table for this shape. Names are stable: checkpoints store them.
    public func makeLayout() -> ParameterLayout {
        var layout = ParameterLayout()
        let d = embedDim
        if kind == .mf {
            layout.add("mf.user", rows: numUsers, cols: d)
            layout.add("mf.item", rows: numItems, cols: d)
            layout.add("bias.user", rows: numUsers, cols: 1)
            layout.add("bias.item", rows: numItems, cols: 1)
        } else if kind.usesGMF {
            layout.add("gmf.user", rows: numUsers, cols: d)
            layout.add("gmf.item", rows: numItems, cols: d)
        }
        if kind.usesMLP {
            layout.add("mlp.user", rows: numUsers, cols: d)
            layout.add("mlp.item", rows: numItems, cols: d)
            var inDim = 2 * d
            for (l, n) in mlpDims.enumerated() {
                layout.add("mlp.\(l).weight", rows: n, cols: inDim)
                layout.add("mlp.\(l).bias", rows: 1, cols: n)
                inDim = n
            }
        }
        if kind.hasGMFHead { layout.add("head.gmf", rows: 1, cols: d) }
        if kind.usesMLP { layout.add("head.mlp", rows: 1, cols: mlpDims.last ?? 2 * d) }
        layout.add("head.bias", rows: 1, cols: 1)
        return layout
    }

    /// Useful floating-point operations for one training sample (forward + backward), counting
    /// multiply and add as two: each Linear costs 2·in·out forward and 4·in·out backward (input and
    /// weight gradients); the GMF product and the head are counted alike; lookups and element-wise
    /// activations are not counted.
    public var trainFlopsPerSample: Int {
        var f = 0
        let d = embedDim
        if kind.usesGMF { f += 3 * d + 6 * d }      // product fwd (d) + bwd (2d); head 2d fwd + 4d bwd (MF: the dot product)
        if kind.usesMLP {
            var inDim = 2 * d
            for n in mlpDims { f += 6 * inDim * n; inDim = n }
            f += 6 * inDim
        }
        return f
    }
}

/// A GMF, MLP or NeuMF model with manual forward and backward passes.
///
/// Parameters and gradients are two `FloatBuffer`s laid out by `layout`; activations live in a
/// workspace sized for `capacity` rows, allocated once, so `forward`/`backward` never allocate.
/// Not thread-safe: one model per training loop.
public final class NeuMF {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let params: FloatBuffer
    public let grads: FloatBuffer
    /// The largest batch `forward` accepts; `predict` splits longer inputs.
    public let capacity: Int

    // MARK: Named views
    let gmfUser, gmfItem, mlpUser, mlpItem: TensorView?
    let weights: [TensorView]
    let biases: [TensorView]
    let headGMF, headMLP: TensorView?
    let headBias: TensorView
    /// MF's per-user and per-item biases [rows, 1] (nil for the other kinds).
    let userBias, itemBias: TensorView?
    /// MF's fixed head weights: d ones (empty for the other kinds).
    private let unitHead: FloatBuffer

    /// L2 on the embedding rows in the batch: `backward` adds λ·p to the gradient of each unique
    /// user/item row it touched (see the file header). 0 (the default) leaves gradients unchanged.
    public var embedL2: Float = 0

    /// Embedding dropout probability in [0, 1) (see the file header); 0 (the default) is off.
    public var embedDropout: Float = 0

    /// The embedding tables indexed by user (first) and by item (second): the rows an optimizer may
    /// update lazily.
    public let userTables: [TensorView]
    public let itemTables: [TensorView]
    /// Every tensor that is not an embedding table (updated densely).
    public let denseViews: [TensorView]

    // MARK: Workspace (activations [capacity, ·] and their gradients)
    private let d: Int
    private let dims: [Int]
    /// P_u ⊙ Q_i [capacity, d].
    private let gmfOut: FloatBuffer
    /// [U_u ; V_i] and its gradient [capacity, 2d].
    private let x0, dx0: FloatBuffer
    /// Per tower layer l, [capacity, n_l]: the activation (the pre-activation is overwritten in
    /// place), the combined mask [pre > 0]·dropout, and the gradient (first with respect to the
    /// activation, then, in place, to the pre-activation).
    private let act, mask, grad: [FloatBuffer]
    private let logitBuf, dLogitBuf: FloatBuffer
    /// Embedding dropout masks of the last training forward: [capacity, d] for g, [capacity, 2d] for
    /// [U_u ; V_i]; `embedMasked` says whether the last forward applied them.
    private let gmfMask, x0Mask: FloatBuffer
    private var embedMasked = false

    // Rows touched by the last backward pass, unique (for lazy optimizers and sparse zeroing).
    private var userStamp: [UInt32]
    private var itemStamp: [UInt32]
    private var stamp: UInt32 = 0
    private let touchedUserBuf: UnsafeMutablePointer<Int32>
    private let touchedItemBuf: UnsafeMutablePointer<Int32>
    public private(set) var touchedUserCount = 0
    public private(set) var touchedItemCount = 0

    /// Builds the model and initialises its parameters from `seed`.
    ///
    /// Initialisation (documented in the README): embeddings N(0, 0.01²) as in the paper; tower and
    /// head weights Glorot-uniform U(±√(6/(fan_in + fan_out))), the default of the paper's own
    /// implementation (on the NCF ML-1M protocol it scored HR@10 0.696 against 0.687 for He-uniform,
    /// seed 0); all biases 0 (the trainer sets the head bias to the mean training rating for the
    /// rating task, so training starts from the global mean).
    /// - Parameter embedInitStd: the standard deviation of the embedding tables' initial values
    ///   (0.01, the paper's, unless told; Rendle et al. tuned MF with 0.1).
    /// - Parameter source: a model to share parameters with (data-parallel training: a replica
    ///   reads `source.params` and owns only its gradients and workspace; `seed` and `embedInitStd`
    ///   are then unused). It must have this `config`.
    public init(config: ModelConfig, capacity: Int, seed: UInt64, embedInitStd: Double = 0.01, sharingParametersWith source: NeuMF? = nil) {
        precondition(config.embedDim > 0 && capacity > 0, "NeuMF: embedDim and capacity must be positive")
        precondition(config.mlpDims.allSatisfy { $0 > 0 }, "NeuMF: mlpDims must be positive")
        precondition(source == nil || source?.config == config, "NeuMF: a replica must have its source's config")
        self.config = config
        self.capacity = capacity
        let layout = config.makeLayout()
        self.layout = layout
        params = source?.params ?? FloatBuffer(count: layout.totalCount)
        grads = FloatBuffer(count: layout.totalCount)
        d = config.embedDim
        dims = config.kind.usesMLP ? config.mlpDims : []

        gmfUser = layout.view(named: "gmf.user") ?? layout.view(named: "mf.user")
        gmfItem = layout.view(named: "gmf.item") ?? layout.view(named: "mf.item")
        mlpUser = layout.view(named: "mlp.user")
        mlpItem = layout.view(named: "mlp.item")
        weights = dims.indices.map { layout.view(named: "mlp.\($0).weight")! }
        biases = dims.indices.map { layout.view(named: "mlp.\($0).bias")! }
        headGMF = layout.view(named: "head.gmf")
        headMLP = layout.view(named: "head.mlp")
        headBias = layout.view(named: "head.bias")!
        userBias = layout.view(named: "bias.user")
        itemBias = layout.view(named: "bias.item")
        unitHead = FloatBuffer(count: config.kind == .mf ? config.embedDim : 0)
        unitHead.pointer.update(repeating: 1, count: unitHead.count)
        userTables = [gmfUser, mlpUser, userBias].compactMap { $0 }
        itemTables = [gmfItem, mlpItem, itemBias].compactMap { $0 }
        let embeddingNames = Set((userTables + itemTables).map(\.name))
        denseViews = layout.views.filter { !embeddingNames.contains($0.name) }

        gmfOut = FloatBuffer(count: config.kind.usesGMF ? capacity * d : 0)
        let mlpWidth = config.kind.usesMLP ? capacity * 2 * d : 0
        x0 = FloatBuffer(count: mlpWidth)
        dx0 = FloatBuffer(count: mlpWidth)
        act = dims.map { FloatBuffer(count: capacity * $0) }
        mask = dims.map { FloatBuffer(count: capacity * $0) }
        grad = dims.map { FloatBuffer(count: capacity * $0) }
        logitBuf = FloatBuffer(count: capacity)
        dLogitBuf = FloatBuffer(count: capacity)
        gmfMask = FloatBuffer(count: gmfOut.count)
        x0Mask = FloatBuffer(count: mlpWidth)

        userStamp = [UInt32](repeating: 0, count: config.numUsers)
        itemStamp = [UInt32](repeating: 0, count: config.numItems)
        touchedUserBuf = .allocate(capacity: capacity)
        touchedItemBuf = .allocate(capacity: capacity)

        if source == nil { initialize(seed: seed, embedInitStd: embedInitStd) }
        #if DEBUG
        if let problem = layout.checkInvariants() { preconditionFailure("NeuMF layout: \(problem)") }
        #endif
    }

    deinit {
        touchedUserBuf.deallocate()
        touchedItemBuf.deallocate()
    }

    // MARK: - Initialisation

    private func initialize(seed: UInt64, embedInitStd: Double) {
        var rng = SplitMix64(seed: seed, stream: 0x1417)
        for view in userTables + itemTables where view.cols == d {  // bias tables ([rows, 1]) start at 0
            let p = view.pointer(in: params)
            for j in 0..<view.count { p[j] = Float(rng.nextGaussian() * embedInitStd) }
        }
        for w in weights {
            let bound = Float((6.0 / Double(w.cols + w.rows)).squareRoot())
            let p = w.pointer(in: params)
            for j in 0..<w.count { p[j] = (2 * rng.nextFloat() - 1) * bound }
        }
        let headFanIn = (headGMF?.cols ?? 0) + (headMLP?.cols ?? 0)
        let bound = Float((6.0 / Double(headFanIn + 1)).squareRoot())
        for view in [headGMF, headMLP].compactMap({ $0 }) {
            let p = view.pointer(in: params)
            for j in 0..<view.count { p[j] = (2 * rng.nextFloat() - 1) * bound }
        }
    }

    /// The product branch's head weights: `head.gmf`, or MF's fixed ones; nil without the branch.
    func gmfHeadWeights() -> UnsafePointer<Float>? {
        if let hg = headGMF { return UnsafePointer(hg.pointer(in: params)) }
        return config.kind == .mf ? UnsafePointer(unitHead.pointer) : nil
    }

    /// Sets the prediction head's bias (the rating task starts it at the mean training rating).
    public func setOutputBias(_ value: Float) { headBias.pointer(in: params)[0] = value }

    // MARK: - Forward

    /// Runs the model on `count ≤ capacity` pairs and returns the outputs (ratings or logits), valid
    /// until the next call. With `training`, dropout masks are drawn from `rng`.
    ///
    /// GMF rows are gathered and multiplied in one pass (`gmfGatherForward`); each tower layer is the
    /// bias copied into its rows, one sgemm, and one in-place ReLU + dropout pass that also stores
    /// the mask the backward pass multiplies by. The step allocates nothing.
    /// - Complexity: `trainFlopsPerSample / 3 · count` flops, roughly.
    @discardableResult
    public func forward(
        users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count B: Int,
        training: Bool, rng: inout SplitMix64
    ) -> UnsafePointer<Float> {
        precondition(B > 0 && B <= capacity, "NeuMF.forward: batch \(B) outside 1...\(capacity)")
        let params = self.params
        embedMasked = training && embedDropout > 0
        if let gu = gmfUser, let gi = gmfItem {
            gmfGatherForward(out: gmfOut.pointer, userTable: gu.pointer(in: params), itemTable: gi.pointer(in: params),
                             users: users, items: items, batch: B, dim: d)
            if embedMasked { applyEmbedDropout(gmfOut.pointer, mask: gmfMask.pointer, count: B * d, factors: 2, rng: &rng) }
        }
        var last: UnsafePointer<Float>? = nil
        var lastDim = 0
        if let mu = mlpUser, let mi = mlpItem {
            embeddingForward(out: x0.pointer, ldOut: 2 * d, indices: users, table: mu.pointer(in: params), batch: B, dim: d)
            embeddingForward(out: x0.pointer + d, ldOut: 2 * d, indices: items, table: mi.pointer(in: params), batch: B, dim: d)
            if embedMasked { applyEmbedDropout(x0.pointer, mask: x0Mask.pointer, count: B * 2 * d, factors: 1, rng: &rng) }
            var inp = UnsafePointer(x0.pointer)
            var inDim = 2 * d
            for l in dims.indices {
                let n = dims[l]
                let h = act[l].pointer
                linearForward(out: h, inp: inp, weight: weights[l].pointer(in: params),
                              bias: biases[l].pointer(in: params), batch: B, inDim: inDim, outDim: n)
                reluDropoutForwardInPlace(h, mask: mask[l].pointer, count: B * n, dropout: config.dropout,
                                          training: training, rng: &rng)
                inp = UnsafePointer(h)
                inDim = n
            }
            last = inp
            lastDim = inDim
        }
        headForward(
            out: logitBuf.pointer,
            a: gmfUser == nil ? nil : UnsafePointer(gmfOut.pointer), wa: gmfHeadWeights(), aDim: d,
            c: last, wc: headMLP.map { UnsafePointer($0.pointer(in: params)) }, cDim: lastDim,
            bias: headBias.pointer(in: params), batch: B)
        if let ub = userBias, let ib = itemBias {
            // ŷ += b_u + b_i
            let bu = ub.pointer(in: params), bi = ib.pointer(in: params), out = logitBuf.pointer
            for b in 0..<B { out[b] += bu[Int(users[b])] + bi[Int(items[b])] }
        }
        return UnsafePointer(logitBuf.pointer)
    }

    /// The loss of the last `forward` against `targets` (mean over the batch: MSE for ratings,
    /// sigmoid binary cross-entropy for implicit feedback); also stores ∂loss/∂output for `backward`.
    /// - Parameter meanOver: the batch the gradient is a mean over (default `count`): a slice of a
    ///   larger batch in data-parallel training passes the whole batch's size, so that the slices'
    ///   gradients add up to the batch's. The returned loss is the slice's own mean either way.
    public func loss(targets: UnsafePointer<Float>, count B: Int, meanOver total: Int? = nil) -> Float {
        switch config.task {
        case .rating:
            return mseForwardBackward(dpred: dLogitBuf.pointer, pred: logitBuf.pointer, target: targets, batch: B, meanOver: total)
        case .implicit:
            return sigmoidBCEForwardBackward(dlogit: dLogitBuf.pointer, logit: logitBuf.pointer, target: targets, batch: B, meanOver: total)
        }
    }

    // MARK: - Backward

    /// Accumulates the gradient of the last `loss` into `grads` (same `users`, `items`, `count` as
    /// the last `forward`), and records the unique user and item rows it touched.
    ///
    /// The head's gradient goes straight into the GMF tables (`gmfHeadBackward`) and, through the
    /// last layer's mask, into that layer's pre-activation (`headReLUBackward`); each lower layer's
    /// gradient is one sgemm and one multiply by its mask, bias gradients summed in the same pass.
    public func backward(users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count B: Int) {
        let params = self.params, grads = self.grads
        let dlogit = UnsafePointer(dLogitBuf.pointer)
        var s: Float = 0
        for b in 0..<B { s += dlogit[b] }
        headBias.pointer(in: grads)[0] += s

        if let gu = gmfUser, let gi = gmfItem, let w = gmfHeadWeights() {
            if let hg = headGMF {
                // d head.gmf += gmfOutᵀ · dlogit
                BLAS.gemv(trans: true, m: B, n: d, alpha: 1, a: gmfOut.pointer, lda: d, x: dlogit, beta: 1, y: hg.pointer(in: grads))
            }
            if embedMasked {
                // As gmfHeadBackward, with each entry's mask: ∂g_bj/∂P_uj = m_bj·Q_ij, ∂g_bj/∂Q_ij = m_bj·P_uj.
                let dP = gu.pointer(in: grads), dQ = gi.pointer(in: grads)
                let P = gu.pointer(in: params), Q = gi.pointer(in: params), m = gmfMask.pointer
                for b in 0..<B {
                    let u = Int(users[b]) * d, i = Int(items[b]) * d, g = dlogit[b], mb = m + b * d
                    for j in 0..<d {
                        let a = g * w[j] * mb[j]
                        dP[u + j] += a * Q[i + j]
                        dQ[i + j] += a * P[u + j]
                    }
                }
            } else {
                gmfHeadBackward(dUserTable: gu.pointer(in: grads), dItemTable: gi.pointer(in: grads), dlogit: dlogit,
                                w: w, userTable: gu.pointer(in: params), itemTable: gi.pointer(in: params),
                                users: users, items: items, batch: B, dim: d)
            }
        }
        if let ub = userBias, let ib = itemBias {
            // d b_u += dlogit, d b_i += dlogit (scatter-add)
            let dbu = ub.pointer(in: grads), dbi = ib.pointer(in: grads)
            for b in 0..<B {
                dbu[Int(users[b])] += dlogit[b]
                dbi[Int(items[b])] += dlogit[b]
            }
        }

        if let mu = mlpUser, let mi = mlpItem, let hm = headMLP {
            let L = dims.count
            let lastAct = UnsafePointer(L == 0 ? x0.pointer : act[L - 1].pointer)
            let lastDim = L == 0 ? 2 * d : dims[L - 1]
            // d head.mlp += lastᵀ · dlogit
            BLAS.gemv(trans: true, m: B, n: lastDim, alpha: 1, a: lastAct, lda: lastDim, x: dlogit, beta: 1, y: hm.pointer(in: grads))
            if L == 0 {
                headOuterBackward(out: dx0.pointer, dlogit: dlogit, w: hm.pointer(in: params), rows: B, cols: lastDim)
            } else {
                headReLUBackward(dpre: grad[L - 1].pointer, dlogit: dlogit, w: hm.pointer(in: params), mask: mask[L - 1].pointer,
                                 dbias: biases[L - 1].pointer(in: grads), rows: B, cols: lastDim)
            }
            // grad[l] holds ∂L/∂pre_l here; push it through layer l's weights.
            for l in dims.indices.reversed() {
                let n = dims[l]
                let inDim = l == 0 ? 2 * d : dims[l - 1]
                let dinp = l == 0 ? dx0.pointer : grad[l - 1].pointer
                let inp = l == 0 ? UnsafePointer(x0.pointer) : UnsafePointer(act[l - 1].pointer)
                let dpre = UnsafePointer(grad[l].pointer)
                dinp.update(repeating: 0, count: B * inDim)
                BLAS.gemm(transA: false, transB: false, m: B, n: inDim, k: n, alpha: 1,
                          a: dpre, lda: n, b: weights[l].pointer(in: params), ldb: inDim, beta: 1, c: dinp, ldc: inDim)
                BLAS.gemm(transA: true, transB: false, m: n, n: inDim, k: B, alpha: 1,
                          a: dpre, lda: n, b: inp, ldb: inDim, beta: 1, c: weights[l].pointer(in: grads), ldc: inDim)
                if l > 0 {
                    reluMaskBackwardInPlace(dinp, mask: mask[l - 1].pointer, dbias: biases[l - 1].pointer(in: grads),
                                            rows: B, cols: inDim)
                }
            }
            if embedMasked {
                let dx = dx0.pointer, m = x0Mask.pointer
                for k in 0..<(B * 2 * d) { dx[k] *= m[k] }
            }
            embeddingBackward(dtable: mu.pointer(in: grads), dout: dx0.pointer, ldOut: 2 * d, indices: users, batch: B, dim: d)
            embeddingBackward(dtable: mi.pointer(in: grads), dout: dx0.pointer + d, ldOut: 2 * d, indices: items, batch: B, dim: d)
        }
        recordTouched(users: users, items: items, count: B)
        if embedL2 > 0 {
            for view in userTables { addL2(view, touchedUsers) }
            for view in itemTables { addL2(view, touchedItems) }
        }
    }

    /// Inverted dropout in place over `count` entries: each gets the product of `factors`
    /// independent keep draws (`rng.nextFloat() ≥ p` → 1/(1 − p), else 0), stored in `mask`.
    private func applyEmbedDropout(_ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
                                   factors: Int, rng: inout SplitMix64) {
        let p = embedDropout, keep = 1 / (1 - p)
        for k in 0..<count {
            var m: Float = 1
            for _ in 0..<factors { m *= rng.nextFloat() >= p ? keep : 0 }
            mask[k] = m
            x[k] *= m
        }
    }

    /// `grad[r] += λ·param[r]` for each of `rows` (unique) in `view`.
    private func addL2(_ view: TensorView, _ rows: UnsafeBufferPointer<Int32>) {
        let lambda = embedL2, p = view.pointer(in: params), g = view.pointer(in: grads), c = view.cols
        for r in rows {
            let o = Int(r) * c
            for j in 0..<c { g[o + j] += lambda * p[o + j] }
        }
    }

    /// The embedding penalty whose gradient `backward` adds: (λ/2)·Σ ‖row‖² over the unique user
    /// and item rows of `users`/`items`, in every user/item table (0 when `embedL2` is 0). Not part
    /// of the logged losses; for gradient checks and inspection.
    /// - Complexity: O(B·d) plus a set of the batch's rows.
    public func penalty(users: [Int32], items: [Int32]) -> Double {
        guard embedL2 > 0 else { return 0 }
        var sum = 0.0
        for (tables, rows) in [(userTables, Set(users)), (itemTables, Set(items))] {
            for view in tables {
                let p = view.pointer(in: params)
                for r in rows {
                    for j in 0..<view.cols { let x = Double(p[Int(r) * view.cols + j]); sum += x * x }
                }
            }
        }
        return 0.5 * Double(embedL2) * sum
    }

    private func recordTouched(users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count B: Int) {
        stamp &+= 1
        if stamp == 0 {  // wrapped: clear the stamps once every 2³² steps
            for i in userStamp.indices { userStamp[i] = 0 }
            for i in itemStamp.indices { itemStamp[i] = 0 }
            stamp = 1
        }
        var nu = 0, ni = 0
        userStamp.withUnsafeMutableBufferPointer { us in
            for b in 0..<B where us[Int(users[b])] != stamp {
                us[Int(users[b])] = stamp
                touchedUserBuf[nu] = users[b]
                nu += 1
            }
        }
        itemStamp.withUnsafeMutableBufferPointer { its in
            for b in 0..<B where its[Int(items[b])] != stamp {
                its[Int(items[b])] = stamp
                touchedItemBuf[ni] = items[b]
                ni += 1
            }
        }
        touchedUserCount = nu
        touchedItemCount = ni
    }

    /// The unique user rows the last `backward` touched.
    public var touchedUsers: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: touchedUserBuf, count: touchedUserCount) }
    /// The unique item rows the last `backward` touched.
    public var touchedItems: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: touchedItemBuf, count: touchedItemCount) }

    /// Sets every gradient to zero.
    public func zeroGrad() { grads.zero() }

    /// Zeroes only what the last `backward` wrote: the touched embedding rows and the dense tensors.
    /// - Complexity: O((touched rows)·d + dense parameters), independent of the table sizes.
    public func zeroTouchedGrad() {
        for view in userTables { zeroRows(view, touchedUsers) }
        for view in itemTables { zeroRows(view, touchedItems) }
        for view in denseViews { view.pointer(in: grads).update(repeating: 0, count: view.count) }
    }

    private func zeroRows(_ view: TensorView, _ rows: UnsafeBufferPointer<Int32>) {
        let base = view.pointer(in: grads)
        for r in rows { (base + Int(r) * view.cols).update(repeating: 0, count: view.cols) }
    }

    // MARK: - Inference

    /// Scores `count` pairs (any number; split into chunks of `capacity`) with dropout off.
    /// Writes ratings (rating task) or logits (implicit; monotone in the probability) into `out`.
    public func predict(users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>) {
        var rng = SplitMix64(seed: 0)  // unused: no dropout at inference
        var start = 0
        while start < count {
            let n = min(capacity, count - start)
            let y = forward(users: users + start, items: items + start, count: n, training: false, rng: &rng)
            (out + start).update(from: y, count: n)
            start += n
        }
    }

    /// Convenience for tests and small callers: scores arrays of pairs.
    public func predict(users: [Int32], items: [Int32]) -> [Float] {
        precondition(users.count == items.count, "predict: users and items differ in length")
        var out = [Float](repeating: 0, count: users.count)
        users.withUnsafeBufferPointer { u in
            items.withUnsafeBufferPointer { i in
                out.withUnsafeMutableBufferPointer { o in
                    predict(users: u.baseAddress!, items: i.baseAddress!, count: users.count, into: o.baseAddress!)
                }
            }
        }
        return out
    }
}
