#include "wb/condition.hpp"

#include <cmath>
#include <iterator>
#include <stdexcept>

#include "wb/clock.hpp"

namespace wb {

Condition::Deadline Condition::deadline_in(double timeout) {
    if (std::isnan(timeout)) throw std::invalid_argument("Condition: the timeout is NaN");
    // to_real saturates: <= 0 is now, a huge timeout is about 31 years (no overflow: the steady
    // clock counts from boot, far below the 292 years its nanoseconds can hold).
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(clock::to_real(timeout));
}

bool Condition::take_lock(std::unique_lock<std::mutex>& guard, std::thread::id me, unsigned depth, Deadline end) {
    const auto free = [this] { return owner_ == std::thread::id{}; };
    if (end == forever()) {
        lock_freed_.wait(guard, free);
    } else if (!lock_freed_.wait_until(guard, end, free)) {
        return false;
    }
    owner_ = me;
    depth_ = depth;
    return true;
}

void Condition::acquire() {
    const auto me = std::this_thread::get_id();
    std::unique_lock guard(mutex_);
    if (owner_ == me) {
        ++depth_;
        return;
    }
    take_lock(guard, me, 1, forever());
}

bool Condition::acquire(double timeout) {
    const Deadline end = deadline_in(timeout);
    const auto me = std::this_thread::get_id();
    std::unique_lock guard(mutex_);
    if (owner_ == me) {
        ++depth_;
        return true;
    }
    return take_lock(guard, me, 1, end);
}

void Condition::release() {
    std::unique_lock guard(mutex_);
    if (owner_ != std::this_thread::get_id()) throw std::logic_error("cannot release un-acquired lock");
    if (--depth_ == 0) {
        owner_ = std::thread::id{};
        // Everyone waiting for the lock waits for the same thing (it is free), and whoever takes it
        // signals again when it lets go: one wake-up is enough.
        lock_freed_.notify_one();
    }
}

bool Condition::wait() { return wait_until(forever()); }

bool Condition::wait(double timeout) { return wait_until(deadline_in(timeout)); }

bool Condition::wait_until(Deadline end) {
    const auto me = std::this_thread::get_id();
    std::unique_lock guard(mutex_);
    if (owner_ != me) throw std::logic_error("cannot wait on un-acquired lock");

    // Join the waiting room, then give the lock up entirely (whatever the depth).
    Waiter self;
    const auto place = waiters_.insert(waiters_.end(), &self);
    const unsigned depth = depth_;
    owner_ = std::thread::id{};
    depth_ = 0;
    lock_freed_.notify_one();

    // Sleep until a notify takes us out of the list and sets our flag, or the deadline. The flag
    // and the list are both guarded by mutex_: the predicate absorbs the standard's spurious
    // wake-ups, and a notify either happened before the timeout was seen or not at all.
    const auto notified = [&self] { return self.notified; };
    if (end == forever()) {
        self.wake.wait(guard, notified);
    } else if (!self.wake.wait_until(guard, end, notified)) {
        waiters_.erase(place);  // timed out: still in the list, nobody will touch `self` any more
    }

    // Take the lock back at the old depth, however long that takes (Python's wait does the same).
    take_lock(guard, me, depth, forever());
    return self.notified;
}

void Condition::notify(int n) {
    if (n < 0) throw std::invalid_argument("Condition::notify: n must not be negative");
    std::unique_lock guard(mutex_);
    if (owner_ != std::this_thread::get_id()) throw std::logic_error("cannot notify on un-acquired lock");
    for (; n > 0 && !waiters_.empty(); --n) {
        Waiter* w = waiters_.front();
        waiters_.pop_front();
        w->notified = true;
        // Signalled while mutex_ is held: the waiter cannot return (and destroy `wake`) before
        // this call is over, because it needs mutex_ to return.
        w->wake.notify_one();
    }
}

void Condition::notify_all() {
    std::unique_lock guard(mutex_);
    if (owner_ != std::this_thread::get_id()) throw std::logic_error("cannot notify on un-acquired lock");
    for (Waiter* w : waiters_) {
        w->notified = true;
        w->wake.notify_one();
    }
    waiters_.clear();
}

std::size_t Condition::waiting() const {
    std::lock_guard guard(mutex_);
    return waiters_.size();
}

bool Condition::is_owned() const {
    std::lock_guard guard(mutex_);
    return owner_ == std::this_thread::get_id();
}

}  // namespace wb
