import Foundation
import NCFData
import NCFKernels
import NCFModel
import XCTest

@testable import NCFTraining

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// NeuMF initialised from trained GMF and MLP model files (`--init_gmf`, `--init_mlp`, `--alpha`).
final class PretrainingTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ncf-pretraining-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        dir = url.path
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    // MARK: - Fixtures

    /// 30 users × 40 items, 20 interactions each, implicit task.
    private func tinyDataset(users: Int = 30, items: Int = 40) throws -> Dataset {
        let interactions = SyntheticRatings.generate(users: users, items: items, ratings: users * 20, seed: 5)
        var u = IDMap(), i = IDMap()
        for k in 0..<users { _ = u.intern("u\(k)") }
        for k in 0..<items { _ = i.intern("i\(k)") }
        let file = RatingsFile(path: "tiny", format: .tsv, interactions: interactions, userIDs: u, itemIDs: i)
        let options = SplitOptions(kind: .loo, task: .implicit, seed: 0, evalNegatives: .sampled(10), lossNegatives: 2)
        return try DatasetBuilder.make(from: file, options: options)
    }

    private func config(_ kind: ModelKind, embed: Int = 4, mlp: [Int] = [8, 4], seed: UInt64 = 0) -> TrainConfig {
        var c = TrainConfig()
        c.model = kind
        c.embed_dim = embed
        c.mlp_dims = mlp
        c.batch_size = 16
        c.epochs = 2
        c.lr = 0.01
        c.dropout = 0
        c.seed = seed
        return c
    }

    /// Trains a model and writes it as `ncf train --save` does (the metadata's `model` key is the
    /// only one pre-training reads).
    @discardableResult
    private func trainAndSave(_ c: TrainConfig, _ dataset: Dataset, _ name: String) throws -> (path: String, model: NeuMF) {
        let trainer = try Trainer(config: c, dataset: dataset)
        _ = try trainer.run()
        struct Meta: Encodable { var model: ModelConfig; var train: TrainConfig }
        let json = String(decoding: try JSONEncoder().encode(Meta(model: trainer.model.config, train: c)), as: UTF8.self)
        let tensors = trainer.model.layout.views.map { v in
            NamedTensor(name: v.name, shape: [v.rows, v.cols],
                        values: Array(UnsafeBufferPointer(start: v.pointer(in: trainer.model.params), count: v.count)))
        }
        let path = dir + "/" + name
        try Checkpoint(metadataJSON: json, userIDs: dataset.userIDs.rawIDs, itemIDs: dataset.itemIDs.rawIDs, tensors: tensors)
            .write(to: path)
        return (path, trainer.model)
    }

    private func values(_ model: NeuMF, _ name: String) throws -> [Float] {
        let view = try XCTUnwrap(model.layout.view(named: name), name)
        return Array(UnsafeBufferPointer(start: view.pointer(in: model.params), count: view.count))
    }

    private func neumf(_ dataset: Dataset, gmf: String, mlp: String, alpha: Double = 0.5,
                       embed: Int = 4, mlpDims: [Int] = [8, 4], kind: ModelKind = .neumf) throws -> Trainer {
        var c = config(kind, embed: embed, mlp: mlpDims, seed: 7)
        c.init_gmf = gmf
        c.init_mlp = mlp
        c.alpha = alpha
        return try Trainer(config: c, dataset: dataset)
    }

    private func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    // MARK: - Loading exactly the trained weights

    func testNeuMFHoldsTheTrainedTensorsAndTheScaledHeads() throws {
        let dataset = try tinyDataset()
        let (gmfPath, gmf) = try trainAndSave(config(.gmf), dataset, "gmf.ncf")
        let (mlpPath, mlp) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        for alpha in [0.5, 0.3] {
            let model = try neumf(dataset, gmf: gmfPath, mlp: mlpPath, alpha: alpha).model
            for name in ["gmf.user", "gmf.item"] {
                XCTAssertEqual(try values(model, name), try values(gmf, name), name)
            }
            for name in ["mlp.user", "mlp.item", "mlp.0.weight", "mlp.0.bias", "mlp.1.weight", "mlp.1.bias"] {
                XCTAssertEqual(try values(model, name), try values(mlp, name), name)
            }
            let a = Float(alpha)
            XCTAssertEqual(try values(model, "head.gmf"), try values(gmf, "head.gmf").map { a * $0 }, "α = \(alpha)")
            XCTAssertEqual(try values(model, "head.mlp"), try values(mlp, "head.mlp").map { (1 - a) * $0 }, "α = \(alpha)")
            let bias = a * (try values(gmf, "head.bias")[0]) + (1 - a) * (try values(mlp, "head.bias")[0])
            XCTAssertEqual(try values(model, "head.bias"), [bias])
        }
    }

    /// The initial NeuMF logit is α·(GMF logit) + (1 − α)·(MLP logit) on every pair.
    func testInitialLogitIsTheAlphaMixOfBothModels() throws {
        let dataset = try tinyDataset()
        let (gmfPath, gmf) = try trainAndSave(config(.gmf), dataset, "gmf.ncf")
        let (mlpPath, mlp) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let model = try neumf(dataset, gmf: gmfPath, mlp: mlpPath, alpha: 0.5).model
        let users = (0..<30).map { Int32($0) }, items = (0..<30).map { Int32(($0 * 7) % 40) }
        let g = gmf.predict(users: users, items: items), m = mlp.predict(users: users, items: items)
        let n = model.predict(users: users, items: items)
        for k in users.indices {
            XCTAssertEqual(n[k], 0.5 * g[k] + 0.5 * m[k], accuracy: 1e-5 * max(1, abs(n[k])), "pair \(k)")
        }
    }

    func testTrainingGoesOnFromThePretrainedWeights() throws {
        let dataset = try tinyDataset()
        let (gmfPath, _) = try trainAndSave(config(.gmf), dataset, "gmf.ncf")
        let (mlpPath, _) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let trainer = try neumf(dataset, gmf: gmfPath, mlp: mlpPath)
        let before = try values(trainer.model, "gmf.user")
        var afterEpoch1: [Float] = []
        let summary = try trainer.run { event in
            if case let .epochEnded(record) = event, record.epoch == 1 { afterEpoch1 = (try? self.values(trainer.model, "gmf.user")) ?? [] }
            return .proceed
        }
        XCTAssertGreaterThan(summary.epochsRun, 0)
        XCTAssertEqual(afterEpoch1.count, before.count)
        XCTAssertNotEqual(afterEpoch1, before)
    }

    // MARK: - The start is epoch 0

    /// Parts trained one epoch at a rate that barely moves them, so that further training has something to add.
    private func weakParts(_ dataset: Dataset) throws -> (gmf: String, mlp: String) {
        var g = config(.gmf), m = config(.mlp)
        g.epochs = 1; m.epochs = 1
        g.lr = 1e-6; m.lr = 1e-6  // barely moved from their random start
        return (try trainAndSave(g, dataset, "gmf.ncf").path, try trainAndSave(m, dataset, "mlp.ncf").path)
    }

    /// The events of a run: the epochs' records in order, and the summary.
    private func runRecording(_ trainer: Trainer, stopAt stopEpoch: Int? = nil) throws -> (epochs: [EpochRecord], summary: TrainSummary) {
        var epochs: [EpochRecord] = []
        let summary = try trainer.run { event in
            if case let .epochEnded(record) = event {
                epochs.append(record)
                if record.epoch == stopEpoch { return .stop }
            }
            return .proceed
        }
        return (epochs, summary)
    }

    /// A run from parts validates its start first, as epoch 0 without Train Loss; when no epoch beats
    /// it (a rate that wrecks the model), the run keeps and tests exactly the start.
    func testStartIsEpochZeroAndIsKeptWhenNoEpochBeatsIt() throws {
        let dataset = try tinyDataset()
        let parts = try weakParts(dataset)
        var c = config(.neumf, seed: 7)
        c.init_gmf = parts.gmf
        c.init_mlp = parts.mlp
        c.lr = 0.01  // on this tiny set, each epoch raises Valid Loss (the scores rise for the 10 valid negatives)
        c.epochs = 3
        c.select_metric = "Valid Loss"
        c.select_goal = .minimize
        let trainer = try Trainer(config: c, dataset: dataset)
        let start = trainer.model.params.pointer
        let startParams = Array(UnsafeBufferPointer(start: start, count: trainer.model.params.count))
        let (epochs, summary) = try runRecording(trainer)
        XCTAssertEqual(epochs.map(\.epoch), [0, 1, 2, 3])
        XCTAssertFalse(epochs[0].metrics.contains { $0.name == "Train Loss" })
        XCTAssertEqual(epochs[0].metrics.first?.name, "Valid Loss")
        XCTAssertTrue(epochs.dropFirst().allSatisfy { $0.metrics.first?.name == "Train Loss" })
        let startLoss = try XCTUnwrap(epochs[0].metrics[metric: "Valid Loss"])
        for record in epochs.dropFirst() {
            XCTAssertFalse((record.metrics[metric: "Valid Loss"] ?? .infinity) < startLoss, "epoch \(record.epoch) beat the start")
        }
        XCTAssertEqual(summary.bestEpoch, 0)
        XCTAssertEqual(summary.validMetrics, epochs[0].metrics)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: trainer.model.params.pointer, count: trainer.model.params.count)), startParams,
                       "the kept weights are the start's, bit for bit")

        // The same run stopped at its start tests the same weights.
        let stopped = try runRecording(try Trainer(config: c, dataset: dataset), stopAt: 0)
        XCTAssertEqual(stopped.epochs.map(\.epoch), [0])
        XCTAssertEqual(stopped.summary.bestEpoch, 0)
        XCTAssertEqual(stopped.summary.epochsRun, 0)
        XCTAssertTrue(stopped.summary.stoppedEarly)
        XCTAssertEqual(stopped.summary.testMetrics, summary.testMetrics)
    }

    /// An epoch that beats the start is kept, on one thread and on two. Sparser data than the
    /// other tests' (200 × 200, 20 each), so that there is something left to learn: popularity.
    func testEpochThatBeatsTheStartIsKept() throws {
        let dataset = try tinyDataset(users: 200, items: 200)
        let parts = try weakParts(dataset)
        for threads in [1, 2] {
            var c = config(.neumf, seed: 7)
            c.init_gmf = parts.gmf
            c.init_mlp = parts.mlp
            c.lr = 0.01
            c.epochs = 4
            c.threads = threads
            c.select_metric = "Valid AUC"
            let trainer = try Trainer(config: c, dataset: dataset)
            let (epochs, summary) = try runRecording(trainer)
            XCTAssertEqual(epochs.map(\.epoch), [0, 1, 2, 3, 4], "\(threads) threads")
            let aucs = epochs.map { $0.metrics[metric: "Valid AUC"] ?? -.infinity }
            let bestIndex = try XCTUnwrap(aucs.indices.max { aucs[$0] < aucs[$1] })
            XCTAssertGreaterThan(bestIndex, 0, "training raises Valid AUC from weak parts (\(aucs))")
            XCTAssertEqual(summary.bestEpoch, epochs[bestIndex].epoch, "\(threads) threads")
            XCTAssertEqual(summary.validMetrics, Array(epochs[bestIndex].metrics.dropFirst()), "\(threads) threads")
            // The tested weights are that epoch's: the same run stopped right after it tests the same.
            let stopped = try runRecording(try Trainer(config: c, dataset: dataset), stopAt: epochs[bestIndex].epoch)
            XCTAssertEqual(stopped.summary.bestEpoch, summary.bestEpoch, "\(threads) threads")
            XCTAssertEqual(stopped.summary.testMetrics, summary.testMetrics, "\(threads) threads")
        }
    }

    /// A run without parts has no epoch 0.
    func testRunWithoutPartsStartsAtEpochOne() throws {
        let dataset = try tinyDataset()
        let (epochs, summary) = try runRecording(try Trainer(config: config(.neumf), dataset: dataset))
        XCTAssertEqual(epochs.map(\.epoch), [1, 2])
        XCTAssertGreaterThanOrEqual(summary.bestEpoch, 1)
    }

    // MARK: - An MF model as the GMF branch

    /// An MF model of width d in a NeuMF of width d + 2: P_u, 1, b_u against Q_i, b_i, 1 with unit
    /// head weights is the biased dot product, so the initial logit is α·(MF logit) + (1 − α)·(MLP logit).
    func testMFModelInitialisesTheGMFBranchExactly() throws {
        let dataset = try tinyDataset()
        var mfConfig = config(.mf, embed: 2)
        mfConfig.init_std = 0.1
        let (mfPath, mf) = try trainAndSave(mfConfig, dataset, "mf.ncf")
        let (mlpPath, mlp) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        // The MF model learned non-zero biases, so the test sees them carried over.
        XCTAssertTrue(try values(mf, "bias.item").contains { abs($0) > 1e-4 })
        let trainer = try neumf(dataset, gmf: mfPath, mlp: mlpPath, alpha: 0.3)
        let model = trainer.model
        let users = (0..<30).map { Int32($0) }, items = (0..<30).map { Int32(($0 * 7) % 40) }
        let f = mf.predict(users: users, items: items), m = mlp.predict(users: users, items: items)
        let n = model.predict(users: users, items: items)
        for k in users.indices {
            XCTAssertEqual(n[k], 0.3 * f[k] + 0.7 * m[k], accuracy: 1e-5 * max(1, abs(n[k])), "pair \(k)")
        }
        XCTAssertEqual(try values(model, "head.gmf"), [Float](repeating: 0.3, count: 4))
        let userRow = Array(try values(model, "gmf.user")[4..<8]), itemRow = Array(try values(model, "gmf.item")[4..<8])
        XCTAssertEqual(userRow, Array(try values(mf, "mf.user")[2..<4]) + [1, try values(mf, "bias.user")[1]])
        XCTAssertEqual(itemRow, Array(try values(mf, "mf.item")[2..<4]) + [try values(mf, "bias.item")[1], 1])
        let summary = try trainer.run()
        XCTAssertGreaterThan(summary.epochsRun, 0)
    }

    func testMFModelOfTheSameWidthIsRefusedNamingTheWidthItNeeds() throws {
        let dataset = try tinyDataset()
        let (mfPath, _) = try trainAndSave(config(.mf, embed: 4), dataset, "mf4.ncf")
        let (mlpPath, _) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let text = message { _ = try neumf(dataset, gmf: mfPath, mlp: mlpPath) }
        XCTAssertTrue(text.contains("--init_gmf \(mfPath)"), text)
        XCTAssertTrue(text.contains("its embed_dim is 4"), text)
        XCTAssertTrue(text.contains("needs an MF model trained with --embed_dim 2"), text)
        // An MF model is no MLP model.
        let (gmfPath, _) = try trainAndSave(config(.gmf), dataset, "gmf.ncf")
        let swapped = message { _ = try neumf(dataset, gmf: gmfPath, mlp: mfPath) }
        XCTAssertTrue(swapped.contains("holds a MF model, --init_mlp needs a MLP model"), swapped)
    }

    // MARK: - Mismatches: a clear error naming the flag and the file

    func testOtherEmbedDimIsRefusedNamingFlagAndFile() throws {
        let dataset = try tinyDataset()
        let (gmfPath, _) = try trainAndSave(config(.gmf, embed: 6), dataset, "gmf6.ncf")
        let (mlpPath, _) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let text = message { _ = try neumf(dataset, gmf: gmfPath, mlp: mlpPath) }
        XCTAssertTrue(text.contains("--init_gmf \(gmfPath)"), text)
        XCTAssertTrue(text.contains("embed_dim is 6"), text)
        XCTAssertTrue(text.contains("--embed_dim is 4"), text)
    }

    func testOtherTowerIsRefusedNamingFlagAndFile() throws {
        let dataset = try tinyDataset()
        let (gmfPath, _) = try trainAndSave(config(.gmf), dataset, "gmf.ncf")
        let (mlpPath, _) = try trainAndSave(config(.mlp, mlp: [6, 4]), dataset, "mlp64.ncf")
        let text = message { _ = try neumf(dataset, gmf: gmfPath, mlp: mlpPath) }
        XCTAssertTrue(text.contains("--init_mlp \(mlpPath)"), text)
        XCTAssertTrue(text.contains("mlp_dims are 6,4"), text)
        XCTAssertTrue(text.contains("--mlp_dims are 8,4"), text)
    }

    func testSwappedFilesAreRefused() throws {
        let dataset = try tinyDataset()
        let (gmfPath, _) = try trainAndSave(config(.gmf), dataset, "gmf.ncf")
        let (mlpPath, _) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let text = message { _ = try neumf(dataset, gmf: mlpPath, mlp: gmfPath) }
        XCTAssertTrue(text.contains("--init_gmf \(mlpPath)"), text)
        XCTAssertTrue(text.contains("holds a MLP model, --init_gmf needs a GMF or MF model"), text)
    }

    func testModelOfOtherDataIsRefused() throws {
        let (gmfPath, _) = try trainAndSave(config(.gmf), try tinyDataset(users: 25), "gmf-other.ncf")
        let dataset = try tinyDataset()
        let (mlpPath, _) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let text = message { _ = try neumf(dataset, gmf: gmfPath, mlp: mlpPath) }
        XCTAssertTrue(text.contains("--init_gmf \(gmfPath)"), text)
        XCTAssertTrue(text.contains("trained on other data (25 users"), text)
    }

    func testMissingFileNamesFlagAndPath() throws {
        let dataset = try tinyDataset()
        let (mlpPath, _) = try trainAndSave(config(.mlp), dataset, "mlp.ncf")
        let missing = dir + "/nothing.ncf"
        let text = message { _ = try neumf(dataset, gmf: missing, mlp: mlpPath) }
        XCTAssertTrue(text.contains("--init_gmf \(missing)"), text)
    }

    func testPretrainingNeedsNeuMFBothFilesAndAnAlphaInRange() {
        var c = config(.gmf)
        c.init_gmf = "a"
        c.init_mlp = "b"
        XCTAssertTrue(c.problems().contains { $0.contains("--init_gmf") && $0.contains("--model NeuMF") }, "\(c.problems())")
        c = config(.neumf)
        c.init_gmf = "a"
        XCTAssertTrue(c.problems().contains { $0.contains("--init_mlp") }, "\(c.problems())")
        c.init_mlp = "b"
        XCTAssertEqual(c.problems(), [])
        c.alpha = 1.5
        XCTAssertTrue(c.problems().contains { $0.contains("--alpha 1.5") }, "\(c.problems())")
    }

    /// A config without the new keys (a model file written before they existed) decodes with
    /// pre-training off and α 0.5.
    func testOldConfigDecodesWithoutPretraining() throws {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainConfig())) as! [String: Any]
        json["init_gmf"] = nil
        json["init_mlp"] = nil
        json["alpha"] = nil
        json["embed_dropout"] = nil
        let c = try JSONDecoder().decode(TrainConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertNil(c.init_gmf)
        XCTAssertNil(c.init_mlp)
        XCTAssertEqual(c.alpha, 0.5)
    }
}
