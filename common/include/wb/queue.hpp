// wb/queue.hpp - Queue<T>: a FIFO queue between processes (multiprocessing.Queue).
//
// What it is
//   Items put by one process come out of get() in another. Chapter 13's downloader and saver:
//
//       wb::Queue<std::string> q(5);                 // at most 5 items waiting (Queue(5))
//       // the downloader process:
//       q.put("1.jpg");                               // blocks while 5 items wait
//       // the saver process:
//       try {
//           for (;;) save(q.get(5.0));                // q.get(timeout=5)
//       } catch (const wb::QueueEmpty&) {}            // nothing came for 5 s: Python's queue.Empty
//
//   Like wb::Lock, the handle owns its own shared memory (one memfd): create it in the parent,
//   fork, use it in every child. A spawned child gets it with hand_over() / Queue<T>::adopt().
//
// The design: a byte ring in shared memory, a robust mutex, two futex words
//   The items live in a ring buffer of `memory_budget` bytes in the queue's memory file, as
//   records [8-byte header: length][payload padded to 8 bytes]. The head and tail are 64-bit
//   byte positions that only grow (position % budget is the offset), guarded by a robust
//   process-shared mutex (detail::SharedMutex, the one wb::Lock is made of). A getter that finds
//   the queue empty and a putter that finds it full sleep on one of two futex words
//   ("something was put", "something was taken") - like wb::Event, without FUTEX_PRIVATE_FLAG, so
//   the kernel wakes sleepers in any process. Why not a process-shared pthread condition
//   variable: a waiter SIGKILLed inside pthread_cond_wait wedges glibc 2.36's condvar for every
//   later broadcaster (wb/event.hpp tells the story); a futex keeps no per-waiter state in user
//   memory, so a dead waiter leaves nothing behind. Multiprocessing.Queue is instead a pipe plus a
//   lock plus a feeder thread per process; its put() returns before the item is in the pipe.
//   Here put() returns when the item is in the queue.
//
// State model
//   An ordered sequence of committed items, at most maxsize() of them (0: no item limit), and at
//   most memory_budget() bytes of records. put() appends one, get() removes the oldest.
//   - maxsize 0 means "unbounded up to the memory budget": default 8 MiB of records (an 8-byte
//     item takes 16 bytes, a string of n bytes 8 + n rounded up to 8). When the budget is used
//     up, put() blocks (or reports QueueFull) exactly as if maxsize were reached. The memfd's
//     pages are only allocated as the ring reaches them. An item that could never fit (its
//     record is larger than the whole budget) throws std::length_error at once.
//   - qsize(), empty(), full() read the state without waiting and are snapshots: another process
//     may change it before the caller looks at the answer (Python documents the same).
//
// Guarantees
//   - Many producer and many consumer processes (and threads): every item put is received by
//     exactly one get(), never twice and never lost, as long as no process dies mid-operation
//     (see below). Items of one producer come out in the order that producer put them (FIFO per
//     producer; across producers, in the order their puts took the mutex).
//   - put() waits while the queue is full, get() while it is empty; put(x, timeout) and
//     get(timeout) give up after `timeout` logical seconds (wb/clock.hpp) and throw QueueFull /
//     QueueEmpty; put_nowait/get_nowait never wait for space or items (they still take the
//     mutex, whose critical sections are a copy of one item). try_put/try_get are the same
//     without exceptions. The waits sleep on futexes with an absolute CLOCK_MONOTONIC deadline:
//     no polling.
//   - Whoever changes the queue wakes every sleeper of the other kind (FUTEX_WAKE all) if any is
//     asleep: sleepers that lose the race go back to sleep. Waking all, not one, is what keeps a
//     sleeper that is SIGKILLed just after being woken from stranding the others.
//
// Typed items: how values are encoded (QueueCodec<T>)
//   Trivially copyable T (int, double, a struct of numbers; default-constructible): its bytes,
//   copied (no allocation).
//   std::string: its bytes. wb::Json (nlohmann::json): its dump(), parsed back by get() - the
//   way to send anything else (Python's Queue pickles; a JSON document is the readable cousin),
//   and how None becomes a sentinel (Json(nullptr)). Other types: specialise wb::QueueCodec<T>
//   with `static std::string encode(const T&)` and `static T decode(std::string_view)`.
//   All processes must use the same T for one queue: the bytes are not tagged with their type
//   (a trivially copyable get() checks the size and throws std::logic_error on a mismatch).
//
// Process death (a producer or consumer SIGKILLed at any instant)
//   - Asleep in put/get, or waiting for the mutex: nothing to repair; the others go on.
//   - Holding the mutex: the next process that takes it is told by the robust mutex (EOWNERDEAD)
//     and repairs before doing anything else (recoveries() counts these repairs). Repair is
//     possible because every change has a single commit point, the final store of one 64-bit
//     position: put() writes the record into free space beyond the tail and then publishes it by
//     storing the new tail; get() copies the record out and then removes it by storing the new
//     head. The repair recounts the records between head and tail (the item count is a cache of
//     that), and wakes every sleeper.
//   - So the item in flight: a producer killed before its tail store loses its item (its put()
//     never returned, nobody can receive half an item); after the store the item is in the queue.
//     A consumer killed before its head store leaves the item in the queue for the next get();
//     after the store the item is gone with the consumer (its get() had taken it). Nothing is
//     ever received twice or half.
//   - A process stopped (SIGSTOP) while holding the mutex blocks the others until it continues;
//     timed operations then throw QueueEmpty/QueueFull at their deadline.
// Errors
//   maxsize beyond 2^31 or a budget below 64 bytes: std::invalid_argument. System call
//   failures: wb::SystemError. adopt() of a descriptor that is not a queue's memory:
//   std::invalid_argument. A moved-from queue may only be destroyed or assigned to.
// Lifetime
//   As wb::Lock: the creating process destroys the mutex when its handle is destroyed; join the
//   processes that use the queue first. Items still in the queue then are freed with it. Nothing
//   outlives the processes (memfd: no /dev/shm entry).
//
// Memory ordering: a put() synchronises-with the get() that receives its item (both run under
//   the mutex): what the producer wrote before put() is visible to that consumer after get().
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "wb/lock.hpp"
#include "wb/queue_errors.hpp"
#include "wb/shared_memory.hpp"

namespace wb {

// QueueEmpty and QueueFull (queue.Empty, queue.Full) are in wb/queue_errors.hpp, shared with the
// thread queues of wb/thread_queue.hpp.

// How a Queue<T> turns T into bytes and back. See "Typed items" above.
template <typename T>
struct QueueCodec;

template <typename T>
    requires std::is_trivially_copyable_v<T>
struct QueueCodec<T> {
    static constexpr bool fixed_size = true;  // put/get copy the object's bytes directly
};

template <>
struct QueueCodec<std::string> {
    static constexpr bool fixed_size = false;
    static std::string_view encode(const std::string& s) noexcept { return s; }
    static std::string decode(std::string_view bytes) { return std::string(bytes); }
};

template <>
struct QueueCodec<nlohmann::json> {
    static constexpr bool fixed_size = false;
    static std::string encode(const nlohmann::json& j) { return j.dump(); }
    static nlohmann::json decode(std::string_view bytes) { return nlohmann::json::parse(bytes); }
};

namespace detail {

struct QueueHeader;

// The untyped queue of byte strings that Queue<T> is made of.
class ByteQueue {
public:
    static constexpr std::size_t kDefaultBudget = 8u << 20;  // 8 MiB of records

    ByteQueue(std::size_t maxsize, std::size_t memory_budget);
    [[nodiscard]] static ByteQueue adopt(int fd);
    ByteQueue(const ByteQueue&) = delete;
    ByteQueue& operator=(const ByteQueue&) = delete;
    ByteQueue(ByteQueue&& other) noexcept;
    ByteQueue& operator=(ByteQueue&& other) noexcept;
    ~ByteQueue();

    // deadline: nullptr waits as long as it takes; `nowait` never waits for room or items.
    // They return false when the deadline passed (or, nowait, the queue was full/empty).
    [[nodiscard]] bool put(std::string_view bytes, const timespec* deadline, bool nowait);
    [[nodiscard]] bool get(std::string& out, const timespec* deadline, bool nowait);
    // A record of exactly `size` bytes into `out` (std::logic_error on another size).
    [[nodiscard]] bool get_fixed(void* out, std::size_t size, const timespec* deadline, bool nowait);

    [[nodiscard]] std::size_t qsize() const noexcept;
    [[nodiscard]] std::size_t maxsize() const noexcept;
    [[nodiscard]] std::size_t memory_budget() const noexcept;
    [[nodiscard]] std::size_t used_bytes() const noexcept;
    [[nodiscard]] bool full() const noexcept;
    [[nodiscard]] std::uint64_t recoveries() const noexcept;
    [[nodiscard]] int fd() const noexcept { return memory_.fd(); }
    void set_inheritable(bool inheritable) { memory_.set_inheritable(inheritable); }

private:
    explicit ByteQueue(SharedMemory&& memory);
    template <typename Copy>
    bool take(const timespec* deadline, bool nowait, Copy&& copy);
    bool lock(const timespec* deadline);
    void repair() noexcept;

    SharedMemory memory_;
    QueueHeader* header_ = nullptr;
    char* ring_ = nullptr;
    pid_t creator_ = 0;
};

[[nodiscard]] int handed_over_queue_fd(std::string_view text);

}  // namespace detail

template <typename T>
class Queue {
    using Codec = QueueCodec<T>;

public:
    // Queue(maxsize): at most `maxsize` items (0: no item limit, only the memory budget).
    explicit Queue(std::size_t maxsize = 0, std::size_t memory_budget = detail::ByteQueue::kDefaultBudget)
        : bytes_(maxsize, memory_budget) {}
    // The queue created by another process, from its memory's descriptor (taken over) or the text
    // its creator's hand_over() returned. The caller vouches that it is a Queue<T> (same T).
    [[nodiscard]] static Queue adopt(int fd) { return Queue(detail::ByteQueue::adopt(fd)); }
    [[nodiscard]] static Queue adopt(std::string_view handed_over) {
        return adopt(detail::handed_over_queue_fd(handed_over));
    }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    Queue(Queue&&) noexcept = default;
    Queue& operator=(Queue&&) noexcept = default;
    ~Queue() = default;

    // Appends `item`, waiting while the queue is full.
    void put(const T& item) { (void)put_impl(item, nullptr, false); }
    // Waits at most `timeout` logical seconds for room; throws QueueFull after that.
    void put(const T& item, double timeout) {
        const auto deadline = detail::deadline_after(timeout, "Queue::put");
        if (!put_impl(item, deadline ? &*deadline : nullptr, false)) throw QueueFull("Queue::put: the queue is full");
    }
    // Never waits for room: throws QueueFull at once when there is none.
    void put_nowait(const T& item) {
        if (!put_impl(item, nullptr, true)) throw QueueFull("Queue::put_nowait: the queue is full");
    }
    // put_nowait (timeout 0) or put(item, timeout) without the exception: false when full.
    [[nodiscard]] bool try_put(const T& item, double timeout = 0) {
        if (timeout <= 0) return put_impl(item, nullptr, true);
        const auto deadline = detail::deadline_after(timeout, "Queue::try_put");
        return put_impl(item, deadline ? &*deadline : nullptr, false);
    }

    // Removes and returns the oldest item, waiting while the queue is empty.
    [[nodiscard]] T get() { return *get_impl(nullptr, false); }
    // Waits at most `timeout` logical seconds; throws QueueEmpty after that.
    [[nodiscard]] T get(double timeout) {
        const auto deadline = detail::deadline_after(timeout, "Queue::get");
        auto item = get_impl(deadline ? &*deadline : nullptr, false);
        if (!item) throw QueueEmpty("Queue::get: the queue stayed empty");
        return std::move(*item);
    }
    // Never waits for an item: throws QueueEmpty at once when there is none.
    [[nodiscard]] T get_nowait() {
        auto item = get_impl(nullptr, true);
        if (!item) throw QueueEmpty("Queue::get_nowait: the queue is empty");
        return std::move(*item);
    }
    // get_nowait (timeout 0) or get(timeout) without the exception: nullopt when empty.
    [[nodiscard]] std::optional<T> try_get(double timeout = 0) {
        if (timeout <= 0) return get_impl(nullptr, true);
        const auto deadline = detail::deadline_after(timeout, "Queue::try_get");
        return get_impl(deadline ? &*deadline : nullptr, false);
    }

    // Snapshots (see the state model): already stale when others use the queue.
    [[nodiscard]] std::size_t qsize() const noexcept { return bytes_.qsize(); }
    [[nodiscard]] bool empty() const noexcept { return qsize() == 0; }
    [[nodiscard]] bool full() const noexcept { return bytes_.full(); }
    [[nodiscard]] std::size_t maxsize() const noexcept { return bytes_.maxsize(); }
    [[nodiscard]] std::size_t memory_budget() const noexcept { return bytes_.memory_budget(); }
    // How many times a process found the mutex's holder dead and repaired the queue.
    [[nodiscard]] std::uint64_t recoveries() const noexcept { return bytes_.recoveries(); }

    // For a spawned child: as wb/sync_handle.hpp describes for Lock.
    [[nodiscard]] int fd() const noexcept { return bytes_.fd(); }
    void set_inheritable(bool inheritable) { bytes_.set_inheritable(inheritable); }
    [[nodiscard]] std::string hand_over() {
        set_inheritable(true);
        return std::to_string(fd());
    }

private:
    explicit Queue(detail::ByteQueue&& bytes) noexcept : bytes_(std::move(bytes)) {}

    bool put_impl(const T& item, const timespec* deadline, bool nowait) {
        if constexpr (Codec::fixed_size) {
            return bytes_.put(std::string_view(reinterpret_cast<const char*>(&item), sizeof(T)), deadline, nowait);
        } else {
            const auto encoded = Codec::encode(item);
            return bytes_.put(std::string_view(encoded), deadline, nowait);
        }
    }
    std::optional<T> get_impl(const timespec* deadline, bool nowait) {
        if constexpr (Codec::fixed_size) {
            T item;
            if (!bytes_.get_fixed(&item, sizeof(T), deadline, nowait)) return std::nullopt;
            return item;
        } else {
            std::string buffer;
            if (!bytes_.get(buffer, deadline, nowait)) return std::nullopt;
            return Codec::decode(buffer);
        }
    }

    detail::ByteQueue bytes_;
};

}  // namespace wb
