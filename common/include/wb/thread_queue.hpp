// wb/thread_queue.hpp - Queue, LifoQueue, PriorityQueue between the threads of one process
// (Python's queue module).
//
// What it is
//   A queue that threads hand items to each other through, with the waiting built in: get()
//   waits for an item, put() waits for room. The seed's (003 0x03) three kinds:
//
//       wb::threads::Queue<int> fifo;                          // queue.Queue(): first in, first out
//       wb::threads::LifoQueue<int> lifo;                      // queue.LifoQueue(): last in, first out
//       wb::threads::PriorityQueue<std::pair<int, std::string>> pq;  // smallest first: (priority, data)
//       wb::threads::Queue<std::string> q(10);                 // queue.Queue(10): at most 10 waiting
//       q.put("item");                                         // waits while 10 are waiting
//       std::string s = q.get();                               // waits for an item
//       try { q.get(5.0); } catch (const wb::threads::Empty&) {}  // get(timeout=5): queue.Empty
//       q.task_done();                                         // one item fully processed
//       q.join();                                              // until every item put is done
//
// Names
//   wb::Queue is already the PROCESS queue (wb/queue.hpp, multiprocessing.Queue). The thread queues
//   live in namespace wb::threads, so their names are Python's: wb::threads::Queue is queue.Queue,
//   as wb::Queue is multiprocessing.Queue. Empty and Full are the same exceptions the process queue
//   throws (wb::QueueEmpty, wb::QueueFull, wb/queue_errors.hpp), here also named
//   wb::threads::Empty / wb::threads::Full - Python's multiprocessing.Queue raises queue.Empty too.
//
// The design (what CPython's queue.py is, in C++)
//   One std::mutex guards the items (a std::deque for Queue, a std::vector for LifoQueue, a binary
//   heap in a std::vector for PriorityQueue) and two counters: the number of items and the number
//   of unfinished tasks. Three condition variables wait on that mutex, as queue.py's three
//   Conditions share one lock: not_empty (getters wait), not_full (putters wait), all_tasks_done
//   (join() waits). Items are moved in and out; no allocation per item beyond what the container
//   itself does (a deque block every few items, a vector growing geometrically). Two counts kept
//   under the mutex say how many getters and putters are asleep, so put() and get() call notify
//   only when someone waits (queue.py notifies every time; here that call was a third of the
//   time of a busy queue - docs/performance.md). The notify comes after the mutex is released,
//   so the woken thread does not wake only to block on the mutex.
//
// State model
//   A multiset of items, at most maxsize() of them when maxsize >= 1 (maxsize < 1: no limit,
//   Python's rule), and a count of unfinished tasks: put() adds one item and one task, get()
//   removes one item (the oldest for Queue, the newest for LifoQueue, the smallest for
//   PriorityQueue), task_done() removes one task. join() waits for the task count to reach 0.
//   - qsize(), empty(), full() and unfinished_tasks() are SNAPSHOTS: true when they were read,
//     possibly false by the time the caller looks at the answer, because other threads go on.
//     `if (!q.empty()) q.get_nowait();` may throw Empty. Python documents the same.
//   - PriorityQueue orders by Compare (default std::less<T>): get() returns the item a sorted list
//     of the items would have first (Python: sorted(list(entries))[0]). Use a pair
//     (priority, data) as Python's documentation suggests; std::pair compares like a Python tuple.
//     Items that compare equal come out in no particular order (a heap is not stable; so is
//     Python's heapq).
//
// Guarantees
//   - Many producers and many consumers: every item put is returned by exactly one get(), never
//     lost, never twice. For Queue, the items of one producer come out in the order it put them.
//   - put() waits while the queue is full, get() while it is empty. Every wait ends: by an item or
//     room (the waiter is notified by the get() or put() that made it possible; one waiter per
//     item, as Python's notify()), by its timeout, or, for get(stop_token), by a stop request.
//   - put_nowait()/get_nowait() never wait for room or an item (they do take the mutex, whose
//     critical sections are a move of one item). try_get() is get_nowait() without the exception.
//   - join() returns once every item put so far has been matched by a task_done() - also items
//     that are still in the queue count as unfinished, as in Python.
// Timeouts
//   In logical seconds (wb/clock.hpp), waiting on the steady clock (pthread_cond_clockwait on
//   CLOCK_MONOTONIC: changing the wall clock changes nothing). A timeout <= 0 only looks: it
//   behaves as the _nowait form (Python raises ValueError for a negative timeout). put(x, t)
//   throws Full, get(t) throws Empty when the time is up - get never raises Full, whatever the
//   seed says. join(timeout) returns false instead.
// Stop tokens: the daemon consumer
//   Python ends a daemon consumer by killing it at exit; C++ cannot kill a thread (wb/thread.hpp).
//   get(stop_token) returns std::nullopt when a stop is requested on the token - at once if it
//   was requested before, otherwise by waking up - so a daemon wb::Thread, whose destructor
//   requests a stop and joins, ends while blocked in get():
//
//       wb::Thread consumer([&](std::stop_token stop) {
//           while (auto item = q.get(stop)) { use(*item); q.task_done(); }
//       });
//       consumer.set_daemon(true);
//
//   An item is never lost to a stop: get(stop) returns an item if one is there when it looks.
//   The wake-up is a std::stop_callback that takes the mutex and notifies the getters, so the
//   ordinary get() pays nothing for the feature (no std::condition_variable_any).
// Errors
//   task_done() called more times than items were put: std::logic_error("task_done() called too
//   many times"), Python's ValueError, and the count stays at 0. Empty / Full as above. A move
//   constructor or comparison that throws leaves the queue as it was (the item is lost to the
//   caller only if the exception comes from moving it out, as with any container).
//   std::system_error from the standard mutex is not expected in practice.
// Lifetime
//   Not copyable, not movable (threads refer to it). Destroying a queue while a thread is inside
//   one of its functions is undefined: join the threads first. Items still inside are destroyed
//   with it.
// Thread-safety
//   Every member function may be called from any number of threads at once.
//
// Memory ordering: a put() synchronises-with the get() that returns its item (both run under the
//   mutex): what the producer wrote before put() is visible to the consumer after get(). Likewise
//   what a thread wrote before task_done() is visible after the join() that it completed returns.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include <vector>

#include "wb/clock.hpp"
#include "wb/queue_errors.hpp"

namespace wb::threads {

using Empty = wb::QueueEmpty;  // queue.Empty
using Full = wb::QueueFull;    // queue.Full

namespace detail {

// The three orders, each a container with push/pop/size (queue.py's _put/_get/_qsize).
template <typename T>
class FifoItems {
public:
    template <typename U>
    void push(U&& item) { items_.push_back(std::forward<U>(item)); }
    T pop() {
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

private:
    std::deque<T> items_;
};

template <typename T>
class LifoItems {
public:
    template <typename U>
    void push(U&& item) { items_.push_back(std::forward<U>(item)); }
    T pop() {
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

private:
    std::vector<T> items_;
};

// A binary min-heap under Compare: pop() gives the smallest item (Python's heapq).
template <typename T, typename Compare>
class HeapItems {
public:
    template <typename U>
    void push(U&& item) {
        items_.push_back(std::forward<U>(item));
        std::push_heap(items_.begin(), items_.end(), greater_);
    }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), greater_);
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

private:
    // std::*_heap keep the LARGEST first under their comparison; reversed, the smallest.
    struct Reversed {
        Compare less;
        bool operator()(const T& a, const T& b) const { return less(b, a); }
    };
    std::vector<T> items_;
    Reversed greater_{};
};

}  // namespace detail

// The queue itself, for any of the three orders; use the names Queue, LifoQueue, PriorityQueue.
template <typename T, typename Items>
class BasicQueue {
public:
    // queue.Queue(maxsize): at most `maxsize` items waiting; maxsize < 1 means no limit.
    explicit BasicQueue(long maxsize = 0) : maxsize_(maxsize < 1 ? 0 : static_cast<std::size_t>(maxsize)) {}
    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    // put(item): waits while the queue is full, then adds the item.
    void put(const T& item) { put_impl(item, nullptr); }
    void put(T&& item) { put_impl(std::move(item), nullptr); }
    // put(item, timeout=t): waits at most `timeout` logical seconds for room; throws Full after.
    void put(const T& item, double timeout) { put_timed(item, timeout); }
    void put(T&& item, double timeout) { put_timed(std::move(item), timeout); }
    // put_nowait(item), put(item, block=False): throws Full at once when there is no room.
    void put_nowait(const T& item) { put_now(item); }
    void put_nowait(T&& item) { put_now(std::move(item)); }

    // get(): waits for an item and removes it.
    [[nodiscard]] T get() {
        std::unique_lock lock(mutex_);
        wait_counted(not_empty_, getters_waiting_, lock, nullptr, [this] { return items_.size() != 0; });
        return take(lock);
    }
    // get(timeout=t): waits at most `timeout` logical seconds; throws Empty after.
    [[nodiscard]] T get(double timeout) {
        const auto deadline = deadline_after(timeout);
        std::unique_lock lock(mutex_);
        if (!wait_counted(not_empty_, getters_waiting_, lock, &deadline, [this] { return items_.size() != 0; })) {
            throw Empty("get: no item within the timeout");
        }
        return take(lock);
    }
    // get_nowait(), get(block=False): throws Empty at once when there is no item.
    [[nodiscard]] T get_nowait() {
        std::unique_lock lock(mutex_);
        if (items_.size() == 0) throw Empty("get_nowait: the queue is empty");
        return take(lock);
    }
    // get_nowait() without the exception: std::nullopt when there is no item.
    [[nodiscard]] std::optional<T> try_get() {
        std::unique_lock lock(mutex_);
        if (items_.size() == 0) return std::nullopt;
        return take(lock);
    }
    // get() that a stop request ends: an item, or std::nullopt once a stop is requested on `stop`
    // (see "Stop tokens"). An item already there is returned even if a stop was requested.
    [[nodiscard]] std::optional<T> get(std::stop_token stop) { return get_stoppable(stop, nullptr); }
    // The same with a timeout: an item, std::nullopt on a stop request, Empty after `timeout`.
    [[nodiscard]] std::optional<T> get(std::stop_token stop, double timeout) {
        const auto deadline = deadline_after(timeout);
        return get_stoppable(stop, &deadline);
    }

    // task_done(): one item taken by get() has been fully processed. Throws std::logic_error when
    // called more times than items were put.
    void task_done() {
        std::unique_lock lock(mutex_);
        if (unfinished_ == 0) throw std::logic_error("task_done() called too many times");
        // Notified under the mutex: a join() that returns may be followed at once by the
        // queue's destruction, which must not overtake this notify.
        if (--unfinished_ == 0) all_tasks_done_.notify_all();
    }
    // join(): waits until every item put so far has been matched by a task_done().
    void join() {
        std::unique_lock lock(mutex_);
        all_tasks_done_.wait(lock, [this] { return unfinished_ == 0; });
    }
    // join with a timeout (Python's has none): true when all tasks are done, false when
    // `timeout` logical seconds passed first.
    [[nodiscard]] bool join(double timeout) {
        const auto deadline = deadline_after(timeout);
        std::unique_lock lock(mutex_);
        return all_tasks_done_.wait_until(lock, deadline, [this] { return unfinished_ == 0; });
    }

    // Snapshots (see "State model").
    [[nodiscard]] std::size_t qsize() const {
        std::scoped_lock lock(mutex_);
        return items_.size();
    }
    [[nodiscard]] bool empty() const { return qsize() == 0; }
    [[nodiscard]] bool full() const {
        std::scoped_lock lock(mutex_);
        return maxsize_ != 0 && items_.size() >= maxsize_;
    }
    [[nodiscard]] std::size_t unfinished_tasks() const {
        std::scoped_lock lock(mutex_);
        return unfinished_;
    }
    // The limit given to the constructor; 0 for "no limit".
    [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }

private:
    using SteadyTime = std::chrono::steady_clock::time_point;

    static SteadyTime deadline_after(double timeout) {
        return std::chrono::steady_clock::now() + wb::clock::to_real(timeout);
    }
    [[nodiscard]] bool has_room() const noexcept { return maxsize_ == 0 || items_.size() < maxsize_; }

    // Waits on `cv` until ready() (true) or the deadline passes (ready() then), counting itself in
    // `waiting` while asleep: the other side notifies only when someone waits, so a queue that
    // never runs empty (or full) makes no condition-variable call at all.
    template <typename Ready>
    static bool wait_counted(std::condition_variable& cv, std::size_t& waiting, std::unique_lock<std::mutex>& lock,
                             const SteadyTime* deadline, Ready ready) {
        while (!ready()) {
            ++waiting;
            if (deadline == nullptr) {
                cv.wait(lock);
                --waiting;
            } else {
                const std::cv_status status = cv.wait_until(lock, *deadline);
                --waiting;
                if (status == std::cv_status::timeout) return ready();
            }
        }
        return true;
    }

    // Adds the item (room checked by the caller, mutex held), then wakes one waiting getter after
    // unlocking, so the getter does not wake up only to block on the mutex. Safe: a getter counted
    // in getters_waiting_ is registered with the condition variable before it released the mutex.
    template <typename U>
    void add(std::unique_lock<std::mutex>& lock, U&& item) {
        items_.push(std::forward<U>(item));
        ++unfinished_;
        const bool wake = getters_waiting_ != 0;
        lock.unlock();
        if (wake) not_empty_.notify_one();
    }
    // Removes the next item (one is there, mutex held) and wakes one waiting putter.
    T take(std::unique_lock<std::mutex>& lock) {
        T item = items_.pop();
        const bool wake = putters_waiting_ != 0;
        lock.unlock();
        if (wake) not_full_.notify_one();
        return item;
    }

    template <typename U>
    void put_impl(U&& item, const SteadyTime* deadline) {
        std::unique_lock lock(mutex_);
        if (maxsize_ != 0) {
            if (!wait_counted(not_full_, putters_waiting_, lock, deadline, [this] { return has_room(); })) {
                throw Full("put: no room within the timeout");
            }
        }
        add(lock, std::forward<U>(item));
    }
    template <typename U>
    void put_timed(U&& item, double timeout) {
        const auto deadline = deadline_after(timeout);
        put_impl(std::forward<U>(item), &deadline);
    }
    template <typename U>
    void put_now(U&& item) {
        std::unique_lock lock(mutex_);
        if (!has_room()) throw Full("put_nowait: the queue is full");
        add(lock, std::forward<U>(item));
    }

    std::optional<T> get_stoppable(const std::stop_token& stop, const SteadyTime* deadline) {
        // Registered before the mutex is taken: the callback takes it (and runs at once, in this
        // thread, if the stop was already requested). Taking the mutex before notifying is what
        // makes the wake-up certain: the getter checks stop_requested() under the mutex, so it
        // either sees the request or is already waiting when the notification comes. The
        // callback is destroyed (deregistered, or waited for if it is running) after the lock
        // below is released.
        std::stop_callback wake_on_stop(stop, [this] {
            { std::scoped_lock sync(mutex_); }
            not_empty_.notify_all();
        });
        std::unique_lock lock(mutex_);
        auto ready = [&] { return items_.size() != 0 || stop.stop_requested(); };
        if (!wait_counted(not_empty_, getters_waiting_, lock, deadline, ready)) {
            throw Empty("get: no item within the timeout");
        }
        if (items_.size() == 0) return std::nullopt;  // woken by the stop request
        return take(lock);
    }

    mutable std::mutex mutex_;
    std::condition_variable not_empty_;       // getters wait here
    std::condition_variable not_full_;        // putters wait here (only with a limit)
    std::condition_variable all_tasks_done_;  // join() waits here
    Items items_;
    std::size_t unfinished_ = 0;  // put() count minus task_done() count
    std::size_t getters_waiting_ = 0;  // threads asleep on not_empty_
    std::size_t putters_waiting_ = 0;  // threads asleep on not_full_
    const std::size_t maxsize_;   // 0: no limit
};

// queue.Queue: first in, first out.
template <typename T>
using Queue = BasicQueue<T, detail::FifoItems<T>>;
// queue.LifoQueue: last in, first out (a stack).
template <typename T>
using LifoQueue = BasicQueue<T, detail::LifoItems<T>>;
// queue.PriorityQueue: the smallest item under Compare first.
template <typename T, typename Compare = std::less<T>>
using PriorityQueue = BasicQueue<T, detail::HeapItems<T, Compare>>;

}  // namespace wb::threads
