#include "wb/thread_event.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "wb/clock.hpp"

namespace wb {

void ThreadEvent::set() {
    {
        std::lock_guard lock(mutex_);
        flag_ = true;
    }
    changed_.notify_all();
}

void ThreadEvent::clear() {
    std::lock_guard lock(mutex_);
    flag_ = false;
}

bool ThreadEvent::is_set() const {
    std::lock_guard lock(mutex_);
    return flag_;
}

bool ThreadEvent::wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return flag_; });
    return true;
}

bool ThreadEvent::wait(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    return changed_.wait(lock, stop, [this] { return flag_; });
}

bool ThreadEvent::wait(double timeout) {
    if (std::isnan(timeout)) throw std::invalid_argument("ThreadEvent::wait: the timeout is NaN");
    std::unique_lock lock(mutex_);
    if (timeout <= 0) return flag_;
    const double real_seconds = timeout * clock::time_scale();
    if (real_seconds > 1e9) {  // about 30 years: forever
        changed_.wait(lock, [this] { return flag_; });
        return true;
    }
    const auto real = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(real_seconds));
    return changed_.wait_until(lock, std::chrono::steady_clock::now() + real, [this] { return flag_; });
}

}  // namespace wb
