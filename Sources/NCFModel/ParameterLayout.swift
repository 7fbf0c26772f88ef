/// A named slice of a flat buffer: `count = rows · cols` floats starting at `offset`, row-major.
public struct TensorView: Sendable, Equatable {
    public let name: String
    public let offset: Int
    public let rows: Int
    public let cols: Int
    public var count: Int { rows * cols }

    /// The view's first element inside `buffer`.
    @inline(__always)
    public func pointer(in buffer: FloatBuffer) -> UnsafeMutablePointer<Float> {
        buffer.pointer + offset
    }
}

/// The one table that carves the parameter buffer into named tensors.
///
/// Parameters, gradients and optimizer state are each one `FloatBuffer` of `totalCount` floats,
/// all laid out by this table, so an optimizer is a single loop over the buffer and a checkpoint is
/// the buffer plus the table. Views are appended in order and tile the buffer exactly (see
/// `checkInvariants`).
public struct ParameterLayout: Sendable, Equatable {
    public private(set) var views: [TensorView] = []
    public private(set) var totalCount = 0

    public init() {}

    /// Appends a `rows × cols` tensor named `name` and returns its view.
    @discardableResult
    public mutating func add(_ name: String, rows: Int, cols: Int) -> TensorView {
        precondition(rows >= 0 && cols >= 0, "ParameterLayout: negative shape for \(name)")
        precondition(!views.contains { $0.name == name }, "ParameterLayout: duplicate tensor \(name)")
        let view = TensorView(name: name, offset: totalCount, rows: rows, cols: cols)
        views.append(view)
        totalCount += view.count
        return view
    }

    /// The view named `name`, if any.
    public func view(named name: String) -> TensorView? { views.first { $0.name == name } }

    /// Checks that the views tile `0..<totalCount` with no gap or overlap, in order.
    /// Returns a description of the first violation, or nil. Cheap; called by tests and in debug builds.
    public func checkInvariants() -> String? {
        var expected = 0
        for v in views {
            if v.offset != expected {
                return "tensor \(v.name) starts at \(v.offset), expected \(expected)"
            }
            expected += v.count
        }
        return expected == totalCount ? nil : "views cover \(expected) floats, buffer has \(totalCount)"
    }
}
