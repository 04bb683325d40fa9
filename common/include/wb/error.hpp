// wb/error.hpp - how the workbook reports failed system calls.
//
// Every system call in common/ and in the chapters is checked, in every build type: never inside
// assert(), which NDEBUG removes. A failure throws wb::SystemError carrying the call's name and
// the errno text, e.g. "fork: Resource temporarily unavailable". The chapter driver catches it,
// prints it on stderr, cleans up its children and exits with status 1.
//
// check() is the usual form:
//     const int fd = wb::check(::open(path, O_RDONLY), "open");
// It returns its argument when it is not -1 and throws otherwise.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace wb {

// A failed system call: what() is "<call>: <strerror(errno)>".
class SystemError : public std::system_error {
public:
    SystemError(const std::string& call, int error_number)
        : std::system_error(error_number, std::generic_category(), call), call_(call) {}
    [[nodiscard]] const std::string& call() const noexcept { return call_; }

private:
    std::string call_;
};

// Throws SystemError for `call` with the given errno value (default: the current errno).
[[noreturn]] inline void throw_errno(const std::string& call, int error_number = errno) {
    throw SystemError(call, error_number);
}

// Returns `result` unless it is -1, in which case it throws SystemError(call, errno).
template <typename T>
T check(T result, const char* call) {
    if (result == static_cast<T>(-1)) throw_errno(call);
    return result;
}

// For pthread_* calls, which return the error number instead of setting errno.
inline void check_pthread(int rc, const char* call) {
    if (rc != 0) throw_errno(call, rc);
}

}  // namespace wb
