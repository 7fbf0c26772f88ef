import NCFKernels

// MARK: - Batched inference
//
// Scoring for evaluation: the same function as `NeuMF.forward(training: false)`, reorganised so
// that most of the arithmetic is large sgemm calls and nothing is computed twice.
//
// The first tower layer acts on the concatenation [U_u ; V_i], so it splits into a user half and an
// item half (W_1 = [W_1u | W_1i], each n_1 × d):
//
//     z_1(u, i) = W_1u U_u + W_1i V_i + b_1 = A_u + C_i,   A = U W_1uᵀ  [users, n_1],
//                                                         C = V W_1iᵀ + b_1  [items, n_1]
//
// `refresh()` computes A and C once per evaluation (two gemms over the tables); a pair's first
// layer is then one addition, h_1 = relu(A_u + C_i), instead of 2·2d·n_1 flops. The GMF branch folds
// the head's weights into the user side, g(u, i)·w_g = (P_u ⊙ w_g)·Q_i, so scoring every item for a
// block of users is one gemm (P ⊙ w_g)_block · Qᵀ. The remaining layers run as gemms over tiles of
// `tileRows` pairs (a few MB of activations at most, reused tile after tile).
//
// Without hidden layers (a tower of no Linear) the MLP branch is linear in [U_u ; V_i], so it folds
// into one number per user and one per item.
//
// MF has the GMF branch with w_g = 1 (the model's fixed unit head) and adds b_u + b_i per pair.
//
// Shapes: d = embed_dim, n_1…n_L = mlp_dims, T = tileRows, N = items.

/// Scores (user, item) pairs, or every item for a list of users, with dropout off.
///
/// Results equal `NeuMF.predict` up to float rounding (the sums run in another order: relative
/// differences of order 1e-6; `BatchScorerTests` checks them against the per-pair path).
/// Call `refresh()` after the parameters change and before scoring. Not thread-safe: one scorer per
/// thread (it owns its workspace).
public final class BatchScorer {
    public let model: NeuMF
    /// Pairs per tile of the tower's gemms.
    public let tileRows: Int

    private let d: Int
    private let dims: [Int]
    private let numUsers: Int
    private let numItems: Int
    /// A = U W_1uᵀ [users, n_1] (no hidden layers: [users, 1], U_u · w_m[0..<d]).
    private let userHalf: FloatBuffer
    /// C = V W_1iᵀ + b_1 [items, n_1] (no hidden layers: [items, 1], V_i · w_m[d..<2d]).
    private let itemHalf: FloatBuffer
    /// P ⊙ w_g [users, d] (GMF only).
    private let userGMF: FloatBuffer
    /// Tower activations of one tile, layer by layer: [T, n_l].
    private let acts: [FloatBuffer]
    /// Gathered (P ⊙ w_g) rows of a user block [`gmfBlock`, d].
    private let blockGMF: FloatBuffer
    /// W_lᵀ [n_{l−1}, n_l] for l ≥ 2 (index l − 1), for the fused tower; empty when it is not used.
    /// Shared with the scorers made by `init(sharing:)`, like the halves.
    private let transposedWeights: [FloatBuffer]
    /// Whether `fusedTowerAllItems` serves this tower (see `fusedWidths`).
    private var usesFusedTower: Bool { !transposedWeights.isEmpty }
    /// One block of pairs' activations for the fused tower, [`fusedBlock`, max n_l] twice.
    private let fusedActs: (FloatBuffer, FloatBuffer)
    /// Pairs per block of the fused tower (its activations stay in L1).
    private let fusedBlock = 64
    /// Hidden sizes (above the first layer) the fused tower has a register kernel for.
    public static let fusedWidths: Set<Int> = [8, 16, 32, 64]
    /// Whether this build has the fused tower: it needs fused multiply-add in hardware, which a build
    /// for the machine's CPU has (`NCF_FMA`, see Package.swift); a portable build uses the gemms.
    #if NCF_FMA
    public static let hasFusedTower = true
    #else
    public static let hasFusedTower = false
    #endif
    /// Users per GMF gemm in `scoreAllItems`.
    private let gmfBlock = 64

    /// Pairs per tile unless told otherwise. Measured on ML-1M full ranking (`ncf-bench eval
    /// --tile_rows`): 1,024 to 8,192 within 1% of each other on an idle core, 256 about 10% slower.
    public static let defaultTileRows = 4096

    /// - Parameter tileRows: pairs per tile of the tower's gemms.
    public convenience init(model: NeuMF, tileRows: Int = BatchScorer.defaultTileRows) {
        let config = model.config
        let dims = config.kind.usesMLP ? config.mlpDims : []
        let halfWidth = config.kind.usesMLP ? (dims.first ?? 1) : 0
        let fused = BatchScorer.hasFusedTower && dims.count >= 2 && dims.dropFirst().allSatisfy { BatchScorer.fusedWidths.contains($0) }
        self.init(model: model, tileRows: tileRows,
                  userHalf: FloatBuffer(count: config.numUsers * halfWidth),
                  itemHalf: FloatBuffer(count: config.numItems * halfWidth),
                  userGMF: FloatBuffer(count: config.kind.usesGMF ? config.numUsers * config.embedDim : 0),
                  transposedWeights: fused ? (1..<dims.count).map { FloatBuffer(count: dims[$0 - 1] * dims[$0]) } : [])
    }

    /// A scorer for another thread: it shares `primary`'s precomputed halves (so `primary.refresh()`
    /// serves both) and has its own workspace.
    public convenience init(sharing primary: BatchScorer) {
        self.init(model: primary.model, tileRows: primary.tileRows, userHalf: primary.userHalf,
                  itemHalf: primary.itemHalf, userGMF: primary.userGMF, transposedWeights: primary.transposedWeights)
    }

    private init(model: NeuMF, tileRows: Int, userHalf: FloatBuffer, itemHalf: FloatBuffer, userGMF: FloatBuffer,
                 transposedWeights: [FloatBuffer]) {
        precondition(tileRows > 0, "BatchScorer: tileRows must be positive")
        self.model = model
        self.tileRows = tileRows
        let config = model.config
        d = config.embedDim
        dims = config.kind.usesMLP ? config.mlpDims : []
        numUsers = config.numUsers
        numItems = config.numItems
        self.userHalf = userHalf
        self.itemHalf = itemHalf
        self.userGMF = userGMF
        acts = dims.map { FloatBuffer(count: tileRows * $0) }
        blockGMF = FloatBuffer(count: config.kind.usesGMF ? gmfBlock * config.embedDim : 0)
        self.transposedWeights = transposedWeights
        let widest = transposedWeights.isEmpty ? 0 : config.mlpDims.max()!
        fusedActs = (FloatBuffer(count: fusedBlock * widest), FloatBuffer(count: fusedBlock * widest))
    }

    // MARK: - Precomputation

    /// Recomputes the per-user and per-item halves from the model's current parameters.
    /// - Complexity: 2·(users + items)·d·n_1 flops (one gemm per table) + users·d.
    public func refresh() {
        let params = model.params
        if let gu = model.gmfUser, let w = model.gmfHeadWeights() {
            let p = UnsafePointer(gu.pointer(in: params))
            let out = userGMF.pointer
            for u in 0..<numUsers {
                let row = p + u * d, o = out + u * d
                for j in 0..<d { o[j] = row[j] * w[j] }
            }
        }
        if usesFusedTower {
            for l in 1..<dims.count {
                let w = UnsafePointer(model.weights[l].pointer(in: params)), t = transposedWeights[l - 1].pointer
                let (m, k) = (dims[l], dims[l - 1])
                for j in 0..<m { for i in 0..<k { t[i * m + j] = w[j * k + i] } }
            }
        }
        guard let mu = model.mlpUser, let mi = model.mlpItem else { return }
        let U = UnsafePointer(mu.pointer(in: params)), V = UnsafePointer(mi.pointer(in: params))
        if let n1 = dims.first {
            let w1 = UnsafePointer(model.weights[0].pointer(in: params))
            let b1 = UnsafePointer(model.biases[0].pointer(in: params))
            // A = U · W_1[:, 0..<d]ᵀ; C = V · W_1[:, d..<2d]ᵀ + b_1 (W_1 is [n_1, 2d], row stride 2d).
            BLAS.gemm(transA: false, transB: true, m: numUsers, n: n1, k: d, alpha: 1,
                      a: U, lda: d, b: w1, ldb: 2 * d, beta: 0, c: userHalf.pointer, ldc: n1)
            for i in 0..<numItems { (itemHalf.pointer + i * n1).update(from: b1, count: n1) }
            BLAS.gemm(transA: false, transB: true, m: numItems, n: n1, k: d, alpha: 1,
                      a: V, lda: d, b: w1 + d, ldb: 2 * d, beta: 1, c: itemHalf.pointer, ldc: n1)
        } else {
            let wm = UnsafePointer(model.headMLP!.pointer(in: params))
            BLAS.gemv(trans: false, m: numUsers, n: d, alpha: 1, a: U, lda: d, x: wm, beta: 0, y: userHalf.pointer)
            BLAS.gemv(trans: false, m: numItems, n: d, alpha: 1, a: V, lda: d, x: wm + d, beta: 0, y: itemHalf.pointer)
        }
    }

    // MARK: - Arbitrary pairs

    /// Scores `count` (user, item) pairs into `out` (ratings, or logits on the implicit task).
    /// - Complexity: per pair n_1 + 2·Σ_{l≥2} n_{l−1}·n_l + 2·n_L + 2d flops.
    public func score(users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let bias = model.headBias.pointer(in: model.params)[0]
        var start = 0
        while start < count {
            let n = min(tileRows, count - start)
            let u = users + start, i = items + start, o = out + start
            o.update(repeating: bias, count: n)
            if let ub = model.userBias, let ib = model.itemBias {
                let bu = ub.pointer(in: model.params), bi = ib.pointer(in: model.params)
                for r in 0..<n { o[r] += bu[Int(u[r])] + bi[Int(i[r])] }
            }
            if model.gmfUser != nil { addGMF(users: u, items: i, count: n, into: o) }
            if model.mlpUser != nil {
                firstLayer(users: u, items: i, count: n, into: o)
                tower(count: n, into: o)
            }
            start += n
        }
    }

    /// Convenience for tests and small callers.
    public func score(users: [Int32], items: [Int32]) -> [Float] {
        precondition(users.count == items.count, "BatchScorer.score: users and items differ in length")
        if users.isEmpty { return [] }
        var out = [Float](repeating: 0, count: users.count)
        users.withUnsafeBufferPointer { u in
            items.withUnsafeBufferPointer { i in
                out.withUnsafeMutableBufferPointer { o in
                    score(users: u.baseAddress!, items: i.baseAddress!, count: u.count, into: o.baseAddress!)
                }
            }
        }
        return out
    }

    // MARK: - Every item

    /// Scores every item for each of `users`: `out[k·N + i]` = score(users[k], i), N = items.
    /// - Complexity: `count`·N pairs at the per-pair cost of `score`, the GMF part as one gemm per
    ///   block of users.
    public func scoreAllItems(users: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let N = numItems
        let bias = model.headBias.pointer(in: model.params)[0]
        out.update(repeating: bias, count: count * N)
        if let ub = model.userBias, let ib = model.itemBias {
            // MF: out[k, i] += b_{users[k]} + b_i
            let bu = ub.pointer(in: model.params), bi = UnsafePointer(ib.pointer(in: model.params))
            for k in 0..<count {
                let row = out + k * N, b = bu[Int(users[k])]
                for i in 0..<N { row[i] += b + bi[i] }
            }
        }
        if let gi = model.gmfItem {
            let Q = UnsafePointer(gi.pointer(in: model.params))
            var k0 = 0
            while k0 < count {
                let bu = min(gmfBlock, count - k0)
                for k in 0..<bu {
                    (blockGMF.pointer + k * d).update(from: userGMF.pointer + Int(users[k0 + k]) * d, count: d)
                }
                // out[block, :] += (P ⊙ w_g)_block · Qᵀ
                BLAS.gemm(transA: false, transB: true, m: bu, n: N, k: d, alpha: 1,
                          a: blockGMF.pointer, lda: d, b: Q, ldb: d, beta: 1, c: out + k0 * N, ldc: N)
                k0 += bu
            }
        }
        guard model.mlpUser != nil else { return }
        if usesFusedTower {
            fusedTowerAllItems(users: users, count: count, into: out)
            return
        }
        // Tiles run through the flattened (user k, item i) pairs, k-major.
        let total = count * N
        var start = 0
        while start < total {
            let n = min(tileRows, total - start)
            firstLayerAllItems(users: users, from: start, count: n, into: out + start)
            tower(count: n, into: out + start)
            start += n
        }
    }

    // MARK: - Pieces

    /// `out[r] += (P_u ⊙ w_g)·Q_i` for each pair.
    @inline(__always)
    private func addGMF(users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count n: Int, into out: UnsafeMutablePointer<Float>) {
        let Q = UnsafePointer(model.gmfItem!.pointer(in: model.params))
        let P = UnsafePointer(userGMF.pointer)
        let d = d
        for r in 0..<n {
            let p = P + Int(users[r]) * d, q = Q + Int(items[r]) * d
            var s: Float = 0
            for j in 0..<d { s += p[j] * q[j] }
            out[r] += s
        }
    }

    /// Writes the first tower layer of a tile, h_1[r] = relu(A_u + C_i) for pair r = (users[r], items[r]);
    /// without hidden layers, adds the folded linear MLP term A_u + C_i to `out[r]` instead.
    @inline(__always)
    private func firstLayer(users: UnsafePointer<Int32>, items: UnsafePointer<Int32>, count n: Int, into out: UnsafeMutablePointer<Float>) {
        let A = UnsafePointer(userHalf.pointer), C = UnsafePointer(itemHalf.pointer)
        guard let n1 = dims.first else {
            for r in 0..<n { out[r] += A[Int(users[r])] + C[Int(items[r])] }
            return
        }
        let h1 = acts[0].pointer
        for r in 0..<n {
            addReLU(h1 + r * n1, A + Int(users[r]) * n1, C + Int(items[r]) * n1, count: n1)
        }
    }

    /// `firstLayer` for the pairs `start ..< start + n` of the flattened (users[k], item i) grid,
    /// pair p = k·N + i.
    @inline(__always)
    private func firstLayerAllItems(users: UnsafePointer<Int32>, from start: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        let A = UnsafePointer(userHalf.pointer), C = UnsafePointer(itemHalf.pointer)
        let N = numItems
        var k = start / N, i = start % N
        guard let n1 = dims.first else {
            for r in 0..<n {
                out[r] += A[Int(users[k])] + C[i]
                i += 1
                if i == N { i = 0; k += 1 }
            }
            return
        }
        let h1 = acts[0].pointer
        var r = 0
        while r < n {
            // One user's run of consecutive items.
            let run = min(n - r, N - i)
            let a = A + Int(users[k]) * n1
            for t in 0..<run { addReLU(h1 + (r + t) * n1, a, C + (i + t) * n1, count: n1) }
            r += run
            i += run
            if i == N { i = 0; k += 1 }
        }
    }

    /// The tower above its first layer for a tile whose h_1 is written: h_l = relu(W_l h_{l−1} + b_l)
    /// for l ≥ 2, then `out[r] += w_m · h_L[r]`. Layers above the first are kept feature-major
    /// ([n_l, T], a row per unit), so a bias is one contiguous fill per unit and no activation is
    /// transposed: layer 2 reads h_1 ([T, n_1], pair-major) through a transposed operand.
    @inline(__always)
    private func tower(count n: Int, into out: UnsafeMutablePointer<Float>) {
        guard let n1 = dims.first else { return }
        let params = model.params
        var inp = UnsafePointer(acts[0].pointer)
        var inDim = n1
        for l in 1..<dims.count {
            let m = dims[l], h = acts[l].pointer
            let b = UnsafePointer(model.biases[l].pointer(in: params))
            for j in 0..<m { (h + j * n).update(repeating: b[j], count: n) }
            // h_l [m, n] = W_l [m, inDim] · h_{l−1}ᵀ, h_{l−1} pair-major [n, inDim] (l = 2) or
            // feature-major [inDim, n] (l > 2).
            BLAS.gemm(transA: false, transB: l == 1, m: m, n: n, k: inDim, alpha: 1,
                      a: model.weights[l].pointer(in: params), lda: inDim, b: inp, ldb: l == 1 ? inDim : n,
                      beta: 1, c: h, ldc: n)
            relu(h, count: m * n)
            inp = UnsafePointer(h)
            inDim = m
        }
        if dims.count == 1 {
            BLAS.gemv(trans: false, m: n, n: inDim, alpha: 1, a: inp, lda: inDim,
                      x: model.headMLP!.pointer(in: params), beta: 1, y: out)
        } else {
            // out [n] += h_Lᵀ · w_m, h_L feature-major [inDim, n].
            BLAS.gemv(trans: true, m: inDim, n: n, alpha: 1, a: inp, lda: n,
                      x: model.headMLP!.pointer(in: params), beta: 1, y: out)
        }
    }
}

// MARK: - Fused tower

extension BatchScorer {
    /// The whole tower for every item of each user, a block of `fusedBlock` pairs at a time, with
    /// register kernels instead of library calls: h_1 = relu(A_u + C_i) for the block, then each
    /// layer with its accumulators in vector registers (two or four pairs per pass, so each weight
    /// row loaded serves them all) and fused multiply-adds, the block's activations staying in L1.
    /// For towers whose hidden sizes above the first are in `fusedWidths`; the same sums as the
    /// gemm path in another order. On ML-1M's full ranking it takes 0.86 s where the gemm path
    /// takes 1.12 s (README, "Performance"): the library spends a sixth of its time packing tiles.
    /// - Complexity: per pair n_1 + 2·Σ_{l≥2} n_{l−1}·n_l + 2·n_L flops, as `score`.
    private func fusedTowerAllItems(users: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let N = numItems, n1 = dims[0]
        let A = UnsafePointer(userHalf.pointer), C = UnsafePointer(itemHalf.pointer)
        let params = model.params
        let head = UnsafePointer(model.headMLP!.pointer(in: params))
        for k in 0..<count {
            let a = A + Int(users[k]) * n1
            let row = out + k * N
            var i0 = 0
            while i0 < N {
                let n = min(fusedBlock, N - i0)
                var inp = fusedActs.0.pointer, outp = fusedActs.1.pointer
                for r in 0..<n { addReLU(inp + r * n1, a, C + (i0 + r) * n1, count: n1) }
                for l in 1..<dims.count {
                    let w = UnsafePointer(transposedWeights[l - 1].pointer)
                    let b = UnsafePointer(model.biases[l].pointer(in: params))
                    switch dims[l] {
                    case 8: denseReLU4(Lanes8.self, h: inp, k: dims[l - 1], w: w, b: b, out: outp, n: n)
                    case 16: denseReLU4(Lanes16.self, h: inp, k: dims[l - 1], w: w, b: b, out: outp, n: n)
                    case 32: denseReLU(Lanes32.self, h: inp, k: dims[l - 1], w: w, b: b, out: outp, n: n)
                    default: denseReLU(Lanes64.self, h: inp, k: dims[l - 1], w: w, b: b, out: outp, n: n)
                    }
                    swap(&inp, &outp)
                }
                let nL = dims[dims.count - 1]
                for r in 0..<n {
                    let h = inp + r * nL
                    var s: Float = 0
                    for j in 0..<nL { s += h[j] * head[j] }
                    row[i0 + r] += s
                }
                i0 += n
            }
        }
    }
}

/// One tower layer for `n` pairs, out[r] = relu(b + Σ_j h_r[j]·wᵀ[j]) with `L` as wide as the
/// layer (`L.width` outputs, kept in SIMD8 registers), two pairs per pass so that each weight row
/// loaded serves both. `h` is [n, k], `w` is Wᵀ [k, L.width], `out` is [n, L.width].
@inline(__always)
private func denseReLU<L: LaneBlock>(_: L.Type, h: UnsafePointer<Float>, k: Int, w: UnsafePointer<Float>,
                                     b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, n: Int) {
    let m = L.width
    let bias = L(b)
    var r = 0
    while r < n {
        let pair = r + 1 < n
        var acc0 = bias, acc1 = bias
        let x0 = h + r * k, x1 = h + (pair ? r + 1 : r) * k
        for j in 0..<k {
            let wj = L(w + j * m)
            acc0.add(wj, times: x0[j])
            acc1.add(wj, times: x1[j])
        }
        acc0.storeReLU(out + r * m)
        if pair { acc1.storeReLU(out + (r + 1) * m) }
        r += 2
    }
}

/// `denseReLU` four pairs per pass from `h`, for layers narrow enough (≤ 16) that four rows of
/// accumulators fit in registers.
@inline(__always)
private func denseReLU4<L: LaneBlock>(_: L.Type, h: UnsafePointer<Float>, k: Int, w: UnsafePointer<Float>,
                                      b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, n: Int) {
    let m = L.width
    let bias = L(b)
    var r = 0
    while r + 4 <= n {
        var acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias
        let x0 = h + r * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k
        for j in 0..<k {
            let wj = L(w + j * m)
            acc0.add(wj, times: x0[j])
            acc1.add(wj, times: x1[j])
            acc2.add(wj, times: x2[j])
            acc3.add(wj, times: x3[j])
        }
        acc0.storeReLU(out + r * m)
        acc1.storeReLU(out + (r + 1) * m)
        acc2.storeReLU(out + (r + 2) * m)
        acc3.storeReLU(out + (r + 3) * m)
        r += 4
    }
    if r < n {
        denseReLU(L.self, h: h + r * k, k: k, w: w, b: b, out: out + r * m, n: n - r)
    }
}

/// A row of `width` floats held as SIMD8 registers (a struct of vectors, so it lives in registers
/// once inlined), with the three operations a tower layer needs.
private protocol LaneBlock {
    static var width: Int { get }
    /// Loads `width` floats.
    init(_ p: UnsafePointer<Float>)
    /// self += w · x.
    mutating func add(_ w: Self, times x: Float)
    /// Stores relu(self).
    func storeReLU(_ p: UnsafeMutablePointer<Float>)
}

@inline(__always) private func relu8(_ v: SIMD8<Float>) -> SIMD8<Float> { v.replacing(with: 0, where: v .< 0) }

private struct Lanes8: LaneBlock {
    var v0: SIMD8<Float>
    static var width: Int { 8 }
    @inline(__always) init(_ p: UnsafePointer<Float>) { v0 = loadV8(p) }
    @inline(__always) mutating func add(_ w: Lanes8, times x: Float) { v0 = v0.addingProduct(w.v0, x) }
    @inline(__always) func storeReLU(_ p: UnsafeMutablePointer<Float>) { storeV8(relu8(v0), p) }
}

private struct Lanes16: LaneBlock {
    var v0, v1: SIMD8<Float>
    static var width: Int { 16 }
    @inline(__always) init(_ p: UnsafePointer<Float>) { v0 = loadV8(p); v1 = loadV8(p + 8) }
    @inline(__always) mutating func add(_ w: Lanes16, times x: Float) { v0 = v0.addingProduct(w.v0, x); v1 = v1.addingProduct(w.v1, x) }
    @inline(__always) func storeReLU(_ p: UnsafeMutablePointer<Float>) { storeV8(relu8(v0), p); storeV8(relu8(v1), p + 8) }
}

private struct Lanes32: LaneBlock {
    var v0, v1, v2, v3: SIMD8<Float>
    static var width: Int { 32 }
    @inline(__always) init(_ p: UnsafePointer<Float>) { v0 = loadV8(p); v1 = loadV8(p + 8); v2 = loadV8(p + 16); v3 = loadV8(p + 24) }
    @inline(__always) mutating func add(_ w: Lanes32, times x: Float) {
        v0 = v0.addingProduct(w.v0, x); v1 = v1.addingProduct(w.v1, x)
        v2 = v2.addingProduct(w.v2, x); v3 = v3.addingProduct(w.v3, x)
    }
    @inline(__always) func storeReLU(_ p: UnsafeMutablePointer<Float>) {
        storeV8(relu8(v0), p); storeV8(relu8(v1), p + 8); storeV8(relu8(v2), p + 16); storeV8(relu8(v3), p + 24)
    }
}

private struct Lanes64: LaneBlock {
    var lo, hi: Lanes32
    static var width: Int { 64 }
    @inline(__always) init(_ p: UnsafePointer<Float>) { lo = Lanes32(p); hi = Lanes32(p + 32) }
    @inline(__always) mutating func add(_ w: Lanes64, times x: Float) { lo.add(w.lo, times: x); hi.add(w.hi, times: x) }
    @inline(__always) func storeReLU(_ p: UnsafeMutablePointer<Float>) { lo.storeReLU(p); hi.storeReLU(p + 32) }
}

/// `h[j] = relu(a[j] + c[j])`.
@inline(__always)
func addReLU(_ h: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ c: UnsafePointer<Float>, count n: Int) {
    for j in 0..<n {
        let x = a[j] + c[j]
        h[j] = x > 0 ? x : 0
    }
}

/// `x[i] = max(x[i], 0)` (NaN becomes 0, as in the training forward pass).
/// - Complexity: O(count).
@inline(__always)
func relu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { x[i] = x[i] > 0 ? x[i] : 0 }
}
