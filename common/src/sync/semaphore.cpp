#include "wb/semaphore.hpp"

#include <semaphore.h>

#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>

#include "wb/error.hpp"

namespace wb {
namespace detail {

SemaphoreState::SemaphoreState(int value, int bound_) : bound(bound_) {
    if (value < 0) throw std::invalid_argument("Semaphore: the initial value must be >= 0, got " + std::to_string(value));
    if (value > SEM_VALUE_MAX) {
        throw std::invalid_argument("Semaphore: the initial value must be <= " + std::to_string(SEM_VALUE_MAX));
    }
    check(::sem_init(&sem, /*pshared=*/1, static_cast<unsigned>(value)), "sem_init");
}

// Nothing to check: sem_destroy only fails for an invalid sem_t.
SemaphoreState::~SemaphoreState() { ::sem_destroy(&sem); }

}  // namespace detail

Semaphore::Semaphore(int value) : Semaphore(value, false) {}

Semaphore::Semaphore(int value, bool bounded)
    : SyncHandle(Shared<detail::SemaphoreState>::create_named(bounded ? "wb-bounded-semaphore" : "wb-semaphore",
                                                                value, bounded ? value : -1)) {}

Semaphore::Semaphore(Shared<detail::SemaphoreState>&& state) noexcept : SyncHandle(std::move(state)) {}

Semaphore Semaphore::adopt(int fd) { return Semaphore(adopt_state(fd, "Semaphore")); }
Semaphore Semaphore::adopt(std::string_view handed_over) {
    return adopt(handed_over_fd(handed_over, "Semaphore"));
}

void Semaphore::acquire() {
    while (::sem_wait(&state_->sem) != 0) {
        if (errno != EINTR) throw_errno("sem_wait");
    }
}

bool Semaphore::acquire(double timeout) {
    const auto deadline = detail::deadline_after(timeout, "Semaphore::acquire");
    if (!deadline) {
        acquire();
        return true;
    }
    for (;;) {
        if (::sem_clockwait(&state_->sem, CLOCK_MONOTONIC, &*deadline) == 0) return true;
        if (errno == ETIMEDOUT) return false;
        if (errno != EINTR) throw_errno("sem_clockwait");
        // Interrupted by a signal handler: wait again until the same absolute deadline.
    }
}

bool Semaphore::try_acquire() {
    for (;;) {
        if (::sem_trywait(&state_->sem) == 0) return true;
        if (errno == EAGAIN) return false;
        if (errno != EINTR) throw_errno("sem_trywait");
    }
}

void Semaphore::release() {
    detail::SemaphoreState& state = *state_;
    if (state.bound < 0) {
        check(::sem_post(&state.sem), "sem_post");
        return;
    }
    // Bounded: check and post inside the release mutex (see the header for why that suffices).
    // If a releaser died holding it (EOWNERDEAD), there is nothing to repair: it either posted or
    // it did not, and the count itself is the sem_t's.
    (void)state.release_mutex.lock();
    struct Unlock {
        detail::SharedMutex& mutex;
        ~Unlock() { mutex.unlock(); }  // we hold it: cannot fail (if it did: terminate)
    } unlock{state.release_mutex};
    int value = 0;
    check(::sem_getvalue(&state.sem, &value), "sem_getvalue");
    if (value >= state.bound) {
        throw ReleasedTooManyTimes("semaphore released too many times: BoundedSemaphore(" +
                                   std::to_string(state.bound) + ") already has " + std::to_string(value) +
                                   " free permits");
    }
    check(::sem_post(&state.sem), "sem_post");
}

Semaphore::Permit Semaphore::hold() {
    acquire();
    return Permit(*this);
}

int Semaphore::value() const {
    int value = 0;
    check(::sem_getvalue(&state_->sem, &value), "sem_getvalue");
    return value;
}

int Semaphore::bound() const noexcept { return state_->bound; }

Semaphore::Permit::Permit(Permit&& other) noexcept : semaphore_(std::exchange(other.semaphore_, nullptr)) {}

Semaphore::Permit::~Permit() {
    if (semaphore_ != nullptr) semaphore_->release();
}

void Semaphore::Permit::release() {
    if (semaphore_ == nullptr) throw std::logic_error("Semaphore::Permit::release: already released");
    std::exchange(semaphore_, nullptr)->release();
}

BoundedSemaphore::BoundedSemaphore(int value) : Semaphore(value, true) {}

BoundedSemaphore BoundedSemaphore::adopt(int fd) {
    Semaphore adopted = Semaphore::adopt(fd);
    if (adopted.bound() < 0) {
        throw std::invalid_argument("BoundedSemaphore::adopt: fd " + std::to_string(fd) +
                                    " holds an unbounded semaphore");
    }
    return BoundedSemaphore(std::move(adopted));
}

BoundedSemaphore BoundedSemaphore::adopt(std::string_view handed_over) {
    return adopt(handed_over_fd(handed_over, "BoundedSemaphore"));
}

}  // namespace wb
