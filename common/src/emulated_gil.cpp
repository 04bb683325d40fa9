#include "wb/emulated_gil.hpp"

#include <stdexcept>

namespace wb {

EmulatedGil::EmulatedGil(std::uint64_t switch_interval) : interval_(switch_interval) {
    if (switch_interval < 1) throw std::invalid_argument("the switch interval must be at least 1 step");
}

std::uint64_t EmulatedGil::switches() const {
    std::lock_guard lock(mutex_);
    return switches_;
}

int EmulatedGil::waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
}

void EmulatedGil::acquire() {
    std::unique_lock lock(mutex_);
    if (held_ && holder_ == std::this_thread::get_id()) {
        throw std::logic_error("this thread already holds the emulated GIL");
    }
    ++waiting_;
    changed_.wait(lock, [&] { return !held_; });
    --waiting_;
    held_ = true;
    holder_ = std::this_thread::get_id();
    ++acquisitions_;
}

void EmulatedGil::release() {
    std::lock_guard lock(mutex_);
    held_ = false;
    holder_ = {};
    changed_.notify_all();
}

void EmulatedGil::switch_point() {
    std::unique_lock lock(mutex_);
    if (waiting_ == 0) return;  // nobody asked for it: keep running
    // Drop it, and wait until another thread has taken it (CPython's FORCE_SWITCHING), so the
    // one that let go cannot win it straight back.
    held_ = false;
    holder_ = {};
    ++switches_;
    const std::uint64_t taken_before = acquisitions_;
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return acquisitions_ != taken_before && !held_; });
    --waiting_;
    held_ = true;
    holder_ = std::this_thread::get_id();
    ++acquisitions_;
}

EmulatedGil::Holder::Holder(EmulatedGil& gil) : gil_(gil) { gil_.acquire(); }

EmulatedGil::Holder::~Holder() { gil_.release(); }

}  // namespace wb
