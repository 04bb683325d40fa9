#include "wb/event.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>

#include "wb/error.hpp"

namespace wb {
namespace {

constexpr std::uint32_t kFlag = 1;
constexpr std::uint32_t kOneSet = 2;  // the increment of the set() counter in bits 1-31

// futex(2) has no glibc wrapper. No FUTEX_PRIVATE_FLAG: the word is in a MAP_SHARED mapping and
// the waiters are in other processes, so the kernel must key it by the shared page.
long futex(std::uint32_t* word, int op, std::uint32_t value, const timespec* timeout, std::uint32_t value3) {
    return ::syscall(SYS_futex, word, op, value, timeout, nullptr, value3);
}

}  // namespace

Event::Event() : SyncHandle(Shared<detail::EventState>::create_named("wb-event")) {}

Event::Event(Shared<detail::EventState>&& state) noexcept : SyncHandle(std::move(state)) {}

Event Event::adopt(int fd) { return Event(adopt_state(fd, "Event")); }
Event Event::adopt(std::string_view handed_over) { return adopt(handed_over_fd(handed_over, "Event")); }

void Event::set() {
    std::atomic_ref<std::uint32_t> word(state_->word);
    std::uint32_t seen = word.load(std::memory_order_relaxed);
    for (;;) {
        // Clear: raise the flag and count the set in one step. Already set: write the same value
        // back, so that this set() is still a release operation for the memory-ordering promise.
        const bool was_set = (seen & kFlag) != 0;
        const std::uint32_t wanted = was_set ? seen : ((seen + kOneSet) | kFlag);
        if (word.compare_exchange_weak(seen, wanted, std::memory_order_release, std::memory_order_relaxed)) {
            if (was_set) return;  // the set() that raised it already woke the waiters
            break;
        }
    }
    // The kernel wakes every process sleeping on this word.
    check(futex(&state_->word, FUTEX_WAKE, INT_MAX, nullptr, 0), "futex(FUTEX_WAKE)");
}

void Event::clear() noexcept {
    std::atomic_ref<std::uint32_t>(state_->word).fetch_and(~kFlag, std::memory_order_relaxed);
}

bool Event::is_set() const noexcept {
    return (std::atomic_ref<std::uint32_t>(state_->word).load(std::memory_order_acquire) & kFlag) != 0;
}

bool Event::wait() { return wait_until(nullptr); }

bool Event::wait(double timeout) {
    const auto deadline = detail::deadline_after(timeout, "Event::wait");
    return wait_until(deadline ? &*deadline : nullptr);
}

bool Event::wait_until(const timespec* monotonic_deadline) {
    std::atomic_ref<std::uint32_t> word(state_->word);
    const std::uint32_t start = word.load(std::memory_order_acquire);
    if ((start & kFlag) != 0) return true;
    for (;;) {
        // Sleeps only if the word still equals `start` (checked atomically by the kernel), so a
        // set() between our load and this call is never missed. FUTEX_WAIT_BITSET takes an
        // absolute deadline on CLOCK_MONOTONIC (no FUTEX_CLOCK_REALTIME).
        const long rc = futex(&state_->word, FUTEX_WAIT_BITSET, start, monotonic_deadline, FUTEX_BITSET_MATCH_ANY);
        const int error = errno;
        // With the flag clear at the start, the word changes only through a set() (clear() of a
        // clear flag leaves it equal), so any change means the flag was raised meanwhile.
        if (word.load(std::memory_order_acquire) != start) return true;
        if (rc == -1 && error == ETIMEDOUT) return false;
        if (rc == -1 && error != EINTR && error != EAGAIN) throw_errno("futex(FUTEX_WAIT_BITSET)", error);
        // Woken spuriously or interrupted by a signal: sleep again until the same deadline.
    }
}


}  // namespace wb
