// wb/shared_memory.hpp - memory that several processes see: SharedMemory (raw bytes) and
// Shared<T> (one object of type T living in such memory).
//
// What it is
//   After fork() the parent and the child have *copies* of every variable (chapter 06 shows it:
//   money stays 99 in the parent). Memory that both really share has to be mapped MAP_SHARED.
//   SharedMemory is such a mapping, backed by an anonymous memory file (memfd_create):
//
//       wb::SharedMemory memory(4096);             // zero-filled, mapped read/write
//       auto* bytes = static_cast<char*>(memory.data());
//
//   Shared<T> places one T in a fresh mapping and is what chapters normally use:
//
//       struct Tally { std::atomic<int> visits; long total; };   // no pointers inside
//       wb::Shared<Tally> tally;                   // value-initialised: visits == 0, total == 0
//       if (::fork() == 0) { tally->visits += 1; ::_exit(0); }
//       ... wait for the child ...                 // now tally->visits == 1 in the parent too
//
// Why memfd_create and not shm_open
//   A memfd has no name in any file system: there is never a /dev/shm entry, so nothing can be
//   left behind, not even when every process is SIGKILLed. The pages are freed when the last
//   mapping and the last descriptor are gone. The descriptor is what another program needs:
//     - fork: the child inherits the mapping itself (same address) and the descriptor;
//     - spawn (posix_spawn re-executing the program): the child inherits the descriptor (call
//       set_inheritable(true) first, or dup2 it in the spawn's file actions) and maps it again
//       with SharedMemory::adopt(fd) / Shared<T>::adopt(fd). It gets a *different address*.
//   The size is sealed (F_SEAL_SHRINK | F_SEAL_GROW), so no process can truncate the file under
//   the others' feet (which would turn their accesses into SIGBUS).
//
// Requirements on T (Shared<T>)
//   - Usable from several processes at once: T may hold numbers, lock-free std::atomic values
//     (they are address-free, so they work across processes), fixed-size arrays, and the native
//     process-shared pthread/sem_t objects. It must NOT hold pointers or references into private
//     memory (std::string, std::vector, a pointer to a local: the other process sees an address
//     that means nothing there), nor a vtable (static_assert: after spawn the program image is
//     mapped elsewhere). After fork pointers *into the same mapping* happen to work, after spawn
//     they do not: store offsets instead.
//   - sizeof(T) > 0; alignof(T) <= the page size (mappings are page aligned).
//
// Ownership and lifetime (who destroys the T)
//   The process that constructed the T (the creator) destroys it, once, when its Shared<T> is
//   destroyed. A forked child holds a byte-for-byte copy of the creator's Shared<T>; the
//   destructor compares getpid() with the creator's pid, so a child that runs destructors only
//   unmaps, and a child that ends with _exit() just lets the kernel unmap. A Shared<T> obtained
//   with adopt() never destroys the T. The creator must not destroy the T while other processes
//   still use it: join the children first (the usual order, since the Shared<T> is declared
//   before the processes that use it). The memory itself lives until the last process unmaps it.
//
// Errors
//   Failed system calls (memfd_create, ftruncate, mmap, fstat, fcntl) throw wb::SystemError.
//   A size of 0 or a descriptor whose file is too small for T throws std::invalid_argument.
//   Exceptions from T's constructor propagate; the mapping is released.
// Process death
//   Nothing to clean up: the kernel unmaps and closes on exit, however the process ends. Data a
//   killed process was in the middle of writing stays half-written; the Lock (wb/lock.hpp) tells
//   the next holder so that it can repair it.
//
// Memory ordering: SharedMemory gives none by itself. Everything written before fork() is visible
//   to the child. Afterwards, concurrent plain accesses to the same bytes are a data race: use
//   std::atomic members, or protect the data with a wb::Lock / wb::Semaphore / wb::Event, whose
//   release -> acquire pairs order the writes for every process.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <concepts>
#include <cstddef>
#include <ctime>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace wb {

// A MAP_SHARED mapping of a memfd of fixed size. Non-copyable, movable; a moved-from object
// is empty (data() == nullptr, fd() == -1) and may only be destroyed or assigned to.
class SharedMemory {
public:
    // Creates a new zero-filled memory file of `size` bytes named `name` (the name is only shown
    // in /proc/<pid>/fd and /proc/<pid>/maps as "memfd:<name>") and maps it read/write.
    // The descriptor is close-on-exec until set_inheritable(true). Requires size > 0.
    explicit SharedMemory(std::size_t size, const char* name = "wb-shared");

    // Maps the memory file `fd` (inherited from the creating process, e.g. by a spawned child)
    // with its full size, and takes ownership of the descriptor (closed by the destructor).
    [[nodiscard]] static SharedMemory adopt(int fd);

    SharedMemory(const SharedMemory&) = delete;
    SharedMemory& operator=(const SharedMemory&) = delete;
    SharedMemory(SharedMemory&& other) noexcept;
    SharedMemory& operator=(SharedMemory&& other) noexcept;
    // Unmaps and closes the descriptor. The memory file survives while others map it.
    ~SharedMemory();

    [[nodiscard]] void* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    // The descriptor to hand to a spawned child (it stays owned by this object).
    [[nodiscard]] int fd() const noexcept { return fd_; }
    // true: the descriptor survives execve (clears FD_CLOEXEC), so a posix_spawn'ed child can
    // adopt() it; false: restores close-on-exec. Throws SystemError if fcntl fails.
    void set_inheritable(bool inheritable);

private:
    SharedMemory(int fd, std::size_t size);  // maps `fd`, owning it
    void reset() noexcept;

    void* data_ = nullptr;
    std::size_t size_ = 0;
    int fd_ = -1;
};

// One T constructed in its own SharedMemory. See the ownership rule above: the creating process
// destroys the T; copies inherited by fork() and adopted views never do.
template <typename T>
class Shared {
    static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                  "Shared<T> holds one object; put arrays inside a struct or std::array");
    static_assert(!std::is_polymorphic_v<T>,
                  "Shared<T>: a vtable pointer is private to one program image (breaks after spawn)");

public:
    // Shared<T>(args...) constructs T(args...) in new shared memory (Shared<T>() value-initialises
    // it, so Shared<long>() holds 0). Creator: the calling process.
    template <typename... Args>
        requires std::constructible_from<T, Args...> &&
                 (!(sizeof...(Args) == 1 && (std::is_same_v<std::remove_cvref_t<Args>, Shared> && ...)))
    explicit Shared(Args&&... args)
        : memory_(sizeof(T), "wb-shared"), object_(nullptr), creator_(::getpid()) {
        object_ = ::new (memory_.data()) T(std::forward<Args>(args)...);
    }

    // The same, with the memory file named `name` (shown as "memfd:<name>" in /proc/<pid>/fd).
    template <typename... Args>
        requires std::constructible_from<T, Args...>
    [[nodiscard]] static Shared create_named(const char* name, Args&&... args) {
        Shared shared{SharedMemory(sizeof(T), name)};  // not yet the creator: nothing to destroy
        ::new (shared.memory_.data()) T(std::forward<Args>(args)...);
        shared.creator_ = ::getpid();
        return shared;
    }

    // A view of a T created by another process, from the memory file's descriptor (taken over).
    // The caller vouches that the file holds a constructed T; only its size is checked.
    [[nodiscard]] static Shared adopt(int fd) {
        SharedMemory memory = SharedMemory::adopt(fd);
        if (memory.size() < sizeof(T)) {
            throw std::invalid_argument("Shared<T>::adopt: the memory file of fd " + std::to_string(fd) +
                                        " is smaller than the object");
        }
        return Shared(std::move(memory));
    }

    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    Shared(Shared&& other) noexcept
        : memory_(std::move(other.memory_)),
          object_(std::exchange(other.object_, nullptr)),
          creator_(std::exchange(other.creator_, 0)) {}
    Shared& operator=(Shared&& other) noexcept {
        if (this != &other) {
            destroy_if_creator();
            memory_ = std::move(other.memory_);
            object_ = std::exchange(other.object_, nullptr);
            creator_ = std::exchange(other.creator_, 0);
        }
        return *this;
    }
    ~Shared() { destroy_if_creator(); }

    [[nodiscard]] T* get() const noexcept { return object_; }
    [[nodiscard]] T& operator*() const noexcept { return *object_; }
    [[nodiscard]] T* operator->() const noexcept { return object_; }
    // true in the process that constructed the T (and will destroy it).
    [[nodiscard]] bool is_creator() const noexcept { return object_ != nullptr && creator_ == ::getpid(); }

    [[nodiscard]] int fd() const noexcept { return memory_.fd(); }
    void set_inheritable(bool inheritable) { memory_.set_inheritable(inheritable); }

private:
    explicit Shared(SharedMemory&& memory)
        : memory_(std::move(memory)), object_(static_cast<T*>(memory_.data())), creator_(0) {}

    void destroy_if_creator() noexcept {
        if (is_creator()) object_->~T();
        object_ = nullptr;
    }

    SharedMemory memory_;
    T* object_;
    pid_t creator_;  // 0 for an adopted view
};

namespace detail {
// The absolute CLOCK_MONOTONIC deadline of a wait of `timeout` logical seconds, the one timeout
// rule of all primitives: +infinity (or a real duration beyond ~30 years) means no deadline
// (std::nullopt, wait forever); <= 0 means "now" (try once, do not block); NaN throws
// std::invalid_argument naming `operation`.
[[nodiscard]] std::optional<timespec> deadline_after(double timeout, const char* operation);
}  // namespace detail

}  // namespace wb
