import NCFData
import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

/// The whole model: every parameter's gradient against finite differences of `loss`, the layout
/// and initialisation, inference, the touched-row bookkeeping, and a short training trajectory.
final class NeuMFTests: XCTestCase {
    // A batch of 6 pairs over 5 users and 7 items: user 0 three times and user 2 twice (their
    // embedding gradients must add up), item 1 twice; users 1, 3 and items 2, 4 are absent.
    private let users: [Int32] = [0, 2, 0, 4, 2, 0]
    private let items: [Int32] = [1, 6, 3, 1, 0, 5]
    private let ratingTargets: [Float] = [4, 2.5, 5, 1, 3, 3.5]
    private let implicitTargets: [Float] = [1, 0, 1, 0, 1, 0]
    private let tasks: [NCFData.Task] = [.rating, .implicit]

    private func tinyConfig(_ kind: ModelKind, _ task: NCFData.Task, dropout: Float = 0, mlpDims: [Int] = [4, 3]) -> ModelConfig {
        ModelConfig(kind: kind, task: task, numUsers: 5, numItems: 7, embedDim: 3, mlpDims: mlpDims, dropout: dropout)
    }

    private func targets(_ task: NCFData.Task) -> [Float] { task == .rating ? ratingTargets : implicitTargets }

    /// Re-fills every parameter with N(0, std²). The default init (embeddings at std 0.01, biases 0)
    /// makes most gradients tiny, where relative errors mean little; order-1 values are what the
    /// checker's tolerance is set for.
    private func rescale(_ model: NeuMF, std: Float = 0.5, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for i in 0..<model.params.count { model.params[i] = Float(rng.nextGaussian()) * std }
    }

    // MARK: - Reference forward

    /// The model's formulas as plain loops in Double over the named parameter views, independent of
    /// the layer kernels: ŷ = [P_u ⊙ Q_i ; h_L]·w + b with h_l = dropout(relu(W_l h_{l−1} + b_l)).
    /// Returns the outputs and every tower pre-activation (to measure how close they are to the
    /// ReLU kink). With `maskRng`, masks are drawn as the model draws them: one `nextFloat()` per
    /// unit, layer by layer, row-major, kept when the draw is ≥ p, scaled by 1/(1 − p).
    private func referenceForward(
        _ model: NeuMF, users: [Int32], items: [Int32], maskRng: SplitMix64?
    ) -> (out: [Double], pre: [Double]) {
        let config = model.config, d = config.embedDim
        let params = model.params.array
        func view(_ name: String) -> [Double] {
            guard let v = model.layout.view(named: name) else { return [] }
            return params[v.offset..<(v.offset + v.count)].map(Double.init)
        }
        func row(_ table: [Double], _ r: Int32) -> [Double] { Array(table[(Int(r) * d)..<(Int(r) * d + d)]) }
        var rng = maskRng
        let p = config.dropout, keepScale = Double(1 / (1 - p))
        let mf = config.kind == .mf
        let (P, Q) = mf ? (view("mf.user"), view("mf.item")) : (view("gmf.user"), view("gmf.item"))
        let (U, V) = (view("mlp.user"), view("mlp.item"))
        let hGMF = mf ? [Double](repeating: 1, count: d) : view("head.gmf")
        let hMLP = view("head.mlp"), bias = view("head.bias")[0]
        let dims = config.kind.usesMLP ? config.mlpDims : []

        // Embedding dropout masks, drawn before the tower's, as the model draws them: for the
        // product branch two draws per entry of g (m_P·m_Q), then one per entry of [U_u ; V_i].
        let pe = model.embedDropout, keepE = Double(1 / (1 - pe))
        func embedMasks(_ count: Int, factors: Int) -> [Double] {
            guard var g = rng, pe > 0 else { return [Double](repeating: 1, count: count) }
            var out: [Double] = []
            for _ in 0..<count {
                var m = 1.0
                for _ in 0..<factors { m *= g.nextFloat() >= pe ? keepE : 0 }
                out.append(m)
            }
            rng = g
            return out
        }
        let gmfMask = config.kind.usesGMF ? embedMasks(users.count * d, factors: 2) : []
        let x0Mask = config.kind.usesMLP ? embedMasks(users.count * 2 * d, factors: 1) : []

        var outs = [Double](repeating: bias, count: users.count)
        var pres: [Double] = []
        if mf {  // ŷ = b + b_u + b_i + P_u·Q_i
            let bu = view("bias.user"), bi = view("bias.item")
            for b in users.indices { outs[b] += bu[Int(users[b])] + bi[Int(items[b])] }
        }
        if config.kind.usesGMF {
            for b in users.indices {
                let pu = row(P, users[b]), qi = row(Q, items[b])
                for j in 0..<d { outs[b] += pu[j] * qi[j] * gmfMask[b * d + j] * hGMF[j] }
            }
        }
        if config.kind.usesMLP {
            var h = users.indices.map { b in (row(U, users[b]) + row(V, items[b])).enumerated().map { $1 * x0Mask[b * 2 * d + $0] } }
            var inDim = 2 * d
            for (l, n) in dims.enumerated() {
                let w = view("mlp.\(l).weight"), bl = view("mlp.\(l).bias")
                var next = [[Double]](repeating: [Double](repeating: 0, count: n), count: users.count)
                for b in users.indices {
                    for o in 0..<n {
                        var z = bl[o]
                        for c in 0..<inDim { z += w[o * inDim + c] * h[b][c] }
                        pres.append(z)
                        var m = 1.0
                        if var g = rng, p > 0 { m = g.nextFloat() >= p ? keepScale : 0; rng = g }
                        next[b][o] = max(z, 0) * m
                    }
                }
                h = next
                inDim = n
            }
            for b in users.indices {
                for j in 0..<inDim { outs[b] += h[b][j] * hMLP[j] }
            }
        }
        return (outs, pres)
    }

    func testForwardMatchesReferenceForward() {
        for kind in ModelKind.allCases {
            for task in tasks {
                for (dropout, dims, embedDropout) in [(Float(0), [4, 3], Float(0)), (0.3, [4, 3], 0), (0, [5], 0), (0, [], 0),
                                                      (0, [4, 3], 0.4), (0.3, [4, 3], 0.4)] {
                    let label = "\(kind) \(task) dropout=\(dropout) dims=\(dims) embed_dropout=\(embedDropout)"
                    let model = NeuMF(config: tinyConfig(kind, task, dropout: dropout, mlpDims: dims), capacity: 8, seed: 30)
                    model.embedDropout = embedDropout
                    rescale(model, seed: 31)
                    let maskRng = SplitMix64(seed: 32)
                    var g = maskRng
                    let y = model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
                    let training = Array(UnsafeBufferPointer(start: y, count: users.count))
                    let expected = referenceForward(model, users: users, items: items, maskRng: maskRng).out
                    assertClose(training, expected.map { Float($0) }, tolerance: 1e-5, "\(label) training")
                    let inference = referenceForward(model, users: users, items: items, maskRng: nil).out
                    assertClose(model.predict(users: users, items: items), inference.map { Float($0) }, tolerance: 1e-5,
                                "\(label) inference")
                }
            }
        }
    }

    // MARK: - Whole-model gradient check

    /// How far every ReLU input must stay from 0 during the gradient check. A ±ε step (ε = 1e-2)
    /// moves a pre-activation by ε·|x| (weight), ε (bias), ε·|W| (embedding) or, one layer up, by
    /// ε·Σ|W₁||W₀|; with parameters N(0, 0.5²) all of these are well under 0.05.
    private let kinkMargin = 0.05

    /// Re-fills the parameters (see `rescale`) from the first seed, counting up from `seed`, whose
    /// ReLU inputs on the check batch all lie at least `kinkMargin` from 0. The choice depends only
    /// on the inputs, never on whether a gradient check passes. Returns the seed used.
    private func rescaleClearOfKinks(_ model: NeuMF, seed: UInt64, maskRng: SplitMix64) -> UInt64? {
        for s in seed..<(seed + 500) {
            rescale(model, seed: s)
            let pre = referenceForward(model, users: users, items: items, maskRng: maskRng).pre
            if pre.allSatisfy({ abs($0) >= kinkMargin }) { return s }
        }
        return nil
    }

    /// Analytic `backward` against central differences of `loss` for every parameter. Each forward,
    /// the analytic one and every perturbed one, starts from a copy of the same generator, so with
    /// dropout all of them use one mask.
    /// With `embedL2` λ > 0 the checked function is the data loss plus `penalty` (λ/2 Σ ‖row‖² over
    /// the batch's unique user and item rows): rows outside the batch must get no gradient at all.
    private func checkModelGradient(
        _ kind: ModelKind, _ task: NCFData.Task, dropout: Float, mlpDims: [Int] = [4, 3], embedL2: Float = 0,
        embedDropout: Float = 0, file: StaticString = #filePath, line: UInt = #line
    ) {
        let label = "\(kind.rawValue) \(task) dropout=\(dropout) dims=\(mlpDims) embed_l2=\(embedL2) embed_dropout=\(embedDropout)"
        let model = NeuMF(config: tinyConfig(kind, task, dropout: dropout, mlpDims: mlpDims), capacity: 8, seed: 1)
        model.embedL2 = embedL2
        model.embedDropout = embedDropout
        let t = targets(task)
        let maskRng = SplitMix64(seed: 3, stream: 9)
        guard let seed = rescaleClearOfKinks(model, seed: 2, maskRng: maskRng) else {
            XCTFail("\(label): no parameter seed keeps the ReLU inputs \(kinkMargin) from 0", file: file, line: line)
            return
        }
        // As the trainer does for ratings: start the output at the mean target. Otherwise the loss
        // is ~15, and its Float round-off (u·L/(2ε) ≈ 5e-5) eats into the checker's absolute floor.
        if task == .rating { model.setOutputBias(t.reduce(0, +) / Float(t.count)) }
        var probe = maskRng
        model.forward(users: users, items: items, count: users.count, training: true, rng: &probe)
        let loss0 = model.loss(targets: t, count: users.count)
        print("gradcheck \(label): parameters from seed \(seed), loss \(loss0)")

        var g = maskRng
        model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
        _ = model.loss(targets: t, count: users.count)
        model.zeroGrad()
        model.backward(users: users, items: items, count: users.count)
        let analytic = model.grads.array

        if dropout > 0 || embedDropout > 0 {
            // The check must actually run with some units dropped: training output ≠ inference output.
            var replay = maskRng
            let trainOut = Array(UnsafeBufferPointer(
                start: model.forward(users: users, items: items, count: users.count, training: true, rng: &replay),
                count: users.count))
            XCTAssertNotEqual(trainOut, model.predict(users: users, items: items), "\(label): dropout had no effect",
                              file: file, line: line)
        }

        let checker = GradientChecker()
        XCTAssertEqual(model.params.count, model.layout.totalCount)
        for view in model.layout.views {
            let report = checker.check(
                "\(label) \(view.name)",
                analytic: Array(analytic[view.offset..<(view.offset + view.count)]),
                at: view.pointer(in: model.params), count: view.count
            ) {
                var replay = maskRng
                model.forward(users: users, items: items, count: users.count, training: true, rng: &replay)
                return Double(model.loss(targets: t, count: users.count)) + model.penalty(users: users, items: items)
            }
            assertGradient(report, file: file, line: line)
        }
    }

    func testGradientsMF() {
        for task in tasks { checkModelGradient(.mf, task, dropout: 0) }
    }

    /// The embedding L2: λ = 0.3 is large enough that a missing or doubled term (for user 0, three
    /// times in the batch, or for absent rows) fails the check.
    func testGradientsWithEmbedL2() {
        for task in tasks {
            for kind in ModelKind.allCases { checkModelGradient(kind, task, dropout: 0, embedL2: 0.3) }
            checkModelGradient(.neumf, task, dropout: 0.3, embedL2: 0.3)
        }
    }

    /// The penalty is added once per unique row and to the user/item tables only: by hand for MF.
    func testEmbedL2AddsLambdaTimesRowOncePerUniqueRow() {
        let model = NeuMF(config: tinyConfig(.mf, .rating), capacity: 8, seed: 1)
        rescale(model, seed: 2)
        var g = SplitMix64(seed: 0)
        func grads(_ lambda: Float) -> [Float] {
            model.embedL2 = lambda
            model.zeroGrad()
            model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
            _ = model.loss(targets: ratingTargets, count: users.count)
            model.backward(users: users, items: items, count: users.count)
            return model.grads.array
        }
        let plain = grads(0), reg = grads(0.5)
        let params = model.params.array
        for view in model.layout.views {
            let rows: Set<Int32> = view.name.hasSuffix(".user") ? Set(users) : view.name.hasSuffix(".item") ? Set(items) : []
            for r in 0..<view.rows {
                for c in 0..<view.cols {
                    let k = view.offset + r * view.cols + c
                    let expected = plain[k] + (rows.contains(Int32(r)) ? 0.5 * params[k] : 0)
                    XCTAssertEqual(reg[k], expected, accuracy: 1e-6, "\(view.name)[\(r), \(c)]")
                }
            }
        }
    }

    func testGradientsGMF() {
        for task in tasks { checkModelGradient(.gmf, task, dropout: 0) }
    }

    func testGradientsMLP() {
        for task in tasks { checkModelGradient(.mlp, task, dropout: 0) }
    }

    func testGradientsNeuMF() {
        for task in tasks { checkModelGradient(.neumf, task, dropout: 0) }
    }

    func testGradientsWithDropout() {
        for task in tasks {
            checkModelGradient(.mlp, task, dropout: 0.3)
            checkModelGradient(.neumf, task, dropout: 0.3)
        }
    }

    /// Embedding dropout: the masks of P_u ⊙ Q_i and of [U_u ; V_i] (with p = 0.4 some entries of
    /// every row are dropped), alone and with the tower's dropout and the embedding L2.
    func testGradientsWithEmbedDropout() {
        for task in tasks {
            for kind in ModelKind.allCases { checkModelGradient(kind, task, dropout: 0, embedDropout: 0.4) }
            checkModelGradient(.neumf, task, dropout: 0.3, embedL2: 0.3, embedDropout: 0.4)
        }
    }

    /// Embedding dropout zeroes about p of the entries and scales the rest by 1/(1 − p), in
    /// training only; with p = 0 the training output equals the inference output.
    func testEmbedDropoutIsInvertedAndTrainingOnly() {
        let model = NeuMF(config: tinyConfig(.gmf, .implicit, dropout: 0), capacity: 8, seed: 1)
        rescale(model, seed: 2)
        let inference = model.predict(users: users, items: items)
        var g = SplitMix64(seed: 4)
        let plain = Array(UnsafeBufferPointer(start: model.forward(users: users, items: items, count: users.count, training: true, rng: &g),
                                              count: users.count))
        XCTAssertEqual(plain, inference)
        model.embedDropout = 0.5
        XCTAssertEqual(model.predict(users: users, items: items), inference, "no dropout at inference")
        // The mean of many masked outputs approaches the unmasked one (E[m_P·m_Q] = 1).
        var sum = [Double](repeating: 0, count: users.count)
        let draws = 4000
        for _ in 0..<draws {
            let y = model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
            for k in 0..<users.count { sum[k] += Double(y[k]) }
        }
        let spread = inference.map { abs(Double($0)) }.max() ?? 1
        for k in 0..<users.count {
            XCTAssertEqual(sum[k] / Double(draws), Double(inference[k]), accuracy: 0.1 * max(spread, 0.1), "pair \(k)")
        }
    }

    /// Odd tower shapes: one layer, and no hidden layer at all (the head reads [U_u; V_i] directly).
    func testGradientsWithOtherTowerShapes() {
        for task in tasks {
            checkModelGradient(.neumf, task, dropout: 0, mlpDims: [5])
            checkModelGradient(.mlp, task, dropout: 0, mlpDims: [])
            checkModelGradient(.neumf, task, dropout: 0, mlpDims: [])
        }
    }

    /// `backward` accumulates: two passes without zeroing give twice one pass.
    func testBackwardAccumulates() {
        for kind in ModelKind.allCases {
            let model = NeuMF(config: tinyConfig(kind, .implicit), capacity: 8, seed: 4)
            rescale(model, seed: 5)
            var g = SplitMix64(seed: 0)
            model.zeroGrad()
            for _ in 0..<2 {
                model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
                _ = model.loss(targets: implicitTargets, count: users.count)
                model.backward(users: users, items: items, count: users.count)
            }
            let twice = model.grads.array
            model.zeroGrad()
            model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
            _ = model.loss(targets: implicitTargets, count: users.count)
            model.backward(users: users, items: items, count: users.count)
            assertClose(twice, model.grads.array.map { 2 * $0 }, tolerance: 1e-5, "\(kind) accumulation")
        }
    }

    /// The loss is the mean of the per-pair losses that evaluation uses.
    func testLossIsTheMeanOfPointLosses() {
        for kind in ModelKind.allCases {
            for task in tasks {
                let model = NeuMF(config: tinyConfig(kind, task), capacity: 8, seed: 6)
                rescale(model, seed: 7)
                var g = SplitMix64(seed: 0)
                let y = model.forward(users: users, items: items, count: users.count, training: false, rng: &g)
                var sum = 0.0
                for b in 0..<users.count { sum += pointLoss(prediction: y[b], target: targets(task)[b], implicit: task == .implicit) }
                let loss = model.loss(targets: targets(task), count: users.count)
                XCTAssertEqual(Double(loss), sum / Double(users.count), accuracy: 1e-5 * max(1, Double(loss)), "\(kind) \(task)")
            }
        }
    }

    // MARK: - Layout and initialisation

    func testLayoutTilesTheBufferForEveryKind() {
        for kind in ModelKind.allCases {
            for task in tasks {
                for dims in [[4, 3], [8], []] {
                    let model = NeuMF(config: tinyConfig(kind, task, mlpDims: dims), capacity: 4, seed: 1)
                    XCTAssertNil(model.layout.checkInvariants(), "\(kind) \(task) \(dims)")
                    XCTAssertEqual(model.params.count, model.layout.totalCount)
                    XCTAssertEqual(model.grads.count, model.layout.totalCount)
                    // Embedding tables plus dense views are exactly all views.
                    let split = (model.userTables + model.itemTables + model.denseViews).map(\.name).sorted()
                    XCTAssertEqual(split, model.layout.views.map(\.name).sorted(), "\(kind) \(dims)")
                }
            }
        }
    }

    func testCheckInvariantsReportsAGap() {
        var layout = ParameterLayout()
        layout.add("a", rows: 2, cols: 3)
        layout.add("b", rows: 1, cols: 4)
        XCTAssertNil(layout.checkInvariants())
        XCTAssertEqual(layout.totalCount, 10)
        XCTAssertEqual(layout.view(named: "b")?.offset, 6)
        XCTAssertNil(layout.view(named: "c"))
    }

    /// NeuMF, d = 8, tower [16, 16], 10 users, 20 items, counted by hand:
    ///   GMF tables 10·8 + 20·8 = 240; MLP tables 240;
    ///   mlp.0: 16×16 weight (input 2d = 16) + 16 bias = 272; mlp.1: 16×16 + 16 = 272;
    ///   head: 8 (GMF) + 16 (MLP) + 1 bias = 25.            Total 240 + 240 + 272 + 272 + 25 = 1049.
    /// GMF alone: 240 + 8 + 1 = 249. MLP alone: 240 + 544 + 16 + 1 = 801.
    func testParameterCountsMatchHandCount() {
        func count(_ kind: ModelKind) -> Int {
            ModelConfig(kind: kind, task: .implicit, numUsers: 10, numItems: 20, embedDim: 8, mlpDims: [16, 16], dropout: 0)
                .makeLayout().totalCount
        }
        XCTAssertEqual(count(.neumf), 1049)
        XCTAssertEqual(count(.gmf), 249)
        XCTAssertEqual(count(.mlp), 801)
        // MF: tables 240, biases 10 + 20, head bias 1 (no head weights).
        XCTAssertEqual(count(.mf), 271)
        XCTAssertEqual(ModelConfig(kind: .mf, task: .rating, numUsers: 10, numItems: 20, embedDim: 8, mlpDims: [], dropout: 0)
            .makeLayout().views.map(\.name), ["mf.user", "mf.item", "bias.user", "bias.item", "head.bias"])

        let layout = ModelConfig(kind: .neumf, task: .rating, numUsers: 10, numItems: 20, embedDim: 8,
                                 mlpDims: [16, 16], dropout: 0).makeLayout()
        XCTAssertEqual(layout.views.map(\.name), [
            "gmf.user", "gmf.item", "mlp.user", "mlp.item",
            "mlp.0.weight", "mlp.0.bias", "mlp.1.weight", "mlp.1.bias",
            "head.gmf", "head.mlp", "head.bias",
        ])
        XCTAssertEqual(layout.view(named: "mlp.0.weight").map { [$0.rows, $0.cols] }, [16, 16])
        XCTAssertEqual(layout.view(named: "head.mlp")?.cols, 16)
        // A tower with a different first width, to catch rows and cols swapped: [B, 2d] → [B, 5].
        let odd = ModelConfig(kind: .mlp, task: .rating, numUsers: 2, numItems: 3, embedDim: 4, mlpDims: [5, 2], dropout: 0)
            .makeLayout()
        XCTAssertEqual(odd.view(named: "mlp.0.weight").map { [$0.rows, $0.cols] }, [5, 8])
        XCTAssertEqual(odd.view(named: "mlp.1.weight").map { [$0.rows, $0.cols] }, [2, 5])
        XCTAssertEqual(odd.totalCount, 2 * 4 + 3 * 4 + 5 * 8 + 5 + 2 * 5 + 2 + 2 + 1)
    }

    /// Same formula by hand for d = 8, tower [16, 16]: GMF 9·8 = 72 (product d + 2d, head 2d + 4d);
    /// MLP 6·16·16 + 6·16·16 + 6·16 = 3168; NeuMF 3240.
    func testTrainFlopsPerSampleMatchesHandCount() {
        func flops(_ kind: ModelKind) -> Int {
            ModelConfig(kind: kind, task: .implicit, numUsers: 10, numItems: 20, embedDim: 8, mlpDims: [16, 16], dropout: 0)
                .trainFlopsPerSample
        }
        XCTAssertEqual(flops(.gmf), 72)
        XCTAssertEqual(flops(.mlp), 3168)
        XCTAssertEqual(flops(.neumf), 3240)
    }

    func testSameSeedSameParametersDifferentSeedDifferent() {
        for kind in ModelKind.allCases {
            let config = tinyConfig(kind, .rating)
            let a = NeuMF(config: config, capacity: 4, seed: 42)
            let b = NeuMF(config: config, capacity: 16, seed: 42)
            let c = NeuMF(config: config, capacity: 4, seed: 43)
            XCTAssertEqual(a.params.array, b.params.array, "\(kind): same seed, different parameters")
            XCTAssertNotEqual(a.params.array, c.params.array, "\(kind): different seeds, same parameters")
            XCTAssertEqual(a.grads.array, [Float](repeating: 0, count: a.grads.count), "\(kind): gradients start at 0")
        }
    }

    /// Embeddings ~ N(0, 0.01²); tower weights within ±√(6/fan_in); head within ±√(6/(fan_in + 1));
    /// every bias 0.
    func testInitialisationFollowsTheDocumentedScheme() {
        let config = ModelConfig(kind: .neumf, task: .implicit, numUsers: 100, numItems: 150, embedDim: 8,
                                 mlpDims: [16, 8], dropout: 0)
        let model = NeuMF(config: config, capacity: 4, seed: 7)
        func values(_ name: String) -> [Float] {
            let v = model.layout.view(named: name)!
            return Array(model.params.array[v.offset..<(v.offset + v.count)])
        }
        for name in ["gmf.user", "gmf.item", "mlp.user", "mlp.item"] {
            let x = values(name).map(Double.init)
            let mean = x.reduce(0, +) / Double(x.count)
            let std = (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)).squareRoot()
            // ≥ 800 draws: the sample std is within a few percent of 0.01.
            XCTAssertEqual(std, 0.01, accuracy: 0.001, name)
            XCTAssertEqual(mean, 0, accuracy: 0.002, name)
        }
        // Glorot-uniform: U(±√(6/(fan_in + fan_out))).
        for (name, fanIn, fanOut) in [("mlp.0.weight", 16, 16), ("mlp.1.weight", 16, 8)] {
            let bound = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            let w = values(name)
            XCTAssert(w.allSatisfy { abs($0) <= bound }, name)
            XCTAssertGreaterThan(w.map(abs).max()!, 0.8 * bound, "\(name) should fill its range")
        }
        let headBound = Float((6.0 / Double(8 + 8 + 1)).squareRoot())
        XCTAssert((values("head.gmf") + values("head.mlp")).allSatisfy { abs($0) <= headBound && $0 != 0 })
        for name in ["mlp.0.bias", "mlp.1.bias", "head.bias"] {
            XCTAssert(values(name).allSatisfy { $0 == 0 }, name)
        }
        model.setOutputBias(3.5)
        XCTAssertEqual(values("head.bias"), [3.5])
    }

    // MARK: - Inference

    /// 11 pairs (more than the smaller model's capacity, and not a multiple of it).
    private let manyUsers: [Int32] = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 2]
    private let manyItems: [Int32] = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 6]

    func testPredictEqualsInferenceForwardAndIgnoresChunking() {
        for kind in ModelKind.allCases {
            for task in tasks {
                let config = tinyConfig(kind, task, dropout: 0.5)
                let big = NeuMF(config: config, capacity: 16, seed: 8)
                let small = NeuMF(config: config, capacity: 4, seed: 8)
                rescale(big, seed: 9)
                rescale(small, seed: 9)
                let predicted = big.predict(users: manyUsers, items: manyItems)

                var g = SplitMix64(seed: 123)
                let y = big.forward(users: manyUsers, items: manyItems, count: manyUsers.count, training: false, rng: &g)
                XCTAssertEqual(predicted, Array(UnsafeBufferPointer(start: y, count: manyUsers.count)), "\(kind) \(task)")

                // Chunks of 4, 4, 3: the same numbers up to BLAS blocking differences.
                assertClose(small.predict(users: manyUsers, items: manyItems), predicted, tolerance: 1e-6, "\(kind) \(task) chunked")
                // Pair by pair, too.
                let one = manyUsers.indices.map { small.predict(users: [manyUsers[$0]], items: [manyItems[$0]])[0] }
                assertClose(one, predicted, tolerance: 1e-6, "\(kind) \(task) one at a time")
            }
        }
    }

    func testDropoutIsOffAtInference() {
        for kind in [ModelKind.mlp, .neumf] {
            let model = NeuMF(config: tinyConfig(kind, .rating, dropout: 0.5), capacity: 16, seed: 10)
            rescale(model, seed: 11)
            let first = model.predict(users: manyUsers, items: manyItems)
            let second = model.predict(users: manyUsers, items: manyItems)
            XCTAssertEqual(first, second, "\(kind)")
            // Training mode does drop units, so the equality above is not vacuous.
            var g = SplitMix64(seed: 12)
            let y = model.forward(users: manyUsers, items: manyItems, count: manyUsers.count, training: true, rng: &g)
            XCTAssertNotEqual(Array(UnsafeBufferPointer(start: y, count: manyUsers.count)), first, "\(kind)")
            XCTAssertEqual(model.predict(users: manyUsers, items: manyItems), first, "\(kind) after a training forward")
        }
    }

    // MARK: - Touched rows and sparse zeroing

    func testTouchedRowsAreTheUniqueIdsOfTheLastBatch() {
        for kind in ModelKind.allCases {
            let model = NeuMF(config: tinyConfig(kind, .implicit), capacity: 8, seed: 13)
            var g = SplitMix64(seed: 0)
            model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
            _ = model.loss(targets: implicitTargets, count: users.count)
            model.backward(users: users, items: items, count: users.count)
            XCTAssertEqual(Array(model.touchedUsers).sorted(), [0, 2, 4], "\(kind)")
            XCTAssertEqual(Array(model.touchedItems).sorted(), [0, 1, 3, 5, 6], "\(kind)")
            XCTAssertEqual(model.touchedUserCount, 3)
            XCTAssertEqual(model.touchedItemCount, 5)

            // The next batch replaces the record; it does not add to it.
            let u2: [Int32] = [1, 1, 3], i2: [Int32] = [2, 2, 2]
            model.forward(users: u2, items: i2, count: 3, training: true, rng: &g)
            _ = model.loss(targets: [1, 0, 1], count: 3)
            model.backward(users: u2, items: i2, count: 3)
            XCTAssertEqual(Array(model.touchedUsers).sorted(), [1, 3], "\(kind)")
            XCTAssertEqual(Array(model.touchedItems), [2], "\(kind)")
        }
    }

    /// After one backward from zero, zeroing only the touched rows and the dense tensors leaves the
    /// whole gradient buffer zero, just as `zeroGrad` does.
    func testZeroTouchedGradClearsEverythingOneBackwardWrote() {
        for kind in ModelKind.allCases {
            for task in tasks {
                let model = NeuMF(config: tinyConfig(kind, task, dropout: 0.3), capacity: 8, seed: 14)
                rescale(model, seed: 15)
                var g = SplitMix64(seed: 16)
                model.zeroGrad()
                model.forward(users: users, items: items, count: users.count, training: true, rng: &g)
                _ = model.loss(targets: targets(task), count: users.count)
                model.backward(users: users, items: items, count: users.count)
                // Nonzero rows of every table are among the touched rows.
                let grads = model.grads.array
                XCTAssert(grads.contains { $0 != 0 }, "\(kind) \(task): backward wrote nothing")
                let touchedU = Set(model.touchedUsers), touchedI = Set(model.touchedItems)
                for (tables, touched) in [(model.userTables, touchedU), (model.itemTables, touchedI)] {
                    for v in tables {
                        for row in 0..<v.rows where !touched.contains(Int32(row)) {
                            let slice = grads[(v.offset + row * v.cols)..<(v.offset + (row + 1) * v.cols)]
                            XCTAssert(slice.allSatisfy { $0 == 0 }, "\(kind) \(v.name) row \(row) written but not touched")
                        }
                    }
                }
                model.zeroTouchedGrad()
                XCTAssertEqual(model.grads.array, [Float](repeating: 0, count: model.grads.count), "\(kind) \(task)")
            }
        }
    }

    // MARK: - Training trajectory

    /// Ten steps of plain full-batch SGD (p −= lr·g over the whole buffer) on a fixed batch.
    private func trajectory(_ kind: ModelKind, _ task: NCFData.Task, dropout: Float, lr: Float, steps: Int = 10) -> [Float] {
        let config = ModelConfig(kind: kind, task: task, numUsers: 6, numItems: 8, embedDim: 4,
                                 mlpDims: [8, 4], dropout: dropout)
        let model = NeuMF(config: config, capacity: 8, seed: 2024)
        let u: [Int32] = [0, 1, 2, 3, 4, 5, 0, 2]
        let i: [Int32] = [0, 1, 2, 3, 4, 5, 6, 7]
        let t: [Float] = task == .rating ? [5, 4, 3, 4, 5, 2, 4, 3] : [1, 1, 0, 1, 1, 0, 1, 1]
        var rng = SplitMix64(seed: 2024, stream: 1)
        var losses: [Float] = []
        for _ in 0..<steps {
            model.zeroGrad()
            model.forward(users: u, items: i, count: u.count, training: true, rng: &rng)
            losses.append(model.loss(targets: t, count: u.count))
            model.backward(users: u, items: i, count: u.count)
            let p = model.params.pointer, g = model.grads.pointer
            for j in 0..<model.params.count { p[j] -= lr * g[j] }
        }
        return losses
    }

    func testTenStepLossDecreasesAndIsReproducible() {
        for kind in ModelKind.allCases {
            for (task, lr) in [(NCFData.Task.rating, Float(0.05)), (.implicit, Float(0.5))] {
                let losses = trajectory(kind, task, dropout: 0, lr: lr)
                print("trajectory \(kind.rawValue) \(task): \(losses)")
                XCTAssert(losses.allSatisfy(\.isFinite), "\(kind) \(task): \(losses)")
                for s in 1..<losses.count {
                    XCTAssertLessThan(losses[s], losses[s - 1], "\(kind) \(task) step \(s): \(losses)")
                }
                XCTAssertLessThan(losses.last!, 0.95 * losses.first!, "\(kind) \(task): \(losses)")
                XCTAssertEqual(losses, trajectory(kind, task, dropout: 0, lr: lr), "\(kind) \(task): not reproducible")
            }
        }
        // With dropout the masks come from the seeded generator, so runs are bit-identical too.
        for kind in [ModelKind.mlp, .neumf] {
            let a = trajectory(kind, .implicit, dropout: 0.3, lr: 0.5)
            let b = trajectory(kind, .implicit, dropout: 0.3, lr: 0.5)
            XCTAssertEqual(a, b, "\(kind) with dropout: not reproducible")
            XCTAssert(a.allSatisfy(\.isFinite))
        }
    }
}
