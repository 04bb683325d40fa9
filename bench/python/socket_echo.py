"""Python peer of bench/socket_bench.cpp: the seed's fork-per-connection uppercase echo server.

The server is socketserver.ForkingTCPServer (a child process per connection, as the seed's
multiprocessing version, reaped by the server as they finish) whose handler does the seed's
recv(1024) / send(upper()) loop. Clients send 16-byte messages and wait for the 16 bytes back:
one item = one round trip. socket-echo-1conn/python: one client, one connection;
socket-echo-8conn/python: 8 client processes (not threads: the GIL would serialise them), one
connection each, started together; the figure is their total wall time over all round trips,
connecting included (as in socket_bench.cpp's 8-connection figures).
Standard library only. Only 127.0.0.1.
"""
import multiprocessing
import os
import signal
import socket
import socketserver
import time

import peer

MESSAGE = b"hello, server!!\n"


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data.upper())


def serve(ready):
    socketserver.ForkingTCPServer.allow_reuse_address = True
    with socketserver.ForkingTCPServer(("127.0.0.1", 0), Echo) as server:
        server.request_queue_size = 256
        ready.send(server.server_address[1])
        ready.close()
        server.serve_forever()


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RuntimeError("the server closed the connection")
        data += chunk
    return data


def client(port, rounds, start):
    start.wait()
    # Connecting (and the server's fork for it) is part of the figure, as in socket_bench.cpp's
    # 8-connection figures; over thousands of round trips it hardly counts.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(rounds):
            sock.sendall(MESSAGE)
            if recv_exactly(sock, len(MESSAGE)) != MESSAGE.upper():
                raise RuntimeError("bad reply")


def measure(port, clients, rounds):
    # The clients start together with main's clock.
    start = multiprocessing.Barrier(clients + 1)
    workers = [multiprocessing.Process(target=client, args=(port, rounds, start)) for _ in range(clients)]
    for w in workers:
        w.start()
    start.wait()
    begin = time.perf_counter_ns()
    for w in workers:
        w.join()
    elapsed = time.perf_counter_ns() - begin
    if any(w.exitcode != 0 for w in workers):
        raise RuntimeError("a client failed")
    return elapsed / (clients * rounds)


def main():
    args = peer.parse_args(__doc__.split("\n", 1)[0], 20000)
    rounds = peer.items(args, 20000, 200)
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    server = context.Process(target=serve, args=(there,))
    server.start()
    try:
        port = here.recv()
        for clients in (1, 8):
            values = [measure(port, clients, rounds // clients if clients > 1 else rounds)
                      for _ in range(args.repetitions)]
            peer.report(f"socket-echo-{clients}conn/python", values, rounds)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.join()


if __name__ == "__main__":
    main()
