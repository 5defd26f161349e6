#!/usr/bin/env python3
"""Opens COUNT WebSocket connections to 127.0.0.1:PORT PATH (an echo endpoint), keeps them open
and idle, and on request proves that every one still echoes.

Started by bench.py's websocket phase for the idle-WebSocket RSS figure (Serval's app endpoint
in a worker process, Tomcat's Jakarta WebSocket echo), the same client for both. The contract
extends holdconns.py's: prints `READY ok=N failed=M seconds=S` once every handshake has its 101
(or failed); then each line `echo` on stdin sends one masked text message on every open
connection and prints `ECHOED ok=K failed=F seconds=S` once each has its echo (or the deadline
passed); stdin closing (or --hold seconds) closes them all. Bounded: at most --count
connections (<= 20000), --deadline seconds per step. Only ever connects to 127.0.0.1.

Measure mode (`--serval build/bin/serval --fixture build/tests/fixtures/libasync.so
[--isolation none]`): starts a private server with the async fixture app, opens COUNT idle
WebSockets to its endpoint /async/ws (in a worker process by default: after the 101 each is a
raw tunnel from the server to the worker), prints one JSON line with the RSS, threads and
descriptors of the server plus its workers before and with them open, and the echo check.
"""
import argparse
import base64
import json
import os
import resource
import selectors
import socket
import struct
import sys
import time

from asyncfixture import AsyncFixture, children, measure


def masked_text(payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


def server_frame(buf):
    """(opcode, payload, rest) of the first complete server frame in buf, or None."""
    if len(buf) < 2:
        return None
    n, at = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = struct.unpack("!Q", buf[2:10])[0], 10
    if len(buf) < at + n:
        return None
    return buf[0] & 0x0F, buf[at:at + n], buf[at + n:]


class Idle:
    def __init__(self, port, path):
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.open = []      # sockets past their 101
        self.buffers = {}

    def pump(self, timeout, on_bytes):
        for key, _ in self.sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            on_bytes(s, data)

    def connect(self, count, deadline):
        start = time.monotonic()
        end = start + deadline
        pending = set()
        failed = 0

        def on_bytes(s, data):
            nonlocal failed
            if not data:
                failed += 1
                self.sel.unregister(s)
                pending.discard(s)
                s.close()
                return
            buf = self.buffers.get(s, b"") + data
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if not sep:
                self.buffers[s] = buf
                return
            self.sel.unregister(s)
            pending.discard(s)
            self.buffers[s] = rest
            if head.startswith(b"HTTP/1.1 101"):
                self.open.append(s)
            else:
                failed += 1
                s.close()

        for i in range(count):
            if time.monotonic() > end:
                failed += count - i
                break
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(max(0.1, min(5.0, end - time.monotonic())))
            try:
                s.connect(("127.0.0.1", self.port))
                s.sendall(self.request)
            except OSError:
                failed += 1
                s.close()
                continue
            s.setblocking(False)
            pending.add(s)
            self.sel.register(s, selectors.EVENT_READ)
            if i % 100 == 99:  # batches: the accept queue never overflows
                self.pump(0, on_bytes)
        while pending and time.monotonic() < end:
            self.pump(0.2, on_bytes)
        failed += len(pending)
        for s in list(pending):
            self.sel.unregister(s)
            s.close()
        return len(self.open), failed, time.monotonic() - start

    def echo(self, deadline):
        start = time.monotonic()
        end = start + deadline
        waiting = {}
        ok = 0
        failed = 0

        def on_bytes(s, data):
            nonlocal ok, failed
            if not data:
                failed += 1
                self.sel.unregister(s)
                waiting.pop(s, None)
                return
            self.buffers[s] = self.buffers.get(s, b"") + data
            frame = server_frame(self.buffers[s])
            if frame is None:
                return
            op, payload, self.buffers[s] = frame
            self.sel.unregister(s)
            expected = waiting.pop(s)
            if op == 1 and payload == expected:
                ok += 1
            else:
                failed += 1

        for i, s in enumerate(self.open):
            message = f"still here {i}".encode()
            try:
                s.sendall(masked_text(message))
            except OSError:
                failed += 1
                continue
            waiting[s] = message
            self.sel.register(s, selectors.EVENT_READ)
            if i % 100 == 99:
                self.pump(0, on_bytes)
        while waiting and time.monotonic() < end:
            self.pump(0.2, on_bytes)
        failed += len(waiting)
        for s in waiting:
            self.sel.unregister(s)
        return ok, failed, time.monotonic() - start


def run_idle(port, path, count, pids, settle=1.0, deadline=120.0):
    """Measures `count` idle WebSockets on port/path: RSS, threads and descriptors of the
    server's processes (`pids()`, the server and its workers) before and with them open, then
    that every one still echoes. Returns a dict (bench.py's websocket phase and main())."""
    time.sleep(settle)
    row = {"count": count, "before": measure_all(pids())}
    idle = Idle(port, path)
    try:
        ok, failed, seconds = idle.connect(count, deadline)
        row.update(open_ok=ok, open_failed=failed, open_seconds=round(seconds, 2))
        time.sleep(settle)
        row["with_conns"] = measure_all(pids())
        ok, failed, seconds = idle.echo(deadline)
        row.update(echo_ok=ok, echo_failed=failed, echo_seconds=round(seconds, 2))
    finally:
        for s in idle.open:
            s.close()
    added = row["with_conns"]["rss_kib"] - row["before"]["rss_kib"]
    row["added_rss_mib"] = round(added / 1024, 1)
    server = row["with_conns"]["server_rss_kib"] - row["before"]["server_rss_kib"]
    row["added_server_rss_mib"] = round(server / 1024, 1)  # the rest is the workers'
    row["added_threads"] = row["with_conns"]["threads"] - row["before"]["threads"]
    row["added_fds"] = row["with_conns"]["fds"] - row["before"]["fds"]
    return row


def measure_all(pids):
    readings = [measure(pid, with_children=False) for pid in pids]
    total = {k: sum(r[k] for r in readings) for k in ("rss_kib", "threads", "fds", "processes")}
    total["server_rss_kib"] = readings[0]["rss_kib"]  # the first is the server (or Tomcat's JVM)
    return total


def raise_fd_limit(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 64:
        sys.exit(f"idlews: open file limit {hard} is below {count + 64}; raise ulimit -n")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, help="an echo endpoint's server (client mode)")
    parser.add_argument("--serval", help="measure mode: build/bin/serval with the async fixture")
    parser.add_argument("--fixture", help="measure mode: libasync.so (the build's tests/fixtures)")
    parser.add_argument("--isolation", default="process", choices=("process", "none"))
    parser.add_argument("--path", default="/ws/echo")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--hold", type=float, default=600.0)
    args = parser.parse_args()
    if args.count > 20000:
        sys.exit("idlews: --count is capped at 20000")
    raise_fd_limit(args.count)
    if args.serval:  # measure mode: one JSON line
        row = {"isolation": args.isolation}
        try:
            with AsyncFixture(args.serval, args.fixture, args.isolation) as server:
                row.update(run_idle(server.port, "/async/ws", args.count,
                                    lambda: [server.pid] + children(server.pid), deadline=args.deadline))
        except Exception as e:  # one JSON line either way
            row["error"] = str(e)
        print(json.dumps(row))
        return 0 if row.get("echo_ok") == args.count else 1
    if not args.port:
        sys.exit("idlews: --port (client mode) or --serval and --fixture (measure mode)")

    idle = Idle(args.port, args.path)
    ok, failed, seconds = idle.connect(args.count, args.deadline)
    print(f"READY ok={ok} failed={failed} seconds={seconds:.2f}", flush=True)
    hold_end = time.monotonic() + args.hold
    commands = selectors.DefaultSelector()
    commands.register(sys.stdin, selectors.EVENT_READ)
    while time.monotonic() < hold_end:
        if not commands.select(max(0.0, min(1.0, hold_end - time.monotonic()))):
            continue
        line = sys.stdin.readline()
        if not line:
            break
        if line.strip() == "echo":
            ok, failed, seconds = idle.echo(args.deadline)
            print(f"ECHOED ok={ok} failed={failed} seconds={seconds:.2f}", flush=True)
    for s in idle.open:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
