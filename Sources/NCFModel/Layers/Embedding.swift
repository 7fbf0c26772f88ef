import CCPUFeatures

// MARK: - Embedding lookup
//
// Shapes: table [rows, d], indices [B], out [B, ldOut] (the d columns start at `out`; `ldOut ≥ d`
// lets two lookups write side by side into one [B, 2d] MLP input without a copy).

/// Gathers `out[b, 0..<d] = table[indices[b], 0..<d]`.
/// - Complexity: O(B·d).
@inline(__always)
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, ldOut: Int,
    indices: UnsafePointer<Int32>, table: UnsafePointer<Float>,
    batch: Int, dim: Int
) {
    for b in 0..<batch {
        if b + embeddingRowsAhead < batch { prefetchRow(table + Int(indices[b + embeddingRowsAhead]) * dim, dim, forWrite: false) }
        (out + b * ldOut).update(from: table + Int(indices[b]) * dim, count: dim)
    }
}

/// Scatter-adds `dtable[indices[b], :] += dout[b, :]` (accumulates; rows repeated in the batch add up).
/// - Complexity: O(B·d).
@inline(__always)
public func embeddingBackward(
    dtable: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, ldOut: Int, indices: UnsafePointer<Int32>,
    batch: Int, dim: Int
) {
    for b in 0..<batch {
        if b + embeddingRowsAhead < batch { prefetchRow(dtable + Int(indices[b + embeddingRowsAhead]) * dim, dim, forWrite: true) }
        let row = dtable + Int(indices[b]) * dim
        let g = dout + b * ldOut
        for j in 0..<dim { row[j] += g[j] }
    }
}

/// How many rows ahead the embedding gather and scatter ask for a row's cache lines: at 20M
/// ratings the tables are far larger than the caches and the rows are random, so every row is a
/// miss; asking a few rows ahead overlaps them.
let embeddingRowsAhead = 8

/// Asks for the cache lines of the `count` floats at `row` (a hint, see `ncf_prefetch.h`; it
/// changes no value).
@inline(__always)
func prefetchRow(_ row: UnsafePointer<Float>, _ count: Int, forWrite: Bool) {
    // Every 16 floats, and the last one: a row that does not start on a 64-byte line (a width
    // not a multiple of 16) ends on a line the steps would miss.
    var j = 0
    while j < count + 15 {
        let c = min(j, count - 1)
        if forWrite { ncf_prefetch_for_write(row + c) } else { ncf_prefetch_for_read(row + c) }
        j += 16
    }
}
