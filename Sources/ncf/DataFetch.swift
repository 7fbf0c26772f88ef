import ArgumentParser
import Foundation
import NCFData

extension DataCommand {
    /// `ncf data fetch NAME`: download a public data set once, verify its SHA-256, unpack it into
    /// the cache, and print the ratings file's path (alone on stdout, for `--data "$(…)"`).
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a public MovieLens data set, verify its checksum, and print its ratings file.",
            discussion: """
                Known data sets:
                \(KnownDataset.all.map { "  \($0.name.padding(toLength: 24, withPad: " ", startingAt: 0))\($0.summary)" }.joined(separator: "\n"))

                The archive is downloaded once into the cache (default $XDG_CACHE_HOME/ncf or \
                ~/.cache/ncf), checked against its SHA-256, and unpacked into CACHE/NAME/. Later \
                fetches reuse it without the network. The ratings file's path is printed on stdout; \
                progress goes to stderr. The data sets' licences (in each archive's README) apply.

                Example: ncf --data "$(ncf data fetch movielens-100k)"
                """)

        @Argument(help: ArgumentHelp("movielens-100k, movielens-1m or movielens-latest-small.", valueName: "name"))
        var name: String

        @Option(name: .customLong("cache"), help: ArgumentHelp("Cache directory (default: $XDG_CACHE_HOME/ncf or ~/.cache/ncf).", valueName: "dir"))
        var cache: String?

        @Option(name: .customLong("url"), help: ArgumentHelp("Download the archive from this URL instead (a mirror).", valueName: "url"))
        var url: String?

        @Option(name: .customLong("sha256"), help: ArgumentHelp("Expect this SHA-256 instead of the recorded one.", valueName: "hex"))
        var sha256: String?

        @Flag(name: .customLong("force"), help: "Download and unpack again even if the cache holds the data set.")
        var force = false

        @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds without data before the download gives up (whole seconds); the whole download may take 10× that.", valueName: "seconds"))
        var timeout: Double = 60

        func validate() throws {
            if !(timeout > 0) || !(timeout <= 86_400) {
                throw ValidationError("--timeout \(timeout): must be a positive number of seconds, at most a day (86400)")
            }
        }

        func run() throws {
            do {
                let dataset = try KnownDataset.named(name)
                let options = FetchOptions(url: url, sha256: sha256, cacheDirectory: cache, force: force, timeout: timeout)
                let result = try Fetcher.fetch(dataset, options: options) { line in
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
                FileHandle.standardError.write(Data("ratings (--format \(dataset.format.rawValue)): train with `ncf --data \(result.ratingsPath)`\n".utf8))
                print(result.ratingsPath)
            } catch {
                throw CLIError(error)
            }
        }
    }
}
