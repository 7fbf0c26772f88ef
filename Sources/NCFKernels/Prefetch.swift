import CCPUFeatures

extension Kernels {
    /// Asks the CPU for the cache lines of the `count` floats at `row`, to be written soon
    /// (`forWrite`) or only read: one hint every 16 floats and one for the last float, since a row
    /// that does not start on a 64-byte line (a width not a multiple of 16) ends on a line the
    /// steps would miss. A hint (`ncf_prefetch.h`, `__builtin_prefetch`): it changes no value and
    /// never faults.
    ///
    /// The loops that walk embedding rows at random ask for the row a few rows ahead (the
    /// embedding gather and scatter, the GMF branch, both trainers' update loops), so that the
    /// next rows' cache misses overlap this row's arithmetic. At 20M ratings the tables are far
    /// larger than the caches and nearly every row is a miss.
    @inlinable @inline(__always)
    public static func prefetch(_ row: UnsafePointer<Float>, count: Int, forWrite: Bool) {
        var j = 0
        while j < count + 15 {
            let c = min(j, count - 1)
            if forWrite { ncf_prefetch_for_write(row + c) } else { ncf_prefetch_for_read(row + c) }
            j += 16
        }
    }

    /// Asks for one row's update state, `count` floats from offset `o`: the parameters, the
    /// gradient and (Adam; nil under SGD) both moments, all about to be written. The update loops
    /// of both trainers ask it for the row a few rows ahead.
    @inlinable @inline(__always)
    public static func prefetchUpdate(at o: Int, count: Int, params: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>,
                                      moments: (m: UnsafeMutablePointer<Float>, r: UnsafeMutablePointer<Float>)?) {
        prefetch(params + o, count: count, forWrite: true)
        prefetch(gradient + o, count: count, forWrite: true)
        if let moments {
            prefetch(moments.m + o, count: count, forWrite: true)
            prefetch(moments.r + o, count: count, forWrite: true)
        }
    }

    /// How many rows ahead those loops ask.
    @inlinable public static var prefetchRowsAhead: Int { 8 }
}
