#include "wb/process_pool.hpp"

#include <cxxabi.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/connection.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "../internal.hpp"
#include "wb/process.hpp"
#include "wb/shared_memory.hpp"

namespace wb {
namespace detail {

namespace {

constexpr std::size_t kAddress = sizeof(void (*)());

std::string exception_type_name() {
    const std::type_info* type = abi::__cxa_current_exception_type();
    if (type == nullptr) return "unknown exception";
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type->name(), nullptr, nullptr, &status),
                                                      std::free);
    return status == 0 && demangled ? std::string(demangled.get()) : std::string(type->name());
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* abbrev = ::sigabbrev_np(sig);
        return fmt::format("killed by signal {} (SIG{})", sig, abbrev != nullptr ? abbrev : "?");
    }
    if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
    return "ended";
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1;
}

int reap_blocking(pid_t pid) noexcept {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 0;
    }
    return status;
}

// The worker's side: receive a task, run it, answer; until the pool closes the connection.
[[noreturn]] void worker_main(Connection& channel) {
    for (;;) {
        std::string request;
        try {
            request = channel.recv();
        } catch (const ConnectionClosed&) {
            break;  // close()/join(): no more tasks
        }
        std::string reply;
        if (request.size() < 2 * kAddress) {
            reply = "Ebad request: shorter than its header";
        } else {
            TaskInvoker invoker = nullptr;
            void (*function)() = nullptr;
            std::memcpy(&invoker, request.data(), kAddress);
            std::memcpy(&function, request.data() + kAddress, kAddress);
            try {
                reply = "R" + invoker(function, std::string_view(request).substr(2 * kAddress));
            } catch (const ExitProcess& e) {
                child_exit(e.code);  // the task ended its process: the pool sees a death
            } catch (const std::exception& e) {
                reply = "E" + exception_type_name() + ": " + e.what();
            } catch (...) {
                reply = "E" + exception_type_name();
            }
        }
        try {
            channel.send(reply);
        } catch (const ConnectionClosed&) {
            break;  // terminated meanwhile
        }
    }
    child_exit(0);
}

}  // namespace

std::string encode_request(TaskInvoker invoker, void (*function)(), std::string_view arguments) {
    std::string request(2 * kAddress, '\0');
    std::memcpy(request.data(), &invoker, kAddress);
    std::memcpy(request.data() + kAddress, &function, kAddress);
    request.append(arguments);
    return request;
}

class PoolCore {
public:
    enum class State { running, closed, terminated, joined };

    struct Worker {
        pid_t pid = 0;
        int number = 0;  // ForkPoolWorker-<number>
        std::optional<Connection> channel;
        // Sent to this worker, not answered yet, in order: the front one is running (or its
        // answer is on its way); the others wait in the worker's socket and have not started.
        std::deque<std::shared_ptr<TaskSlot>> tasks;
    };

    PoolCore(int processes, int in_flight)
        : processes_(processes), in_flight_(in_flight), workers_(static_cast<std::size_t>(processes)) {
        try {
            for (std::size_t i = 0; i < workers_.size(); ++i) start_worker(workers_[i]);
        } catch (...) {
            terminate();  // the destructor does not run for a half-built object: end the started ones
            throw;
        }
    }
    PoolCore(const PoolCore&) = delete;
    PoolCore& operator=(const PoolCore&) = delete;
    ~PoolCore() { terminate(); }

    void submit(const std::shared_ptr<TaskSlot>& slot) {
        if (state_ != State::running) throw std::logic_error("ProcessPool: Pool not running (closed or terminated)");
        backlog_.push_back(slot);
        dispatch();
        run_callbacks();
    }

    bool wait_for(TaskSlot& slot, const timespec* deadline) {
        if (in_callback_) throw std::logic_error("ProcessPool: a callback must not wait on the pool");
        while (!slot.done) {
            if (passed(deadline)) return false;
            pump(deadline);
        }
        return true;
    }

    bool ready(TaskSlot& slot) {
        if (!slot.done && !in_callback_) {
            const timespec now = clock::deadline(0);
            pump(&now);
        }
        return slot.done;
    }

    void close() {
        if (state_ == State::running) state_ = State::closed;
    }

    void join() {
        if (state_ == State::running) throw std::logic_error("ProcessPool::join: close() or terminate() first");
        if (in_callback_) throw std::logic_error("ProcessPool: a callback must not wait on the pool");
        if (state_ != State::closed) {
            state_ = State::joined;
            return;
        }
        while (!backlog_.empty() || busy()) pump(nullptr);
        // No task left: closing a worker's connection is its signal to exit (Python sends None).
        for (Worker& w : workers_) {
            if (w.channel) w.channel->close();
        }
        for (Worker& w : workers_) reap(w);
        state_ = State::joined;
    }

    void terminate() noexcept {
        if (state_ == State::terminated || state_ == State::joined) return;
        state_ = State::terminated;
        for (Worker& w : workers_) {
            if (w.pid > 0) ::kill(w.pid, SIGKILL);
        }
        for (Worker& w : workers_) {
            if (w.channel) w.channel->close();
            reap(w);
            for (auto& slot : w.tasks) {
                fail(*slot, std::make_exception_ptr(PoolTerminated("the pool was terminated while the task ran")));
            }
            w.tasks.clear();
        }
        for (auto& slot : backlog_) {
            fail(*slot, std::make_exception_ptr(PoolTerminated("the pool was terminated before the task started")));
        }
        backlog_.clear();
        finished_.clear();  // terminate() runs no callbacks
    }

    [[nodiscard]] int processes() const noexcept { return processes_; }
    [[nodiscard]] int started() const noexcept { return started_; }
    [[nodiscard]] std::vector<pid_t> pids() const {
        std::vector<pid_t> out;
        for (const Worker& w : workers_) {
            if (w.pid > 0) out.push_back(w.pid);
        }
        return out;
    }

private:
    static bool passed(const timespec* deadline) {
        if (deadline == nullptr) return false;
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
    }

    static bool readable_now(int fd) {
        pollfd pfd{fd, POLLIN, 0};
        return ::poll(&pfd, 1, 0) > 0;
    }

    [[nodiscard]] bool busy() const {
        for (const Worker& w : workers_) {
            if (!w.tasks.empty()) return true;
        }
        return false;
    }

    void start_worker(Worker& w) {
        auto [pool_end, worker_end] = make_pipe(true);
        w.number = ++started_;
        const std::string name = fmt::format("ForkPoolWorker-{}", w.number);
        std::fflush(nullptr);
        wb::detail::SignalsHeld held;
        const pid_t parent = ::getpid();
        const pid_t pid = check(::fork(), "fork (ProcessPool worker)");
        if (pid == 0) {
            end_with_parent(parent);
            become_child(name, {w.number}, true);  // pool workers are daemonic, as in Python
            // Only its own end of its own connection: the pool's ends of the other workers'
            // connections would keep them open after the pool closed them.
            pool_end.close();
            for (Worker& other : workers_) {
                if (other.channel) other.channel->close();
            }
            ::pthread_sigmask(SIG_SETMASK, &held.previous(), nullptr);
            worker_main(worker_end);
        }
        track_child_for_signals(pid);
        w.pid = pid;
        w.channel.emplace(std::move(pool_end));
        emit("process.start", {{"name", name}, {"pid", pid}, {"daemon", true}, {"method", "fork"}}, {});
    }

    void reap(Worker& w) noexcept {
        if (w.pid <= 0) return;
        const int status = reap_blocking(w.pid);
        untrack_child_for_signals(w.pid);
        try {
            emit("process.exit",
                 {{"name", fmt::format("ForkPoolWorker-{}", w.number)}, {"pid", w.pid}, {"exitcode", exit_code_of(status)}},
                 {});
        } catch (...) {
        }
        w.pid = 0;
        w.channel.reset();
    }

    void fail(TaskSlot& slot, std::exception_ptr error) noexcept {
        slot.error = std::move(error);
        slot.done = true;
    }

    // The worker's connection reported end of file: it ended. Reap it, fail its task, replace it.
    void worker_died(Worker& w) {
        const pid_t pid = w.pid;
        const int number = w.number;
        w.channel->close();
        const int status = reap_blocking(pid);
        untrack_child_for_signals(pid);
        w.pid = 0;
        w.channel.reset();
        emit("process.exit", {{"name", fmt::format("ForkPoolWorker-{}", number)}, {"pid", pid}, {"exitcode", exit_code_of(status)}}, {});
        if (!w.tasks.empty()) {
            // Every answer it completed has been read before the end of file: the front task is the
            // one it was running. The ones behind it never started: they go back to the front of
            // the backlog, in order.
            auto slot = std::move(w.tasks.front());
            w.tasks.pop_front();
            for (auto it = w.tasks.rbegin(); it != w.tasks.rend(); ++it) {
                (*it)->worker = 0;
                backlog_.push_front(std::move(*it));
            }
            w.tasks.clear();
            fail(*slot, std::make_exception_ptr(WorkerDied(fmt::format(
                            "worker ForkPoolWorker-{} (pid {}) died while running the task: {}", number, pid,
                            describe_status(status)))));
            finished_.push_back(std::move(slot));
        }
        if (state_ == State::running || state_ == State::closed) start_worker(w);
    }

    // Hands waiting tasks to workers: first one to each idle worker (Python's rule: a free worker
    // takes the next task); then, with in_flight > 1, more to busy workers, up to in_flight each.
    void dispatch() {
        // What each worker gets in this round, sent with one write per worker.
        std::vector<std::vector<std::string_view>> batches(workers_.size());
        std::vector<std::size_t> had(workers_.size());
        for (std::size_t i = 0; i < workers_.size(); ++i) had[i] = workers_[i].tasks.size();
        for (std::size_t depth = 0; depth < static_cast<std::size_t>(in_flight_) && !backlog_.empty(); ++depth) {
            for (std::size_t i = 0; i < workers_.size() && !backlog_.empty(); ++i) {
                Worker& w = workers_[i];
                if (!w.channel || w.tasks.size() != depth) continue;
                auto slot = std::move(backlog_.front());
                backlog_.pop_front();
                slot->worker = w.pid;
                batches[i].push_back(slot->request);
                w.tasks.push_back(std::move(slot));
            }
        }
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            if (batches[i].empty()) continue;
            Worker& w = workers_[i];
            try {
                w.channel->send_many(batches[i]);
            } catch (const ConnectionClosed&) {
                // It died. If it was idle before this round, none of this round's tasks reached
                // it: they go back to the backlog. Otherwise worker_died() fails the task it was
                // running and hands the rest out again. A replacement takes its place.
                if (had[i] == 0) {
                    while (!w.tasks.empty()) {
                        w.tasks.back()->worker = 0;
                        backlog_.push_front(std::move(w.tasks.back()));
                        w.tasks.pop_back();
                    }
                }
                worker_died(w);
            }
        }
        if (!backlog_.empty() && idle_worker()) dispatch();  // a replacement is waiting for work
    }

    [[nodiscard]] bool idle_worker() const {
        for (const Worker& w : workers_) {
            if (w.channel && w.tasks.empty()) return true;
        }
        return false;
    }

    // One wait for results or deaths (at most until `deadline`), then hand out tasks and run the
    // callbacks of what finished.
    void pump(const timespec* deadline) {
        std::vector<pollfd> fds;
        std::vector<std::size_t> owners;
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            if (workers_[i].channel) {
                fds.push_back(pollfd{workers_[i].channel->fd(), POLLIN, 0});
                owners.push_back(i);
            }
        }
        timespec left{0, 0};
        if (deadline != nullptr) left = clock::time_left(*deadline);
        const int r = ::ppoll(fds.data(), fds.size(), deadline != nullptr ? &left : nullptr, nullptr);
        if (r < 0) {
            if (errno == EINTR) return;
            throw_errno("ppoll (ProcessPool)");
        }
        for (std::size_t k = 0; k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            Worker& w = workers_[owners[k]];
            // Every answer that is there (several when tasks are pipelined), then back to poll.
            do {
                std::string reply;
                try {
                    reply = w.channel->recv();
                } catch (const ConnectionClosed&) {
                    worker_died(w);
                    break;
                }
                if (w.tasks.empty()) continue;  // an answer nobody asked for: ignore it
                auto slot = std::move(w.tasks.front());
                w.tasks.pop_front();
                if (!reply.empty() && reply[0] == 'R') {
                    slot->result = reply.substr(1);
                } else {
                    slot->error =
                        std::make_exception_ptr(TaskError(reply.empty() ? std::string("empty reply") : reply.substr(1)));
                }
                slot->done = true;
                finished_.push_back(std::move(slot));
            } while (!w.tasks.empty() && w.channel &&
                     (w.channel->has_buffered_message() || readable_now(w.channel->fd())));
        }
        dispatch();
        run_callbacks();
    }

    void run_callbacks() {
        if (in_callback_) return;  // the outer call runs them
        in_callback_ = true;
        struct Reset {
            bool& flag;
            ~Reset() { flag = false; }
        } reset{in_callback_};
        while (!finished_.empty()) {
            auto slot = std::move(finished_.front());
            finished_.pop_front();
            if (slot->on_done) slot->on_done(*slot);
        }
    }

    int processes_;
    int in_flight_;
    int started_ = 0;
    State state_ = State::running;
    std::vector<Worker> workers_;
    std::deque<std::shared_ptr<TaskSlot>> backlog_;
    std::deque<std::shared_ptr<TaskSlot>> finished_;
    bool in_callback_ = false;
};

bool pool_ready(PoolCore& core, TaskSlot& slot) { return core.ready(slot); }
bool pool_wait(PoolCore& core, TaskSlot& slot, const timespec* deadline) { return core.wait_for(slot, deadline); }
std::optional<timespec> pool_deadline(double timeout) { return deadline_after(timeout, "AsyncResult::get"); }

}  // namespace detail

namespace {
int usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return std::max(1, CPU_COUNT(&set));
}
}  // namespace

ProcessPool::ProcessPool(int processes, int tasks_in_flight_per_worker) {
    if (processes < 0) throw std::invalid_argument("ProcessPool: processes must be at least 1");
    if (tasks_in_flight_per_worker < 1) throw std::invalid_argument("ProcessPool: tasks in flight per worker must be at least 1");
    if (processes == 0) processes = usable_cpus();
    core_ = std::make_shared<detail::PoolCore>(processes, tasks_in_flight_per_worker);
}

ProcessPool::~ProcessPool() {
    if (core_) core_->terminate();
}

void ProcessPool::submit(const std::shared_ptr<detail::TaskSlot>& slot) { core_->submit(slot); }
void ProcessPool::wait_for(detail::TaskSlot& slot, const timespec* deadline) { (void)core_->wait_for(slot, deadline); }
void ProcessPool::close() { core_->close(); }
void ProcessPool::join() { core_->join(); }
void ProcessPool::terminate() noexcept { core_->terminate(); }
int ProcessPool::processes() const noexcept { return core_->processes(); }
std::vector<pid_t> ProcessPool::pids() const { return core_->pids(); }
int ProcessPool::workers_started() const noexcept { return core_->started(); }

std::size_t ProcessPool::default_chunksize(std::size_t items) const noexcept {
    const std::size_t per = 4 * static_cast<std::size_t>(processes());
    std::size_t chunksize = items / per;
    if (items % per != 0) ++chunksize;
    return std::max<std::size_t>(chunksize, 1);
}

}  // namespace wb
