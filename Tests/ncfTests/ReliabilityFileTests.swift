import Foundation
import NCFAgent
import NCFReport
import NCFSweep
import NCFTestSupport
import XCTest

/// Read-only and full output directories, and configs too large for memory: a clear error
/// naming the path (before training where it can be known), the previous model file and the
/// store left intact, nothing crashing.
///
/// Read-only directories are made with mode 0555; root ignores file modes, so when the tests run
/// as root the `ncf` child is started as the unprivileged user 65534 through `setpriv`. A full
/// disk is a file-size limit (`ulimit -f`) on the child.
final class ReliabilityFileTests: ReliabilityTestCase {
    // MARK: Helpers

    /// Runs `ncf` through `bash -c` with a shell `prefix` (e.g. `ulimit -f 4;`), or as the
    /// unprivileged user when `unprivileged` and the tests run as root.
    private func ncfVia(_ arguments: [String], shellPrefix: String? = nil, unprivileged: Bool = false) throws -> ProgramResult {
        let ncf = try CLIRunner(executableNamed: "ncf").executable.path
        var argv = [ncf] + arguments
        if unprivileged && geteuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root without /usr/bin/setpriv: cannot make a directory read-only for ncf")
            }
            argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
        }
        if let shellPrefix {
            let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            argv = ["/bin/bash", "-c", "\(shellPrefix) exec \(quoted)"]
        }
        return try runProgram(argv)
    }

    /// A directory the `ncf` child may read but not write.
    private func readOnlyDirectory(_ name: String) throws -> URL {
        let dir = tmp.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        return dir
    }

    private func seal(_ dir: URL) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        addTeardownBlock { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
    }

    private func temporaryFiles(in dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    }

    // MARK: - Model files

    func testSaveIntoAReadOnlyDirectoryFailsBeforeTraining() throws {
        let data = try writeTinyRatings()
        let dir = try readOnlyDirectory("models")
        try seal(dir)
        let path = dir.appendingPathComponent("model.ncf").path
        let result = try ncfVia(["train", "--data", data, "--save", path] + smallFlags, unprivileged: true)
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        XCTAssertLessThan(result.exitCode, 128, result.description)
        XCTAssertTrue(result.stderr.contains("--save \(path): the directory \(dir.path) is not writable"), result.description)
        XCTAssertTrue(result.stderr.contains("Hint:"), result.description)
        XCTAssertFalse(result.stderr.contains("epoch 1/"), "training started: \(result)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        let missing = tmp.appendingPathComponent("no/such/dir/model.ncf").path
        let stderr = try ncfFails(["train", "--data", data, "--save", missing] + smallFlags)
        XCTAssertTrue(stderr.contains("--save \(missing): the directory") && stderr.contains("does not exist"), stderr)
        let intoDir = try ncfFails(["train", "--data", data, "--save", tmp.path] + smallFlags)
        XCTAssertTrue(intoDir.contains("--save \(tmp.path): this is a directory"), intoDir)
    }

    /// The disk fills up (a 4 KiB file-size limit) while the model is written: a clear error
    /// naming the file, the previous model byte for byte intact, no temporary file left.
    func testAFullDiskDuringTheModelWriteKeepsThePreviousModel() throws {
        let data = try writeTinyRatings()
        let path = tmp.appendingPathComponent("model.ncf").path
        try ncfSucceeds(["train", "--data", data, "--save", path] + smallFlags)
        let previous = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertLessThan(previous.count, 4096, "the first model fits under the limit")

        let bigger = ["--data", data, "--epochs", "1", "--embed_dim", "32", "--mlp_dims", "64,32", "--seed", "3"]
        let result = try ncfVia(["train", "--save", path] + bigger, shellPrefix: "ulimit -f 4;")
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        XCTAssertLessThan(result.exitCode, 128, "killed by a signal instead of failing with a message: \(result)")
        XCTAssertTrue(result.stderr.contains(path), result.description)
        XCTAssertTrue(result.stderr.contains("File too large"), result.description)
        XCTAssertTrue(result.stderr.contains("left unchanged"), result.description)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), previous, "the previous model is intact")
        XCTAssertEqual(try temporaryFiles(in: tmp), [], "no temporary file is left behind")
        // And it still loads.
        try ncfSucceeds(["eval", "--model", path])
    }

    // MARK: - Stores

    func testAStoreInAReadOnlyDirectoryIsRefusedNamingThePath() throws {
        let config = try writeConfig(parameters: grid(2))
        let dir = try readOnlyDirectory("stores")
        let existing = dir.appendingPathComponent("sweeps.db").path
        let created = try ncfSucceeds(["sweep", config, "--count", "0", "--store", existing])
        let id = String(try XCTUnwrap(created.stdout.range(of: #"created sweep [a-z0-9]{8}"#, options: .regularExpression))
            .map { created.stdout[$0].suffix(8) } ?? "")
        try seal(dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: existing))

        let newStore = dir.appendingPathComponent("new.db").path
        for (arguments, fragment) in [
            (["sweep", config, "--store", newStore], "sweep store \(newStore): cannot create it: the directory \(dir.path) is not writable"),
            (["agent", id, "--store", existing], "sweep store \(existing): "),
            (["sweep", "status", id, "--store", existing], "sweep store \(existing): "),
        ] {
            let result = try ncfVia(arguments, unprivileged: true)
            XCTAssertNotEqual(result.exitCode, 0, result.description)
            XCTAssertLessThan(result.exitCode, 128, result.description)
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments):\n\(result)")
            XCTAssertTrue(result.stderr.contains("not writable") && result.stderr.contains("Hint:"), "\(arguments):\n\(result)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: newStore))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: existing)), before, "the store is untouched")
        XCTAssertEqual(try SQLiteRunStore(path: existing, create: false).integrityCheck(), ["ok"])
    }

    /// The store's disk fills up (a file-size limit) while an agent works: the agent stops with
    /// a message naming the store, nothing crashes, the store passes its integrity check, and an
    /// agent without the limit finishes the sweep.
    func testAFullDiskUnderTheStoreFailsCleanlyAndLeavesItIntact() throws {
        let config = try writeConfig(parameters: grid(40, "  epochs:\n    value: 3"))
        let id = try createSweep(config)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: store)[.size] as? Int)
        // Room for the write-ahead log to grow by a few transactions only.
        let limitKiB = size / 1024 + 16
        let result = try ncfVia(["agent", id, "--store", store], shellPrefix: "ulimit -f \(limitKiB);")
        XCTAssertLessThan(result.exitCode, 128, "killed by a signal: \(result)")
        let output = result.stdout + result.stderr
        XCTAssertNotEqual(result.exitCode, 0, result.description)
        XCTAssertTrue(output.contains("sweep store \(store): could not write ("), result.description)
        XCTAssertTrue(output.contains("ulimit -f"), result.description)
        assertCleanOutput(output, "full disk")
        try assertIntegrity()

        let rescuer = try ncfSucceeds(["agent", id, "--store", store, "--heartbeat", "0.2", "--grace", "1"])
        assertCleanOutput(rescuer.stdout + rescuer.stderr, "after the full disk")
        try assertEachPointFinishedOnce(id, points: 40, context: "after the full disk")
        try assertIntegrity()
    }

    // MARK: - Memory

    /// `--embed_dim 1000000` on the bundled-size synthetic data is refused before the model is
    /// allocated, with the memory it would need.
    func testAnAbsurdEmbeddingSizeIsRefusedWithTheMemoryItNeeds() throws {
        try ncfSucceeds(["data", "synth"])
        let stderr = try ncfFails(["train", "--embed_dim", "1000000", "--epochs", "1"])
        XCTAssertTrue(stderr.contains("this model would need"), stderr)
        XCTAssertNotNil(stderr.range(of: #"would need [0-9.]+ GB of memory"#, options: .regularExpression), stderr)
        XCTAssertTrue(stderr.contains("parameters with their gradients and optimizer state"), stderr)
        XCTAssertTrue(stderr.contains("--embed_dim (now 1000000"), stderr)
        XCTAssertTrue(stderr.contains("Hint:"), stderr)
        XCTAssertFalse(stderr.contains("epoch 1/"), stderr)
        XCTAssertFalse(stderr.contains("model: "), "the model was not built: \(stderr)")

        // A size that fits in memory but is over the trainer's limit keeps its own message.
        let data = try writeTinyRatings()
        let over = try ncfFails(["train", "--data", data, "--embed_dim", "5000", "--epochs", "1", "--mlp_dims", "8"])
        XCTAssertTrue(over.contains("--embed_dim 5000: at most 4096"), over)
    }
}
