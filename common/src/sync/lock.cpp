#include "wb/lock.hpp"

#include <cerrno>
#include <stdexcept>
#include <string>

#include "wb/error.hpp"

namespace wb {
namespace detail {

namespace {
// pthread_mutexattr_t must be destroyed on every path, including the throwing ones.
class MutexAttributes {
public:
    MutexAttributes() { check_pthread(::pthread_mutexattr_init(&attr_), "pthread_mutexattr_init"); }
    ~MutexAttributes() { ::pthread_mutexattr_destroy(&attr_); }
    MutexAttributes(const MutexAttributes&) = delete;
    MutexAttributes& operator=(const MutexAttributes&) = delete;
    pthread_mutexattr_t* get() noexcept { return &attr_; }

private:
    pthread_mutexattr_t attr_{};
};
}  // namespace

SharedMutex::SharedMutex(Robustness robustness) {
    MutexAttributes attr;
    check_pthread(::pthread_mutexattr_setpshared(attr.get(), PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
    check_pthread(::pthread_mutexattr_settype(attr.get(), PTHREAD_MUTEX_ERRORCHECK), "pthread_mutexattr_settype");
    if (robustness == Robustness::robust) {
        check_pthread(::pthread_mutexattr_setrobust(attr.get(), PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
    }
    check_pthread(::pthread_mutex_init(&native_, attr.get()), "pthread_mutex_init");
}

SharedMutex::~SharedMutex() {
    // The result is ignored on purpose: a not_robust mutex whose holder was killed is still
    // locked (EBUSY), and the memory is about to be unmapped anyway. Nothing else can fail.
    ::pthread_mutex_destroy(&native_);
}

AcquireResult SharedMutex::settle(int rc, const char* call) {
    switch (rc) {
    case 0:
        return {true, false};
    case EOWNERDEAD:
        // We hold the mutex; the holder died inside its critical section. Mark the mutex
        // consistent at once, so that it never becomes ENOTRECOVERABLE, and tell the caller, who
        // must repair the protected data.
        check_pthread(::pthread_mutex_consistent(&native_), "pthread_mutex_consistent");
        return {true, true};
    case ETIMEDOUT:  // clocklock: the deadline passed
    case EBUSY:      // trylock: held by another thread
        return {false, false};
    default:  // EDEADLK (the caller already holds it), ENOTRECOVERABLE, EINVAL
        throw_errno(call, rc);
    }
}

AcquireResult SharedMutex::lock() { return settle(::pthread_mutex_lock(&native_), "pthread_mutex_lock"); }

AcquireResult SharedMutex::lock_until(const timespec& monotonic_deadline) {
    return settle(::pthread_mutex_clocklock(&native_, CLOCK_MONOTONIC, &monotonic_deadline),
                  "pthread_mutex_clocklock");
}

AcquireResult SharedMutex::try_lock() {
    const int rc = ::pthread_mutex_trylock(&native_);
    // The holder trying again: a robust error-checking mutex says EDEADLK, a plain one EBUSY.
    // Both mean "not acquired" here, as Python's lock.acquire(False) returns False.
    if (rc == EDEADLK) return {false, false};
    return settle(rc, "pthread_mutex_trylock");
}

void SharedMutex::unlock() {
    const int rc = ::pthread_mutex_unlock(&native_);
    if (rc == EPERM) throw_errno("pthread_mutex_unlock (release by a thread that does not hold the lock)", rc);
    check_pthread(rc, "pthread_mutex_unlock");
}

}  // namespace detail

Lock::Lock(Robustness robustness)
    : SyncHandle(Shared<detail::LockState>::create_named("wb-lock", robustness)) {}

Lock::Lock(Shared<detail::LockState>&& state) noexcept : SyncHandle(std::move(state)) {}

Lock Lock::adopt(int fd) { return Lock(adopt_state(fd, "Lock")); }
Lock Lock::adopt(std::string_view handed_over) { return adopt(handed_over_fd(handed_over, "Lock")); }

AcquireResult Lock::record(AcquireResult result) noexcept {
    // Safe without further synchronisation: only the holder writes or reads the flag.
    if (result.acquired) state_->previous_owner_died = result.previous_owner_died;
    return result;
}

AcquireResult Lock::acquire() { return record(state_->mutex.lock()); }

AcquireResult Lock::acquire(double timeout) {
    const auto deadline = detail::deadline_after(timeout, "Lock::acquire");
    if (!deadline) return acquire();
    return record(state_->mutex.lock_until(*deadline));
}

AcquireResult Lock::try_acquire() { return record(state_->mutex.try_lock()); }

void Lock::release() { state_->mutex.unlock(); }

Lock::Guard Lock::hold() {
    const AcquireResult result = acquire();
    return Guard(*this, result.previous_owner_died);
}

bool Lock::previous_owner_died() const noexcept { return state_->previous_owner_died; }
Robustness Lock::robustness() const noexcept { return state_->robustness; }

Lock::Guard::Guard(Guard&& other) noexcept
    : lock_(std::exchange(other.lock_, nullptr)), previous_owner_died_(other.previous_owner_died_) {}

Lock::Guard::~Guard() {
    if (lock_ != nullptr) lock_->release();
}

void Lock::Guard::release() {
    if (lock_ == nullptr) throw std::logic_error("Lock::Guard::release: already released");
    std::exchange(lock_, nullptr)->release();
}

}  // namespace wb
