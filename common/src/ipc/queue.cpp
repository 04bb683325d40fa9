#include "wb/queue.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "wb/error.hpp"
#include "wb/sync_handle.hpp"

namespace wb::detail {

// What a queue's memory file starts with; the ring of records follows at kRingOffset.
struct QueueHeader {
    static constexpr std::uint32_t kMagic = 0x75514277;  // "wBQu": checked by adopt()
    QueueHeader(std::uint64_t max_items, std::uint64_t capacity_bytes)
        : capacity(capacity_bytes), maxsize(max_items) {}

    std::uint32_t magic = kMagic;
    std::uint64_t capacity;  // bytes of the ring, a multiple of 8
    std::uint64_t maxsize;   // 0: no item limit
    SharedMutex mutex{Robustness::robust};
    // Guarded by the mutex, read without it (atomic_ref) only for the snapshots.
    std::uint64_t head = 0;   // position of the oldest record: get()'s commit point
    std::uint64_t tail = 0;   // position after the newest record: put()'s commit point
    std::uint64_t count = 0;  // records between head and tail (a cache: repair() recounts)
    std::uint64_t recoveries = 0;
    // Futex words: bits 0-30 count changes, bit 31 says "someone sleeps on me". Changed only
    // under the mutex; the kernel compares them without it.
    alignas(4) std::uint32_t put_word = 0;    // "an item was put": getters sleep on it
    alignas(4) std::uint32_t taken_word = 0;  // "an item was taken": putters sleep on it
};

namespace {

constexpr std::size_t kRingOffset = 256;
static_assert(sizeof(QueueHeader) <= kRingOffset, "the header must fit before the ring");
constexpr std::uint64_t kRecordHeader = 8;  // uint32 length + 4 bytes of padding
constexpr std::uint32_t kSleepers = 1u << 31;

constexpr std::uint64_t round_up8(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }
constexpr std::uint64_t record_size(std::uint64_t payload) noexcept { return kRecordHeader + round_up8(payload); }

long futex(std::uint32_t* word, int op, std::uint32_t value, const timespec* timeout) {
    return ::syscall(SYS_futex, word, op, value, timeout, nullptr, FUTEX_BITSET_MATCH_ANY);
}

std::uint64_t load(const std::uint64_t& v) noexcept {
    return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(v)).load(std::memory_order_relaxed);
}
// The commit points: a single 64-bit store each. Release, so that a process that dies right
// after it has published complete record bytes (the compiler may not sink them below it).
void commit(std::uint64_t& position, std::uint64_t value) noexcept {
    std::atomic_ref<std::uint64_t>(position).store(value, std::memory_order_release);
}
void store(std::uint64_t& v, std::uint64_t value) noexcept {
    std::atomic_ref<std::uint64_t>(v).store(value, std::memory_order_relaxed);
}

// Under the mutex: announce a change on `word` and wake its sleepers, if any.
void signal(std::uint32_t& word) {
    std::atomic_ref<std::uint32_t> w(word);
    const std::uint32_t old = w.load(std::memory_order_relaxed);
    w.store((old + 1) & ~kSleepers, std::memory_order_relaxed);
    if ((old & kSleepers) != 0) check(futex(&word, FUTEX_WAKE, INT_MAX, nullptr), "futex(FUTEX_WAKE)");
}

// Under the mutex: mark `word` as slept on and return the value to sleep on.
std::uint32_t prepare_sleep(std::uint32_t& word) noexcept {
    std::atomic_ref<std::uint32_t> w(word);
    const std::uint32_t value = w.load(std::memory_order_relaxed) | kSleepers;
    w.store(value, std::memory_order_relaxed);
    return value;
}

// Without the mutex: sleep while `word` still holds `value`, at most until `deadline`.
// Returns false when the deadline passed.
bool sleep_on(std::uint32_t& word, std::uint32_t value, const timespec* deadline) {
    const long rc = futex(&word, FUTEX_WAIT_BITSET, value, deadline);
    if (rc == 0) return true;
    const int error = errno;
    if (error == ETIMEDOUT) return false;
    if (error == EAGAIN || error == EINTR) return true;  // changed meanwhile, or a signal: look again
    throw_errno("futex(FUTEX_WAIT_BITSET)", error);
}

bool passed(const timespec* deadline) {
    if (deadline == nullptr) return false;
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

// Releases the mutex on every path out of an operation.
class Held {
public:
    explicit Held(SharedMutex& m) noexcept : mutex_(&m) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() {
        if (mutex_ != nullptr) mutex_->unlock();
    }
    void unlock() { std::exchange(mutex_, nullptr)->unlock(); }
    void relock(SharedMutex& m) noexcept { mutex_ = &m; }

private:
    SharedMutex* mutex_;
};

}  // namespace

namespace {
std::size_t checked_capacity(std::size_t maxsize, std::size_t memory_budget) {
    if (maxsize > (std::size_t{1} << 31)) throw std::invalid_argument("Queue: maxsize must be at most 2^31");
    if (memory_budget < 64) throw std::invalid_argument("Queue: the memory budget must be at least 64 bytes");
    return static_cast<std::size_t>(round_up8(memory_budget));
}
}  // namespace

ByteQueue::ByteQueue(std::size_t maxsize, std::size_t memory_budget)
    : memory_(kRingOffset + checked_capacity(maxsize, memory_budget), "wb-queue") {
    header_ = ::new (memory_.data()) QueueHeader(maxsize, memory_.size() - kRingOffset);
    ring_ = static_cast<char*>(memory_.data()) + kRingOffset;
    creator_ = ::getpid();
}

ByteQueue::ByteQueue(SharedMemory&& memory) : memory_(std::move(memory)) {
    if (memory_.size() < kRingOffset + 64) {
        throw std::invalid_argument("Queue::adopt: fd " + std::to_string(memory_.fd()) + " is not a queue's memory");
    }
    header_ = static_cast<QueueHeader*>(memory_.data());
    if (header_->magic != QueueHeader::kMagic || kRingOffset + header_->capacity > memory_.size()) {
        throw std::invalid_argument("Queue::adopt: fd " + std::to_string(memory_.fd()) + " is not a queue's memory");
    }
    ring_ = static_cast<char*>(memory_.data()) + kRingOffset;
}

ByteQueue ByteQueue::adopt(int fd) { return ByteQueue(SharedMemory::adopt(fd)); }

ByteQueue::ByteQueue(ByteQueue&& other) noexcept
    : memory_(std::move(other.memory_)),
      header_(std::exchange(other.header_, nullptr)),
      ring_(std::exchange(other.ring_, nullptr)),
      creator_(std::exchange(other.creator_, 0)) {}

ByteQueue& ByteQueue::operator=(ByteQueue&& other) noexcept {
    if (this != &other) {
        if (header_ != nullptr && creator_ == ::getpid()) header_->~QueueHeader();
        memory_ = std::move(other.memory_);
        header_ = std::exchange(other.header_, nullptr);
        ring_ = std::exchange(other.ring_, nullptr);
        creator_ = std::exchange(other.creator_, 0);
    }
    return *this;
}

ByteQueue::~ByteQueue() {
    // As Shared<T>: only the creating process destroys the mutex; forked copies just unmap.
    if (header_ != nullptr && creator_ == ::getpid()) header_->~QueueHeader();
}

bool ByteQueue::lock(const timespec* deadline) {
    const AcquireResult r = deadline != nullptr ? header_->mutex.lock_until(*deadline) : header_->mutex.lock();
    if (!r.acquired) return false;
    if (r.previous_owner_died) repair();
    return true;
}

void ByteQueue::repair() noexcept {
    // The holder died somewhere inside put() or get(). Head and tail are whole 64-bit stores, so
    // each is either the old or the new value, and every record between them is complete (put
    // writes it before moving the tail). Recount them; a chain that does not end exactly at the
    // tail cannot happen, but would be answered by dropping the contents rather than trusting it.
    QueueHeader& h = *header_;
    std::uint64_t position = h.head;
    std::uint64_t records = 0;
    while (position < h.tail) {
        std::uint32_t length = 0;
        std::memcpy(&length, ring_ + position % h.capacity, sizeof length);
        position += record_size(length);
        ++records;
    }
    if (position != h.tail) {
        commit(h.head, h.tail);
        records = 0;
    }
    store(h.count, records);
    store(h.recoveries, h.recoveries + 1);
    // A sleeper may have been waiting for the change the dead process never announced.
    std::atomic_ref<std::uint32_t>(h.put_word).fetch_or(kSleepers, std::memory_order_relaxed);
    std::atomic_ref<std::uint32_t>(h.taken_word).fetch_or(kSleepers, std::memory_order_relaxed);
    try {
        signal(h.put_word);
        signal(h.taken_word);
    } catch (...) {
        // FUTEX_WAKE cannot fail on a valid word; nothing better to do in a repair.
    }
}

bool ByteQueue::put(std::string_view bytes, const timespec* deadline, bool nowait) {
    QueueHeader& h = *header_;
    const std::uint64_t size = record_size(bytes.size());
    if (size > h.capacity || bytes.size() > UINT32_MAX) {
        throw std::length_error("Queue::put: an item of " + std::to_string(bytes.size()) +
                                " bytes can never fit in a memory budget of " + std::to_string(h.capacity) + " bytes");
    }
    if (!lock(nowait ? nullptr : deadline)) return false;
    Held held(h.mutex);
    for (;;) {
        const bool room = h.tail - h.head + size <= h.capacity && (h.maxsize == 0 || h.count < h.maxsize);
        if (room) break;
        if (nowait || passed(deadline)) return false;
        const std::uint32_t value = prepare_sleep(h.taken_word);
        held.unlock();
        const bool in_time = sleep_on(h.taken_word, value, deadline);
        if (!lock(in_time ? deadline : nullptr)) return false;  // the deadline passed waiting for the mutex
        held.relock(h.mutex);
    }
    // Write the record into free space beyond the tail (no one reads there), then publish it.
    const std::uint32_t length = static_cast<std::uint32_t>(bytes.size());
    const std::uint64_t at = h.tail % h.capacity;
    std::memcpy(ring_ + at, &length, sizeof length);
    std::uint64_t offset = (at + kRecordHeader) % h.capacity;
    const std::uint64_t first = std::min<std::uint64_t>(bytes.size(), h.capacity - offset);
    std::memcpy(ring_ + offset, bytes.data(), first);
    std::memcpy(ring_, bytes.data() + first, bytes.size() - first);
    store(h.count, h.count + 1);
    commit(h.tail, h.tail + size);  // the commit point
    signal(h.put_word);
    return true;
}

template <typename Copy>
bool ByteQueue::take(const timespec* deadline, bool nowait, Copy&& copy) {
    QueueHeader& h = *header_;
    if (!lock(nowait ? nullptr : deadline)) return false;
    Held held(h.mutex);
    for (;;) {
        if (h.tail != h.head) break;
        if (nowait || passed(deadline)) return false;
        const std::uint32_t value = prepare_sleep(h.put_word);
        held.unlock();
        const bool in_time = sleep_on(h.put_word, value, deadline);
        if (!lock(in_time ? deadline : nullptr)) return false;
        held.relock(h.mutex);
    }
    std::uint32_t length = 0;
    const std::uint64_t at = h.head % h.capacity;
    std::memcpy(&length, ring_ + at, sizeof length);
    const std::uint64_t offset = (at + kRecordHeader) % h.capacity;
    const std::uint64_t first = std::min<std::uint64_t>(length, h.capacity - offset);
    copy(length, ring_ + offset, first, ring_);  // may throw (wrong size): the record stays
    store(h.count, h.count - 1);
    commit(h.head, h.head + record_size(length));  // the commit point
    signal(h.taken_word);
    return true;
}

bool ByteQueue::get(std::string& out, const timespec* deadline, bool nowait) {
    return take(deadline, nowait, [&out](std::uint32_t length, const char* part1, std::uint64_t first, const char* part2) {
        out.resize(length);
        std::memcpy(out.data(), part1, first);
        std::memcpy(out.data() + first, part2, length - first);
    });
}

bool ByteQueue::get_fixed(void* out, std::size_t size, const timespec* deadline, bool nowait) {
    return take(deadline, nowait, [out, size](std::uint32_t length, const char* part1, std::uint64_t first, const char* part2) {
        if (length != size) {
            throw std::logic_error("Queue::get: the next item has " + std::to_string(length) + " bytes, not " +
                                   std::to_string(size) + ": one queue, one item type");
        }
        std::memcpy(out, part1, first);
        std::memcpy(static_cast<char*>(out) + first, part2, length - first);
    });
}

std::size_t ByteQueue::qsize() const noexcept { return static_cast<std::size_t>(load(header_->count)); }
std::size_t ByteQueue::maxsize() const noexcept { return static_cast<std::size_t>(header_->maxsize); }
std::size_t ByteQueue::memory_budget() const noexcept { return static_cast<std::size_t>(header_->capacity); }
std::size_t ByteQueue::used_bytes() const noexcept {
    return static_cast<std::size_t>(load(header_->tail) - load(header_->head));
}
bool ByteQueue::full() const noexcept {
    const QueueHeader& h = *header_;
    if (h.maxsize != 0 && load(h.count) >= h.maxsize) return true;
    return h.capacity - used_bytes() < record_size(0);
}
std::uint64_t ByteQueue::recoveries() const noexcept { return load(header_->recoveries); }

int handed_over_queue_fd(std::string_view text) {
    int fd = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), fd);
    if (error != std::errc() || end != text.data() + text.size() || fd < 0) {
        throw std::invalid_argument("Queue::adopt: '" + std::string(text) +
                                    "' is not a descriptor handed over by hand_over()");
    }
    return fd;
}

}  // namespace wb::detail
