// wb/emulated_gil.hpp - EmulatedGil: CPython's global interpreter lock, rebuilt to be measured.
//
// What it is
//   In CPython only the thread holding the GIL runs Python code. A thread gives the GIL up when
//   it blocks (I/O, sleep) and, while computing, every "switch interval" (sys.getswitchinterval(),
//   5 ms) if another thread is waiting for it: the holder drops the lock and waits until the
//   other thread has taken it. So two CPU-bound Python threads take turns instead of running in
//   parallel, and add the cost of every hand-over - the seed's two-thread count is slower than the
//   serial one. C++ threads have no such lock; chapter 16 puts one back to show the difference:
//
//       wb::EmulatedGil gil(100'000);            // hand over every 100000 steps
//       auto work = [&] {
//           wb::EmulatedGil::Holder held(gil);     // the thread's "Python code" needs the GIL
//           for (std::uint64_t i = 0; i < n; ++i) {
//               ...one step...
//               held.step();                       // every 100000 steps: let a waiter run
//           }
//           held.released([] { wb::clock::sleep(1); });  // blocking I/O runs without the GIL
//       };
//
//   The interval counts steps rather than milliseconds so that the same run switches the same
//   number of times on any machine (CPython's interval is 5 ms of time).
//
// State model
//   free <-> held by one thread. waiters: how many threads wait to hold it. A hand-over at a
//   switch point happens only when somebody waits (CPython's "drop request"); the holder then
//   waits until another thread has taken the lock, and queues up again - the turns alternate.
// Guarantees
//   - At most one Holder holds the lock at a time; everything a holder wrote before it let go is
//     visible to the next holder (a mutex orders them), so data touched only under the GIL needs
//     no other synchronisation - as in CPython.
//   - A lone thread never switches: step() costs a counter increment and a comparison.
//   - switches() counts the hand-overs so far.
// Errors: Holder may not be nested on one thread (std::logic_error), as a thread can hold the
//   GIL only once. Destroying an EmulatedGil while a Holder exists is undefined.
// Thread-safety: every member may be called from any thread; a Holder belongs to its thread.
// Memory ordering: acquire on taking the lock, release on letting go (std::mutex).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace wb {

class EmulatedGil {
public:
    // Hand over every `switch_interval` steps (>= 1; std::invalid_argument otherwise).
    explicit EmulatedGil(std::uint64_t switch_interval);
    EmulatedGil(const EmulatedGil&) = delete;
    EmulatedGil& operator=(const EmulatedGil&) = delete;

    [[nodiscard]] std::uint64_t switch_interval() const noexcept { return interval_; }
    // Hand-overs at switch points so far.
    [[nodiscard]] std::uint64_t switches() const;
    // How many threads wait to hold it now (a snapshot: for tests and demonstrations).
    [[nodiscard]] int waiting() const;

    // The GIL held by the calling thread for the Holder's lifetime.
    class Holder {
    public:
        explicit Holder(EmulatedGil& gil);
        ~Holder();
        Holder(const Holder&) = delete;
        Holder& operator=(const Holder&) = delete;

        // One step of computation: every switch_interval steps, a switch point.
        void step() {
            if (++steps_ >= gil_.interval_) {
                steps_ = 0;
                gil_.switch_point();
            }
        }
        // Runs `blocking` (I/O, a sleep) with the GIL released, then takes it back.
        template <typename F>
        decltype(auto) released(F&& blocking) {
            gil_.release();
            struct Retake {
                EmulatedGil& gil;
                ~Retake() { gil.acquire(); }
            } retake{gil_};
            return blocking();
        }

    private:
        EmulatedGil& gil_;
        std::uint64_t steps_ = 0;
    };

private:
    void acquire();
    void release();
    void switch_point();

    const std::uint64_t interval_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = false;
    std::thread::id holder_{};
    int waiting_ = 0;
    std::uint64_t acquisitions_ = 0;
    std::uint64_t switches_ = 0;
};

}  // namespace wb
