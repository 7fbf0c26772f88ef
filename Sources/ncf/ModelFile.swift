import ArgumentParser
import Foundation
import NCFData
import NCFModel
import NCFTraining

/// What a model file's metadata holds besides the weights: enough to rebuild the model, the data
/// split it was trained on, and the metrics it reached.
struct ModelMetadata: Codable {
    var ncfVersion: String
    var model: ModelConfig
    var train: TrainConfig
    var data: DataSource
    var summary: TrainSummary?
}

func saveModel(trainer: Trainer, source: DataSource, summary: TrainSummary, to path: String) throws {
    var absolute = source
    absolute.path = URL(fileURLWithPath: source.path).standardizedFileURL.path
    let meta = ModelMetadata(ncfVersion: NCFVersion.string, model: trainer.model.config, train: trainer.config,
                             data: absolute, summary: summary)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let json = String(decoding: try encoder.encode(meta), as: UTF8.self)
    let params = trainer.model.params
    let tensors = trainer.model.layout.views.map { v in
        NamedTensor(name: v.name, shape: [v.rows, v.cols],
                    values: Array(UnsafeBufferPointer(start: v.pointer(in: params), count: v.count)))
    }
    let checkpoint = Checkpoint(metadataJSON: json, userIDs: trainer.dataset.userIDs.rawIDs,
                                itemIDs: trainer.dataset.itemIDs.rawIDs, tensors: tensors)
    do { try checkpoint.write(to: path) } catch { throw CLIError(error) }
}

/// A model read back from its file, ready to score.
struct LoadedModel {
    var metadata: ModelMetadata
    var model: NeuMF
    var userIDs: IDMap
    var itemIDs: IDMap
}

/// Reads a model file; `capacity` picks the model's workspace rows from its metadata (the model
/// may get fewer, see `Checkpoint.makeModel`).
///
/// Nothing in the metadata is trusted before it is checked: the model's shape against the tensors
/// and id maps actually in the file (`Checkpoint.makeModel`), the training and split settings
/// that `eval` and `recommend` use (top-K, negatives, ratios) against the limits a training run
/// has, so a damaged or hostile file gives a message, never a trap or a huge allocation.
func loadModel(path: String, capacity: (ModelMetadata) -> Int) throws -> LoadedModel {
    let checkpoint: Checkpoint
    do { checkpoint = try Checkpoint.read(from: path) } catch { throw CLIError(error) }
    let meta: ModelMetadata
    do {
        meta = try JSONDecoder().decode(ModelMetadata.self, from: Data(checkpoint.metadataJSON.utf8))
    } catch {
        throw CLIError(message: "\(path): the model's metadata cannot be read (\(String(describing: error).prefix(300))). Hint: the file may come from another ncf version; retrain it.")
    }
    var problems = meta.train.problems()
    do { try meta.data.split.validate() } catch { problems.append(error.localizedDescription) }
    if meta.data.split.lossNegatives > 1000 {
        problems.append("lossNegatives \(meta.data.split.lossNegatives) is above 1000")
    }
    guard problems.isEmpty else {
        throw CLIError(message: "\(path) is a damaged ncf model file: its training settings are invalid (\(problems.prefix(3).joined(separator: "; "))). Hint: retrain the model or restore the file from a copy.")
    }
    let model: NeuMF
    do { model = try checkpoint.makeModel(config: meta.model, capacity: capacity(meta), path: path) } catch { throw CLIError(error) }
    return LoadedModel(metadata: meta, model: model, userIDs: IDMap(rawIDs: checkpoint.userIDs),
                       itemIDs: IDMap(rawIDs: checkpoint.itemIDs))
}

/// Re-reads the data a model was trained on (or `override`) with the same split, and checks that
/// the ids line up with the model's.
func reloadDataset(for loaded: LoadedModel, override: String?, log: (String) -> Void) throws -> Dataset {
    var source = loaded.metadata.data
    if let override { source.path = override }
    guard FileManager.default.fileExists(atPath: source.path) || source.format == .ncf else {
        throw CLIError(message: "the model's data file \(source.path) is not there. Hint: pass --data PATH to the same ratings file.")
    }
    let (dataset, _) = try loadDataset(source, log: log)
    guard dataset.userIDs == loaded.userIDs, dataset.itemIDs == loaded.itemIDs else {
        throw CLIError(message: "\(source.path): its users and items differ from the ones the model was trained on. Hint: pass --data with the model's training file.")
    }
    return dataset
}

/// `ncf eval`: held-out test metrics of a saved model.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model on its held-out test split.",
        discussion: "Re-reads the model's data file (or --data), rebuilds the same split from the saved seed, and prints the test metrics.")

    @Option(name: .customLong("model"), help: ArgumentHelp("A model file written by `ncf train --save`.", valueName: "path"))
    var modelPath: String

    @Option(name: .customLong("data"), help: ArgumentHelp("The ratings file, if it moved since training.", valueName: "path"))
    var data: String?

    @Flag(name: .customLong("json"), help: "Print the metrics as one JSON object.")
    var json = false

    func run() throws {
        let console = Console(json: json)
        // Full ranking scores every item of a user in one pass; otherwise 4,096 rows at a time.
        let loaded = try loadModel(path: modelPath) { meta in
            meta.data.split.evalNegatives == .all ? max(4096, meta.model.numItems) : 4096
        }
        // The scorer's buffers grow with users × the first layer; refuse what cannot fit.
        let available = availableMemoryBytes()
        if loaded.model.config.scorerBytes > available.bytes {
            throw CLIError(message: "\(modelPath): evaluating this model would need \(formatBytes(loaded.model.config.scorerBytes)) of memory, "
                + "more than the \(formatBytes(available.bytes)) of \(available.source). Hint: evaluate it on a larger machine.")
        }
        let dataset = try reloadDataset(for: loaded, override: data) { console.say($0) }
        let evaluator = Evaluator(split: .test, pairs: dataset.testPairs, ranking: dataset.testRanking, dataset: dataset,
                                  k: loaded.metadata.train.topk)
        let metrics = evaluator.evaluate(loaded.model)
        console.say("\(modelPath): \(loaded.metadata.model.kind.rawValue) on \(loaded.metadata.data.path)")
        console.say("  " + metrics.map { "\($0.name) \(fixed($0.value, 4))" }.joined(separator: "  "))
        console.say("  protocol: \(dataset.protocolDescription)")
        var o = JSONObject()
        for m in metrics { o.add(m.name, m.value) }
        o.add("protocol", dataset.protocolDescription)
        console.emit(o.text)
    }
}

/// `ncf recommend`: the top-K items a user has not interacted with in train.
struct Recommend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Recommend the top-K unseen items for a user (raw ids as in the data file).")

    @Option(name: .customLong("model"), help: ArgumentHelp("A model file written by `ncf train --save`.", valueName: "path"))
    var modelPath: String

    @Option(name: .customLong("user"), help: ArgumentHelp("The user's id as written in the data file.", valueName: "id"))
    var user: String

    @Option(name: [.customShort("k"), .customLong("k")], help: ArgumentHelp("How many items.", valueName: "n"))
    var k: Int = 10

    @Option(name: .customLong("data"), help: ArgumentHelp("The ratings file, if it moved since training.", valueName: "path"))
    var data: String?

    @Option(name: .customLong("items"), help: ArgumentHelp(
        "The item file with titles: MovieLens u.item, movies.dat or movies.csv. (default: one of them beside the ratings file, if there)",
        valueName: "path"))
    var items: String?

    @Flag(name: .customLong("json"), help: "Print the recommendations as one JSON object (ids, and titles when known).")
    var json = false

    func validate() throws {
        if k < 1 { throw ValidationError("-k \(k): must be at least 1") }
    }

    /// The titles: from --items (its errors stop the command), else from an item file beside
    /// the ratings file (its errors are a warning: the ids are shown without titles).
    private func titles(dataPath: String) throws -> ItemTitles? {
        if let items { return try ItemTitles.read(path: items) }
        guard let found = ItemTitles.beside(ratings: dataPath) else { return nil }
        do {
            return try ItemTitles.read(path: found)
        } catch {
            FileHandle.standardError.write(Data("warning: \(error) The items are shown by id; --items FILE names another item file.\n".utf8))
            return nil
        }
    }

    func run() throws {
        let console = Console(json: json)
        let loaded = try loadModel(path: modelPath) { $0.model.numItems }
        let numItems = loaded.metadata.model.numItems
        guard let u = loaded.userIDs.index(of: user) else {
            throw CLIError(message: "--user \(user): no such user in the model's data (\(grouped(loaded.userIDs.count)) users, e.g. \(loaded.userIDs.rawIDs.prefix(3).joined(separator: ", "))).")
        }
        let dataset = try reloadDataset(for: loaded, override: data) { console.say($0) }
        let seen = Set(dataset.trainItems.items(of: u))
        let scores = loaded.model.predict(users: [Int32](repeating: u, count: numItems), items: (0..<Int32(numItems)).map { $0 })
        let unseen: [Int] = (0..<numItems).filter { !seen.contains(Int32($0)) }
        let ordered: [Int] = unseen.sorted { (a: Int, b: Int) -> Bool in
            let sa = scores[a], sb = scores[b]
            return sa != sb ? sa > sb : a < b
        }
        let ranked = ordered.prefix(k)
        let implicit = loaded.metadata.model.task == .implicit
        let catalog = try titles(dataPath: data ?? loaded.metadata.data.path)
        console.say("top \(ranked.count) for user \(user) (\(seen.count) items seen in train)\(catalog.map { ", titles from \($0.path)" } ?? ""):")
        var items: [String] = []
        var untitled = 0
        let idWidth = ranked.map { loaded.itemIDs.raw(Int32($0)).count }.max() ?? 0
        for (rank, i) in ranked.enumerated() {
            let score = implicit ? Double(stableSigmoid(scores[i])) : Double(scores[i])
            let num = String(rank + 1)
            let id = loaded.itemIDs.raw(Int32(i))
            let title = catalog?.titles[id]
            if catalog != nil && title == nil { untitled += 1 }
            let shownID = catalog == nil ? id : id.padding(toLength: idWidth, withPad: " ", startingAt: 0)
            console.say("\(String(repeating: " ", count: max(0, 3 - num.count)))\(num). \(shownID)  \(title.map { "\(terminalSafe($0))  " } ?? "")\(implicit ? "p" : "predicted rating") \(fixed(score, 4))")
            var o = JSONObject()
            o.add("item", id)
            if let title { o.add("title", title) }
            o.add("score", score)
            items.append(o.text)
        }
        if let catalog, untitled > 0 {
            FileHandle.standardError.write(Data("warning: \(catalog.path) has no title for \(untitled) of these \(ranked.count) items; is it the item file of this data?\n".utf8))
        }
        console.emit("{\"user\": \(quote(user)), \"items\": [\(items.joined(separator: ", "))]}")
    }
}
