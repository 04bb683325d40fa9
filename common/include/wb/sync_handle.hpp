// wb/sync_handle.hpp - what Lock, Semaphore and Event have in common: a handle on a small piece
// of shared memory that holds the primitive (not for chapters; see lock.hpp for the design).
//
// What it is
//   Each primitive keeps its state in its own memory file (memfd, one page) and the object the
//   program holds is a handle: it maps that memory, owns the descriptor, and hands both on:
//     - fork: the child inherits the handle with the mapping; nothing to do;
//     - spawn: the parent calls hand_over(), which makes the descriptor inheritable and returns it
//       as text for the child's argument list; the child calls T::adopt(text) (or adopt(fd)),
//       which maps the memory again and checks that it is a T's (a magic number at the start).
//   SyncHandle<State> is that code, once: Lock, Semaphore and Event derive from it.
//
// Requires: State has `static constexpr std::uint32_t kMagic` and a `std::uint32_t magic`
//   member initialised to it, as its first member.
// Errors
//   adopt of a descriptor whose memory is not a State (wrong magic, too small, not a memory
//   file), or of text that is not a descriptor number: std::invalid_argument (a programming
//   error in how the child was started), or wb::SystemError when mapping fails.
// Lifetime
//   As Shared<T>: the creating process destroys the State with its handle; adopted and forked
//   copies only unmap. A moved-from handle may only be destroyed or assigned to.
#pragma once

#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "wb/shared_memory.hpp"

namespace wb::detail {

template <typename State>
class SyncHandle {
public:
    // The descriptor of the primitive's memory (owned by the handle).
    [[nodiscard]] int fd() const noexcept { return state_.fd(); }
    // true: the descriptor survives execve, so a spawned child can adopt it; false: close-on-exec.
    void set_inheritable(bool inheritable) { state_.set_inheritable(inheritable); }
    // For a spawned child: makes the descriptor inheritable and returns it as the text the child
    // passes to adopt(). Call it before the child is started.
    [[nodiscard]] std::string hand_over() {
        set_inheritable(true);
        return std::to_string(fd());
    }

protected:
    explicit SyncHandle(Shared<State>&& state) noexcept : state_(std::move(state)) {}

    // Maps the memory of `fd` (taken over) and checks it holds a State. `kind` names the public
    // type in the error message ("Lock").
    [[nodiscard]] static Shared<State> adopt_state(int fd, const char* kind) {
        auto state = Shared<State>::adopt(fd);
        if (state->magic != State::kMagic) {
            throw std::invalid_argument(std::string(kind) + "::adopt: fd " + std::to_string(fd) +
                                        " is not the memory of a wb::" + kind);
        }
        return state;
    }
    // The descriptor number in hand_over()'s text.
    [[nodiscard]] static int handed_over_fd(std::string_view text, const char* kind) {
        int fd = -1;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), fd);
        if (error != std::errc() || end != text.data() + text.size() || fd < 0) {
            throw std::invalid_argument(std::string(kind) + "::adopt: '" + std::string(text) +
                                        "' is not a descriptor handed over by hand_over()");
        }
        return fd;
    }

    Shared<State> state_;
};

}  // namespace wb::detail
