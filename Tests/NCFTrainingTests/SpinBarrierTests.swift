import Foundation
import XCTest

@testable import NCFTraining

/// `SpinBarrier`: what a thread wrote before `wait()` is what every thread reads after it, round
/// after round, whether the waiters caught the last arrival spinning or asleep.
final class SpinBarrierTests: XCTestCase {
    /// Each round, every party writes its slot, waits, checks every slot, and waits again (so no
    /// slot is overwritten while another party still reads it). With more parties than this
    /// machine has cores, some waiters outlast the spin budget and sleep, and the budget can switch
    /// between long and short: a lost wake-up would hang the test, a missing fence fail it.
    func testEveryWriteBeforeTheBarrierIsSeenAfterIt() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("needs the Synchronization module") }
        for parties in [2, 3, ProcessInfo.processInfo.activeProcessorCount + 2] {
            let barrier = SpinBarrier(parties: parties)
            let rounds = 1_000
            let slots = UnsafeMutablePointer<Int>.allocate(capacity: parties)
            slots.initialize(repeating: -1, count: parties)
            defer { slots.deallocate() }
            let mismatches = UnsafeMutablePointer<Int>.allocate(capacity: parties)
            mismatches.initialize(repeating: 0, count: parties)
            defer { mismatches.deallocate() }
            let shared = Shared(slots: slots, mismatches: mismatches)

            // One thread per party (a thread pool of one per core would run the extra parties only
            // after the others, which wait for them at the barrier).
            let done = DispatchGroup()
            for k in 0..<parties {
                done.enter()
                Thread {
                    for round in 0..<rounds {
                        shared.slots[k] = round * parties + k
                        barrier.wait()
                        for j in 0..<parties where shared.slots[j] != round * parties + j { shared.mismatches[k] += 1 }
                        barrier.wait()
                    }
                    done.leave()
                }.start()
            }
            done.wait()  // a lost wake-up hangs here
            for k in 0..<parties {
                XCTAssertEqual(mismatches[k], 0, "\(parties) parties: party \(k) read a stale slot")
                XCTAssertEqual(slots[k], (rounds - 1) * parties + k, "\(parties) parties")
            }
        }
    }

    /// Raw pointers for the parties (not `Sendable`; each party writes only its own slot).
    private struct Shared: @unchecked Sendable {
        let slots: UnsafeMutablePointer<Int>
        let mismatches: UnsafeMutablePointer<Int>
    }
}
