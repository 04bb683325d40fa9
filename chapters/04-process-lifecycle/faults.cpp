#include "faults.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "wb/error.hpp"

namespace ch04 {

void die_quietly_of(int sig) {
    const rlimit no_core{0, 0};
    wb::check(::setrlimit(RLIMIT_CORE, &no_core), "setrlimit(RLIMIT_CORE)");
    wb::check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)");
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    wb::check(::sigaction(sig, &default_action, nullptr), "sigaction");
}

// C++ calls 1/0 undefined behaviour, so the compiler must not know either operand (volatile: it
// would fold the division, or compute 1/x without dividing at all) and UBSan must not stop it
// first (no_sanitize). Then it is a real division instruction.
__attribute__((noinline, no_sanitize("undefined"))) int divide_by_zero(int numerator) {
    volatile int dividend = numerator;
    volatile int divisor = 0;
#if defined(__x86_64__) || defined(__i386__)
    return dividend / divisor;
#else
    ::raise(SIGFPE);
    return dividend / (divisor + 1);
#endif
}

// volatile, so that the store really happens.
__attribute__((noinline, no_sanitize("address", "undefined"))) void write_to_address_zero() {
    volatile int* volatile nowhere = nullptr;
    *nowhere = 42;
}

}  // namespace ch04
