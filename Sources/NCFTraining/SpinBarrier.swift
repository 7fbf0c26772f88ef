import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reusable barrier for a fixed number of threads that spins first, then sleeps.
///
/// Data-parallel training meets at a barrier twice per mini-batch, every 100–400 µs at the batch
/// sizes ncf trains with. A spinning waiter sees the last arrival within about 0.1 µs; a waiter
/// asleep on a condition variable (a futex) wakes 25–40 µs after it on the 2-vCPU EPYC machine
/// ncf is measured on (an idle virtual CPU is woken through the host). So a waiter polls for a
/// while, in wall time, before it sleeps:
/// - `longSpin` (100 µs) while the threads have their cores. A short budget is not enough: a sleep
///   perpetuates itself. The sleeper starts its next phase a wake-up late, so at the next barrier
///   the other thread waits that much longer, sleeps in turn, and from then on every step pays a
///   wake-up at both barriers. With a budget of 20,000 polls (about 20 µs) the two threads of
///   `ncf --threads 2` each waited 40–45 µs per step of about 185 µs on ML-1M; with 100 µs, 3–10 µs
///   (docs/performance.md).
/// - `shortSpin` (2 µs) after a wait that outlasted `longSpin`: the last thread was off its core
///   (more runnable threads than cores, e.g. other trainings), and polling would only burn the core
///   it needs. `longSpin` comes back after `catchableSleeps` sleeps in a row that a long spin would
///   have caught (each ended within `longSpin`): the threads are on their cores again, caught in
///   the cycle of wake-ups above. One such sleep is not enough, since on a busy machine some
///   waits are short by chance.
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
    /// How long, in nanoseconds of wall time, a waiter polls before it sleeps: `longSpin` while the
    /// threads have their cores, `shortSpin` after a wait showed that one was off its core.
    static let longSpin: UInt64 = 100_000
    static let shortSpin: UInt64 = 2_000
    static let catchableSleeps = 8
    /// The current poll budget (`longSpin` or `shortSpin`), chosen by the waits that slept.
    private let spinBudget = Atomic<UInt64>(SpinBarrier.longSpin)
    /// Sleeps in a row that ended within `longSpin`, while the budget is short.
    private let catchableStreak = Atomic<Int>(0)

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
        let start = monotonicNanoseconds()
        let budget = spinBudget.load(ordering: .relaxed)
        repeat {
            for _ in 0..<64 where phase.load(ordering: .acquiring) != current { return }
        } while monotonicNanoseconds() &- start < budget
        pthread_mutex_lock(mutex)
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        while phase.load(ordering: .sequentiallyConsistent) == current { pthread_cond_wait(condition, mutex) }
        sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        // Would a long spin have caught this arrival? If not, the last thread was off its core,
        // and spinning for it would only have kept it off longer.
        if monotonicNanoseconds() &- start >= Self.longSpin {
            if budget != Self.shortSpin { spinBudget.store(Self.shortSpin, ordering: .relaxed) }
            catchableStreak.store(0, ordering: .relaxed)
        } else if catchableStreak.wrappingAdd(1, ordering: .relaxed).newValue >= Self.catchableSleeps {
            spinBudget.store(Self.longSpin, ordering: .relaxed)
            catchableStreak.store(0, ordering: .relaxed)
        }
    }
}

/// The monotonic clock in nanoseconds (a vDSO call on Linux, no system call: cheap enough to read
/// every 64 polls).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
