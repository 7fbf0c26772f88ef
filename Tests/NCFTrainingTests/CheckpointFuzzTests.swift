import Foundation
import NCFKernels
import NCFModel
import XCTest
@testable import NCFTraining

/// Seeded random damage to a real model file, read back the way `ncf eval` and `ncf recommend`
/// read it (`Checkpoint.decode`, the metadata's `ModelConfig`, `Checkpoint.makeModel`): never a
/// trap or crash, every refusal a `CheckpointError` naming the file with a hint, and every model
/// that is built fits in the file (parameters) and the inference budget (workspace), so nothing
/// is allocated without bound.
///
/// Three passes: raw bytes (bit flips, inserts, deletes, truncation; half of them with the
/// checksum recomputed so the structure parser is reached), metadata (hostile sizes and types
/// in the model shape, written with a valid checksum), and tensors (dropped, renamed, reshaped,
/// added). Iterations per pass: `NCF_FUZZ_ITERATIONS` (default 1000, so 3,000 reads). Same seed,
/// same mutations: a failure names the pass and iteration.
final class CheckpointFuzzTests: XCTestCase {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["NCF_FUZZ_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 1000
    }

    private static let path = "fuzz-model.ncf"

    /// What the metadata of a model file holds that the loader needs.
    private struct Metadata: Codable {
        var model: ModelConfig
        var note: String
    }

    /// A small NeuMF model's file: 5 users, 7 items, d = 4, tower 8 → 4.
    private func original() throws -> Checkpoint {
        let config = ModelConfig(kind: .neumf, task: .implicit, numUsers: 5, numItems: 7, embedDim: 4, mlpDims: [8, 4], dropout: 0.1)
        let model = NeuMF(config: config, capacity: 8, seed: 3)
        let tensors = model.layout.views.map { v in
            NamedTensor(name: v.name, shape: [v.rows, v.cols], values: Array(UnsafeBufferPointer(start: v.pointer(in: model.params), count: v.count)))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(Metadata(model: config, note: "ü")), as: UTF8.self)
        return Checkpoint(metadataJSON: json, userIDs: ["u1", "u2", "caf\u{E9}", "cafe\u{301}", ""],
                          itemIDs: (1...7).map { "i\($0)" }, tensors: tensors)
    }

    // MARK: - The reader under test

    private struct Tally {
        var accepted = 0
        var refusals: [String: Int] = [:]

        var summary: String {
            "accepted \(accepted); refused: " + refusals.sorted { $0.value > $1.value }.prefix(8).map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
        }
    }

    /// Reads `bytes` as the CLI does and checks the outcome; `label` locates a failure.
    private func check(_ bytes: [UInt8], label: String, tally: inout Tally) {
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.decode(bytes, path: Self.path)
        } catch {
            record(error, label: label, tally: &tally)
            return
        }
        guard let meta = try? JSONDecoder().decode(Metadata.self, from: Data(checkpoint.metadataJSON.utf8)) else {
            tally.refusals["metadata not decodable", default: 0] += 1
            return
        }
        do {
            let model = try checkpoint.makeModel(config: meta.model, capacity: 4096, path: Self.path)
            tally.accepted += 1
            XCTAssertLessThanOrEqual(model.layout.totalCount * 4, bytes.count, "\(label): parameters larger than the file")
            let workspace = model.config.memoryEstimate(capacity: model.capacity, optimizer: .sgd).workspaceBytes
            XCTAssertLessThanOrEqual(workspace, Checkpoint.inferenceWorkspaceBytes + 8 * bytes.count, "\(label): workspace unbounded")
            XCTAssertEqual(model.config, meta.model, label)
        } catch {
            record(error, label: label, tally: &tally)
        }
    }

    private func record(_ error: CheckpointError, label: String, tally: inout Tally) {
        let message = error.description
        XCTAssertTrue(message.contains(Self.path), "\(label): the message does not name the file: \(message)")
        XCTAssertTrue(message.contains("Retrain") || message.contains("ncf"), "\(label): no hint: \(message)")
        XCTAssertLessThan(message.utf8.count, 2_000, "\(label): the message is too long: \(message.prefix(200))…")
        let kind: String
        switch error {
        case .corrupt(_, let reason): kind = "corrupt: " + String(reason.prefix { $0 != "(" && $0 != ":" }.prefix(40))
        case .notAModel: kind = "not a model"
        case .unsupportedVersion: kind = "unsupported version"
        default: kind = "\(error)".components(separatedBy: "(").first ?? "other"
        }
        tally.refusals[kind, default: 0] += 1
    }

    private func refreshChecksum(_ bytes: inout [UInt8]) {
        guard bytes.count >= 4 else { return }
        let crc = CRC32.checksum(Array(bytes[0..<(bytes.count - 4)]))
        for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }

    // MARK: - Passes

    func testTheUndamagedFileLoads() throws {
        var tally = Tally()
        check(try original().encoded(), label: "original", tally: &tally)
        XCTAssertEqual(tally.accepted, 1, tally.summary)
    }

    /// However many rows are asked for, the workspace stays within the inference budget.
    func testWorkspaceIsHeldToTheBudget() throws {
        let checkpoint = try original()
        let meta = try JSONDecoder().decode(Metadata.self, from: Data(checkpoint.metadataJSON.utf8))
        let model = try checkpoint.makeModel(config: meta.model, capacity: .max, path: Self.path)
        let workspace = model.config.memoryEstimate(capacity: model.capacity, optimizer: .sgd).workspaceBytes
        XCTAssertLessThanOrEqual(workspace, Checkpoint.inferenceWorkspaceBytes + 1_000)
        XCTAssertGreaterThan(model.capacity, 4096)
        XCTAssertEqual(try checkpoint.makeModel(config: meta.model, capacity: 0, path: Self.path).capacity, 1)
    }

    func testMutatedBytes() throws {
        let base = try original().encoded()
        var rng = SplitMix64(seed: 0xF022_0001)
        var tally = Tally()
        for iteration in 0..<Self.iterations {
            var bytes = base
            for _ in 0..<(1 + rng.nextInt(below: 3)) {
                let n = bytes.count
                switch rng.nextInt(below: 5) {
                case 0 where n > 0: bytes[rng.nextInt(below: n)] ^= UInt8(1) << UInt8(rng.nextInt(below: 8))
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.nextInt(below: n + 1))
                case 2 where n > 0:
                    let at = rng.nextInt(below: n)
                    bytes.removeSubrange(at..<min(n, at + 1 + rng.nextInt(below: 8)))
                case 3 where n > 8:
                    // Overwrite a u64 length or count with something large.
                    let at = rng.nextInt(below: n - 8)
                    let value: UInt64 = [UInt64.max, 1 << 40, 1 << 31, UInt64(n), 0][rng.nextInt(below: 5)]
                    for k in 0..<8 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
                default: if n > 0 { bytes.removeSubrange(rng.nextInt(below: n)...) }
                }
            }
            if rng.nextInt(below: 2) == 0 { refreshChecksum(&bytes) }
            check(bytes, label: "bytes #\(iteration)", tally: &tally)
        }
        print("model-file fuzz, bytes: \(Self.iterations) iterations; \(tally.summary)")
    }

    /// Hostile values in the model shape, with a valid checksum.
    func testMutatedMetadata() throws {
        let base = try original()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(base.metadataJSON.utf8)) as? [String: Any])
        let numbers: [Any] = [-1, 0, 1, 2, 4, 5, 7, 8, 16, 1 << 31, 1 << 40, Int.max, Int.min, 1_000_000, 1e9, -5, 4097]
        let lists: [Any] = [[-5], [1_000_000_000, 4], [], [4], [8], [8, 4], [4, 8], [8, 4, 2], [0], [Int.max, 4], [65_537],
                            Array(repeating: 4, count: 500)]
        let values: [String: [Any]] = [
            "numUsers": numbers, "numItems": numbers, "embedDim": numbers, "mlpDims": lists,
            "dropout": [0.0, 0.5, 0.99, 1.0, -0.1, 1e30], "kind": ["GMF", "MLP", "NeuMF"], "task": ["rating", "implicit"],
        ]
        let keys = values.keys.sorted()
        let wrongType: [Any] = ["x", NSNull(), 1.5, [1], ["a": 1]]
        var rng = SplitMix64(seed: 0xF022_0002)
        var tally = Tally()
        for iteration in 0..<Self.iterations {
            var meta = object
            var model = meta["model"] as? [String: Any] ?? [:]
            for _ in 0..<(1 + rng.nextInt(below: 3)) {
                let key = keys[rng.nextInt(below: keys.count)]
                let pool = rng.nextInt(below: 10) == 0 ? wrongType : values[key]!
                model[key] = pool[rng.nextInt(below: pool.count)]
            }
            meta["model"] = model
            var damaged = base
            damaged.metadataJSON = String(decoding: try JSONSerialization.data(withJSONObject: meta), as: UTF8.self)
            check(damaged.encoded(), label: "metadata #\(iteration) \(model)", tally: &tally)
        }
        print("model-file fuzz, metadata: \(Self.iterations) iterations; \(tally.summary)")
    }

    /// Tensors dropped, renamed, reshaped or added, with a valid checksum.
    func testMutatedTensors() throws {
        let base = try original()
        var rng = SplitMix64(seed: 0xF022_0003)
        var tally = Tally()
        for iteration in 0..<Self.iterations {
            var damaged = base
            for _ in 0..<(1 + rng.nextInt(below: 2)) {
                guard !damaged.tensors.isEmpty else { break }
                let k = rng.nextInt(below: damaged.tensors.count)
                let t = damaged.tensors[k]
                switch rng.nextInt(below: 5) {
                case 0: damaged.tensors.remove(at: k)
                case 1:
                    let name = t.name + "x"
                    if damaged.tensor(named: name) == nil { damaged.tensors[k].name = name }
                case 2: damaged.tensors[k] = NamedTensor(name: t.name, shape: [t.values.count], values: t.values)
                case 3: damaged.tensors[k] = NamedTensor(name: t.name, shape: t.shape.reversed(), values: t.values)
                default:
                    let extra = NamedTensor(name: "extra\(rng.next())", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
                    if damaged.tensor(named: extra.name) == nil {
                        damaged.tensors.insert(extra, at: rng.nextInt(below: damaged.tensors.count + 1))
                    }
                }
            }
            check(damaged.encoded(), label: "tensors #\(iteration)", tally: &tally)
        }
        print("model-file fuzz, tensors: \(Self.iterations) iterations; \(tally.summary)")
    }
}
