import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reusable barrier for a fixed number of threads that spins first, then sleeps.
///
/// Data-parallel training meets at a barrier twice per mini-batch, every 100–400 µs at the batch
/// sizes ncf trains with. Putting a thread to sleep and waking it (a futex, under a condition
/// variable) costs several microseconds on each side, spinning about 0.1 µs when both threads are
/// on a core, so a waiter first polls `spinLimit` times. When it is still waiting after that (the
/// other thread was descheduled: more runnable threads than cores, e.g. other builds), polling
/// would burn the core the other thread needs, so it sleeps on a condition variable until the
/// last thread arrives.
///
/// Memory ordering: every write a thread makes before `wait()` is visible to every thread after
/// its `wait()` returns (the arrival is an acquire-release read-modify-write, the phase is
/// released by the last arrival and acquired by each waiter). The sleep cannot miss its wake-up:
/// a waiter announces itself (`sleepers`) before it looks at the phase a last time, the last
/// arrival publishes the phase before it looks at `sleepers` (both sequentially consistent, so at
/// least one sees the other), and the look and the sleep happen under the mutex the wake-up takes.
@available(macOS 15.0, *)
final class SpinBarrier: @unchecked Sendable {
    let parties: Int
    private let arrived = Atomic<Int>(0)
    private let phase = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Polls before a waiter goes to sleep (tens of microseconds).
    static let spinLimit = 20_000

    init(parties: Int) {
        precondition(parties >= 1, "SpinBarrier: at least one party")
        self.parties = parties
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Blocks until `parties` threads have called `wait()` in this round.
    func wait() {
        let current = phase.load(ordering: .acquiring)
        if arrived.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == parties {
            arrived.store(0, ordering: .relaxed)
            phase.store(current &+ 1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            return
        }
        for _ in 0..<Self.spinLimit where phase.load(ordering: .acquiring) != current { return }
        pthread_mutex_lock(mutex)
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        while phase.load(ordering: .sequentiallyConsistent) == current { pthread_cond_wait(condition, mutex) }
        sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }
}
