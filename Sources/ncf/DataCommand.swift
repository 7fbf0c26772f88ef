import ArgumentParser
import Foundation
import NCFData

/// `ncf data`: look at rating files and write the bundled synthetic set.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Describe a ratings file, write the bundled synthetic data set, or download a public one.",
        subcommands: [Info.self, Synth.self, Fetch.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Users, items, ratings, density, the rating histogram and the detected format of a ratings file.")

        @Argument(help: ArgumentHelp("A ratings file (or the NCF files' prefix with --format ncf).", valueName: "file"))
        var file: String

        @Option(name: .customLong("format"), help: "auto, tsv, csv, dat or ncf.", transform: parseFormat)
        var format: DataFormat = .auto

        @Option(name: .customLong("columns"), help: ArgumentHelp("CSV header names: user,item,rating[,timestamp].", valueName: "names"))
        var columns: String?

        @Flag(name: [.customLong("skip_bad_lines"), .customLong("skip-bad-lines")], help: "Skip malformed lines instead of stopping.")
        var skipBadLines = false

        func run() throws {
            do {
                let columns = try columns.map { try ColumnSpec(parsing: $0) }
                let options = LoadOptions(format: format, columns: columns, skipBadLines: skipBadLines)
                let resolved = format == .auto ? try RatingsReader.detectFormat(path: file) : format
                let ratings: RatingsFile
                if resolved == .ncf {
                    ratings = try RatingsReader.readNCF(prefix: file, options: options).train
                } else {
                    ratings = try RatingsReader.read(path: file, options: options)
                }
                print(RatingsSummary(file: ratings).text)
            } catch {
                throw CLIError(error)
            }
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the synthetic default data set (the bundled Data/ratings.tsv with the defaults).",
            discussion: """
                Latent-factor ratings 1–5 with user and item biases and noise, log-normal user activity, \
                power-law item popularity, at least 20 ratings per user, timestamps. Same flags, same bytes.
                """)

        @Option(name: .customLong("out"), help: ArgumentHelp("Output file.", valueName: "path"))
        var out: String = defaultDataPath

        @Option(name: .customLong("users")) var users: Int = SyntheticRatings.defaultShape.users
        @Option(name: .customLong("items")) var items: Int = SyntheticRatings.defaultShape.items
        @Option(name: .customLong("ratings")) var ratings: Int = SyntheticRatings.defaultShape.ratings
        @Option(name: .customLong("seed")) var seed: UInt64 = SyntheticRatings.defaultShape.seed

        func validate() throws {
            if users < 1 { throw ValidationError("--users \(users): must be at least 1") }
            if items < SyntheticRatings.minRatingsPerUser {
                throw ValidationError("--items \(items): must be at least \(SyntheticRatings.minRatingsPerUser) (every user rates that many items)")
            }
            let minimum = SyntheticRatings.minRatingsPerUser * users
            let cap = max(SyntheticRatings.minRatingsPerUser, items * 6 / 10) * users
            if ratings < minimum {
                throw ValidationError("--ratings \(ratings): at least \(minimum) for \(users) users (every user rates \(SyntheticRatings.minRatingsPerUser) items)")
            }
            if ratings > cap {
                throw ValidationError("--ratings \(ratings): at most \(cap) for \(users) users and \(items) items (a user rates at most 60% of the items)")
            }
            if users > 10_000_000 || items > 10_000_000 || ratings > 100_000_000 {
                throw ValidationError("at most 10,000,000 users or items and 100,000,000 ratings")
            }
        }

        func run() throws {
            let interactions = SyntheticRatings.generate(users: users, items: items, ratings: ratings, seed: seed)
            let text = SyntheticRatings.tsv(interactions)
            do {
                // The default, Data/ratings.tsv, goes into a Data folder made here if need be
                // (a folder named in --out must exist: a typo there is not turned into folders).
                if out == defaultDataPath {
                    try FileManager.default.createDirectory(atPath: "Data", withIntermediateDirectories: true)
                }
                try text.write(toFile: out, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError(message: "cannot write \(out): \(error.localizedDescription). Hint: check that the directory exists and is writable.")
            }
            print("wrote \(grouped(interactions.count)) ratings (\(grouped(users)) users, \(grouped(items)) items, seed \(seed)) to \(out)")
        }
    }
}
