// wb/start_gate.hpp - StartGate: N processes (or threads) get ready, then all start at once.
//
// What it is
//   A race is only fair when everybody starts together. A StartGate for N parties has two sides:
//   each party arrives (it is ready: forked, pinned, connected...) and waits at the gate; the
//   opener waits until all N have arrived, may look at them (read /proc, start a clock), and
//   opens the gate, which releases every party at the same instant. Chapter 02 starts its three
//   CPU-bound tasks through one, so fork() costs are not counted; chapter 11 opens the KTV's doors
//   to ten people at once; chapter 12 starts the light and twenty cars on one clock:
//
//       wb::StartGate gate(3);                      // before the fork, like every wb primitive
//       for (auto& p : children) p.start();         // each child: prepare(); gate.arrive_and_wait(); race();
//       gate.wait_until_ready();                    // all three are at the gate
//       const wb::clock::Stopwatch watch;           // fork() is not part of the race
//       gate.open();
//
//   It is a wb::Semaphore (arrivals) and a wb::Event (the gate) in shared memory, so it works
//   between forked processes, spawned ones (hand_over / adopt) and threads alike. (For threads of
//   one process std::latch does the arriving half with less: chapter 12's thread demo uses it.)
//
// State model
//   closed, k of N arrived (k counts up as parties arrive) -> open (for good: a party that
//   arrives after open() passes at once). wait_until_ready() returns once k >= N; it consumes the
//   arrivals, so it is called once per gate.
// Guarantees
//   - No party passes arrive_and_wait() before open() is called; every party waiting then is
//     released by that one open(), and so is every later one.
//   - wait_until_ready(timeout) returns false when fewer than N arrived in time, and then gives
//     back the arrivals it had counted: a later call still sees them.
//   - A party that fails before it is ready should still call arrive() (without waiting), so that
//     the opener is not left waiting for it; the opener learns of the failure from the exit code.
// Timeouts
//   In logical seconds (wb/clock.hpp), as Semaphore::acquire and Event::wait. A timeout is the
//   safety net of a program whose parties normally arrive: chapter 04 reports a child that never
//   arrived instead of hanging.
// Process death
//   A party that dies before arriving never arrives: an opener without a timeout waits forever
//   (use the timeout, or arrive() on the failure path). A party that dies after arriving counts
//   as arrived. The opener dying before open() leaves the parties waiting: give them a timeout if
//   that can happen (chapter 04's children wait with a patience limit).
// Errors
//   parties < 1: std::invalid_argument. System call failures: wb::SystemError (see Semaphore and
//   Event). adopt() of text not made by hand_over(): std::invalid_argument.
// Memory ordering: what a party wrote before arrive() is visible to the opener after
//   wait_until_ready() returns true; what the opener wrote before open() is visible to every
//   party after it passes the gate (so a start time stored before open() may be read after it).
#pragma once

#include <string>
#include <string_view>

#include "wb/event.hpp"
#include "wb/semaphore.hpp"

namespace wb {

class StartGate {
public:
    // A closed gate for `parties` parties.
    explicit StartGate(int parties);
    // The gate created by another process, from the text its hand_over() returned.
    [[nodiscard]] static StartGate adopt(std::string_view handed_over);

    StartGate(const StartGate&) = delete;
    StartGate& operator=(const StartGate&) = delete;
    StartGate(StartGate&&) noexcept = default;
    StartGate& operator=(StartGate&&) noexcept = default;
    ~StartGate() = default;

    // --- the parties' side
    // Says "ready" and waits until the gate is open.
    void arrive_and_wait();
    // The same, waiting at most `timeout` logical seconds: false if the gate stayed closed.
    [[nodiscard]] bool arrive_and_wait(double timeout);
    // Says "ready" without waiting (a party that failed, or one that need not be held back).
    void arrive();

    // --- the opener's side
    // Waits until all parties have arrived.
    void wait_until_ready();
    // The same, at most `timeout` logical seconds; false (arrivals given back) when not all came.
    [[nodiscard]] bool wait_until_ready(double timeout);
    // Opens the gate for good: releases every waiting party and every later one.
    void open();
    [[nodiscard]] bool is_open() const noexcept;
    // How many parties the opener waits for (0 in an adopted gate: the opener's business).
    [[nodiscard]] int parties() const noexcept { return parties_; }

    // For spawned parties: makes both descriptors inheritable; the child calls adopt(text).
    [[nodiscard]] std::string hand_over();

private:
    StartGate(Semaphore&& arrived, Event&& opened, int parties) noexcept;
    Semaphore arrived_;
    Event opened_;
    int parties_;
};

}  // namespace wb
