// How fast two cores see each other's writes, for `ncf-bench threads`: data-parallel training
// hands gradients and parameters between its threads every step, so its speed-up depends on it.
// On the 2-vCPU EPYC machine ncf is measured on, the round trip was 54–90 ns most of the time and
// 200–340 ns at others (the host placing the two virtual CPUs near each other or far apart), and
// two threads' update phase took 34–45 µs per step in fast periods and 75–129 µs in slow ones. It is
// measured for 10 ms before each run, so it hints at the run's conditions and does not prove them.

import Foundation
import Synchronization

/// The median, over `samples` batches, of the time for one value to travel from this thread to
/// another and back (two threads spinning on one atomic word), in nanoseconds. Both threads must
/// get a core for the figure to mean anything; nil on a machine with one logical CPU.
/// - Complexity: `samples · roundsPerSample` round trips, about 10 ms with the defaults.
@available(macOS 15.0, *)
func crossCoreRoundTripNanoseconds(samples: Int = 21, roundsPerSample: Int = 5_000) -> Double? {
    guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { return nil }
    let box = PingPong()
    let total = samples * roundsPerSample
    let done = DispatchSemaphore(value: 0)
    Thread {
        for i in 0..<total {
            while box.word.load(ordering: .acquiring) != 2 * i + 1 {}
            box.word.store(2 * i + 2, ordering: .releasing)
        }
        done.signal()
    }.start()
    var times: [Double] = []
    for s in 0..<samples {
        let start = DispatchTime.now().uptimeNanoseconds
        for r in 0..<roundsPerSample {
            let i = s * roundsPerSample + r
            box.word.store(2 * i + 1, ordering: .releasing)
            while box.word.load(ordering: .acquiring) != 2 * i + 2 {}
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(roundsPerSample))
    }
    done.wait()
    return times.sorted()[samples / 2]
}

@available(macOS 15.0, *)
private final class PingPong: @unchecked Sendable {
    let word = Atomic<Int>(0)
}
