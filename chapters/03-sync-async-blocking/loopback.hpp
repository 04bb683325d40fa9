// Chapter 03's props for the socket demo: a TCP connection over 127.0.0.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wb/fd.hpp"

namespace ch03 {

// A listening socket on 127.0.0.1, port 0 (any free port); `port` receives the port chosen.
[[nodiscard]] wb::UniqueFd listen_on_loopback(std::uint16_t& port);
// A socket connected to 127.0.0.1:port.
[[nodiscard]] wb::UniqueFd connect_to_loopback(std::uint16_t port);
// The next connection on `listener`.
[[nodiscard]] wb::UniqueFd accept_connection(const wb::UniqueFd& listener);

// A span from just before send() to just after it returned: the data left between the two.
void send_message(const wb::UniqueFd& socket, const std::string& text);

// recv() of at most `size` bytes with `flags`: what came, "" at end of stream, or std::nullopt for
// EAGAIN. TCP is a byte stream without message boundaries: asking for exactly the length of
// "hello" keeps a late poll from taking "world" with it.
[[nodiscard]] std::optional<std::string> receive(const wb::UniqueFd& socket, int flags, std::size_t size);

}  // namespace ch03
