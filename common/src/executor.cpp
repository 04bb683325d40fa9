// ThreadPoolExecutor, Future's shared state, wait/as_completed and the named pools
// (wb/executor.hpp).
#include "wb/executor.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <thread>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/thread.hpp"

namespace wb {

const char* to_string(FutureStatus status) noexcept {
    switch (status) {
        case FutureStatus::pending: return "pending";
        case FutureStatus::running: return "running";
        case FutureStatus::cancelled: return "cancelled";
        case FutureStatus::finished: return "finished";
    }
    return "?";
}

namespace detail {

namespace {

// Waits on `cv` until `done()` or the deadline (none when `timeout` is forever).
template <typename Lock, typename Done>
bool wait_until_done(std::condition_variable& cv, Lock& lock, double timeout, Done done) {
    if (std::isinf(timeout) && timeout > 0) {
        cv.wait(lock, done);
        return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + clock::to_real(timeout);
    return cv.wait_until(lock, deadline, done);
}

bool is_done(FutureStatus s) noexcept { return s == FutureStatus::finished || s == FutureStatus::cancelled; }

}  // namespace

// Collects the futures that become done while it is registered on them, in that order.
struct Waiter {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<FutureCore*> finished;  // in the order they became done
    std::size_t raised = 0;             // how many of them finished by throwing

    void add(FutureCore* core, bool with_exception) {
        {
            std::lock_guard lock(mutex);
            finished.push_back(core);
            if (with_exception) ++raised;
        }
        changed.notify_all();
    }
};

bool FutureCore::start_running() {
    std::lock_guard lock(mutex);
    if (status == FutureStatus::cancelled) return false;
    status = FutureStatus::running;
    return true;
}

bool FutureCore::cancel() {
    {
        std::lock_guard lock(mutex);
        if (status == FutureStatus::cancelled) return true;
        if (status != FutureStatus::pending) return false;
        status = FutureStatus::cancelled;
        notify_waiters_locked();
    }
    changed.notify_all();
    return true;
}

// Lock order: a future's mutex, then a waiter's (never the other way round).
void FutureCore::notify_waiters_locked() {
    const bool raised = status == FutureStatus::finished && error != nullptr;
    for (const auto& w : waiters) w->add(this, raised);
    waiters.clear();
}

bool FutureCore::wait_done(double timeout) const {
    std::unique_lock lock(mutex);
    // `changed` is notified by finish()/cancel(); a const wait needs the non-const cv.
    auto& cv = const_cast<std::condition_variable&>(changed);
    return wait_until_done(cv, lock, timeout, [&] { return is_done(status); });
}

void FutureCore::throw_if_cancelled() const {
    std::lock_guard lock(mutex);
    if (status == FutureStatus::cancelled) throw CancelledError("the future was cancelled");
}

namespace {

// Registers `waiter` on every core not yet done; returns those already done, in input order.
// Duplicates count once.
std::vector<FutureCore*> register_waiter(const std::vector<FutureCore*>& cores, const std::shared_ptr<Waiter>& waiter,
                                         std::size_t& raised, std::size_t& distinct) {
    std::vector<FutureCore*> seen, already;
    raised = 0;
    for (FutureCore* c : cores) {
        if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;
        seen.push_back(c);
        std::lock_guard lock(c->mutex);
        if (is_done(c->status)) {
            already.push_back(c);
            if (c->status == FutureStatus::finished && c->error) ++raised;
        } else {
            c->waiters.push_back(waiter);
        }
    }
    distinct = seen.size();
    return already;
}

void unregister_waiter(const std::vector<FutureCore*>& cores, const std::shared_ptr<Waiter>& waiter) {
    for (FutureCore* c : cores) {
        std::lock_guard lock(c->mutex);
        std::erase(c->waiters, waiter);
    }
}

}  // namespace

void wait_cores(const std::vector<FutureCore*>& cores, double timeout, ReturnWhen when) {
    auto waiter = std::make_shared<Waiter>();
    std::size_t raised_before = 0, distinct = 0;
    const std::size_t done_before = register_waiter(cores, waiter, raised_before, distinct).size();
    {
        std::unique_lock lock(waiter->mutex);
        wait_until_done(waiter->changed, lock, timeout, [&] {
            const std::size_t done = done_before + waiter->finished.size();
            const std::size_t raised = raised_before + waiter->raised;
            switch (when) {
                case ReturnWhen::first_completed: return done >= 1 || distinct == 0;
                case ReturnWhen::first_exception: return raised >= 1 || done == distinct;
                case ReturnWhen::all_completed: return done == distinct;
            }
            return true;
        });
    }
    unregister_waiter(cores, waiter);
}

CompletionQueue::CompletionQueue(const std::vector<FutureCore*>& cores, double timeout)
    : waiter_(std::make_shared<Waiter>()), limited_(!(std::isinf(timeout) && timeout > 0)) {
    if (limited_) deadline_ = std::chrono::steady_clock::now() + clock::to_real(timeout);
    std::size_t raised = 0, distinct = 0;
    std::vector<FutureCore*> already = register_waiter(cores, waiter_, raised, distinct);
    // The ones done already come first: put them at the front of the completion order.
    {
        std::lock_guard lock(waiter_->mutex);
        waiter_->finished.insert(waiter_->finished.begin(), already.begin(), already.end());
    }
    cores_ = cores;
    std::sort(cores_.begin(), cores_.end());
    cores_.erase(std::unique(cores_.begin(), cores_.end()), cores_.end());
    (void)distinct;
}

CompletionQueue::~CompletionQueue() { unregister_waiter(cores_, waiter_); }

FutureCore* CompletionQueue::next() {
    if (yielded_ == cores_.size()) return nullptr;
    std::unique_lock lock(waiter_->mutex);
    auto ready = [&] { return waiter_->finished.size() > yielded_; };
    bool got = false;
    if (!limited_) {
        waiter_->changed.wait(lock, ready);
        got = true;
    } else {
        got = waiter_->changed.wait_until(lock, deadline_, ready);
    }
    if (!got) {
        throw TimeoutError(fmt::format("{} (of {}) futures unfinished", cores_.size() - yielded_, cores_.size()));
    }
    return waiter_->finished[yielded_++];
}

}  // namespace detail

namespace {
std::atomic<int> g_executor_counter{0};
// The executor whose worker the calling thread is (shutdown(wait=true) must not wait for itself).
thread_local const ThreadPoolExecutor* t_worker_of = nullptr;

int default_workers() {
    const unsigned cpus = std::max(1U, std::thread::hardware_concurrency());
    return static_cast<int>(std::min(32U, cpus + 4));
}
}  // namespace

ThreadPoolExecutor::ThreadPoolExecutor() : ThreadPoolExecutor(default_workers()) {}

ThreadPoolExecutor::ThreadPoolExecutor(int max_workers, std::string thread_name_prefix)
    : max_workers_(max_workers), prefix_(std::move(thread_name_prefix)) {
    if (max_workers <= 0) throw std::invalid_argument("max_workers must be greater than 0");
    if (prefix_.empty()) prefix_ = fmt::format("ThreadPoolExecutor-{}", g_executor_counter.fetch_add(1));
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
    try {
        shutdown(true);
    } catch (...) {
        // Only a destructor run inside one of its own workers gets here: it cannot join itself.
        // The workers are then joined by their wb::Thread destructors, except that one.
    }
}

void ThreadPoolExecutor::enqueue(std::unique_ptr<detail::WorkItem> item) {
    std::lock_guard lock(mutex_);
    if (shutdown_) throw std::logic_error("cannot schedule new futures after shutdown");
    // Python starts a worker unless one is idle; here: unless an idle worker is left for this
    // call once those queued before it are taken.
    if (queue_.size() >= static_cast<std::size_t>(idle_workers_) &&
        static_cast<int>(workers_.size()) < max_workers_) {
        auto worker = std::make_unique<Thread>([this] { worker_loop(); });
        worker->set_name(fmt::format("{}_{}", prefix_, workers_.size()));
        // start() returns once the thread is alive; the worker then waits for mutex_ (held here)
        // before it looks at the queue. A failure throws SystemError("pthread_create"), and the
        // call is not queued.
        worker->start();
        workers_.push_back(std::move(worker));
    }
    queue_.push_back(std::move(item));
    ++unfinished_;
    // Only a worker blocked in work_.wait() needs waking: a busy one looks at the queue before
    // it waits again.
    if (idle_workers_ > 0) work_.notify_one();
}

void ThreadPoolExecutor::worker_loop() {
    t_worker_of = this;
    bool ran_one = false;  // a call finished since the last time the lock was held
    for (;;) {
        std::unique_ptr<detail::WorkItem> item;
        {
            std::unique_lock lock(mutex_);
            // The previous call is counted done here, in the same critical section as taking the
            // next one (one lock per call, not two).
            if (ran_one && --unfinished_ == 0) idle_.notify_all();
            ran_one = false;
            ++idle_workers_;
            work_.wait(lock, [&] { return !queue_.empty() || shutdown_; });
            --idle_workers_;
            if (queue_.empty()) return;  // shut down and nothing left
            item = std::move(queue_.front());
            queue_.pop_front();
        }
        item->run();
        item.reset();  // the call's arguments are destroyed in the worker, before it is counted done
        ran_one = true;
    }
}

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
    std::deque<std::unique_ptr<detail::WorkItem>> cancelled;
    {
        std::lock_guard lock(mutex_);
        shutdown_ = true;
        if (cancel_futures) {
            cancelled.swap(queue_);
            unfinished_ -= cancelled.size();
            if (unfinished_ == 0) idle_.notify_all();
        }
        work_.notify_all();
    }
    for (auto& item : cancelled) item->core().cancel();
    cancelled.clear();
    if (!wait) return;
    std::lock_guard join_lock(join_mutex_);
    std::vector<Thread*> to_join;
    {
        std::lock_guard lock(mutex_);
        for (auto& w : workers_) to_join.push_back(w.get());
    }
    if (t_worker_of == this) throw std::logic_error("shutdown(wait=true) from one of the pool's own workers");
    for (Thread* w : to_join) w->join();
}

bool ThreadPoolExecutor::join(double timeout) {
    std::unique_lock lock(mutex_);
    if (std::isinf(timeout) && timeout > 0) {
        idle_.wait(lock, [&] { return unfinished_ == 0; });
        return true;
    }
    return idle_.wait_until(lock, std::chrono::steady_clock::now() + clock::to_real(timeout),
                            [&] { return unfinished_ == 0; });
}

int ThreadPoolExecutor::worker_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(workers_.size());
}

double ThreadPoolExecutor::remaining(std::chrono::steady_clock::time_point start, double timeout) {
    if (std::isinf(timeout) && timeout > 0) return timeout;
    return timeout - clock::to_logical(std::chrono::steady_clock::now() - start);
}

// The named pools (vthread's gqueues). Leaked on purpose: never destroyed during static
// destruction, while a worker might still use it.
namespace {
std::mutex g_pools_mutex;
auto* g_pools = new std::map<std::string, std::shared_ptr<ThreadPoolExecutor>>();
}  // namespace

NamedPool pool(int size, const std::string& name) {
    if (size <= 0) throw std::invalid_argument("pool size must be greater than 0");
    std::lock_guard lock(g_pools_mutex);
    auto it = g_pools->find(name);
    if (it != g_pools->end()) {
        if (it->second->max_workers() != size) {
            throw std::invalid_argument(fmt::format("pool '{}' exists with {} workers, not {}", name,
                                                    it->second->max_workers(), size));
        }
        return NamedPool(it->second);
    }
    auto executor = std::make_shared<ThreadPoolExecutor>(size, name);
    g_pools->emplace(name, executor);
    return NamedPool(executor);
}

void shutdown_named_pools() {
    std::map<std::string, std::shared_ptr<ThreadPoolExecutor>> pools;
    {
        std::lock_guard lock(g_pools_mutex);
        pools.swap(*g_pools);
    }
    // A decorated call may submit to another named pool while this one drains: join them all
    // first, then shut them down.
    for (auto& [name, executor] : pools) executor->join();
    for (auto& [name, executor] : pools) executor->shutdown(true);
}

}  // namespace wb
