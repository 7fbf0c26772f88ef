import Foundation

/// Item titles by raw item id, from a MovieLens item file, for `ncf recommend`.
///
/// Formats (told by the file's name, else by its first line):
/// - `u.item` (MovieLens 100K): `id|title|release date|…`, Latin-1;
/// - `movies.dat` (MovieLens 1M, 10M): `id::title::genres`, Latin-1;
/// - `movies.csv` (MovieLens latest, 20M, 25M): CSV with a header (`movieId,title,genres`), titles
///   quoted when they hold commas (`"American President, The (1995)"`), UTF-8.
/// A file that is valid UTF-8 is read as UTF-8, any other as Latin-1 (every byte is a character
/// there, so nothing is lost). A line that does not fit the format, an empty id or an id listed
/// twice is an error naming the file and line.
struct ItemTitles {
    enum Format: String {
        case pipe = "u.item"
        case doubleColon = "movies.dat"
        case csv = "movies.csv"
    }

    var path: String
    var format: Format
    /// Raw item id → title.
    var titles: [String: String]

    /// Larger files are refused (the largest MovieLens `movies.csv` is about 3 MB).
    static let maxBytes = 256 << 20

    /// The item file beside a ratings file, if there is one: the one that goes with its name
    /// (`u.data` → `u.item`, `ratings.dat` → `movies.dat`, `ratings.csv` → `movies.csv`), else any of them.
    static func beside(ratings path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        let name = url.lastPathComponent.lowercased()
        var order: [Format] = [.pipe, .doubleColon, .csv]
        if name.contains(".dat") { order = [.doubleColon, .pipe, .csv] }
        if name.contains(".csv") { order = [.csv, .doubleColon, .pipe] }
        for format in order {
            let candidate = dir.appendingPathComponent(format.rawValue).path
            if FileManager.default.isReadableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Reads an item file.
    /// - Throws: `CLIError` naming the file (and line) and saying what was expected.
    static func read(path: String) throws -> ItemTitles {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIError(message: "--items \(path): no such file. Hint: pass the item file of the data (u.item, movies.dat or movies.csv).")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw CLIError(message: "--items \(path): not a regular file.") }
        guard Int(info.st_size) <= maxBytes else {
            throw CLIError(message: "--items \(path): \(info.st_size) bytes is more than an item file holds (at most \(maxBytes >> 20) MiB). Hint: is it the ratings file?")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError(message: "--items \(path): cannot be read (\((error as NSError).localizedDescription)).")
        }
        let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) ?? ""
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if lines.first?.hasPrefix("\u{FEFF}") == true { lines[0].removeFirst() }
        guard let firstIndex = lines.firstIndex(where: { !$0.isEmpty }) else {
            throw CLIError(message: "\(path): the item file is empty. Hint: pass the item file of the data (u.item, movies.dat or movies.csv).")
        }
        let format = try Self.format(path: path, firstLine: lines[firstIndex])
        var titles: [String: String] = [:]
        var lineOf: [String: Int] = [:]
        var idColumn = 0, titleColumn = 1
        for (k, line) in lines.enumerated() where !line.isEmpty {
            let number = k + 1
            let fields: [String]
            switch format {
            case .pipe: fields = line.components(separatedBy: "|")
            case .doubleColon: fields = line.components(separatedBy: "::")
            case .csv: fields = try csvFields(line, path: path, line: number)
            }
            if format == .csv && k == firstIndex {
                // The header: which columns hold the id and the title.
                let names = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if let t = names.firstIndex(of: "title") {
                    titleColumn = t
                    guard let i = names.firstIndex(where: { ["movieid", "itemid", "item_id", "item", "id"].contains($0) }) else {
                        throw CLIError(message: "\(path):\(number): the CSV header \(line.prefix(80)) has a title column but no id column (movieId, itemId or id).")
                    }
                    idColumn = i
                    continue
                }
            }
            guard fields.count > max(idColumn, titleColumn) else {
                throw CLIError(message: "\(path):\(number): expected \(Self.expected(format)), found \(terminalSafe(String(line.prefix(80)))).")
            }
            let id = fields[idColumn].trimmingCharacters(in: .whitespaces)
            guard !id.isEmpty else { throw CLIError(message: "\(path):\(number): the item id (field \(idColumn + 1)) is empty.") }
            if let first = lineOf[id] {
                throw CLIError(message: "\(path):\(number): item \(terminalSafe(id)) is listed again (first on line \(first)). Hint: is this the item file of the data?")
            }
            lineOf[id] = number
            titles[id] = fields[titleColumn].trimmingCharacters(in: .whitespaces)
        }
        guard !titles.isEmpty else { throw CLIError(message: "\(path): the item file lists no items.") }
        return ItemTitles(path: path, format: format, titles: titles)
    }

    static func format(path: String, firstLine: String) throws -> Format {
        let name = URL(fileURLWithPath: path).lastPathComponent.lowercased()
        if name.hasSuffix(".item") { return .pipe }
        if name.hasSuffix(".dat") { return .doubleColon }
        if name.hasSuffix(".csv") { return .csv }
        if firstLine.contains("::") { return .doubleColon }
        if firstLine.contains("|") { return .pipe }
        if firstLine.contains(",") { return .csv }
        throw CLIError(message: "\(path):1: cannot tell the item file's format: expected `id|title|…` (u.item), `id::title::genres` (movies.dat) or CSV with a movieId,title header (movies.csv).")
    }

    static func expected(_ format: Format) -> String {
        switch format {
        case .pipe: return "`id|title|…` (fields separated by |, as in MovieLens u.item)"
        case .doubleColon: return "`id::title::genres` (as in MovieLens movies.dat)"
        case .csv: return "`id,title,…` (CSV, as in MovieLens movies.csv)"
        }
    }

    /// The fields of one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote inside).
    static func csvFields(_ line: String, path: String, line number: Int) throws -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var atStart = true
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    // A quote ends the field unless another follows it.
                    var look = chars
                    if look.next() == "\"" {
                        field.append("\"")
                        chars = look
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "," {
                fields.append(field)
                field = ""
                atStart = true
                continue
            } else if c == "\"" && atStart {
                quoted = true
            } else {
                field.append(c)
            }
            atStart = false
        }
        if quoted { throw CLIError(message: "\(path):\(number): a quoted field is not closed (a \" is missing).") }
        fields.append(field)
        return fields
    }
}
