import NCFRunContract

/// What the model learns: explicit ratings (regression) or implicit feedback (ranking). One type
/// with the run contract's, so the metric catalog is looked up by the task itself.
public typealias Task = TaskKind

/// User–item interactions in struct-of-arrays form, indices dense (`0..<numUsers`, `0..<numItems`).
///
/// `timestamps` is empty when the source file had no timestamp column.
public struct Interactions: Sendable, Equatable {
    public var users: [Int32]
    public var items: [Int32]
    public var ratings: [Float]
    public var timestamps: [Int64]

    public init(users: [Int32] = [], items: [Int32] = [], ratings: [Float] = [], timestamps: [Int64] = []) {
        precondition(users.count == items.count && items.count == ratings.count,
                     "Interactions: users, items and ratings must have the same length")
        precondition(timestamps.isEmpty || timestamps.count == users.count,
                     "Interactions: timestamps must be empty or one per interaction")
        self.users = users
        self.items = items
        self.ratings = ratings
        self.timestamps = timestamps
    }

    public var count: Int { users.count }
    public var isEmpty: Bool { users.isEmpty }
    public var hasTimestamps: Bool { !timestamps.isEmpty }

    /// Appends one interaction (`timestamp` is ignored when this set has no timestamps and is not empty).
    public mutating func append(user: Int32, item: Int32, rating: Float, timestamp: Int64?) {
        if let timestamp, timestamps.count == users.count { timestamps.append(timestamp) }
        users.append(user)
        items.append(item)
        ratings.append(rating)
        if timestamp == nil, !timestamps.isEmpty { timestamps.removeAll() }
    }

    /// The interactions at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Interactions {
        Interactions(
            users: indices.map { users[$0] }, items: indices.map { items[$0] },
            ratings: indices.map { ratings[$0] },
            timestamps: hasTimestamps ? indices.map { timestamps[$0] } : [])
    }
}

/// Raw ids (strings as written in the file) ↔ dense indices `0..<count`, in order of first appearance.
///
/// Ids are compared as their exact UTF-8 bytes, not as Swift strings (which treat canonically
/// equivalent spellings as equal): the NFC "é" (C3 A9) and the NFD "e" + U+0301 (65 CC 81) are two
/// different ids, as `007` and `7` are. Nothing is normalised, so what the file says is what the
/// model and `ncf recommend --user` see. The map is saved with the model.
public struct IDMap: Sendable, Equatable {
    public private(set) var rawIDs: [String] = []
    private var indexOf: [ExactID: Int32] = [:]

    public init() {}
    public init(rawIDs: [String]) {
        for id in rawIDs { _ = intern(id) }
    }

    public var count: Int { rawIDs.count }

    /// The dense index of `raw` (byte for byte), or nil if it never occurred.
    public func index(of raw: String) -> Int32? { indexOf[ExactID(raw)] }

    /// The dense index of `raw`, adding it if new.
    public mutating func intern(_ raw: String) -> Int32 {
        let key = ExactID(raw)
        if let i = indexOf[key] { return i }
        let i = Int32(rawIDs.count)
        rawIDs.append(raw)
        indexOf[key] = i
        return i
    }

    public func raw(_ index: Int32) -> String { rawIDs[Int(index)] }

    /// Same ids, byte for byte, in the same order.
    public static func == (a: IDMap, b: IDMap) -> Bool {
        a.rawIDs.count == b.rawIDs.count && zip(a.rawIDs, b.rawIDs).allSatisfy { ExactID($0) == ExactID($1) }
    }
}

/// A string hashed and compared by its UTF-8 bytes, so canonically equivalent spellings (NFC and
/// NFD) stay apart. Used wherever raw ids are keys or checked for uniqueness.
public struct ExactID: Hashable, Sendable {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ExactID, b: ExactID) -> Bool {
        a.string.utf8.count == b.string.utf8.count && a.string.utf8.elementsEqual(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        let hashed: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil { Array(string.utf8).withUnsafeBytes { hasher.combine(bytes: $0) } }
    }
}

/// For each user, the sorted items they interacted with (compressed sparse rows).
public struct UserItems: Sendable {
    /// `offsets[u]..<offsets[u+1]` indexes `items` for user `u`; `offsets.count == numUsers + 1`.
    public private(set) var offsets: [Int]
    /// Items, sorted ascending and unique within each user.
    public private(set) var items: [Int32]

    public init(numUsers: Int, interactions: [Interactions]) {
        var counts = [Int](repeating: 0, count: numUsers + 1)
        for set in interactions { for u in set.users { counts[Int(u) + 1] += 1 } }
        for u in 0..<numUsers { counts[u + 1] += counts[u] }
        var fill = counts
        var flat = [Int32](repeating: 0, count: counts[numUsers])
        for set in interactions {
            for k in 0..<set.count {
                let u = Int(set.users[k])
                flat[fill[u]] = set.items[k]
                fill[u] += 1
            }
        }
        // Sort and de-duplicate each user's row in place, compacting as we go (no second copy).
        var outOffsets = [Int](repeating: 0, count: numUsers + 1)
        var w = 0
        flat.withUnsafeMutableBufferPointer { flat in
            for u in 0..<numUsers {
                var row = UnsafeMutableBufferPointer(rebasing: flat[counts[u]..<counts[u + 1]])
                row.sort()
                var last: Int32 = -1
                for it in row where it != last {
                    flat[w] = it
                    w += 1
                    last = it
                }
                outOffsets[u + 1] = w
            }
        }
        offsets = outOffsets
        items = w == flat.count ? flat : Array(flat[0..<w])
    }

    public var numUsers: Int { offsets.count - 1 }

    public func items(of user: Int32) -> ArraySlice<Int32> {
        items[offsets[Int(user)]..<offsets[Int(user) + 1]]
    }

    public func count(of user: Int32) -> Int { offsets[Int(user) + 1] - offsets[Int(user)] }

    /// Binary search in the user's sorted row. - Complexity: O(log n_u).
    public func contains(user: Int32, item: Int32) -> Bool {
        var lo = offsets[Int(user)], hi = offsets[Int(user) + 1]
        while lo < hi {
            let mid = (lo + hi) >> 1
            let v = items[mid]
            if v == item { return true }
            if v < item { lo = mid + 1 } else { hi = mid }
        }
        return false
    }
}
