#include "loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <fmt/core.h>

#include "wb/error.hpp"
#include "wb/output.hpp"

namespace ch03 {
namespace {
sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
}
}  // namespace

wb::UniqueFd listen_on_loopback(std::uint16_t& port) {
    wb::UniqueFd listener(wb::check(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
    sockaddr_in address = loopback(0);
    wb::check(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), "bind");
    wb::check(::listen(listener.get(), 1), "listen");
    socklen_t length = sizeof address;
    wb::check(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), "getsockname");
    port = ntohs(address.sin_port);
    return listener;
}

wb::UniqueFd connect_to_loopback(std::uint16_t port) {
    wb::UniqueFd socket(wb::check(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
    const sockaddr_in address = loopback(port);
    wb::check(::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), "connect");
    return socket;
}

wb::UniqueFd accept_connection(const wb::UniqueFd& listener) {
    return wb::UniqueFd(wb::check(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC), "accept4"));
}

void send_message(const wb::UniqueFd& socket, const std::string& text) {
    wb::Span sending("send", {{"message", text}}, wb::from_fields("sends \"{message}\""));
    const ssize_t n = wb::check(::send(socket.get(), text.data(), text.size(), MSG_NOSIGNAL), "send");
    if (static_cast<std::size_t>(n) != text.size()) throw std::runtime_error("send: short write");
}

std::optional<std::string> receive(const wb::UniqueFd& socket, int flags, std::size_t size) {
    char buffer[64];
    for (;;) {
        const ssize_t n = ::recv(socket.get(), buffer, std::min(size, sizeof buffer), flags);
        if (n >= 0) return std::string(buffer, static_cast<std::size_t>(n));
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
        wb::throw_errno("recv");
    }
}

}  // namespace ch03
