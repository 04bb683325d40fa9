#include "wb/thread.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"

namespace wb {

namespace detail {
// What a Thread shares with its OS thread and with the list of live threads.
struct ThreadState {
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::string name;
    bool daemon = false;
    bool started = false;
    bool alive = false;
    bool ended = false;
    pid_t native_id = 0;
    int setname_error = 0;
    std::mutex join_mutex;  // serialises std::jthread::join between joiners
};
}  // namespace detail

namespace {

using detail::ThreadState;

std::atomic<int> g_thread_counter{0};

// The live wb::Threads, in start order. Guarded by g_registry_mutex; a fork() child keeps only
// the thread that forked (see install_fork_handlers).
std::mutex g_registry_mutex;
std::vector<std::shared_ptr<ThreadState>>* g_registry = new std::vector<std::shared_ptr<ThreadState>>();

thread_local ThreadState* t_current = nullptr;
thread_local std::stop_token t_stop;

pid_t gettid_now() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// In a forked child only the forking thread exists. The registry's mutex is held across fork()
// (the prepare handler locks it, the parent and child handlers unlock it), so the child never
// inherits it locked by a thread that does not exist there; the child drops every entry but its
// own thread's.
void install_fork_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        // The child's only thread is the one that locked the mutex in `prepare`: it may unlock it.
        check_pthread(::pthread_atfork([] { g_registry_mutex.lock(); }, [] { g_registry_mutex.unlock(); },
                                       [] {
                                           std::erase_if(*g_registry, [](const auto& s) {
                                               return s.get() != t_current;
                                           });
                                           g_registry_mutex.unlock();
                                       }),
                      "pthread_atfork");
    });
}

// The kernel keeps 15 bytes of a thread's name (16 with the terminating zero). Cut there, but not
// inside a UTF-8 sequence.
std::string os_thread_name(const std::string& name) {
    if (name.size() <= 15) return name;
    std::size_t n = 15;
    while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
    return name.substr(0, n);
}

void write_stderr(const std::string& text) noexcept {
    std::string_view rest = text;
    while (!rest.empty()) {
        const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

Thread::Thread() : state_(std::make_shared<ThreadState>()) {
    install_fork_handlers();
    state_->name = fmt::format("Thread-{}", ++g_thread_counter);
}

Thread::~Thread() { stop_and_join(); }

void Thread::stop_and_join() noexcept {
    bool started = false;
    {
        std::lock_guard lock(state_->mutex);
        started = state_->started;
    }
    if (!started) return;
    if (daemon_) thread_.request_stop();
    std::lock_guard join_lock(state_->join_mutex);
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Thread::start() {
    {
        std::lock_guard lock(state_->mutex);
        if (state_->started) throw std::logic_error("threads can only be started once");
        state_->started = true;
        state_->daemon = daemon_;
    }
    try {
        thread_ = std::jthread([this](std::stop_token stop) { bootstrap(std::move(stop)); });
    } catch (const std::system_error& e) {
        std::lock_guard lock(state_->mutex);
        state_->started = false;
        throw SystemError("pthread_create", e.code().value());
    }
    int setname_error = 0;
    {
        std::unique_lock lock(state_->mutex);
        state_->changed.wait(lock, [&] { return state_->alive || state_->ended; });
        setname_error = state_->setname_error;
    }
    if (setname_error != 0) {
        thread_.join();
        throw_errno("pthread_setname_np", setname_error);
    }
}

void Thread::bootstrap(std::stop_token stop) {
    const std::shared_ptr<ThreadState> state = state_;  // keeps the state while we notify
    std::string name;
    {
        std::lock_guard lock(state->mutex);
        name = state->name;
    }
    const int rc = ::pthread_setname_np(::pthread_self(), os_thread_name(name).c_str());
    if (rc != 0) {
        std::lock_guard lock(state->mutex);
        state->setname_error = rc;
        state->ended = true;
        state->changed.notify_all();
        return;
    }
    {
        std::lock_guard registry_lock(g_registry_mutex);
        g_registry->push_back(state);
    }
    {
        std::lock_guard lock(state->mutex);
        state->native_id = gettid_now();
        state->alive = true;
        state->changed.notify_all();
    }
    t_current = state.get();
    t_stop = std::move(stop);
    set_thread_actor(name);
    try {
        run();
    } catch (const std::exception& e) {
        try {
            emit("error", {{"error", e.what()}, {"thread", name}},
                 fmt::format("Exception in thread {}: {}", name, e.what()));
            write_stderr(fmt::format("Exception in thread {}: {}\n", name, e.what()));
        } catch (...) {
        }
    } catch (...) {
        write_stderr(fmt::format("Exception in thread {}: unknown exception\n", name));
    }
    {
        std::lock_guard registry_lock(g_registry_mutex);
        std::erase_if(*g_registry, [&](const auto& s) { return s == state; });
    }
    {
        std::lock_guard lock(state->mutex);
        state->alive = false;
        state->ended = true;
        state->changed.notify_all();
    }
}

void Thread::run() {
    if (target_) target_(t_current == state_.get() ? t_stop : std::stop_token{});
}

void Thread::join() {
    {
        std::lock_guard lock(state_->mutex);
        if (!state_->started) throw std::logic_error("cannot join thread before it is started");
        if (t_current == state_.get()) throw std::logic_error("cannot join current thread");
    }
    // Straight to pthread_join: one wake-up when the thread exits (waiting for `ended` first
    // would add a second one). A joiner that finds it joined already has nothing left to wait for.
    std::lock_guard join_lock(state_->join_mutex);
    if (thread_.joinable()) thread_.join();
}

bool Thread::join(double timeout) {
    {
        std::unique_lock lock(state_->mutex);
        if (!state_->started) throw std::logic_error("cannot join thread before it is started");
        if (t_current == state_.get()) throw std::logic_error("cannot join current thread");
        const auto deadline = std::chrono::steady_clock::now() + clock::to_real(timeout);
        if (!state_->changed.wait_until(lock, deadline, [&] { return state_->ended; })) return false;
    }
    // The thread has left run(); joining it now only waits for its last instructions.
    std::lock_guard join_lock(state_->join_mutex);
    if (thread_.joinable()) thread_.join();
    return true;
}

bool Thread::is_alive() const {
    std::lock_guard lock(state_->mutex);
    return state_->alive;
}

std::string Thread::name() const {
    std::lock_guard lock(state_->mutex);
    return state_->name;
}

void Thread::set_name(std::string name) {
    std::lock_guard lock(state_->mutex);
    state_->name = std::move(name);
}

void Thread::set_daemon(bool daemon) {
    std::lock_guard lock(state_->mutex);
    if (state_->started) throw std::logic_error("cannot set daemon status of active thread");
    daemon_ = daemon;
}

pid_t Thread::native_id() const {
    std::lock_guard lock(state_->mutex);
    return state_->native_id;
}

void Thread::request_stop() noexcept { thread_.request_stop(); }

std::stop_token Thread::stop_token() const noexcept { return thread_.get_stop_token(); }

// --- Timer

Timer::Timer(double interval, std::function<void()> function)
    : interval_(interval), function_(std::move(function)) {}

Timer::~Timer() {
    cancel();
    stop_and_join();
}

void Timer::cancel() {
    std::lock_guard lock(mutex_);
    if (!fired_) cancelled_ = true;
    wake_.notify_all();
}

bool Timer::fired() const {
    std::lock_guard lock(mutex_);
    return fired_;
}

void Timer::run() {
    const std::stop_token stop = this_thread::stop_token();
    {
        std::unique_lock lock(mutex_);
        const auto deadline = std::chrono::steady_clock::now() + clock::to_real(interval_);
        wake_.wait_until(lock, stop, deadline, [&] { return cancelled_; });
        if (cancelled_ || stop.stop_requested()) return;
        fired_ = true;
    }
    function_();
}

// --- the calling thread, the list of live threads

std::string current_thread_name() {
    if (t_current != nullptr) {
        std::lock_guard lock(t_current->mutex);
        return t_current->name;
    }
    if (gettid_now() == ::getpid()) return "MainThread";
    char buf[16] = {};
    check_pthread(::pthread_getname_np(::pthread_self(), buf, sizeof buf), "pthread_getname_np");
    return buf;
}

std::size_t active_count() {
    std::lock_guard registry_lock(g_registry_mutex);
    return g_registry->size() + 1;
}

std::vector<ThreadInfo> enumerate_threads() {
    std::vector<std::shared_ptr<ThreadState>> live;
    {
        std::lock_guard registry_lock(g_registry_mutex);
        live = *g_registry;
    }
    std::vector<ThreadInfo> out;
    out.push_back(ThreadInfo{"MainThread", ::getpid(), false});
    for (const auto& s : live) {
        std::lock_guard lock(s->mutex);
        out.push_back(ThreadInfo{s->name, s->native_id, s->daemon});
    }
    return out;
}

namespace this_thread {

std::stop_token stop_token() noexcept { return t_stop; }

bool sleep(double logical_seconds) {
    if (!t_stop.stop_possible()) {
        clock::sleep(logical_seconds);
        return true;
    }
    std::mutex mutex;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mutex);
    const auto deadline = std::chrono::steady_clock::now() + clock::to_real(logical_seconds);
    never_notified.wait_until(lock, t_stop, deadline, [] { return false; });
    return !t_stop.stop_requested();
}

}  // namespace this_thread

namespace detail {
void reset_thread_numbering() noexcept { g_thread_counter = 0; }
}  // namespace detail

}  // namespace wb
