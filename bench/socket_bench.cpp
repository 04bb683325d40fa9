// Benchmarks of chapter 09's echo servers: round trips per second of 16-byte messages on 127.0.0.1,
// on one connection and on eight at once, for each server form, next to a bare blocking C echo
// loop in the same binary, so that the cost of the forms and of wb/socket.hpp reads as ratios:
//
//   socket-echo-1conn/serial    one connection at a time, wb::receive_some + wb::try_send_all
//   socket-echo-1conn/process   a child process per connection (fork), the same helpers
//   socket-echo-1conn/thread    a std::thread per connection, the same helpers
//   socket-echo-1conn/bare      a child process per connection: blocking recv(1024) / send loop
//   socket-echo-8conn/...       8 client threads at once, each connecting, making 200 round trips
//                               and closing (one benchmark iteration); the serial server serves
//                               them one after another - its figure is the lesson. The connection's
//                               setup (and, for process and bare, the fork) is part of the figure,
//                               spread over the 200 round trips.
//
// One item = one round trip (send 16 bytes, receive the 16 uppercased). The clients are bare
// blocking send/recv for every form, so only the servers differ. Every server runs in its own
// child process, started before the benchmarks and killed at the end; every process it forks dies
// with it (PR_SET_PDEATHSIG). bench/python/socket_echo.py measures Python's fork-per-connection
// socketserver the same way. Run: meson test -C build --benchmark, or the binary directly.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "wb/socket.hpp"

namespace {

constexpr std::size_t kMessage = 16;

void upper_in_place(char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (p[i] >= 'a' && p[i] <= 'z') p[i] = static_cast<char>(p[i] - 'a' + 'A');
    }
}

void die_with_parent(pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
}

// The library's per-connection loop: what ch09::serve_connection does, without the events.
void serve_with_library(int fd) {
    for (;;) {
        wb::Received r = wb::receive_some(fd, 1024, 1e6);
        if (r.status != wb::Received::data) return;
        upper_in_place(r.bytes.data(), r.bytes.size());
        if (!wb::try_send_all(fd, r.bytes)) return;
    }
}

// The bare loop a C programmer writes first.
void serve_bare(int fd) {
    char buf[1024];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        upper_in_place(buf, static_cast<std::size_t>(n));
        if (::send(fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) return;
    }
}

void reap_finished() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

[[noreturn]] void run_server(const std::string& form, wb::LoopbackListener& listener) {
    const pid_t me = ::getpid();
    for (;;) {
        wb::UniqueFd conn = listener.accept();
        if (form == "serial") {
            serve_with_library(conn.get());
        } else if (form == "thread") {
            std::thread([c = std::move(conn)] { serve_with_library(c.get()); }).detach();
        } else {
            reap_finished();
            const pid_t child = ::fork();
            if (child < 0) continue;  // out of processes: this connection is dropped
            if (child == 0) {
                die_with_parent(me);
                listener.close();
                if (form == "bare") {
                    serve_bare(conn.get());
                } else {
                    serve_with_library(conn.get());
                }
                ::_exit(0);
            }
        }
    }
}

struct Server {
    pid_t pid;
    std::uint16_t port;
};
std::map<std::string, Server> g_servers;

void start_servers() {
    const pid_t me = ::getpid();
    for (const char* form : {"serial", "process", "thread", "bare"}) {
        wb::LoopbackListener listener(0, 256);
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            std::exit(1);
        }
        if (pid == 0) {
            die_with_parent(me);
            try {
                run_server(form, listener);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "server %s: %s\n", form, e.what());
                ::_exit(1);
            }
        }
        g_servers[form] = Server{pid, listener.port()};
    }
}

void stop_servers() {
    for (auto& [form, s] : g_servers) {
        ::kill(s.pid, SIGKILL);
        ::waitpid(s.pid, nullptr, 0);
    }
}

constexpr int kConnections = 8;
constexpr int kRoundsPerConnection = 200;

// One round trip on a blocking connection; false if it failed.
bool round_trip(int fd) {
    static const char out[kMessage] = {'h', 'e', 'l', 'l', 'o', ',', ' ', 's', 'e', 'r', 'v', 'e', 'r', '!', '!', '\n'};
    char in[kMessage];
    if (::send(fd, out, kMessage, MSG_NOSIGNAL) != static_cast<ssize_t>(kMessage)) return false;
    std::size_t got = 0;
    while (got < kMessage) {
        const ssize_t n = ::recv(fd, in + got, kMessage - got, 0);
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
    }
    return in[0] == 'H';
}

void echo_one_connection(benchmark::State& state, const std::string& form) {
    wb::UniqueFd fd;
    try {
        fd = wb::connect_loopback(g_servers.at(form).port);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    for (auto _ : state) {
        if (!round_trip(fd.get())) {
            state.SkipWithError("round trip failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}

void echo_eight_connections(benchmark::State& state, const std::string& form) {
    const std::uint16_t port = g_servers.at(form).port;
    std::atomic<int> failures{0};
    for (auto _ : state) {
        std::vector<std::thread> clients;
        for (int c = 0; c < kConnections; ++c) {
            clients.emplace_back([port, &failures] {
                try {
                    wb::UniqueFd fd = wb::connect_loopback(port);
                    for (int i = 0; i < kRoundsPerConnection; ++i) {
                        if (!round_trip(fd.get())) {
                            ++failures;
                            return;
                        }
                    }
                } catch (const std::exception&) {
                    ++failures;
                }
            });
        }
        for (auto& t : clients) t.join();
        if (failures.load() != 0) {
            state.SkipWithError("a client failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * kConnections * kRoundsPerConnection);
}

void register_all() {
    for (const char* form : {"serial", "process", "thread", "bare"}) {
        benchmark::RegisterBenchmark((std::string("socket-echo-1conn/") + form).c_str(),
                                     [form](benchmark::State& s) { echo_one_connection(s, form); })
            ->UseRealTime();
        benchmark::RegisterBenchmark((std::string("socket-echo-8conn/") + form).c_str(),
                                     [form](benchmark::State& s) { echo_eight_connections(s, form); })
            ->UseRealTime();
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    start_servers();
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    stop_servers();
    return 0;
}
