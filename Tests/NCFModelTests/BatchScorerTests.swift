import NCFData
import NCFKernels
import NCFModel
import NCFTestSupport
import XCTest

/// The batched scorer against the model's own forward pass (`NeuMF.predict`), the slow and obvious
/// path it replaces in evaluation.
final class BatchScorerTests: XCTestCase {
    private let numUsers = 9
    private let numItems = 23

    private func model(_ kind: ModelKind, _ task: NCFData.Task, dims: [Int], seed: UInt64) -> NeuMF {
        let config = ModelConfig(kind: kind, task: task, numUsers: numUsers, numItems: numItems, embedDim: 5,
                                 mlpDims: dims, dropout: 0.2)
        let model = NeuMF(config: config, capacity: 7, seed: seed)
        // Order-1 parameters (the default init makes every score nearly equal), biases included.
        var rng = SplitMix64(seed: seed &+ 100)
        for i in 0..<model.params.count { model.params[i] = Float(rng.nextGaussian()) * 0.6 }
        return model
    }

    /// Every model kind and tower shape, including no hidden layer and one whose tiles end mid-user,
    /// and towers for the fused all-items kernel (hidden sizes above the first in 8/16/32/64).
    private var cases: [(ModelKind, [Int])] {
        [(.neumf, [6, 4, 3]), (.neumf, [5]), (.neumf, []), (.gmf, []), (.mlp, [6, 4]), (.mlp, []),
         (.neumf, [5, 16, 8]), (.mlp, [7, 32]), (.neumf, [6, 64, 16])]
    }

    func testPairsMatchPredict() {
        var rng = SplitMix64(seed: 4)
        let n = 300
        let users = (0..<n).map { _ in Int32(rng.nextInt(below: numUsers)) }
        let items = (0..<n).map { _ in Int32(rng.nextInt(below: numItems)) }
        for (kind, dims) in cases {
            for task in [NCFData.Task.rating, .implicit] {
                let m = model(kind, task, dims: dims, seed: 7)
                for tile in [1, 13, 1024] {
                    let scorer = BatchScorer(model: m, tileRows: tile)
                    scorer.refresh()
                    assertClose(scorer.score(users: users, items: items), m.predict(users: users, items: items),
                                tolerance: 1e-5, "\(kind) \(dims) \(task) tile \(tile)")
                }
            }
        }
    }

    func testAllItemsMatchPredict() {
        let users: [Int32] = [3, 0, 8, 3, 5]
        for (kind, dims) in cases {
            let m = model(kind, .implicit, dims: dims, seed: 9)
            var expected: [Float] = []
            for u in users {
                expected += m.predict(users: [Int32](repeating: u, count: numItems), items: (0..<Int32(numItems)).map { $0 })
            }
            for tile in [1, 10, 23, 40, 4096] {
                let scorer = BatchScorer(model: m, tileRows: tile)
                scorer.refresh()
                var out = [Float](repeating: .nan, count: users.count * numItems)
                users.withUnsafeBufferPointer { u in
                    out.withUnsafeMutableBufferPointer { scorer.scoreAllItems(users: u.baseAddress!, count: u.count, into: $0.baseAddress!) }
                }
                assertClose(out, expected, tolerance: 1e-5, "\(kind) \(dims) tile \(tile)")
            }
        }
    }

    func testRefreshFollowsParameterChanges() {
        let m = model(.neumf, .rating, dims: [4, 2], seed: 1)
        let scorer = BatchScorer(model: m)
        scorer.refresh()
        let users: [Int32] = [0, 1, 2], items: [Int32] = [4, 5, 6]
        for i in 0..<m.params.count { m.params[i] *= 1.5 }
        let stale = scorer.score(users: users, items: items)
        XCTAssertNotEqual(stale, m.predict(users: users, items: items), "without refresh the halves are the old ones")
        scorer.refresh()
        assertClose(scorer.score(users: users, items: items), m.predict(users: users, items: items), tolerance: 1e-5)
    }
}
